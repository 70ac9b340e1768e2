// NAME
//	SysExits - sendmail-compatible exit codes and what they mean
// POSTFIX
//	src/global/sys_exits.c
// DESCRIPTION
//	Detail() gives the status code and text for an exit status from
//	<sysexits.h> (64..78), or 5.3.0 "unknown mail system error N" for
//	others.
namespace Postfix.Global.Mailbox;

public static class SysExits
{
    public const int Base = 64;
    public const int TempFail = 75;

    private static readonly (string Dsn, string Text)[] Table =
    [
        ("5.3.0", "command line usage error"),
        ("5.6.0", "data format error"),
        ("5.3.0", "cannot open input"),
        ("5.1.1", "user unknown"),
        ("5.1.2", "host name unknown"),
        ("5.3.0", "service unavailable"),
        ("5.3.0", "internal software error"),
        ("4.3.0", "system resource problem"),
        ("5.3.0", "critical OS file missing"),
        ("5.2.0", "can't create user output file"),
        ("5.3.0", "input/output error"),
        ("4.3.0", "temporary failure"),
        ("5.5.0", "remote error in protocol"),
        ("5.7.0", "permission denied"),
        ("5.3.5", "local configuration error"),
    ];

    // IsCode - SYS_EXITS_CODE().
    public static bool IsCode(int code) => code >= Base && code < Base + Table.Length;

    public static (string Dsn, string Text) Detail(int code) =>
        IsCode(code) ? Table[code - Base] : ("5.3.0", $"unknown mail system error {code}");
}
