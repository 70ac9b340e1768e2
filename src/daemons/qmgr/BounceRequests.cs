// NAME
//	BounceRequests - what the queue manager asks of the bounce services
// POSTFIX
//	src/global/abounce.c, src/global/defer.c (defer_append), src/global/log_adhoc.c
// DESCRIPTION
//	Flush() sends the bounce log (bounce service), DeferFlush() returns
//	a message that expired (defer service), Warn() sends a delay
//	warning, TraceFlush() a delivery report (trace service). Each
//	returns the server's status, or -1 with the reference's "status=
//	deferred (bounce failed)" style log line when the service could not
//	be reached. DeferAppend() records why one recipient was deferred
//	and logs the "status=deferred" line, for the rare case that the
//	retry transport itself is unavailable.
using System;
using System.Globalization;
using System.Net.Sockets;
using Postfix.Global.Attr;
using Postfix.Util;

namespace Postfix.Daemons.Qmgr;

internal static class BounceRequests
{
    public const int CmdAppend = 0;
    public const int CmdFlush = 1;
    public const int CmdWarn = 2;
    public const int CmdTrace = 5;

    private static readonly AttrSpec[] Announce = [AttrSpec.StrEq(MailProto.AttrProto, MailProto.ProtoBounce)];
    private static readonly AttrSpec[] StatusReply = [AttrSpec.Int("status")];

    public static int Flush(QmgrConfig c, QueuedMessage m) => Notify(c.BounceService, CmdFlush, m);

    public static int DeferFlush(QmgrConfig c, QueuedMessage m) => Notify(c.DeferService, CmdFlush, m);

    public static int Warn(QmgrConfig c, QueuedMessage m) => Notify(c.DeferService, CmdWarn, m);

    public static int TraceFlush(QmgrConfig c, QueuedMessage m) => Notify(c.TraceService, CmdTrace, m);

    private static int Notify(string service, int command, QueuedMessage m)
    {
        var status = Request(service, w => w.Int("nrequest", command)
            .Int("flags", 0)
            .Str("queue_name", m.QueueName)
            .Str("queue_id", m.QueueId)
            .Str("encoding", m.Encoding)
            .Int("smtputf8", m.SmtpUtf8)
            .Str("sender", m.Sender ?? "")
            .Str("envelope_id", m.DsnEnvid)
            .Int("ret_flags", m.DsnRet));
        if (status != 0)
        {
            var what = command switch
            {
                CmdFlush => "bounce",
                CmdWarn => "delay warning",
                CmdTrace => "trace",
                _ => "whatever",
            };
            Msg.Info($"{m.QueueId}: status=deferred ({what} failed)");
        }
        return status;
    }

    // DeferAppend - defer_append(): log and record one deferred recipient.
    public static int DeferAppend(QmgrConfig c, QueuedMessage m, QueuedRecipient r, string dsnStatus, string reason)
    {
        var status = Request(c.DeferService, w => w.Int("nrequest", CmdAppend)
            .Int("flags", m.TraceFlags)
            .Str("queue_id", m.QueueId)
            .Str("original_recipient", r.OrigAddr)
            .Str("recipient", r.Address)
            .Long("offset", r.Offset)
            .Str("dsn_orig_rcpt", r.DsnOrcpt)
            .Int("notify_flags", r.DsnNotify)
            .Str("status", dsnStatus)
            .Str("diag_type", "")
            .Str("diag_text", "")
            .Str("mta_type", "")
            .Str("mta_mname", "")
            .Str("action", "delayed")
            .Str("reason", reason));
        var orig = r.OrigAddr.Length > 0 && r.OrigAddr != r.Address ? $", orig_to=<{r.OrigAddr}>" : "";
        var reasonText = status == 0 ? reason : reason + "; defer service failure";
        Msg.Info($"{m.QueueId}: to=<{r.Address}>{orig}, relay=none, {Delays.Format(m)}, dsn={dsnStatus}, status=deferred ({reasonText})");
        return status == 0 ? 0 : 1;
    }

    // Request - connect to private/SERVICE, read the announcement, send,
    // read the status; -1 on any failure.
    private static int Request(string service, Action<AttrWriter> print)
    {
        var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            s.Connect(new UnixDomainSocketEndPoint("private/" + service));
            s.ReceiveTimeout = s.SendTimeout = 3600_000;
        }
        catch (SocketException e)
        {
            s.Dispose();
            Msg.Warn($"connect to private/{service}: {Sys.StrError(AgentClient.SocketErrno(e))}");
            return -1;
        }
        using var conn = new AttrStream(new NetworkStream(s, ownsSocket: true), "private/" + service);
        var v = new AttrValue[1];
        if (conn.Receive(Announce, v, AttrFlags.Strict) != 0 || !conn.Send(print))
            return -1;
        return conn.Receive(StatusReply, v, AttrFlags.Strict) == 1 ? v[0].Int : -1;
    }
}

// Delays - the "delay=N, delays=a/b/c/d" text of log_adhoc() for a
// recipient the queue manager itself disposes of (no agent involved).
internal static class Delays
{
    public static string Format(QueuedMessage m)
    {
        var now = DateTimeOffset.UtcNow;
        var nowSec = now.ToUnixTimeSeconds() + now.Millisecond / 1000.0;
        var arrival = m.ArrivalSec + m.ArrivalUsec / 1e6;
        var active = m.ActiveSec + m.ActiveUsec / 1e6;
        var total = Math.Max(0, nowSec - arrival);
        var inQueue = Math.Max(0, active - arrival);
        var inActive = Math.Max(0, nowSec - active);
        return $"delay={Num(total)}, delays={Num(inQueue)}/{Num(inActive)}/0/0";
    }

    // Num - log_adhoc's adaptive precision: whole seconds from 10 s up,
    // two significant digits below, 0 for less than 10 ms.
    public static string Num(double v)
    {
        if (v >= 10)
            return ((long)v).ToString(CultureInfo.InvariantCulture);
        if (v < 0.01)
            return "0";
        return v.ToString("0.##", CultureInfo.InvariantCulture) is var s && v < 1 ? v.ToString("G2", CultureInfo.InvariantCulture) : v.ToString("0.#", CultureInfo.InvariantCulture);
    }
}
