// NAME
//	postdrop - Postfix mail posting utility
// SYNOPSIS
//	postdrop [-rv] [-c config_dir]
// SECURITY
//	Installed set-gid postdrop: the maildrop directory is writable by
//	that group only. Takes nothing from the caller without checking it.
// DIAGNOSTICS
//	Problems go to stderr and the mail log (postfix/postdrop); fatal
//	errors remove the unfinished file and exit with status 1.
// SEE ALSO
//	man/man1/postdrop.1
using Postfix.Util;

namespace Postfix.Commands.Postdrop;

internal static class Program
{
    private static int Main(string[] args) => ProgramHost.Run("postdrop", args, Postdrop.Run);
}
