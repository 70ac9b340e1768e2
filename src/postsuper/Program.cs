// NAME
//	postsuper - Postfix superintendent
// SYNOPSIS
//	postsuper [-psSv] [-c config_dir] [-d|-e|-f|-h|-H|-r queue_id] [queue...]
// SECURITY
//	Root only; works as the mail_owner after reading main.cf.
// DIAGNOSTICS
//	stderr and the mail log; exit status 1 on fatal errors, else 0.
// SEE ALSO
//	man/man1/postsuper.1
using Postfix.Util;

namespace Postfix.Commands.Postsuper;

internal static class Program
{
    private static int Main(string[] args) => ProgramHost.Run("postsuper", args, Postsuper.Run);
}
