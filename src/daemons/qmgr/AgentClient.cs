// NAME
//	AgentClient - the queue manager's side of the delivery request protocol
// POSTFIX
//	src/qmgr/qmgr_deliver.c, src/qmgr/qmgr_transport.c (the connection),
//	src/global/msg_stats_print.c, src/global/rcpt_print.c, src/global/dsb_scan.c
// DESCRIPTION
//	Deliver() runs on a worker thread: it connects to private/TRANSPORT,
//	reads the agent's protocol announcement, sends one delivery request
//	(message attributes, then one attribute list per recipient) and
//	waits for the final status: the DSN of a problem that concerns the
//	whole destination (empty when none) and the numeric status (0: all
//	recipients done). Nothing is logged here except the reference's
//	warnings; the scheduler thread interprets the outcome.
using System;
using System.Buffers.Binary;
using System.IO;
using System.Net.Sockets;
using Postfix.Global.Attr;
using Postfix.Util;

namespace Postfix.Daemons.Qmgr;

internal enum AgentStatus
{
    Ok,             // DELIVER_STAT_OK
    Defer,          // DELIVER_STAT_DEFER
    Crash,          // DELIVER_STAT_CRASH
    Unavailable,    // could not connect or no announcement
}

internal sealed record AgentDsn(string Status, string DiagType, string DiagText, string MtaType, string MtaName, string Action, string Reason)
{
    public static readonly AgentDsn Empty = new("", "", "", "", "", "", "");
}

internal sealed record AgentOutcome(AgentStatus Status, AgentDsn Dsn);

internal static class AgentClient
{
    private static readonly AttrSpec[] Announce = [AttrSpec.StrEq(MailProto.AttrProto, MailProto.ProtoDeliver)];

    private static readonly AttrSpec[] FinalReply =
    [
        AttrSpec.Str("status"), AttrSpec.Str("diag_type"), AttrSpec.Str("diag_text"),
        AttrSpec.Str("mta_type"), AttrSpec.Str("mta_mname"), AttrSpec.Str("action"),
        AttrSpec.Str("reason"), AttrSpec.Int("status"),
    ];

