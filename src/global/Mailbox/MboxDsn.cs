// NAME
//	MboxDsn - the status code for a mailbox error number
// POSTFIX
//	src/global/mbox_open.c (mbox_dsn)
// DESCRIPTION
//	Try-again errors become 4.2.0, a full file system 4.3.0, a full
//	mailbox (quota, file size) 5.2.2, anything else the caller's code.
namespace Postfix.Global.Mailbox;

public static class MboxDsn
{
    public static string Of(int errno, string defaultDsn) => errno switch
    {
        MailboxNative.EAGAIN or MailboxNative.ESTALE => "4.2.0",
        MailboxNative.ENOSPC => "4.3.0",
        MailboxNative.EDQUOT or MailboxNative.EFBIG => "5.2.2",
        _ => defaultDsn,
    };
}
