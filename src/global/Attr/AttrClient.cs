// NAME
//	AttrClient - request/reply client for an attribute-protocol service
// POSTFIX
//	src/util/attr_clnt.c, src/util/auto_clnt.c, src/global/clnt_stream.c
// DESCRIPTION
//	One UNIX-domain stream connection to a service socket (for example
//	queue_directory/private/rewrite), opened on demand and kept for the
//	next request. On (re)connect the client reads the server's protocol
//	announcement when Handshake is set (servers of Postfix 3.x send
//	"protocol" first; clients check it with RECV_ATTR_STREQ). A
//	connection that became readable while idle (the server hung up:
//	idle or use limit) is reopened before the next request, as
//	clnt_stream_access() does.
//
//	Request() is attr_clnt_request(): send, read, and on failure warn
//	"problem talking to server NAME: ERRNO-TEXT" (immediately when the
//	error is not a plain disconnect, else once TryLimit tries failed),
//	sleep TryDelay, reconnect and try again. Plain sync I/O with
//	per-read/write timeouts (ipc_timeout: 3600 s by default).
using System;
using System.Collections.Generic;
using System.Net.Sockets;
using System.Threading;
using Postfix.Util;

namespace Postfix.Global.Attr;

public sealed class AttrClient : IDisposable
{
    private const int EPIPE = 32;
    private const int ENOENT = 2;
    private const int ECONNRESET = 104;
    private const int ETIMEDOUT = 110;

    private readonly string endpoint;
    private Socket? sock;
    private AttrStream? conn;

    // AttrClient - a client for the socket at endpoint (a file path).
    public AttrClient(string endpoint, AttrEncoding encoding = AttrEncoding.Zero)
    {
        this.endpoint = endpoint;
        Encoding = encoding;
        StreamPath = endpoint;
        ProblemText = "problem talking to server " + endpoint;
    }

    // ForService - a client of queueDirectory/CLASS/SERVICE as Postfix's
    // clnt_stream opens it: "CLASS/SERVICE socket" in warnings,
    // mail_connect_wait() connects, and, when protocol is given, the
    // server's announcement checked ("protocol" = protocol).
    public static AttrClient ForService(string? queueDirectory, string cls, string service, string? protocol)
    {
        var name = cls + "/" + service;
        return new AttrClient(queueDirectory == null ? name : System.IO.Path.Combine(queueDirectory, name))
        {
            StreamPath = name + " socket",
            Subsystem = name,
            Handshake = protocol == null ? null : [AttrSpec.StrEq(MailProto.AttrProto, protocol)],
        };
    }

    public AttrEncoding Encoding { get; }

    public string Endpoint => endpoint;

    // StreamPath - the stream name in warnings ("private/rewrite socket").
    public string StreamPath { get; init; }

    // ProblemText - the warning prefix of a failed request.
    public string ProblemText { get; init; }

    // Timeout - per read and per write (ipc_timeout).
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(3600);

    // TryLimit - requests tried before Request() gives up; 0: forever.
    public int TryLimit { get; init; } = 2;

    // TryDelay - pause between tries.
    public TimeSpan TryDelay { get; init; } = TimeSpan.FromSeconds(1);

    // Handshake - what the server announces on connect (null: nothing).
    public AttrSpec[]? Handshake { get; init; }

    // Subsystem - when set ("private/rewrite"), connect the way
    // mail_connect_wait() does: on failure warn "connect #N to subsystem
    // NAME: ERRNO-TEXT", wait ConnectDelay, try again; the 11th failure
    // is fatal. Unset: one try and "connect to ENDPOINT: ERRNO-TEXT"
    // (auto_clnt).
    public string? Subsystem { get; init; }

    public TimeSpan ConnectDelay { get; init; } = TimeSpan.FromSeconds(10);

    // LastErrno - errno of the last failed socket operation (0: EOF).
    public int LastErrno { get; private set; }

    public bool IsConnected => sock != null;

    // Stream - the open connection, for conversations that are not one
    // request and one reply (showq's listing: ScanMore, Receive...).
    public AttrStream? Stream => conn;

