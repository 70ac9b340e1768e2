// NAME
//	DeliveryStatus - record a recipient's delivery status
// POSTFIX
//	src/global/sent.c, bounce.c (bounce_append, bounce_one), defer.c
//	(defer_append, defer_one), trace.c (trace_append), verify.c
// DESCRIPTION
//	The calls a delivery agent makes per recipient. Each checks the
//	status code's class (warning "sent: ignoring dsn code ..." and so
//	on), applies the optional DSN filter, and then, depending on the
//	request flags:
//
//	DelReqFlags.MtaVrfy: report to the verify service (VerifyAppend);
//	DelReqFlags.UsrVrfy: report to the trace service (TraceAppend);
//	otherwise: append to the bounce/defer log through private/bounce,
//	private/defer (and private/trace with DelReqFlags.Record or a DSN
//	SUCCESS request), and log the status line (LogAdhoc).
//
//	Results: 0 when the recipient is done (the agent may mark it done
//	in the queue file), -1 when it must be tried again. BounceAppend
//	falls back to DeferAppend ("bounce or trace service failure") when
//	the bounce service fails; DeferAppend always returns -1, after
//	logging status=deferred even when the defer service failed, and
//	tells the fast-flush service about the recipient's domain.
using System;
using Postfix.Global.Attr;
using Postfix.Util;

namespace Postfix.Global.Deliver;

public static class DeliveryStatus
{
    // Filter - delivery_status_filter: a replacement status, or null.
    public static Func<Dsn, Dsn?>? Filter { get; set; }

    // Sent - sent(): the recipient was delivered.
    public static int Sent(int flags, string id, MsgStats stats, Recipient rcpt, string relay, Dsn dsn)
    {
        var my = Screen("sent", '2', dsn, out _);
        if ((flags & DelReqFlags.MtaVrfy) != 0)
            return VerifyAppend(id, stats, rcpt, relay, my with { Action = "deliverable" }, DelRcptStat.Ok);
        if ((flags & DelReqFlags.UsrVrfy) != 0)
            return TraceAppend(flags, id, stats, rcpt, relay, my with { Action = "deliverable" });
        if (my.Action.Length == 0)
            my = my with { Action = "delivered" };
        var recAll = (flags & DelReqFlags.Record) != 0;
        var recDelayed = (flags & DelReqFlags.RecDlySent) != 0
            && (rcpt.DsnNotify == 0 || (rcpt.DsnNotify & DsnNotify.Delay) != 0);
        if ((!recAll && !recDelayed || TraceAppend(flags, id, stats, rcpt, relay, my) == 0)
            && ((rcpt.DsnNotify & DsnNotify.Success) == 0 || TraceAppend(flags, id, stats, rcpt, relay, my) == 0))
        {
            LogAdhoc.Log(id, stats, rcpt, relay, my, "sent");
            return 0;
        }
        my = my with { Reason = $"{id}: {DeliverConfig.TraceService} service failed", Status = "4.3.0" };
        return DeferAppend(flags, id, stats, rcpt, relay, my);
    }

    // BounceAppend - bounce_append(): the recipient failed permanently.
    public static int BounceAppend(int flags, string id, MsgStats stats, Recipient rcpt, string relay, Dsn dsn)
    {
        var my = Screen("bounce_append", '5', dsn, out var deferred);
        return deferred ? DeferAppendIntern(flags, id, stats, rcpt, relay, my)
            : BounceAppendIntern(flags, id, stats, rcpt, relay, my);
    }

    // Screen - what the append functions do first: a status that is not
    // valid or not of the expected class ('5' bounce, '4' defer) gives way
    // to X.0.0 with a warning, then the DSN filter may change it;
    // otherClass: the filter made a bounce a defer or the other way.
    private static Dsn Screen(string caller, char statusClass, Dsn dsn, out bool otherClass)
    {
        var my = dsn;
        if (my.Status.Length == 0 || my.Status[0] != statusClass || DsnUtil.Valid(my.Status) == 0)
        {
            Msg.Warn($"{caller}: ignoring dsn code \"{my.Status}\"");
            my = my with { Status = statusClass + ".0.0" };
        }
        otherClass = false;
        if (Filter != null && Filter(my) is { } res)
        {
            otherClass = res.Status.StartsWith(statusClass == '5' ? '4' : '5');
            my = res;
        }
        return my;
    }

