// NAME
//	BounceServices - the notification services of bounce(8)
// POSTFIX
//	src/bounce/bounce_notify_service.c, bounce_warn_service.c,
//	bounce_trace_service.c, bounce_one_service.c, bounce_notify_verp.c,
//	src/global/verp_sender.c
// DESCRIPTION
//	Each service returns 0 when the notification was sent (or needs not
//	be sent), non-zero to make the client try again later.
//
//	Notify (flush): a non-delivery notice to the sender from the bounce
//	or defer logfile, then removes the logfile; a postmaster copy when
//	notify_classes has "bounce". A bounced bounce (null sender) goes to
//	2bounce_notice_recipient when notify_classes has "bounce" or
//	"2bounce"; a bounced double bounce is discarded.
//	Warn: a delayed mail notice from the defer logfile, which stays.
//	Trace: a delivery status notice ("success" or "verify" template)
//	from the trace logfile.
//	One: a non-delivery notice for a single recipient given in the request.
//	Verp: one non-delivery notice per recipient, each to the sender's
//	VERP address for that recipient.
//
//	Senders and recipients are octet strings (one char per byte).
using System;
using System.IO;
using Postfix.Global.Address;
using Postfix.Global.Post;
using Postfix.Global.Queue;
using Postfix.Util;

namespace Postfix.Daemons.Bounce;

internal sealed class BounceServices(BounceSettings settings)
{
    private const string NullSender = "";
    private const int NoTraceFlags = 0;
    private const int Enoent = 2;

    private bool IsDoubleBounce(string address) =>
        string.Equals(Raw.Text(address), Raw.Text(settings.DoubleBounceSender), StringComparison.OrdinalIgnoreCase);

    private PostMail? Open(string sender, string recipient, int smtputf8)
    {
        if (settings.Open != null)
            return settings.Open(sender, recipient, smtputf8);
        return PostMail.OpenNoWait(settings.Post, Raw.Text(sender), Raw.Text(recipient), PostMail.SourceBounce,
            NoTraceFlags, smtputf8);
    }

    private void RemoveLog(string service, string queueId)
    {
        var path = settings.Queue.Path(service, queueId);
        if (Sys.Unlink(path) != 0)
        {
            var errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            if (errno != Enoent)
                Msg.Fatal($"remove {service} {queueId}: {Sys.StrError(errno)}");
        }
    }

    // SendList - one notice built from the logfile: header, optional
    // boilerplate, the recipients selected by filter in both forms, the
    // original. Returns the post_mail status; 0 also when no recipient
    // qualifies (the notice is then dropped).
    private int SendList(BounceNotice info, string sender, string recipient, int smtputf8, bool postmasterCopy,
        bool boilerplate, int filter, int ret, string what, out bool opened)
    {
        var status = 1;
        opened = false;
        var bounce = Open(sender, recipient, smtputf8);
        if (bounce == null)
            return status;
        opened = true;
        var count = -1;
        if (info.Header(bounce, recipient, postmasterCopy)
            && (!boilerplate || info.Boilerplate(bounce))
            && (count = info.DiagnosticLog(bounce, filter)) > 0
            && info.HeaderDsn(bounce)
            && info.DiagnosticDsn(bounce, filter) > 0)
        {
            info.Original(bounce, ret);
            status = bounce.Close();
            if (status == 0)
                Msg.Info($"{info.QueueId}: {what}: {bounce.QueueId}");
        }
        else
        {
            bounce.Abort();
            if (count == 0)
                status = 0;
        }
        return status;
    }

    // SendOne - one notice for the recipient in info.Rcpt/info.Dsn.
    private int SendOne(BounceNotice info, string sender, string recipient, int smtputf8, bool postmasterCopy,
        bool boilerplate, int ret, string what)
    {
        var bounce = Open(sender, recipient, smtputf8);
        if (bounce == null)
            return 1;
        if (info.Header(bounce, recipient, postmasterCopy)
            && (!boilerplate || info.Boilerplate(bounce))
            && info.RecipientLog(bounce)
            && info.HeaderDsn(bounce)
            && info.RecipientDsn(bounce))
            info.Original(bounce, ret);
        var status = bounce.Close();
        if (status == 0)
            Msg.Info($"{info.QueueId}: {what}: {bounce.QueueId}");
        return status;
    }

