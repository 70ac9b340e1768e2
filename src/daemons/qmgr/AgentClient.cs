// NAME
//	AgentClient - the queue manager's side of the delivery request protocol
// POSTFIX
//	src/qmgr/qmgr_deliver.c, src/qmgr/qmgr_transport.c (the connection),
//	src/global/msg_stats_print.c, src/global/rcpt_print.c, src/global/dsb_scan.c
// DESCRIPTION
//	AgentConnections keeps the queue manager's open delivery-agent
//	connections for its event loop. Connect() connects to
//	private/TRANSPORT; when the agent's protocol announcement arrives,
//	Ready() tells the scheduler, which picks an entry and sends the
//	delivery request (message attributes, then one attribute list per
//	recipient); when the final status arrives (the DSN of a problem that
//	concerns the whole destination, empty when none, and the numeric
//	status, 0: all recipients done), Ready() reads it and reports the
//	outcome. No thread waits on an agent: the loop polls these
//	descriptors with the trigger fifo. Nothing is
//	logged here except the reference's warnings and watchdog fatals; the
//	scheduler interprets the outcome.
using System;
using System.Buffers.Binary;
using System.Collections.Generic;
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

// AgentConnection - one connection to a delivery agent: first waiting for
// the agent's announcement, then (with the request sent) for its reply.
internal sealed class AgentConnection
{
    public required Socket Socket;
    public required DeliverClient Client;
    public required Transport Transport;
    public required int Fd;
    public Entry? Entry;
    public bool RequestSent;
    public bool Watched;
    public long DeadlineMs;
}

internal sealed class AgentConnections
{
    private const int Etimedout = 110;

    private readonly Dictionary<int, AgentConnection> byFd = new();
    private readonly List<int> fds = new();
    private readonly List<AgentConnection> expired = new();
    private readonly int timeoutSec;

    public AgentConnections(int timeoutSec) => this.timeoutSec = timeoutSec;

    // Announced - the agent has something to say (its announcement, or
    // end-of-file); Replied - the request's outcome.
    public required Action<AgentConnection> Announced { get; init; }

    public required Action<AgentConnection, AgentOutcome> Replied { get; init; }

    public IReadOnlyList<int> Fds => fds;

    // Connect - mail_connect() to private/TRANSPORT; null (after the
    // reference's warning) when nobody listens.
    public AgentConnection? Connect(Transport transport)
    {
        var sock = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            sock.Connect(new UnixDomainSocketEndPoint(MailProto.ClassPrivate + "/" + transport.Name));
        }
        catch (SocketException e)
        {
            sock.Dispose();
            Msg.Warn($"connect to transport {MailProto.ClassPrivate}/{transport.Name}: {Sys.StrError(AgentClient.SocketErrno(e))}");
            return null;
        }
        // The socket's own time limit guards a reply that arrives only in
        // part; the deadlines below guard one that never starts.
        sock.ReceiveTimeout = (int)Math.Min(int.MaxValue, timeoutSec * 1000L);
        var c = new AgentConnection
        {
            Socket = sock,
            Client = new DeliverClient(new NetworkStream(sock, ownsSocket: true), $"{MailProto.ClassPrivate}/{transport.Name} socket"),
            Transport = transport,
            Fd = (int)sock.Handle,
        };
        byFd[c.Fd] = c;
        Watch(c);
        return c;
    }

    private void Watch(AgentConnection c)
    {
        c.DeadlineMs = Environment.TickCount64 + timeoutSec * 1000L;
        if (!c.Watched)
        {
            c.Watched = true;
            fds.Add(c.Fd);
        }
    }

    // Park - keep the connection without waiting on it (a transport's
    // rate delay).
    public void Park(AgentConnection c)
    {
        if (c.Watched)
        {
            c.Watched = false;
            fds.Remove(c.Fd);
        }
    }

    // InitialReply - the agent's protocol announcement: 0 when it is well.
    public int InitialReply(AgentConnection c)
    {
        try
        {
            return c.Client.InitialReply();
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            Msg.Warn($"private/{c.Transport.Name}: {e.Message}");
            return DeliverStat.Crash;
        }
    }

    // Send - the delivery request; false after the reference's warning.
    public bool Send(AgentConnection c, DeliveryWork work)
    {
        bool sent;
        try
        {
            sent = c.Client.Send(AgentClient.ToRequest(work), work.Recipients.ConvertAll(AgentClient.ToRecipient));
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            sent = false;
        }
        if (!sent)
        {
            Msg.Warn($"write to process ({c.Transport.Name}): {Sys.StrError(c.Client.LastErrno)}");
            return false;
        }
        c.RequestSent = true;
        Watch(c);
        return true;
    }

    // Ready - the agent's descriptor has input (or hung up).
    public void Ready(int fd)
    {
        if (!byFd.TryGetValue(fd, out var c))
            return;
        if (!c.RequestSent)
        {
            Announced(c);
            return;
        }
        AgentOutcome outcome;
        try
        {
            outcome = FinalReply(c);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            Msg.Warn($"private/{c.Transport.Name}: {e.Message}");
            outcome = new AgentOutcome(AgentStatus.Crash, AgentDsn.Empty);
        }
        Close(c);
        Replied(c, outcome);
    }

    private static AgentOutcome FinalReply(AgentConnection c)
    {
        var dsb = new DsnBuf();
        var stat = c.Client.FinalReply(dsb);
        if (stat == DeliverStat.Crash && c.Client.LastErrno == Etimedout)
            return new AgentOutcome(AgentStatus.Timeout, AgentDsn.Empty);
        if (stat == DeliverStat.Crash)
            return new AgentOutcome(AgentStatus.Crash, AgentDsn.Empty);
        var d = dsb.ToDsn();
        var dsn = new AgentDsn(d.Status, d.Dtype, d.Dtext, d.Mtype, d.Mname, d.Action, d.Reason);
        return new AgentOutcome(stat == DeliverStat.Defer ? AgentStatus.Defer : AgentStatus.Ok, dsn);
    }

    public void Close(AgentConnection c)
    {
        Park(c);
        byFd.Remove(c.Fd);
        c.Client.Dispose();
    }

    // NextDeadline - the earliest watchdog time (TickCount64), or -1.
    public long NextDeadline()
    {
        var next = -1L;
        foreach (var c in byFd.Values)
        {
            if (c.Watched && (next < 0 || c.DeadlineMs < next))
                next = c.DeadlineMs;
        }
        return next;
    }

    // CheckDeadlines - qmgr_transport_abort() for an agent that never
    // announced itself; a missing final reply is the scheduler's fatal.
    public void CheckDeadlines()
    {
        if (byFd.Count == 0)
            return;
        var now = Environment.TickCount64;
        expired.Clear();
        foreach (var c in byFd.Values)
        {
            if (c.Watched && c.DeadlineMs <= now)
                expired.Add(c);
        }
        foreach (var c in expired)
        {
            if (!c.RequestSent)
                Msg.Fatal($"timeout connecting to transport: {c.Transport.Name}");
            Close(c);
            Replied(c, new AgentOutcome(AgentStatus.Timeout, AgentDsn.Empty));
        }
    }
}

internal static class AgentClient
{
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
