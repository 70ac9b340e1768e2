// NAME
//	ScacheClient - the client end of the connection cache protocol
// POSTFIX
//	src/global/scache_clnt.c
// DESCRIPTION
//	One UNIX-domain connection to private/SERVICE (relative to the
//	current directory, the queue directory of a daemon), opened on
//	first use, checked for the server's "protocol" announcement and
//	kept. Each request is tried twice (the connection is reopened in
//	between); after the second failure the client warns "disabling
//	connection caching" and does nothing more. SaveEndp hands a copy
//	of the descriptor over (the caller still closes its own); the Find
//	requests return a descriptor the caller owns, or -1. Like
//	auto_clnt, the connection is closed after IdleLimit seconds without
//	use (the owner's event loop calls CloseIdle when IdleDelay says so),
//	and reopened after TtlLimit seconds.
using System;
using System.IO;
using System.Net.Sockets;
using Postfix.Global.Attr;
using Postfix.Util;

namespace Postfix.Daemons.Scache;

public sealed class ScacheClient : IDisposable
{
    private const int MaxTries = 2;
    private static readonly AttrSpec[] Handshake = [AttrSpec.StrEq(MailProto.AttrProto, ScacheProto.Protocol)];
    private static readonly AttrSpec[] StatusSpec = [AttrSpec.Int(ScacheProto.AttrStatus)];
    private static readonly AttrSpec[] StatusPropSpec = [AttrSpec.Int(ScacheProto.AttrStatus), AttrSpec.Str(ScacheProto.AttrProp)];
    private static readonly AttrSpec[] StatusPropPropSpec =
        [AttrSpec.Int(ScacheProto.AttrStatus), AttrSpec.Str(ScacheProto.AttrProp), AttrSpec.Str(ScacheProto.AttrProp)];
    private static readonly AttrSpec[] DummySpec = [AttrSpec.Str(ScacheProto.AttrDummy)];

    private readonly string path;
    private readonly int timeoutMs;
    private Socket? socket;
    private AttrStream? stream;
    private bool disabled;
    private long lastUse;
    private long connectedAt;

    // IdleLimit, TtlLimit - ipc_idle and ipc_ttl, in seconds.
    public int IdleLimit { get; init; } = 5;

    public int TtlLimit { get; init; } = 1000;

    // ScacheClient - a client of "private/" + service; timeout is
    // connection_cache_protocol_timeout, in seconds.
    public ScacheClient(string service, int timeoutSeconds)
    {
        path = "private/" + service;
        timeoutMs = Math.Max(1, timeoutSeconds) * 1000;
    }

    public bool Disabled => disabled;

    private string StreamPath => path;

    // IdleDelay - seconds until the idle connection should close; -1
    // without a connection.
    public int IdleDelay()
    {
        if (stream == null || IdleLimit <= 0)
            return -1;
        var ms = lastUse + IdleLimit * 1000L - Environment.TickCount64;
        return ms <= 0 ? 0 : (int)((ms + 999) / 1000);
    }

    // CloseIdle - close the connection when it was idle long enough.
    public void CloseIdle()
    {
        if (stream != null && IdleDelay() == 0)
            Recover();
    }