    // Notify - bounce_notify_service().
    public int Notify(int flags, string service, string queueName, string queueId, string encoding, int smtputf8,
        string recipient, string dsnEnvid, int dsnRet)
    {
        using var info = BounceNotice.Init(settings, service, queueName, queueId, encoding, smtputf8, dsnEnvid,
            settings.Templates.Failure);
        var bounceStatus = 1;
        var mask = settings.NotifyMask;
        if (IsDoubleBounce(recipient))
        {
            Msg.Warn($"{queueId}: undeliverable postmaster notification discarded");
            bounceStatus = 0;
        }
        else if (recipient.Length == 0)
        {
            if ((mask & (BounceCodes.Error2Bounce | BounceCodes.ErrorBounce)) == 0)
                bounceStatus = 0;
            else
                bounceStatus = SendList(info, settings.DoubleBounceSender, settings.TwoBounceRcpt, smtputf8, true, false,
                    BounceCodes.NotifyOverride, BounceCodes.RetFull, "postmaster non-delivery notification", out _);
        }
        else
        {
            bounceStatus = SendList(info, NullSender, recipient, smtputf8, false, true, BounceCodes.NotifyFailure,
                dsnRet != 0 ? dsnRet : BounceCodes.RetFull, "sender non-delivery notification", out _);
            if (bounceStatus == 0 && (mask & BounceCodes.ErrorBounce) != 0 && !IsDoubleBounce(recipient))
            {
                var pmStatus = SendList(info, settings.DoubleBounceSender, settings.BounceRcpt, smtputf8, true, false,
                    BounceCodes.NotifyOverride, BounceCodes.RetHdrs, "postmaster non-delivery notification", out _);
                if (pmStatus != 0)
                    Msg.Warn($"{queueId}: postmaster notice failed while bouncing to {Raw.Text(recipient)}");
            }
        }
        if (bounceStatus == 0 && (flags & BounceCodes.FlagDelrcpt) != 0)
            info.DeleteRecipients();
        if (bounceStatus == 0)
            RemoveLog(service, queueId);
        return bounceStatus;
    }

    // Warn - bounce_warn_service().
    public int Warn(int flags, string service, string queueName, string queueId, string encoding, int smtputf8,
        string recipient, string dsnEnvid, int dsnRet)
    {
        using var info = BounceNotice.Init(settings, service, queueName, queueId, encoding, smtputf8, dsnEnvid,
            settings.Templates.Delay);
        var bounceStatus = 1;
        var mask = settings.NotifyMask;
        if (IsDoubleBounce(recipient))
        {
            Msg.Warn($"{queueId}: undeliverable postmaster notification discarded");
            bounceStatus = 0;
        }
        else if (recipient.Length == 0)
        {
            if ((mask & BounceCodes.ErrorDelay) == 0)
                bounceStatus = 0;
            else
                bounceStatus = SendList(info, settings.DoubleBounceSender, settings.DelayRcpt, smtputf8, true, false,
                    BounceCodes.NotifyOverride, BounceCodes.RetFull, "postmaster delay notification", out _);
        }
        else
        {
            bounceStatus = SendList(info, NullSender, recipient, smtputf8, false, true, BounceCodes.NotifyDelay,
                BounceCodes.RetHdrs, "sender delay notification", out _);
            if (bounceStatus == 0 && (mask & BounceCodes.ErrorDelay) != 0 && !IsDoubleBounce(recipient))
            {
                var pmStatus = SendList(info, settings.DoubleBounceSender, settings.DelayRcpt, smtputf8, true, false,
                    BounceCodes.NotifyOverride, BounceCodes.RetHdrs, "postmaster delay notification", out _);
                if (pmStatus != 0)
                    Msg.Warn($"{queueId}: postmaster notice failed while warning {Raw.Text(recipient)}");
            }
        }
        return bounceStatus;
    }

    // Trace - bounce_trace_service().
    public int Trace(int flags, string service, string queueName, string queueId, string encoding, int smtputf8,
        string recipient, string dsnEnvid, int dsnRet)
    {
        string sender;
        if (IsDoubleBounce(recipient))
        {
            Msg.Info($"{queueId}: not sending trace/success notification for double-bounce message");
            return 0;
        }
        if (recipient.Length == 0)
        {
            if ((settings.NotifyMask & BounceCodes.Error2Bounce) != 0)
            {
                recipient = settings.TwoBounceRcpt;
                sender = settings.DoubleBounceSender;
            }
            else
            {
                Msg.Info($"{queueId}: not sending trace/success notification for single-bounce message");
                RemoveLog(service, queueId);
                return 0;
            }
        }
        else
        {
            sender = NullSender;
        }
        var template = (flags & (BounceCodes.DelReqUserVerify | BounceCodes.DelReqRecord)) != 0
            ? settings.Templates.Verify : settings.Templates.Success;
        using var info = BounceNotice.Init(settings, service, queueName, queueId, encoding, smtputf8, dsnEnvid, template);
        if (info.Log == null)
        {
            if (Msg.Verbose > 0)
                Msg.Info($"{queueId}: no trace file -- not sending a notification");
            return 0;
        }
        var status = SendList(info, sender, recipient, smtputf8, false, true, BounceCodes.NotifyOverride,
            BounceCodes.RetHdrs, "sender delivery status notification", out _);
        if (status == 0)
            RemoveLog(service, queueId);
        return status;
    }

