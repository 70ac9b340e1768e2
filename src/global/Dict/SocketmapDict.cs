// NAME
//	SocketmapDict - the socketmap: table client (Sendmail socketmap protocol)
// POSTFIX
//	src/util/dict_sockmap.c, src/util/netstring.c, src/util/auto_clnt.c
// DESCRIPTION
//	"socketmap:inet:host:port:name" or "socketmap:unix:path:name". The
//	request is the netstring "name key"; the reply netstring is
//	"OK value", "NOTFOUND ", "TEMP text", "TIMEOUT text" or "PERM text".
//	Tables with the same endpoint share one connection, which is closed
//	after 10 s idle or 100 s of age and made again on demand; a
//	connection that breaks during a request is retried once.
using System;
using System.Collections.Generic;
using System.IO;
using System.Net.Sockets;
using System.Text;
using Postfix.Util;

namespace Postfix.Global.Dict;

public sealed class SocketmapDict : Dict
{
    public const string TypeName = "socketmap";

    private const int Timeout = 100;
    private const int MaxReply = 100000;
    private const int MaxIdle = 10;
    private const int MaxTtl = 100;

    // Client - one reference-counted connection per endpoint (auto_clnt).
    private sealed class Client
    {
        public required string Service { get; init; }
        public int RefCount;
        public Socket? Socket;
        public BufferedStream? Stream;
        public long Opened;
        public long LastUsed;

        // Access - auto_clnt_access(): the stream, connecting if needed; null and errno.
        public BufferedStream? Access(out int errno)
        {
            errno = 0;
            var now = Environment.TickCount64;
            if (Stream != null && (now - LastUsed > MaxIdle * 1000L || now - Opened > MaxTtl * 1000L))
                Close();
            if (Stream == null)
            {
                Socket = TcpConnect.Service(Service, Timeout, out errno, out var endpoint);
                if (Socket == null)
                {
                    Msg.Warn($"connect to {endpoint}: {Sys.StrError(errno)}");
                    return null;
                }
                Stream = new BufferedStream(new NetworkStream(Socket, true));
                Opened = now;
            }
            LastUsed = now;
            return Stream;
        }

        public void Close()
        {
            Stream?.Dispose();
            Stream = null;
            Socket = null;
        }
    }

    private static readonly Dictionary<string, Client> Clients = new(StringComparer.Ordinal);

    private readonly Client client;
    private readonly string mapName;

    private SocketmapDict(string name, DictOpenFlags openFlags, DictFlags dictFlags, Client client, string mapName)
        : base(TypeName, name, openFlags, dictFlags | DictFlags.Pattern)
    {
        this.client = client;
        this.mapName = mapName;
    }

    // Open - dict_sockmap_open(): no connection until the first lookup.
    public static Dict Open(string name, DictOpenFlags openFlags, DictFlags dictFlags)
    {
        if (openFlags != DictOpenFlags.ReadOnly)
            return DictSurrogate.Create(TypeName, name, openFlags, dictFlags, $"{TypeName}:{name} map requires O_RDONLY access mode");
        if ((dictFlags & DictFlags.NoUnauth) != 0)
            return DictSurrogate.Create(TypeName, name, openFlags, dictFlags, $"{TypeName}:{name} map is not allowed for security-sensitive data");
        var colon = name.LastIndexOf(':');
        if (colon < 0)
            return DictSurrogate.Create(TypeName, name, openFlags, dictFlags, $"{TypeName} requires server:socketmap argument");
        var service = name[..colon];
        lock (Clients)
        {
            if (!Clients.TryGetValue(service, out var client))
            {
                TcpConnect.CheckService(service);
                client = new Client { Service = service };
                Clients[service] = client;
            }
            client.RefCount++;
            return new SocketmapDict(name, openFlags, dictFlags, client, name[(colon + 1)..]);
        }
    }

    // Lookup - one request at a time per shared connection.
    public override string? Lookup(string key)
    {
        lock (client)
            return LookupLocked(key);
    }

    private string? LookupLocked(string key)
    {
        if (Msg.Verbose > 0)
            Msg.Info($"dict_sockmap_lookup: key {key}");
        if ((Flags & DictFlags.FoldMul) != 0)
            key = RegexpSupport.FoldAscii(key);
        var request = RegexpSupport.Encode(mapName + " " + key);
        byte[] reply;
        for (var exceptCount = 0; ; exceptCount++)
        {
            var stream = client.Access(out var errno);
            if (stream == null)
            {
                var text = Sys.StrError(errno);
                Msg.Warn($"table {Type}:{Name} lookup error: {text}");
                SetError(DictError.Retry, text);
                return null;
            }
            var err = SocketmapNetstring.Exchange(stream, request, MaxReply, out reply);
            if (err == SocketmapNetstring.Ok)
                break;
            if (exceptCount == 0 && err == SocketmapNetstring.ErrEof)
            {
                client.Close();
                continue;
            }
            client.Close();
            Msg.Warn($"table {Type}:{Name} lookup error: {SocketmapNetstring.StrError(err)}");
            SetError(DictError.Retry, StaleErrno);
            return null;
        }
        var sp = Array.IndexOf(reply, (byte)' ');
        var status = Encoding.Latin1.GetString(reply, 0, sp < 0 ? reply.Length : sp);
        string? payload = sp < 0 ? null : RegexpSupport.Decode(reply.AsSpan(sp + 1));
        string errorClass;
        switch (status)
        {
            case "OK":
                SetError(DictError.None);
                return payload;
            case "NOTFOUND":
                SetError(DictError.None);
                return null;
            case "TEMP":
                errorClass = "temporary";
                SetError(DictError.Retry, StaleErrno);
                break;
            case "TIMEOUT":
                errorClass = "timeout";
                SetError(DictError.Retry, StaleErrno);
                break;
            case "PERM":
                errorClass = "permanent";
                SetError(DictError.Config, null);
                break;
            default:
                errorClass = "unknown";
                SetError(DictError.Retry, StaleErrno);
                break;
        }
        var detail = "";
        if (sp >= 0)
        {
            var start = sp + 1;
            while (start < reply.Length && reply[start] is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r' or (byte)'\f' or (byte)'\v')
                start++;
            if (start < reply.Length)
                detail = ": " + PrintableQ(reply.AsSpan(start), 200);
        }
        Msg.Warn($"{Type}:{Name} socketmap server {errorClass} error{detail}");
        return null;
    }

    // StaleErrno - what the reference's %m shows after a failed exchange:
    // the errno its connect left behind (EINPROGRESS from a non-blocking
    // TCP connect, none after a UNIX-domain connect).
    private string StaleErrno => client.Service.StartsWith("inet:", StringComparison.Ordinal)
        ? Sys.StrError(TcpConnect.EInProgress) : "Application error";

    // PrintableQ - printable(text, '?'), cut to max bytes.
    private static string PrintableQ(ReadOnlySpan<byte> text, int max)
    {
        var n = Math.Min(text.Length, max);
        var sb = new StringBuilder(n);
        for (var i = 0; i < n; i++)
            sb.Append(text[i] is >= 0x20 and < 0x7f ? (char)text[i] : '?');
        return sb.ToString();
    }

    protected override void Dispose(bool disposing)
    {
        lock (Clients)
        {
            if (--client.RefCount == 0)
            {
                client.Close();
                Clients.Remove(client.Service);
            }
        }
        base.Dispose(disposing);
    }
}
