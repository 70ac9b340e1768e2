// NAME
//	Postconf (templates) - -b and -t: bounce message templates
// POSTFIX
//	src/postconf/postconf.c (-b, -t), src/bounce/bounce_template*.c
// DESCRIPTION
//	Placeholder: the template engine lives in the global library.
using System.Collections.Generic;
using System.IO;
using Postfix.Util;

namespace Postfix.Commands.Postconf;

internal static partial class Postconf
{
    // ShowTemplates - -t dumps the templates as stored, -b expands them.
    public static void ShowTemplates(TextWriter fp, bool expand, string? file, List<string>? overrides)
    {
        Msg.Fatal("bounce templates are not available in this build");
    }
}