    // Connect - mail_connect(private, transport); null with a warning.
    public static Socket? Connect(string transport, int timeoutSec)
    {
        var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            s.Connect(new UnixDomainSocketEndPoint("private/" + transport));
            s.ReceiveTimeout = s.SendTimeout = (int)Math.Min(int.MaxValue, timeoutSec * 1000L);
            return s;
        }
        catch (SocketException e)
        {
            s.Dispose();
            Msg.Warn($"connect to transport private/{transport}: {Sys.StrError(AgentClient.SocketErrno(e))}");
            return null;
        }
    }

    public static AgentOutcome Deliver(string transport, DeliveryWork work, int timeoutSec)
    {
        using var sock = Connect(transport, timeoutSec);
        if (sock == null)
            return new AgentOutcome(AgentStatus.Unavailable, AgentDsn.Empty);
        var path = "private/" + transport;
        using var conn = new AttrStream(new NetworkStream(sock, ownsSocket: false), path);
        var v = new AttrValue[FinalReply.Length];
        if (ServerLoopPeek(sock) < 0)
        {
            Msg.Warn($"{path}: premature disconnect");
            return new AgentOutcome(AgentStatus.Unavailable, AgentDsn.Empty);
        }
        if (conn.Receive(Announce, v, AttrFlags.Strict) != 0)
        {
            Msg.Warn($"{path}: malformed response");
            return new AgentOutcome(AgentStatus.Unavailable, AgentDsn.Empty);
        }
        var sent = conn.Send(w => WriteRequest(w, work));
        foreach (var rcpt in work.Recipients)
            sent = sent && conn.Send(w => WriteRecipient(w, rcpt));
        if (!sent)
        {
            Msg.Warn($"write to process ({transport}): {Sys.StrError(conn.LastErrno)}");
            return new AgentOutcome(AgentStatus.Crash, AgentDsn.Empty);
        }
        var n = conn.Receive(FinalReply, v, AttrFlags.Strict);
        if (n <= 0)
        {
            Msg.Warn($"{path}: premature disconnect");
            return new AgentOutcome(AgentStatus.Crash, AgentDsn.Empty);
        }
        if (n != FinalReply.Length)
        {
            Msg.Warn($"{path}: malformed response");
            return new AgentOutcome(AgentStatus.Crash, AgentDsn.Empty);
        }
        var dsn = new AgentDsn(v[0].Str, v[1].Str, v[2].Str, v[3].Str, v[4].Str, v[5].Str, v[6].Str);
        return new AgentOutcome(v[7].Int != 0 ? AgentStatus.Defer : AgentStatus.Ok, dsn);
    }

    // SocketErrno - the errno behind a socket failure, for %m texts.
    internal static int SocketErrno(SocketException e) => e.SocketErrorCode switch
    {
        SocketError.ConnectionRefused => 111,
        SocketError.ConnectionReset => 104,
        SocketError.Shutdown => 32,
        SocketError.TimedOut => 110,
        SocketError.AccessDenied => 13,
        SocketError.AddressNotAvailable => 2,
        _ => e.NativeErrorCode > 0 && e.NativeErrorCode < 4096 ? e.NativeErrorCode : 5,
    };

    // peekfd() < 0: the agent went away before it said anything.
    private static int ServerLoopPeek(Socket s)
    {
        try
        {
            s.Poll(-1, SelectMode.SelectRead);
            return 0;
        }
        catch (SocketException)
        {
            return -1;
        }
    }

    // WriteRequest - the request as qmgr_deliver_send_request() sends it.
    internal static void WriteRequest(AttrWriter w, DeliveryWork r)
    {
        w.Int("flags", r.Flags)
            .Str("queue_name", r.QueueName)
            .Str("queue_id", r.QueueId)
            .Long("offset", r.DataOffset)
            .Long("size", r.ContLength)
            .Str("nexthop", r.Nexthop)
            .Str("encoding", r.Encoding)
            .Int("smtputf8", r.SmtpUtf8)
            .Str("sender", r.Sender)
            .Str("envelope_id", r.DsnEnvid)
            .Int("ret_flags", r.DsnRet)
            .Data("time", MsgStats(r.ArrivalSec, r.ArrivalUsec, r.ActiveSec, r.ActiveUsec))
            .Str("log_client_name", r.ClientName)
            .Str("log_client_address", r.ClientAddr)
            .Str("log_client_port", r.ClientPort)
            .Str("log_protocol_name", r.ClientProto)
            .Str("log_helo_name", r.ClientHelo)
            .Str("sasl_method", r.SaslMethod)
            .Str("sasl_username", r.SaslUsername)
            .Str("sasl_sender", r.SaslSender)
            .Str("log_ident", r.LogIdent)
            .Str("rewrite_context", r.RewriteContext)
            .Int("recipient_count", r.Recipients.Count);
    }

    // WriteRecipient - rcpt_print(): one list per recipient.
    internal static void WriteRecipient(AttrWriter w, QueuedRecipient rcpt) =>
        w.Str("original_recipient", rcpt.OrigAddr)
            .Str("recipient", rcpt.Address)
            .Long("offset", rcpt.Offset)
            .Str("dsn_orig_rcpt", rcpt.DsnOrcpt)
            .Int("notify_flags", rcpt.DsnNotify);

    // MsgStats - the MSG_STATS structure as the C agents receive it: five
    // struct timeval (incoming arrival, active arrival, agent hand-off,
    // connection set-up, delivered) and the connection reuse count,
    // 64-bit little-endian layout (88 bytes with padding).
    internal static byte[] MsgStats(long arrivalSec, long arrivalUsec, long activeSec, long activeUsec)
    {
        var b = new byte[88];
        BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(0), arrivalSec);
        BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(8), arrivalUsec);
        BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(16), activeSec);
        BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(24), activeUsec);
        return b;
    }
}
