// NAME
//	SmtpState, SmtpSessionInfo - one delivery request's progress, and
//	the per-recipient outcome calls
// POSTFIX
//	src/smtp/smtp_state.c, src/smtp/smtp_trouble.c, src/smtp/smtp_rcpt.c
// DESCRIPTION
//	Recipients still to deliver are the unmarked ones. SiteFail /
//	MesgFail (smtp_site_fail, smtp_mesg_fail) fail every unmarked
//	recipient; RcptFail one recipient; RcptDone reports one delivered.
//	A soft error (4.x.x, or 5.x.x with soft_bounce) before the final
//	server only logs "QUEUEID: reason" and keeps the recipients for
//	the next server; otherwise the recipients are deferred or bounced
//	through the IDeliveryReporter, the relay being the session's
//	"host[addr]:port" or "none". StreamExcept maps I/O trouble to the
//	reference's "lost connection with ... while ..." texts.
//	SmtpSessionInfo also carries the connection-cache state of the
//	session (expiry, reuse count; see SmtpReuse): a throttling failure,
//	a protocol error reply or an I/O error keeps it out of the cache.
using System;
using System.Collections.Generic;
using Postfix.Global.Deliver;
using Postfix.Util;

namespace Postfix.Daemons.Smtp;

// IDeliveryReporter - where outcomes go (DeliveryStatus in the daemon, a list in tests).
internal interface IDeliveryReporter
{
    int Sent(DeliverRequest request, Recipient rcpt, string relay, Dsn dsn);
    int Bounce(DeliverRequest request, Recipient rcpt, string relay, Dsn dsn);
    int Defer(DeliverRequest request, Recipient rcpt, string relay, Dsn dsn);
}

internal sealed class DeliveryStatusReporter : IDeliveryReporter
{
    public int Sent(DeliverRequest r, Recipient rcpt, string relay, Dsn dsn) => Done(r, rcpt,
        DeliveryStatus.Sent(DelReqFlags.TraceFlags(r.Flags), r.QueueId, r.Stats, rcpt, relay, dsn), (r.Flags & DelReqFlags.Success) != 0);

    public int Bounce(DeliverRequest r, Recipient rcpt, string relay, Dsn dsn) => Done(r, rcpt,
        DeliveryStatus.BounceAppend(DelReqFlags.TraceFlags(r.Flags), r.QueueId, r.Stats, rcpt, relay, dsn), true);

    public int Defer(DeliverRequest r, Recipient rcpt, string relay, Dsn dsn) =>
        DeliveryStatus.DeferAppend(DelReqFlags.TraceFlags(r.Flags), r.QueueId, r.Stats, rcpt, relay, dsn);

    private static int Done(DeliverRequest r, Recipient rcpt, int status, bool mark)
    {
        if (status == 0 && mark && r.QueueFile != null)
            DeliverCompleted.Mark(r.QueueFile, rcpt.Offset);
        return status;
    }
}

internal sealed class SmtpSessionInfo
{
    public SmtpSessionInfo(string host, string addr, int port, bool unix)
    {
        Host = host;
        Addr = addr;
        Port = port;
        Unix = unix;
        NamAddr = $"{host}[{addr}]";
        NamAddrPort = unix || port == 0 ? NamAddr : $"{host}[{addr}]:{port}";
    }

    public string Host { get; }
    public string Addr { get; }
    public int Port { get; }
    public string NamAddr { get; }
    public string NamAddrPort { get; }
    public bool Unix { get; }
    public SmtpFeatures Features { get; set; }
    public long SizeLimit { get; set; }

    // The connection cache state: ExpireTime (a time(2) value) > 0 while
    // the session may be cached, 0 when it may not, -1 after a failure
    // that throttles the destination (smtp.h THIS_SESSION_IS_*).
    public long ExpireTime { get; set; }
    public int ReuseCount { get; set; }
    public bool FromCache { get; init; }
    public SmtpChat? Chat { get; set; }
    public System.Net.Sockets.Socket? Socket { get; set; }

    // TlsRetryPlain - tls_retry_plain: the opportunistic TLS handshake
    // failed, try this server again without TLS.
    public bool TlsRetryPlain { get; set; }

    // Forbidden - THIS_SESSION_IS_FORBIDDEN: after a failed handshake
    // the connection is in an unknown state, no more I/O (no QUIT).
    public bool Forbidden { get; set; }

