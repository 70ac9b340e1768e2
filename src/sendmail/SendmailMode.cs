// NAME
//	SendmailMode - what one sendmail invocation does
// POSTFIX
//	src/sendmail/sendmail.c (SM_MODE_*, SM_FLAG_*),
//	src/global/deliver_request.h (DEL_REQ_FLAG_*)
// DESCRIPTION
//	The operating modes and flags, and the settings collected from the
//	command line for the enqueue path.
namespace Postfix.Commands.Sendmail;

internal enum SendmailMode
{
    Enqueue = 1,        // deliver mail (default)
    NewAlias = 2,       // newaliases, -bi, -I
    MailQ = 3,          // mailq, -bp
    Daemon = 4,         // -bd, -bl
    User = 5,           // -bs
    FlushQ = 6,         // -q
    Ignore = 7,         // -bh, -bH
}

internal static class SendmailFlags
{
    public const int ArchaicEof = 1 << 0;       // a "." line ends the input
    public const int ExtractRcpt = 1 << 1;      // -t
    public const int MtaVerify = 1 << 8;
    public const int UserVerify = 1 << 9;       // -bv
    public const int Record = 1 << 10;          // -v: record and deliver
    public const int TraceMask = MtaVerify | UserVerify | Record;
    public const int TraceOnlyMask = MtaVerify | UserVerify;
}

// SubmitRequest - the enqueue settings.
internal sealed class SubmitRequest
{
    public int Flags = SendmailFlags.ArchaicEof;
    public string? Encoding;
    public string? DsnEnvId;
    public int DsnRet;
    public int DsnNotify;
    public string RewriteContext = "local";
    public string? Sender;
    public string? FullName;
    public string? VerpDelims;
    public string[] Recipients = [];
}
