// NAME
//	sendmail - Postfix to Sendmail compatibility interface
// SYNOPSIS
//	sendmail [option ...] [recipient ...]
//	mailq
//	newaliases
// SECURITY
//	Runs as the invoking user; the set-gid postdrop command does the
//	privileged part (writing the maildrop queue).
// DIAGNOSTICS
//	Problems go to stderr and to the mail log (postfix/sendmail); any
//	fatal error exits with status 75 (EX_TEMPFAIL), as Postfix's does.
// SEE ALSO
//	man/man1/sendmail.1
using Postfix.Util;

namespace Postfix.Commands.Sendmail;

internal static class Program
{
    private static int Main(string[] args) =>
        ProgramHost.Run("sendmail", RawArgs.Get(args), Sendmail.Run);
}
