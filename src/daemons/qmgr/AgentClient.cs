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
using Postfix.Global.Deliver;
using Postfix.Util;

namespace Postfix.Daemons.Qmgr;

internal enum AgentStatus
{
    Ok,             // DELIVER_STAT_OK
    Defer,          // DELIVER_STAT_DEFER
    Crash,          // DELIVER_STAT_CRASH
    Unavailable,    // could not connect or no announcement
    Timeout,        // no final reply within qmgr_daemon_timeout
}

internal sealed record AgentDsn(string Status, string DiagType, string DiagText, string MtaType, string MtaName, string Action, string Reason)
{
    public static readonly AgentDsn Empty = new("", "", "", "", "", "", "");
}

internal sealed record AgentOutcome(AgentStatus Status, AgentDsn Dsn);

internal static class AgentClient
{
    private const int Etimedout = 110;

    public static AgentOutcome Deliver(string transport, DeliveryWork work, int timeoutSec)
    {
        var sock = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            sock.Connect(new UnixDomainSocketEndPoint(MailProto.ClassPrivate + "/" + transport));
        }
        catch (SocketException e)
        {
            sock.Dispose();
            Msg.Warn($"connect to transport {MailProto.ClassPrivate}/{transport}: {Sys.StrError(SocketErrno(e))}");
            return new AgentOutcome(AgentStatus.Unavailable, AgentDsn.Empty);
        }
        var client = new DeliverClient(new NetworkStream(sock, ownsSocket: true), $"{MailProto.ClassPrivate}/{transport} socket");
        using (client)
        {
            if (client.InitialReply() != 0)
                return new AgentOutcome(AgentStatus.Unavailable, AgentDsn.Empty);
            // The watchdog: an agent that says nothing for qmgr_daemon_timeout
            // seconds after the request is a fatal problem (the master
            // restarts the queue manager, the message is tried again).
            sock.ReceiveTimeout = (int)Math.Min(int.MaxValue, timeoutSec * 1000L);
            if (!client.Send(ToRequest(work), work.Recipients.ConvertAll(ToRecipient)))
            {
                Msg.Warn($"write to process ({transport}): {Sys.StrError(client.LastErrno)}");
                return new AgentOutcome(AgentStatus.Unavailable, AgentDsn.Empty);
            }
            var dsb = new DsnBuf();
            var stat = client.FinalReply(dsb);
            if (stat == DeliverStat.Crash && client.LastErrno == Etimedout)
                return new AgentOutcome(AgentStatus.Timeout, AgentDsn.Empty);
            if (stat == DeliverStat.Crash)
                return new AgentOutcome(AgentStatus.Crash, AgentDsn.Empty);
            var d = dsb.ToDsn();
            var dsn = new AgentDsn(d.Status, d.Dtype, d.Dtext, d.Mtype, d.Mname, d.Action, d.Reason);
            return new AgentOutcome(stat == DeliverStat.Defer ? AgentStatus.Defer : AgentStatus.Ok, dsn);
        }
    }

    internal static Recipient ToRecipient(QueuedRecipient r) => new(r.OrigAddr, r.Address, r.Offset, r.DsnOrcpt, r.DsnNotify);

    // ToRequest - the request qmgr_deliver_send_request() builds.
    internal static DeliverRequest ToRequest(DeliveryWork r) => new()
    {
        Flags = r.Flags,
        QueueName = r.QueueName,
        QueueId = r.QueueId,
        DataOffset = r.DataOffset,
        DataSize = r.ContLength,
        Nexthop = r.Nexthop,
        Encoding = r.Encoding,
        SmtpUtf8 = r.SmtpUtf8,
        Sender = r.Sender,
        DsnEnvid = r.DsnEnvid,
        DsnRet = r.DsnRet,
        Stats = Stats(r.ArrivalSec, r.ArrivalUsec, r.ActiveSec, r.ActiveUsec),
        Client = new ClientInfo(r.ClientName, r.ClientAddr, r.ClientPort, r.ClientProto, r.ClientHelo),
        Sasl = new SaslInfo(r.SaslMethod, r.SaslUsername, r.SaslSender),
        LogIdent = r.LogIdent,
        RewriteContext = r.RewriteContext,
    };

    // Stats - QMGR_MSG_STATS(): arrival and active queue entry times.
    internal static MsgStats Stats(long arrivalSec, long arrivalUsec, long activeSec, long activeUsec) => new()
    {
        IncomingArrival = new TimeVal(arrivalSec, arrivalUsec),
        ActiveArrival = new TimeVal(activeSec, activeUsec),
    };

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