    private AttrStream? Access()
    {
        var now = Environment.TickCount64;
        if (stream != null && TtlLimit > 0 && now - connectedAt >= TtlLimit * 1000L)
            Recover();
        lastUse = now;
        if (stream != null)
            return stream;
        var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            s.Connect(new UnixDomainSocketEndPoint(path));
        }
        catch (SocketException e)
        {
            Msg.Warn($"connect to {path}: {Sys.StrError(Sys.ErrnoOf(e))}");
            s.Dispose();
            return null;
        }
        s.ReceiveTimeout = timeoutMs;
        s.SendTimeout = timeoutMs;
        var attr = new AttrStream(new NetworkStream(s, ownsSocket: true), StreamPath);
        var v = new AttrValue[1];
        // (RECV_ATTR_STREQ counts no conversion.)
        if (attr.Receive(Handshake, v, AttrFlags.Strict) != 0)
        {
            attr.Dispose();
            return null;
        }
        socket = s;
        stream = attr;
        connectedAt = now;
        return stream;
    }

    private void Recover()
    {
        stream?.Dispose();
        stream = null;
        socket = null;
    }

    private int Fd => (int)socket!.Handle;

    // Problem - warn about a failed exchange, as the reference does: not
    // for a plain disconnect on the first try.
    private void Problem(AttrStream s, bool always = false)
    {
        var errno = s.LastErrno;
        if (always || Msg.Verbose > 0 || (errno != 0 && errno != 32 && errno != 2))
            Msg.Warn($"problem talking to service {StreamPath}: {Sys.StrError(errno)}");
    }

    private bool GiveUp(int tries)
    {
        if (tries >= MaxTries - 1)
        {
            Msg.Warn("disabling connection caching");
            Recover();
            disabled = true;
            return true;
        }
        Recover();
        return false;
    }

    // SaveEndp - save_endp: keep a copy of fd under the endpoint label.
    public void SaveEndp(int ttl, string endpLabel, string endpProp, int fd)
    {
        var count = 0;
        for (var tries = 0; !disabled; tries++)
        {
            if (Access() is { } s)
            {
                count++;
                var v = new AttrValue[1];
                if (!s.Send(w => w.Str(ScacheProto.AttrReq, ScacheProto.ReqSaveEndp).Int(ScacheProto.AttrTtl, ttl)
                        .Str(ScacheProto.AttrLabel, endpLabel).Str(ScacheProto.AttrProp, endpProp))
                    || s.Receive(DummySpec, v, AttrFlags.Strict) != 1
                    || Sys.SendFd(Fd, fd) < 0
                    || s.Receive(StatusSpec, v, AttrFlags.Strict) != 1)
                {
                    Problem(s, count > 1);
                }
                else
                {
                    if (Msg.Verbose > 0 && v[0].Int != 0)
                        Msg.Warn($"scache_clnt_save_endp: descriptor save failed with status {v[0].Int}");
                    break;
                }
            }
            if (GiveUp(tries))
                break;
        }
    }

    // SaveDest - save_dest: bind a destination label to an endpoint label.
    public void SaveDest(int ttl, string destLabel, string destProp, string endpLabel)
    {
        for (var tries = 0; !disabled; tries++)
        {
            if (Access() is { } s)
            {
                var v = new AttrValue[1];
                if (!s.Send(w => w.Str(ScacheProto.AttrReq, ScacheProto.ReqSaveDest).Int(ScacheProto.AttrTtl, ttl)
                        .Str(ScacheProto.AttrLabel, destLabel).Str(ScacheProto.AttrProp, destProp)
                        .Str(ScacheProto.AttrLabel, endpLabel))
                    || s.Receive(StatusSpec, v, AttrFlags.Strict) != 1)
                {
                    Problem(s);
                }
                else
                {
                    if (Msg.Verbose > 0 && v[0].Int != 0)
                        Msg.Warn($"scache_clnt_save_dest: destination save failed with status {v[0].Int}");
                    break;
                }
            }
            if (GiveUp(tries))
                break;
        }
    }

    // FindEndp - find_endp: a cached connection for the endpoint, or -1.
    public int FindEndp(string endpLabel, out string endpProp)
    {
        var fd = Find(ScacheProto.ReqFindEndp, "scache_clnt_find_endp", endpLabel, StatusPropSpec, out var props);
        endpProp = props[1].Str;
        return fd;
    }

    // FindDest - find_dest: a cached connection for the destination, or -1.
    public int FindDest(string destLabel, out string destProp, out string endpProp)
    {
        var fd = Find(ScacheProto.ReqFindDest, "scache_clnt_find_dest", destLabel, StatusPropPropSpec, out var props);
        destProp = props[1].Str;
        endpProp = props[2].Str;
        return fd;
    }

    // Find - one find request: the status, then the properties the reply
    // spec names, then the descriptor; -1 when nothing is cached or the
    // cache cannot be reached.
    private int Find(string request, string fn, string label, AttrSpec[] replySpec, out AttrValue[] reply)
    {
        reply = new AttrValue[replySpec.Length];
        for (var tries = 0; !disabled; tries++)
        {
            if (Access() is { } s)
            {
                var v = new AttrValue[replySpec.Length];
                if (!s.Send(w => w.Str(ScacheProto.AttrReq, request).Str(ScacheProto.AttrLabel, label))
                    || s.Receive(replySpec, v, AttrFlags.Strict) != replySpec.Length)
                {
                    Problem(s);
                }
                else if (v[0].Int != 0)
                {
                    if (Msg.Verbose > 0)
                        Msg.Info($"{fn}: not found: {label}");
                    return -1;
                }
                else if (ReceiveFd(s) is var fd && fd >= 0)
                {
                    reply = v;
                    return fd;
                }
                else
                {
                    Problem(s);
                }
            }
            if (GiveUp(tries))
                return -1;
        }
        return -1;
    }

    // ReceiveFd - send the dummy that lets the server pass the
    // descriptor, take it, and send the closing dummy.
    private int ReceiveFd(AttrStream s)
    {
        if (!s.Send(w => w.Str(ScacheProto.AttrDummy, "")))
            return -1;
        Span<Sys.PollFd> pfd = stackalloc Sys.PollFd[1];
        pfd[0] = new Sys.PollFd { Fd = Fd, Events = Sys.POLLIN };
        if (Sys.Poll(pfd, timeoutMs) <= 0)
            return -1;
        var fd = Sys.ReceiveFd(Fd);
        if (fd < 0)
            return -1;
        s.Send(w => w.Str(ScacheProto.AttrDummy, ""));
        return fd;
    }

    public void Dispose() => Recover();
}
