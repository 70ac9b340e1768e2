// NAME
//	RcptBuf, DsnBuf, BounceCodes - one recipient and its delivery status
// POSTFIX
//	src/global/rcpt_buf.h, dsn_buf.h, bounce.h, dsn_mask.h, mail_error.h,
//	deliver_request.h, smtputf8.h
// DESCRIPTION
//	The per-recipient data of a bounce request or logfile entry. Text
//	is kept as octet strings (one char per byte), the form in which it
//	is written to logfiles and notices.
namespace Postfix.Daemons.Bounce;

internal sealed class RcptBuf
{
    public string OrigAddr = "";
    public string Address = "";
    public long Offset;
    public string DsnOrcpt = "";
    public int DsnNotify;

    public void Reset()
    {
        OrigAddr = Address = DsnOrcpt = "";
        Offset = 0;
        DsnNotify = 0;
    }
}

internal sealed class DsnBuf
{
    public string Status = "";
    public string Dtype = "";
    public string Dtext = "";
    public string Mtype = "";
    public string Mname = "";
    public string Action = "";
    public string Reason = "";

    public void Reset() => Status = Dtype = Dtext = Mtype = Mname = Action = Reason = "";
}

internal static class BounceCodes
{
    // Requests (bounce.h BOUNCE_CMD_*).
    public const int CmdAppend = 0, CmdFlush = 1, CmdWarn = 2, CmdVerp = 3, CmdOne = 4, CmdTrace = 5;

    // Request flags (BOUNCE_FLAG_*).
    public const int FlagClean = 1 << 0, FlagDelrcpt = 1 << 1;

    // DSN NOTIFY and RET (dsn_mask.h).
    public const int NotifyNever = 1 << 0, NotifySuccess = 1 << 1, NotifyFailure = 1 << 2, NotifyDelay = 1 << 3;
    public const int NotifyAny = NotifySuccess | NotifyFailure | NotifyDelay;
    public const int NotifyOverride = NotifyAny | NotifyNever;
    public const int RetFull = 1 << 0, RetHdrs = 1 << 1;

    // notify_classes bits (mail_error.h).
    public const int ErrorPolicy = 1 << 0, ErrorProtocol = 1 << 1, ErrorBounce = 1 << 2, ErrorSoftware = 1 << 3,
        ErrorResource = 1 << 4, Error2Bounce = 1 << 5, ErrorDelay = 1 << 6, ErrorData = 1 << 7;

    // Delivery request flags that select the "verify" template (deliver_request.h).
    public const int DelReqUserVerify = 1 << 9, DelReqRecord = 1 << 10;

    // SMTPUTF8_FLAG_REQUESTED (smtputf8.h).
    public const int SmtpUtf8Requested = 1 << 0;

    // NotifyOk - DSN_NOTIFY_OK(): NEVER alone, or any of the others.
    public static bool NotifyOk(int v) => v == NotifyNever || (v != 0 && (v & ~NotifyAny) == 0);
}