    // Connect - open the connection if needed, and read the handshake.
    public bool Connect()
    {
        if (sock != null && Readable(sock))
            Recover();
        if (sock != null)
            return true;
        Socket? s;
        for (var count = 0; (s = TryConnect()) == null; )
        {
            if (Subsystem == null)
            {
                Msg.Warn($"connect to {endpoint}: {Sys.StrError(LastErrno)}");
                return false;
            }
            if (count++ >= 10)
                Msg.Fatal($"connect #{count} to subsystem {Subsystem}: {Sys.StrError(LastErrno)}");
            Msg.Warn($"connect #{count} to subsystem {Subsystem}: {Sys.StrError(LastErrno)}");
            Thread.Sleep(ConnectDelay);
        }
        var ms = (int)Math.Min(int.MaxValue, Timeout.TotalMilliseconds);
        s.ReceiveTimeout = ms;
        s.SendTimeout = ms;
        sock = s;
        conn = new AttrStream(new NetworkStream(s, ownsSocket: true), StreamPath, Encoding);
        if (Handshake != null)
        {
            var v = new AttrValue[Handshake.Length];
            if (Receive(Handshake, v, AttrFlags.Strict) != 0)
            {
                Recover();
                return false;
            }
        }
        return true;
    }

    private Socket? TryConnect()
    {
        var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            s.Connect(new UnixDomainSocketEndPoint(endpoint));
            return s;
        }
        catch (SocketException e)
        {
            s.Dispose();
            LastErrno = Errno(e);
            return null;
        }
    }

    // Recover - drop the connection; the next request reconnects.
    public void Recover()
    {
        conn?.Dispose();
        sock?.Dispose();
        conn = null;
        sock = null;
    }

    // Send - write one attribute list and flush it.
    public bool Send(Action<AttrWriter> print, AttrFlags flags = AttrFlags.None)
    {
        if (conn == null)
            return false;
        if (conn.Send(print, flags))
            return true;
        LastErrno = conn.LastErrno;
        return false;
    }

    // Receive - attr_scan() on the connection: conversions, or -1 (0
    // when the server hung up before the list began).
    public int Receive(ReadOnlySpan<AttrSpec> spec, Span<AttrValue> values, AttrFlags flags,
        IDictionary<string, string>? hash = null)
    {
        if (conn == null)
            return -1;
        var result = conn.Receive(spec, values, flags, hash);
        if (result <= 0)
            LastErrno = conn.LastErrno;
        return result;
    }

    // Request - attr_clnt_request(): send, receive, retry; the number of
    // conversions (> 0), or -1 after TryLimit failed tries.
    public int Request(Action<AttrWriter> print, ReadOnlySpan<AttrSpec> reply, Span<AttrValue> values,
        AttrFlags recvFlags = AttrFlags.Strict, IDictionary<string, string>? hash = null)
    {
        for (var count = 0; ;)
        {
            LastErrno = 0;
            if (Connect() && Send(print))
            {
                var ret = Receive(reply, values, recvFlags, hash);
                if (ret > 0)
                    return ret;
            }
            if ((++count >= TryLimit && TryLimit > 0) || Msg.Verbose > 0 || !QuietErrno(LastErrno))
                Msg.Warn($"{ProblemText}: {Sys.StrError(LastErrno)}");
            if (count >= TryLimit && TryLimit > 0)
                return -1;
            Thread.Sleep(TryDelay);
            Recover();
        }
    }

    // QuietErrno - a disconnect that a retry is expected to cure.
    internal static bool QuietErrno(int errno) => errno is 0 or EPIPE or ENOENT or ECONNRESET;

    private static bool Readable(Socket s)
    {
        try
        {
            return s.Poll(0, SelectMode.SelectRead);
        }
        catch (SocketException)
        {
            return true;
        }
    }

    // Errno - the errno behind a socket error.
    internal static int Errno(SocketException e) => e.SocketErrorCode switch
    {
        SocketError.ConnectionRefused => 111,
        SocketError.ConnectionReset => ECONNRESET,
        SocketError.Shutdown => EPIPE,
        SocketError.TimedOut => ETIMEDOUT,
        SocketError.WouldBlock => ETIMEDOUT,
        SocketError.AccessDenied => 13,
        SocketError.AddressNotAvailable => ENOENT,
        _ => e.NativeErrorCode > 0 && e.NativeErrorCode < 4096 ? e.NativeErrorCode : 5,
    };

    public void Dispose() => Recover();
}