    internal static int BounceAppendIntern(int flags, string id, MsgStats stats, Recipient rcpt, string relay, Dsn dsn)
    {
        if ((flags & DelReqFlags.MtaVrfy) != 0)
            return VerifyAppend(id, stats, rcpt, relay, dsn with { Action = "undeliverable" }, DelRcptStat.Bounce);
        if ((flags & DelReqFlags.UsrVrfy) != 0)
            return TraceAppend(flags, id, stats, rcpt, relay, dsn with { Action = "undeliverable" });
        var soft = DeliverConfig.SoftBounce;
        if (soft && (flags & BounceFlags.Clean) != 0)
            return -1;
        var my = soft
            ? dsn with { Status = "4" + dsn.Status[1..], Action = "delayed" }
            : dsn with { Action = "failed" };
        var service = soft ? DeliverConfig.DeferService : DeliverConfig.BounceService;
        if (MailCommandClient.Command(MailProto.ClassPrivate, service, MailProto.ProtoBounce,
                w => AppendRequest(w, flags, id, rcpt, my)) == 0
            && ((flags & DelReqFlags.Record) == 0 || TraceAppend(flags, id, stats, rcpt, relay, my) == 0))
        {
            LogAdhoc.Log(id, stats, rcpt, relay, my, soft ? "SOFTBOUNCE" : "bounced");
            return soft ? -1 : 0;
        }
        if ((flags & BounceFlags.Clean) == 0)
        {
            my = my with
            {
                Status = "4.3.0",
                Reason = $"{DeliverConfig.BounceService} or {DeliverConfig.TraceService} service failure",
            };
            return DeferAppendIntern(flags, id, stats, rcpt, relay, my);
        }
        return -1;
    }

    // DeferAppend - defer_append(): try the recipient again later.
    public static int DeferAppend(int flags, string id, MsgStats stats, Recipient rcpt, string relay, Dsn dsn)
    {
        var my = Screen("defer_append", '4', dsn, out var bounced);
        return bounced ? BounceAppendIntern(flags, id, stats, rcpt, relay, my)
            : DeferAppendIntern(flags, id, stats, rcpt, relay, my);
    }

    internal static int DeferAppendIntern(int flags, string id, MsgStats stats, Recipient rcpt, string relay, Dsn dsn)
    {
        if ((flags & DelReqFlags.MtaVrfy) != 0)
            return VerifyAppend(id, stats, rcpt, relay, dsn with { Action = "undeliverable" }, DelRcptStat.Defer);
        if ((flags & DelReqFlags.UsrVrfy) != 0)
            return TraceAppend(flags, id, stats, rcpt, relay, dsn with { Action = "undeliverable" });
        var my = dsn with { Action = "delayed" };
        if (MailCommandClient.Command(MailProto.ClassPrivate, DeliverConfig.DeferService, MailProto.ProtoBounce,
                w => AppendRequest(w, flags, id, rcpt, my)) != 0)
            Msg.Warn($"{id}: {DeliverConfig.DeferService} service failure");
        LogAdhoc.Log(id, stats, rcpt, relay, my, "deferred");
        if ((flags & DelReqFlags.Record) != 0 && TraceAppend(flags, id, stats, rcpt, relay, my) != 0)
            Msg.Warn($"{id}: {DeliverConfig.TraceService} service failure");
        var at = rcpt.Address.LastIndexOf('@');
        if (at >= 0 && at + 1 < rcpt.Address.Length)
        {
            switch (FlushClient.Add(rcpt.Address[(at + 1)..], id))
            {
                case FlushClient.StatOk:
                case FlushClient.StatDeny:
                    break;
                default:
                    Msg.Warn($"{id}: {DeliverConfig.FlushService} service failure");
                    break;
            }
        }
        return -1;
    }

    // BounceOne - bounce_one(): a single-recipient bounce notice now.
    public static int BounceOne(int flags, string queue, string id, string encoding, int smtputf8, string sender,
        string dsnEnvid, int dsnRet, MsgStats stats, Recipient rcpt, string relay, Dsn dsn)
    {
        var my = Screen("bounce_one", '5', dsn, out var deferred);
        if (deferred)
            return DeferAppendIntern(flags, id, stats, rcpt, relay, my);
        return BounceOneIntern(flags, queue, id, encoding, smtputf8, sender, dsnEnvid, dsnRet, stats, rcpt, relay, my);
    }

