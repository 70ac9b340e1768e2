// NAME
//	ExitCodes - sysexits(3) values sendmail reports
// DESCRIPTION
//	Postfix's sendmail passes these to msg_fatal_status(); its run-time
//	error handler then exits with EX_TEMPFAIL in every case, which is
//	what the caller sees.
namespace Postfix.Commands.Sendmail;

internal static class ExitCodes
{
    public const int Usage = 64;
    public const int DataErr = 65;
    public const int Unavailable = 69;
    public const int Software = 70;
    public const int OsErr = 71;
    public const int TempFail = 75;
    public const int NoPerm = 77;
}
