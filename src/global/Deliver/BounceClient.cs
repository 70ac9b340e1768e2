// NAME
//	BounceClient - ask the bounce/defer/trace services to send notices
// POSTFIX
//	src/global/bounce.c (bounce_flush, bounce_flush_verp), defer.c
//	(defer_flush, defer_warn), trace.c (trace_flush)
// DESCRIPTION
//	What qmgr asks once a message is done: Flush() sends the bounce log
//	to the sender (nothing with soft_bounce), FlushVerp() the same per
//	recipient, DeferFlush() turns the defer log into a bounce for
//	expired mail, DeferWarn() sends a delay warning keeping the log,
//	TraceFlush() sends the delivery record (sendmail -v, -bv). Results:
//	0 or -1. A failed Flush() without BounceFlags.Clean logs
//	"ID: status=deferred (bounce failed)".
using System;
using Postfix.Global.Attr;
using Postfix.Util;

namespace Postfix.Global.Deliver;

public static class BounceClient
{
    // Flush - bounce_flush().
    public static int Flush(int flags, string queue, string id, string encoding, int smtputf8, string sender,
        string dsnEnvid, int dsnRet)
    {
        if (DeliverConfig.SoftBounce)
            return -1;
        if (Command(DeliverConfig.BounceService, BounceCmd.Flush, flags, queue, id, encoding, smtputf8, sender,
                dsnEnvid, dsnRet, null) == 0)
            return 0;
        if ((flags & BounceFlags.Clean) == 0)
            Msg.Info($"{id}: status=deferred (bounce failed)");
        return -1;
    }

    // FlushVerp - bounce_flush_verp().
    public static int FlushVerp(int flags, string queue, string id, string encoding, int smtputf8, string sender,
        string dsnEnvid, int dsnRet, string verpDelims)
    {
        if (DeliverConfig.SoftBounce)
            return -1;
        if (Command(DeliverConfig.BounceService, BounceCmd.Verp, flags, queue, id, encoding, smtputf8, sender,
                dsnEnvid, dsnRet, verpDelims) == 0)
            return 0;
        if ((flags & BounceFlags.Clean) == 0)
            Msg.Info($"{id}: status=deferred (bounce failed)");
        return -1;
    }

    // DeferFlush - defer_flush(): bounce the deferred recipients.
    public static int DeferFlush(int flags, string queue, string id, string encoding, int smtputf8, string sender,
        string dsnEnvid, int dsnRet) =>
        Command(DeliverConfig.DeferService, BounceCmd.Flush, flags | BounceFlags.DelRcpt, queue, id, encoding,
            smtputf8, sender, dsnEnvid, dsnRet, null) == 0 ? 0 : -1;

    // DeferWarn - defer_warn(): a delay warning; the log stays.
    public static int DeferWarn(int flags, string queue, string id, string encoding, int smtputf8, string sender,
        string dsnEnvid, int dsnRet) =>
        Command(DeliverConfig.DeferService, BounceCmd.Warn, flags, queue, id, encoding, smtputf8, sender,
            dsnEnvid, dsnRet, null) == 0 ? 0 : -1;

    // TraceFlush - atrace_flush() as qmgr sends it: the same attributes as
    // the other bounce commands (smtputf8 included; the bounce service
    // rejects a trace request without it as malformed).
    public static int TraceFlush(int flags, string queue, string id, string encoding, int smtputf8, string sender,
        string dsnEnvid, int dsnRet) =>
        Command(DeliverConfig.TraceService, BounceCmd.Trace, flags, queue, id, encoding, smtputf8, sender,
            dsnEnvid, dsnRet, null) == 0 ? 0 : -1;

    private static int Command(string service, int cmd, int flags, string queue, string id, string encoding,
        int smtputf8, string sender, string dsnEnvid, int dsnRet, string? verpDelims) =>
        MailCommandClient.Command(MailProto.ClassPrivate, service, MailProto.ProtoBounce, w =>
        {
            w.Int(MailProto.AttrNreq, cmd)
             .Int(MailProto.AttrFlags, flags)
             .Str(MailProto.AttrQueue, queue)
             .Str(MailProto.AttrQueueId, id)
             .Str(MailProto.AttrEncoding, encoding)
             .Int(MailProto.AttrSmtpUtf8, smtputf8)
             .Str(MailProto.AttrSender, sender)
             .Str(MailProto.AttrDsnEnvid, dsnEnvid)
             .Int(MailProto.AttrDsnRet, dsnRet);
            if (verpDelims != null)
                w.Str(MailProto.AttrVerpDelims, verpDelims);
        });
}
