// NAME
//	DnsResolver - a synchronous stub resolver
// POSTFIX
//	(the resolver library's res_nsearch(), res_nquery(), res_nsend())
// DESCRIPTION
//	Send() asks the configured name servers in turn, "attempts" rounds
//	of "timeout" seconds each, over UDP; a truncated UDP reply is asked
//	again over TCP from the same server. A SERVFAIL, NOTIMP or REFUSED
//	reply moves on to the next server, and is the answer when no
//	server does better. Query() maps the reply code to the h_errno
//	values of res_nquery(); Search() adds the search-list logic of
//	res_nsearch(), as asked with DefNames/DnsSearch.
using System;
using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Threading;

namespace Postfix.Global.Dns;

[Flags]
public enum DnsFlags
{
    None = 0,
    // DefNames - RES_DEFNAMES: a single-label name gets the search domains.
    DefNames = 1,
    // DnsSearch - RES_DNSRCH: a name with dots gets the search domains too.
    DnsSearch = 2,
}

public sealed class DnsResolver
{
    private static int nextId = Environment.TickCount;

    public DnsResolver(ResolvConf conf) => Conf = conf;

    public ResolvConf Conf { get; }

    // Send - the reply to one query message, or null after no server answered.
    public DnsMessage? Send(byte[] query)
    {
        DnsMessage? fallback = null;
        var servers = Conf.Nameservers;
        for (var round = 0; round < Conf.Attempts; round++)
        {
            foreach (var server in servers)
            {
                // Like res_send(), wait longer in later rounds.
                var timeout = Math.Max(1, (Conf.TimeoutSeconds << round) / Math.Max(1, servers.Count)) * 1000;
                var reply = SendUdp(server, query, timeout);
                if (reply == null)
                    continue;
                if (reply.Truncated)
                    reply = SendTcp(server, query, timeout) ?? reply;
                if (reply.Rcode is DnsRcode.ServFail or DnsRcode.NotImp or DnsRcode.Refused)
                {
                    fallback = reply;
                    continue;
                }
                return reply;
            }
            if (fallback != null)
                return fallback;
        }
        return fallback;
    }

    private static bool Matches(DnsMessage reply, byte[] query)
    {
        if (!reply.IsResponse || reply.Id != BinaryPrimitives.ReadUInt16BigEndian(query))
            return false;
        // The question must be ours (case-insensitively, as servers may 0x20-mix).
        if (reply.QuestionCount == 0)
            return reply.Rcode != DnsRcode.NoError;
        try
        {
            var q = new DnsMessage(query, query.Length).Questions(out _)[0];
            var r = reply.Questions(out _)[0];
            return r.Type == q.Type && r.Class == q.Class && string.Equals(r.Name, q.Name, StringComparison.OrdinalIgnoreCase);
        }
        catch (DnsFormatException)
        {
            return false;
        }
    }

    private static DnsMessage? SendUdp(IPEndPoint server, byte[] query, int timeoutMs)
    {
        using var socket = new Socket(server.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            socket.Connect(server);
            socket.Send(query);
            var deadline = Environment.TickCount64 + timeoutMs;
            var buf = new byte[65536];
            while (true)
            {
                var left = deadline - Environment.TickCount64;
                if (left <= 0 || !socket.Poll((int)Math.Min(left * 1000, int.MaxValue), SelectMode.SelectRead))
                    return null;
                var n = socket.Receive(buf);
                try
                {
                    var reply = new DnsMessage(buf[..n], n);
                    if (Matches(reply, query))
                        return reply;
                }
                catch (DnsFormatException)
                {
                    // Not a DNS reply: keep waiting for the real one.
                }
            }
        }
        catch (SocketException)
        {
            return null;
        }
    }