    public bool IsCached => ExpireTime > 0;

    public bool Throttled => ExpireTime < 0;

    public void DontCache() => ExpireTime = 0;

    public void DontCacheThrottled() => ExpireTime = -1;

    // KeepForCache - at the end of a transaction: true when the session
    // goes to the cache instead of saying QUIT (an expired one does not).
    public bool KeepForCache()
    {
        if (SmtpReuse.IsExpired(this) || (Chat != null && Chat.Stream is not System.Net.Sockets.NetworkStream))
            DontCache();
        return IsCached;
    }
}

[Flags]
internal enum SmtpFeatures
{
    None = 0,
    Esmtp = 1 << 0,
    Pipelining = 1 << 1,
    Size = 1 << 2,
    EightBitMime = 1 << 3,
    Dsn = 1 << 4,
    StartTls = 1 << 5,
    Auth = 1 << 6,
    SmtpUtf8 = 1 << 7,
    BestMx = 1 << 8,
    XforwardName = 1 << 9,
    XforwardAddr = 1 << 10,
    XforwardPort = 1 << 11,
    XforwardProto = 1 << 12,
    XforwardHelo = 1 << 13,
    XforwardIdent = 1 << 14,
    XforwardDomain = 1 << 15,
}

internal sealed class SmtpState
{
    private const int Marked = 1 << 30;

    public SmtpState(DeliverRequest request, SmtpSettings settings, IDeliveryReporter reporter)
    {
        Request = request;
        Settings = settings;
        Reporter = reporter;
        foreach (var r in request.Recipients)
            r.Status = 0;
    }

    public DeliverRequest Request { get; }
    public SmtpSettings Settings { get; }
    public IDeliveryReporter Reporter { get; }
    public DsnBuf Why { get; } = new();
    public SmtpSessionInfo? Session { get; set; }

    // Connection caching for this request (SMTP_MISC_FLAG_CONN_LOAD/STORE),
    // the next-hop destination label while a session may still be stored
    // under it, and the addresses whose cached sessions were used.
    public bool CacheLoad { get; set; }
    public bool CacheStore { get; set; }
    public string RequestNexthop { get; set; } = "";
    public HashSet<string> CacheUsed { get; } = new(StringComparer.Ordinal);

    // FinalServer - SMTP_MISC_FLAG_FINAL_SERVER: no other server will be tried.
    public bool FinalServer { get; set; }

    // Status - the aggregate delivery status (0 or -1 bits as the reference's state->status).
    public int Status { get; set; }

    public IEnumerable<Recipient> Left()
    {
        foreach (var r in Request.Recipients)
            if ((r.Status & Marked) == 0)
                yield return r;
    }

    public int LeftCount
    {
        get
        {
            var n = 0;
            foreach (var r in Request.Recipients)
                if ((r.Status & Marked) == 0)
                    n++;
            return n;
        }
    }

    public static bool IsMarked(Recipient r) => (r.Status & Marked) != 0;

    private static void Drop(Recipient r) => r.Status |= Marked;

    private string Relay => Session?.NamAddrPort ?? "none";

    private bool SoftOrSoftBounce(out bool soft)
    {
        soft = Why.Status.StartsWith('4');
        return soft || (Why.Status.StartsWith('5') && Settings.SoftBounce);
    }

    // FillDsn - vsmtp_fill_dsn().
    private void FillDsn(string? mtaName, SmtpResponse resp, string reason)
    {
        // smtp_check_code(): no caching after a protocol error reply.
        if (Session != null && mtaName != null
            && (resp.Code < 400 || resp.Code > 599 || resp.Code == 555 || (resp.Code >= 500 && resp.Code < 510)))
            Session.DontCache();
        var status = resp.Dsn;
        if (mtaName != null && status.Length > 0 && status[0] != '4' && status[0] != '5')
        {
            Session?.DontCache();
            reason = "Protocol error: " + reason;
            status = "5.5.0";
        }
        Why.Update(status, null, mtaName != null ? DsnBuf.MtypeDns : null, mtaName,
            resp.Text.Length > 0 ? DsnBuf.DtypeSmtp : null, resp.Text, reason);
    }

