// NAME
//	Postconf - option parsing and dispatch
// POSTFIX
//	src/postconf/postconf.c
namespace Postfix.Commands.Postconf;

internal static partial class Postconf
{
    public static int Run(string[] args)
    {
        return 0;
    }
}
