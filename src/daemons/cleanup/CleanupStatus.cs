// NAME
//	CleanupStatus, CleanupFlags - client options and result bits of the
//	cleanup protocol
// POSTFIX
//	src/global/cleanup_user.h, src/global/cleanup_strerror.c
// DESCRIPTION
//	The flags a client sends after the queue ID, the per-message state
//	bits cleanup adds above them, the status bits it answers with, and
//	the status-to-(SMTP, DSN, text) table used for reasons and logging.
namespace Postfix.Daemons.Cleanup;

public static class CleanupFlags
{
    public const int None = 0;
    public const int Bounce = 1 << 0;
    public const int Filter = 1 << 1;
    public const int Hold = 1 << 2;
    public const int Discard = 1 << 3;
    public const int BccOk = 1 << 4;
    public const int MapOk = 1 << 5;
    public const int Milter = 1 << 6;
    public const int SmtpReply = 1 << 7;
    public const int SmtpUtf8 = 1 << 8;
    public const int AutoUtf8 = 1 << 9;

    public const int FilterAll = Filter | Milter;
    public const int MaskExternal = FilterAll | BccOk | MapOk;
    public const int MaskInternal = MapOk;
    public const int MaskExtra = Hold | Discard;

    // State bits kept by cleanup itself (16 and up).
    public const int InRcpt = 1 << 16;
    public const int WarnSeen = 1 << 17;
    public const int EndSeen = 1 << 18;
}

public static class CleanupStatus
{
    public const int Ok = 0;
    public const int Bad = 1 << 0;
    public const int Write = 1 << 1;
    public const int Size = 1 << 2;
    public const int Cont = 1 << 3;
    public const int Hops = 1 << 4;
    public const int Rcpt = 1 << 6;
    public const int Proxy = 1 << 7;
    public const int Defer = 1 << 8;
    public const int NoPerm = 1 << 9;
    public const int BareLf = 1 << 16;

    public const int MaskCantBounce = Bad | Write | Defer | Rcpt;
    public const int MaskIncomplete = Bad | Write | Size | Defer;

    public readonly record struct Detail(int Status, int Smtp, string Dsn, string Text);

    // Most serious first: the first matching bit describes a status.
    private static readonly Detail[] Table =
    [
        new(Defer, 451, "4.7.1", "service unavailable"),
        new(Proxy, 451, "4.3.0", "queue file write error"),
        new(Bad, 451, "4.3.0", "internal protocol error"),
        new(Rcpt, 550, "5.1.0", "no recipients specified"),
        new(Hops, 554, "5.4.0", "too many hops"),
        new(Size, 552, "5.3.4", "message file too big"),
        new(Cont, 550, "5.7.1", "message content rejected"),
        new(Write, 451, "4.3.0", "queue file write error"),
        new(NoPerm, 550, "5.7.1", "service denied"),
        new(BareLf, 521, "5.5.2", "bare <LF> received"),
    ];

    private static readonly Detail Success = new(Ok, 250, "2.0.0", "Success");

    // DetailOf - cleanup_stat_detail().
    public static Detail DetailOf(int status)
    {
        if (status == Ok)
            return Success;
        foreach (var d in Table)
            if ((d.Status & status) != 0)
                return d;
        Postfix.Util.Msg.Panic($"cleanup_stat_detail: unknown status {status}");
        return Success;
    }

    // StrError - cleanup_strerror().
    public static string StrError(int status) => DetailOf(status).Text;
}
