// NAME
//	SysExits - sendmail-compatible exit status codes
// POSTFIX
//	src/global/sys_exits.c, sys_exits.h
// DESCRIPTION
//	Detail() gives the RFC 3463 status and the text for an exit status
//	64..78 (EX_USAGE..EX_CONFIG), or "5.3.0" and "unknown mail system
//	error N" for any other; IsCode() tells whether a status is in the
//	table, SoftError() whether it is a temporary failure.
namespace Postfix.Daemons.Pipe;

public static class SysExits
{
    public const int Base = 64;
    public const int Usage = 64;
    public const int DataErr = 65;
    public const int NoInput = 66;
    public const int NoUser = 67;
    public const int NoHost = 68;
    public const int Unavailable = 69;
    public const int Software = 70;
    public const int OsErr = 71;
    public const int OsFile = 72;
    public const int CantCreat = 73;
    public const int IoErr = 74;
    public const int TempFail = 75;
    public const int Protocol = 76;
    public const int NoPerm = 77;
    public const int Config = 78;
    public const int Max = 78;

    public readonly record struct Entry(int Status, string Dsn, string Text);

    private static readonly Entry[] Table =
    [
        new(Usage, "5.3.0", "command line usage error"),
        new(DataErr, "5.6.0", "data format error"),
        new(NoInput, "5.3.0", "cannot open input"),
        new(NoUser, "5.1.1", "user unknown"),
        new(NoHost, "5.1.2", "host name unknown"),
        new(Unavailable, "5.3.0", "service unavailable"),
        new(Software, "5.3.0", "internal software error"),
        new(OsErr, "4.3.0", "system resource problem"),
        new(OsFile, "5.3.0", "critical OS file missing"),
        new(CantCreat, "5.2.0", "can't create user output file"),
        new(IoErr, "5.3.0", "input/output error"),
        new(TempFail, "4.3.0", "temporary failure"),
        new(Protocol, "5.5.0", "remote error in protocol"),
        new(NoPerm, "5.7.0", "permission denied"),
        new(Config, "5.3.5", "local configuration error"),
    ];

    public static bool IsCode(int code) => code is >= Base and <= Max;

    public static Entry Detail(int code) =>
        IsCode(code) ? Table[code - Base] : new Entry(0, "5.3.0", $"unknown mail system error {code}");

    public static string StrError(int code) => Detail(code).Text;

    public static bool SoftError(int code) => Detail(code).Dsn[0] == '4';
}