    internal static int BounceOneIntern(int flags, string queue, string id, string encoding, int smtputf8,
        string sender, string dsnEnvid, int dsnRet, MsgStats stats, Recipient rcpt, string relay, Dsn dsn)
    {
        if ((flags & DelReqFlags.MtaVrfy) != 0)
            return VerifyAppend(id, stats, rcpt, relay, dsn with { Action = "undeliverable" }, DelRcptStat.Bounce);
        if ((flags & DelReqFlags.UsrVrfy) != 0)
            return TraceAppend(flags, id, stats, rcpt, relay, dsn with { Action = "undeliverable" });
        if (DeliverConfig.SoftBounce)
            return BounceAppendIntern(flags, id, stats, rcpt, relay, dsn);
        var my = dsn with { Action = "failed" };
        if (MailCommandClient.Command(MailProto.ClassPrivate, DeliverConfig.BounceService, MailProto.ProtoBounce,
                w =>
                {
                    w.Int(MailProto.AttrNreq, BounceCmd.One)
                     .Int(MailProto.AttrFlags, flags)
                     .Str(MailProto.AttrQueue, queue)
                     .Str(MailProto.AttrQueueId, id)
                     .Str(MailProto.AttrEncoding, encoding)
                     .Int(MailProto.AttrSmtpUtf8, smtputf8)
                     .Str(MailProto.AttrSender, sender)
                     .Str(MailProto.AttrDsnEnvid, dsnEnvid)
                     .Int(MailProto.AttrDsnRet, dsnRet);
                    rcpt.Write(w);
                    my.Write(w);
                }) == 0
            && ((flags & DelReqFlags.Record) == 0 || TraceAppend(flags, id, stats, rcpt, relay, my) == 0))
        {
            LogAdhoc.Log(id, stats, rcpt, relay, my, "bounced");
            return 0;
        }
        if ((flags & BounceFlags.Clean) == 0)
        {
            my = my with
            {
                Status = "4.3.0",
                Reason = $"{DeliverConfig.BounceService} or {DeliverConfig.TraceService} service failure",
            };
            return DeferAppendIntern(flags, id, stats, rcpt, relay, my);
        }
        return -1;
    }

    // DeferOne - defer_one().
    public static int DeferOne(int flags, string queue, string id, string encoding, int smtputf8, string sender,
        string dsnEnvid, int dsnRet, MsgStats stats, Recipient rcpt, string relay, Dsn dsn)
    {
        var my = Screen("defer_one", '4', dsn, out var bounced);
        if (bounced)
            return BounceOneIntern(flags, queue, id, encoding, smtputf8, sender, dsnEnvid, dsnRet, stats, rcpt, relay, my);
        return DeferAppendIntern(flags, id, stats, rcpt, relay, my);
    }

    // TraceAppend - trace_append(): a delivery record for the sender.
    public static int TraceAppend(int flags, string id, MsgStats stats, Recipient rcpt, string relay, Dsn dsn)
    {
        var reason = relay != "none" ? $"delivery via {relay}: {dsn.Reason}" : dsn.Reason;
        var my = dsn with { Reason = reason };
        if (MailCommandClient.Command(MailProto.ClassPrivate, DeliverConfig.TraceService, MailProto.ProtoBounce,
                w => AppendRequest(w, flags, id, rcpt, my)) != 0)
        {
            Msg.Warn($"{id}: {DeliverConfig.TraceService} service failure");
            return -1;
        }
        if ((flags & DelReqFlags.UsrVrfy) != 0)
            LogAdhoc.Log(id, stats, rcpt, relay, dsn, my.Action);
        return 0;
    }

    // VerifyAppend - verify_append(): an address probe result.
    public static int VerifyAppend(string id, MsgStats stats, Recipient rcpt, string relay, Dsn dsn, int vrfyStat)
    {
        int reqStat;
        var action = dsn.Action;
        if (DeliverConfig.VerifyNegCache || vrfyStat == DelRcptStat.Ok)
        {
            reqStat = rcpt.OrigAddr.Length > 0
                ? VerifyClient.Update(rcpt.OrigAddr, vrfyStat, dsn.Reason)
                : VerifyClient.StatOk;
            if (reqStat == VerifyClient.StatOk && rcpt.Address != rcpt.OrigAddr)
                reqStat = VerifyClient.Update(rcpt.Address, vrfyStat, dsn.Reason);
        }
        else
        {
            action = "undeliverable-but-not-cached";
            reqStat = VerifyClient.StatOk;
        }
        if (reqStat == VerifyClient.StatOk)
        {
            LogAdhoc.Log(id, stats, rcpt, relay, dsn, action);
            return 0;
        }
        Msg.Warn($"{id}: {DeliverConfig.VerifyService} service failure");
        return -1;
    }

    // AppendRequest - BOUNCE_CMD_APPEND as bounce/defer/trace expect it.
    internal static void AppendRequest(AttrWriter w, int flags, string id, Recipient rcpt, Dsn dsn)
    {
        w.Int(MailProto.AttrNreq, BounceCmd.Append)
         .Int(MailProto.AttrFlags, flags)
         .Str(MailProto.AttrQueueId, id);
        rcpt.Write(w);
        dsn.Write(w);
    }
}