    // One - bounce_one_service().
    public int One(int flags, string queueName, string queueId, string encoding, int smtputf8, string origSender,
        string dsnEnvid, int dsnRet, RcptBuf rcpt, DsnBuf dsn)
    {
        using var info = BounceNotice.InitOne(settings, queueName, queueId, encoding, smtputf8, dsnEnvid, rcpt, dsn,
            settings.Templates.Failure);
        var bounceStatus = 1;
        var mask = settings.NotifyMask;
        if (IsDoubleBounce(origSender))
        {
            Msg.Warn($"{queueId}: undeliverable postmaster notification discarded");
            bounceStatus = 0;
        }
        else if (origSender.Length == 0)
        {
            if ((mask & (BounceCodes.Error2Bounce | BounceCodes.ErrorBounce)) == 0)
                bounceStatus = 0;
            else
                bounceStatus = SendOne(info, settings.DoubleBounceSender, settings.TwoBounceRcpt, smtputf8, true, false,
                    BounceCodes.RetFull, "postmaster non-delivery notification");
        }
        else
        {
            if (rcpt.DsnNotify != 0 && (rcpt.DsnNotify & BounceCodes.NotifyFailure) == 0)
                bounceStatus = 0;
            else
                bounceStatus = SendOne(info, NullSender, origSender, smtputf8, false, true,
                    dsnRet != 0 ? dsnRet : BounceCodes.RetFull, "sender non-delivery notification");
            if (bounceStatus == 0 && (mask & BounceCodes.ErrorBounce) != 0 && !IsDoubleBounce(origSender))
            {
                var pmStatus = SendOne(info, settings.DoubleBounceSender, settings.BounceRcpt, smtputf8, true, false,
                    BounceCodes.RetHdrs, "postmaster non-delivery notification");
                if (pmStatus != 0)
                    Msg.Warn($"{queueId}: postmaster notice failed while bouncing to {Raw.Text(origSender)}");
            }
        }
        if (bounceStatus == 0 && (flags & BounceCodes.FlagDelrcpt) != 0)
            info.DeleteRecipientOne();
        return bounceStatus;
    }

    // Verp - bounce_notify_verp(): the sender is neither null nor the double-bounce address.
    public int Verp(int flags, string service, string queueName, string queueId, string encoding, int smtputf8,
        string recipient, string dsnEnvid, int dsnRet, string verpDelims)
    {
        if (recipient.Length == 0)
            Msg.Panic("bounce_notify_verp: attempt to bounce a single bounce");
        if (IsDoubleBounce(recipient))
            Msg.Panic("bounce_notify_verp: attempt to bounce a double bounce");
        using var info = BounceNotice.Init(settings, service, queueName, queueId, encoding, smtputf8, dsnEnvid,
            settings.Templates.Failure);
        if (info.Log == null)
        {
            var dsn = new DsnBuf { Status = "5.0.0", Reason = "(error report unavailable)" };
            var rcpt = new RcptBuf { Address = "(recipient address unavailable)" };
            return One(flags, queueName, queueId, encoding, smtputf8, recipient, dsnEnvid, dsnRet, rcpt, dsn);
        }
        var bounceStatus = 0;
        while (info.Log.Read(info.Rcpt, info.Dsn))
        {
            var rcpt = info.Rcpt;
            if (rcpt.DsnNotify != 0 && (rcpt.DsnNotify & BounceCodes.NotifyFailure) == 0)
            {
                bounceStatus = 0;
            }
            else
            {
                var verp = VerpSender(verpDelims, recipient, rcpt);
                bounceStatus = SendOne(info, NullSender, verp, smtputf8, false, true,
                    dsnRet != 0 ? dsnRet : BounceCodes.RetFull, "sender non-delivery notification");
                if (bounceStatus != 0)
                    break;
                if ((flags & BounceCodes.FlagDelrcpt) != 0)
                    info.DeleteRecipientOne();
            }
            if ((settings.NotifyMask & BounceCodes.ErrorBounce) != 0)
            {
                var pmStatus = SendOne(info, settings.DoubleBounceSender, settings.BounceRcpt, smtputf8, true, false,
                    BounceCodes.RetHdrs, "postmaster non-delivery notification");
                if (pmStatus != 0)
                    Msg.Warn($"{queueId}: postmaster notice failed while bouncing to {Raw.Text(recipient)}");
            }
        }
        if (bounceStatus == 0)
            RemoveLog(service, queueId);
        return bounceStatus;
    }

    // VerpSender - verp_sender(): prefix@origin becomes prefix+user=domain@origin.
    internal static string VerpSender(string delims, string sender, RcptBuf rcpt)
    {
        var at = sender.LastIndexOf('@');
        var sendLocal = at >= 0 ? at : sender.Length;
        var recipient = rcpt.OrigAddr.Length > 0 ? rcpt.OrigAddr : rcpt.Address;
        var rat = recipient.LastIndexOf('@');
        var rcptLocal = rat >= 0 ? rat : recipient.Length;
        var sb = new System.Text.StringBuilder();
        sb.Append(sender, 0, sendLocal).Append(delims[0]).Append(recipient, 0, rcptLocal);
        if (rcptLocal + 1 < recipient.Length)
            sb.Append(delims[1]).Append(recipient, rcptLocal + 1, recipient.Length - rcptLocal - 1);
        if (sendLocal + 1 < sender.Length)
            sb.Append('@').Append(sender, sendLocal + 1, sender.Length - sendLocal - 1);
        return sb.ToString();
    }
}
