// NAME
//	postqueue - Postfix queue control for unprivileged users
// SYNOPSIS
//	postqueue [-v] [-c config_dir] -f | -i queue_id | -j | -p | -s site
// DIAGNOSTICS
//	Problems go to stderr and to the mail log; every fatal error exits
//	with status 69 (EX_UNAVAILABLE), at once, as the reference does.
// SEE ALSO
//	man/man1/postqueue.1
using Postfix.Util;

namespace Postfix.Commands.Postqueue;

internal static class Program
{
    private static int Main(string[] args) => ProgramHost.Run("postqueue", args, Postqueue.Run);
}