    // BulkFail - smtp_bulk_fail(); always -1.
    public int BulkFail(bool throttle)
    {
        if (SoftOrSoftBounce(out var soft) && !FinalServer)
        {
            Msg.Info($"{Request.QueueId}: {Why.Reason}");
            return -1;
        }
        if (!Request.Stats.ConnSetupDone.IsSet)
        {
            Request.Stats.ConnSetupDone = TimeVal.Now();
            Request.Stats.DeliverDone = Request.Stats.ConnSetupDone;
        }
        else
        {
            Request.Stats.DeliverDone = TimeVal.Now();
        }
        var aggregate = 0;
        var dsn = Why.ToDsn();
        foreach (var rcpt in new List<Recipient>(Left()))
        {
            var status = soft ? Reporter.Defer(Request, rcpt, Relay, dsn) : Reporter.Bounce(Request, rcpt, Relay, dsn);
            Drop(rcpt);
            aggregate |= status;
        }
        Status |= aggregate;
        if (throttle && aggregate != 0 && Request.HopStatus == null)
            Request.HopStatus = dsn;
        if (throttle)
            Session?.DontCacheThrottled();
        return -1;
    }

    public int SessFail() => BulkFail(true);

    public int SiteFail(string? mtaName, SmtpResponse resp, string reason)
    {
        FillDsn(mtaName, resp, reason);
        return BulkFail(true);
    }

    // MiscFail - smtp_misc_fail(): like SiteFail, throttling the
    // destination only when asked to.
    public int MiscFail(bool throttle, string? mtaName, SmtpResponse resp, string reason)
    {
        FillDsn(mtaName, resp, reason);
        return BulkFail(throttle);
    }

    public int MesgFail(string? mtaName, SmtpResponse resp, string reason)
    {
        FillDsn(mtaName, resp, reason);
        return BulkFail(false);
    }

    public void RcptFail(Recipient rcpt, string? mtaName, SmtpResponse resp, string reason)
    {
        FillDsn(mtaName, resp, reason);
        if (SoftOrSoftBounce(out var soft) && !FinalServer)
        {
            Msg.Info($"{Request.QueueId}: {Why.Reason}");
            return;
        }
        var dsn = Why.ToDsn();
        var status = soft ? Reporter.Defer(Request, rcpt, Relay, dsn) : Reporter.Bounce(Request, rcpt, Relay, dsn);
        Drop(rcpt);
        Status |= status;
    }

    // RcptDone - smtp_rcpt_done().
    public void RcptDone(SmtpResponse resp, Recipient rcpt, string mtaName, bool finalDelivery)
    {
        if (Session != null && (Session.Features & SmtpFeatures.Dsn) != 0)
            rcpt.DsnNotify &= ~DsnNotify.Success;
        var text = resp.Text.Replace('\n', ' ');
        var action = (Session == null || (Session.Features & SmtpFeatures.Dsn) == 0) && Settings.Lmtp && finalDelivery
            ? "delivered" : "relayed";
        Why.Update(resp.Dsn, action, DsnBuf.MtypeDns, mtaName, DsnBuf.DtypeSmtp, text, text);
        var status = Reporter.Sent(Request, rcpt, Relay, Why.ToDsn());
        Drop(rcpt);
        Status |= status;
    }

    // StreamExcept - smtp_stream_except().
    public int StreamExcept(SmtpStreamError error, string description)
    {
        Session?.DontCache();
        var namaddr = Session?.NamAddr ?? "none";
        if (error == SmtpStreamError.Eof)
            Why.Simple("4.4.2", $"lost connection with {namaddr} while {description}");
        else if (error == SmtpStreamError.Data)
            Why.Simple("4.3.0", $"local data error while talking to {namaddr}");
        else
            Why.Simple("4.4.2", $"conversation with {namaddr} timed out while {description}");
        // PLAINTEXT_FALLBACK_OK_AFTER_TLS_SESSION_FAILURE: an
        // opportunistic TLS session that broke down is tried again in
        // plaintext while recipients are left (no throttling then).
        if (error != SmtpStreamError.Data && Session != null && TlsSessionFallback?.Invoke() == true && LeftCount > 0)
        {
            Session.TlsRetryPlain = true;
            FinalServer = false;
        }
        return BulkFail(true);
    }

    // TlsSessionFallback - set while a TLS session is up: whether a
    // failure may be retried in plaintext.
    public Func<bool>? TlsSessionFallback { get; set; }
}