    private static DnsMessage? SendTcp(IPEndPoint server, byte[] query, int timeoutMs)
    {
        using var socket = new Socket(server.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.SendTimeout = timeoutMs;
            socket.ReceiveTimeout = timeoutMs;
            var connect = socket.BeginConnect(server, null, null);
            if (!connect.AsyncWaitHandle.WaitOne(timeoutMs))
                return null;
            socket.EndConnect(connect);
            var framed = new byte[query.Length + 2];
            BinaryPrimitives.WriteUInt16BigEndian(framed, (ushort)query.Length);
            query.CopyTo(framed, 2);
            socket.Send(framed);
            var lenBuf = new byte[2];
            if (!ReadExactly(socket, lenBuf))
                return null;
            var len = BinaryPrimitives.ReadUInt16BigEndian(lenBuf);
            var body = new byte[len];
            if (!ReadExactly(socket, body))
                return null;
            var reply = new DnsMessage(body, len);
            return Matches(reply, query) ? reply : null;
        }
        catch (Exception e) when (e is SocketException or DnsFormatException or ObjectDisposedException)
        {
            return null;
        }
    }

    private static bool ReadExactly(Socket socket, byte[] buf)
    {
        var got = 0;
        while (got < buf.Length)
        {
            var n = socket.Receive(buf, got, buf.Length - got, SocketFlags.None);
            if (n <= 0)
                return false;
            got += n;
        }
        return true;
    }

    // Query - res_nquery(): one name, no search list. The reply is
    // returned when there is one; herror says what res_nquery() would.
    public DnsMessage? Query(string name, int type, out DnsHError herror)
    {
        var id = (ushort)Interlocked.Increment(ref nextId);
        byte[] query;
        try
        {
            query = DnsWire.BuildQuery(id, name, type);
        }
        catch (DnsFormatException)
        {
            herror = DnsHError.NoRecovery;
            return null;
        }
        var reply = Send(query);
        if (reply == null)
        {
            herror = DnsHError.TryAgain;
            return null;
        }
        herror = reply.Rcode switch
        {
            DnsRcode.NoError => reply.AnswerCount > 0 ? DnsHError.None : DnsHError.NoData,
            DnsRcode.NxDomain => DnsHError.HostNotFound,
            DnsRcode.ServFail => DnsHError.TryAgain,
            _ => DnsHError.NoRecovery,
        };
        return reply;
    }

    // Search - res_nsearch(): the search list as flags ask.
    public DnsMessage? Search(string name, int type, DnsFlags flags, out DnsHError herror)
    {
        var dots = 0;
        foreach (var c in name)
            if (c == '.')
                dots++;
        var trailingDot = name.EndsWith('.') && name.Length > 1;
        DnsHError? savedHerror = null;
        DnsMessage? savedReply = null;
        var triedAsIs = false;
        if (dots >= Conf.Ndots || trailingDot)
        {
            var reply = Query(name, type, out herror);
            if (herror == DnsHError.None)
                return reply;
            if (trailingDot)
                return reply;
            savedHerror = herror;
            savedReply = reply;
            triedAsIs = true;
        }
        var gotNoData = false;
        var gotServFail = false;
        DnsMessage? lastReply = null;
        if ((dots == 0 && (flags & DnsFlags.DefNames) != 0) || (dots > 0 && !trailingDot && (flags & DnsFlags.DnsSearch) != 0))
        {
            foreach (var domain in Conf.Search)
            {
                var reply = Query(name + "." + domain, type, out herror);
                if (herror == DnsHError.None)
                    return reply;
                lastReply = reply;
                var done = false;
                switch (herror)
                {
                    case DnsHError.NoData:
                        gotNoData = true;
                        break;
                    case DnsHError.HostNotFound:
                        break;
                    case DnsHError.TryAgain when reply?.Rcode == DnsRcode.ServFail:
                        gotServFail = true;
                        break;
                    default:
                        done = true;
                        break;
                }
                if (done || (flags & DnsFlags.DnsSearch) == 0)
                    break;
            }
        }
        if (!triedAsIs)
        {
            var reply = Query(name, type, out herror);
            if (herror == DnsHError.None)
                return reply;
            lastReply = reply;
            if (!gotNoData && !gotServFail)
                return reply;
        }
        if (savedHerror is { } saved)
        {
            herror = saved;
            return savedReply;
        }
        herror = gotNoData ? DnsHError.NoData : gotServFail ? DnsHError.TryAgain : DnsHError.HostNotFound;
        return lastReply;
    }
}
