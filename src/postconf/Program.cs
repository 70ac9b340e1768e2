// NAME
//	postconf - Postfix configuration utility
// SYNOPSIS
//	postconf [-aAbfhHlmMnpPtTvxX#] [-c config_dir] [-C class] [-o n=v] [name ...]
// SECURITY
//	Needs no privilege; edits need write access to the configuration.
// DIAGNOSTICS
//	Problems are reported on stderr; exit status 1 on fatal errors.
// SEE ALSO
//	man/man1/postconf.1
using Postfix.Util;

namespace Postfix.Commands.Postconf;

internal static class Program
{
    private static int Main(string[] args) => ProgramHost.Run("postconf", args, Postconf.Run);
}
