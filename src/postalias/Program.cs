// NAME
//	postalias - Postfix alias database maintenance
// SYNOPSIS
//	postalias [-Nfinoprsuvw] [-c config_dir] [-d key] [-q key] [type:]file...
// SECURITY
//	Needs no privilege. Run as root, it builds a table as the owner of
//	the source file (unless -o), so that the result has that owner.
// DIAGNOSTICS
//	Problems go to stderr. Exit status 0 on success; with -q and -d,
//	1 when nothing was found; 1 on fatal errors.
// SEE ALSO
//	man/man1/postalias.1, man/man5/aliases.5
using Postfix.Util;

namespace Postfix.Commands.Postalias;

internal static class Program
{
    private static int Main(string[] args) => ProgramHost.Run("postalias", args, Postalias.Run);
}
