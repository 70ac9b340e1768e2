// NAME
//	SmtpdProxy - the before-queue content filter (smtpd_proxy_filter)
// POSTFIX
//	src/smtpd/smtpd_proxy.c
// DESCRIPTION
//	With smtpd_proxy_filter set, a mail transaction is passed through
//	to another SMTP server while the client waits: at MAIL FROM (or the
//	first valid RCPT TO) the proxy connection is opened (greeting, EHLO
//	$smtpd_proxy_ehlo, XFORWARD with the client's attributes when the
//	filter offers it, the client's MAIL FROM), RCPT TO and DATA are
//	forwarded, the content goes out as received (with our Received:
//	header), and the filter's replies become ours. With speed_adjust
//	(smtpd_proxy_options) the commands and the content are first saved
//	to an unlinked file in the incoming queue and the filter is contacted
//	only after the client's "."; the saved session is then replayed,
//	stopping at the first reply the filter refuses.
using System;
using System.Net.Sockets;
using System.Text;
using Postfix.Util;

namespace Postfix.Daemons.Smtpd;

internal sealed partial class SmtpdSession
{
    // SMTPD_PROX_WANT_*: the reply class a command expects.
    public const int ProxyWantNone = 0, ProxyWantAny = '0', ProxyWantOk = '2', ProxyWantMore = '3';

    public sealed class SmtpdProxy
    {
        public string Reply = "";
        public string Request = "";
        public string ServiceName = "";
        public SmtpdStream? Stream;
        public Socket? Socket;
        public bool Broken;

        // speed_adjust: the replay log, and whether commands and content
        // still go there (not to the filter).
        public System.IO.FileStream? Replay;
        public bool Saving;
    }

    // Replay log entries: a command with the reply class it expects, or a
    // content record.
    private const byte ReplayCommand = (byte)'C', ReplayNorm = (byte)'N', ReplayCont = (byte)'R';

    public SmtpdProxy? Proxy;

    private string? ProxyFilter => StandAlone || Proc.ProxyFilter.Length == 0 ? null : Proc.ProxyFilter;

    private const int ProxyXforwardName = 1 << 0, ProxyXforwardAddr = 1 << 1, ProxyXforwardProto = 1 << 2,
        ProxyXforwardHelo = 1 << 3, ProxyXforwardIdent = 1 << 4, ProxyXforwardDomain = 1 << 5, ProxyXforwardPort = 1 << 6;

    // ProxyCreate - smtpd_proxy_create(); on failure Proxy.Reply has the
    // reply for the client.
    private int ProxyCreate()
    {
        Proxy = new SmtpdProxy { ServiceName = Proc.ProxyFilter };
        if (!Proc.ProxySpeedAdjust)
            return ProxyConnect();
        // The filter is contacted after the whole message is in.
        var path = $"incoming/proxy.{Environment.ProcessId}.{Guid.NewGuid():N}";
        try
        {
            Proxy.Replay = new System.IO.FileStream(path, System.IO.FileMode.CreateNew, System.IO.FileAccess.ReadWrite,
                System.IO.FileShare.None, 8192);
            System.IO.File.Delete(path);
        }
        catch (Exception e) when (e is System.IO.IOException or UnauthorizedAccessException)
        {
            Proxy.Replay?.Dispose();
            Proxy.Replay = null;
            return ProxyReplayError(e);
        }
        Proxy.Saving = true;
        return 0;
    }

    // ProxyReplayError - smtpd_proxy_replay_rdwr_error().
    private int ProxyReplayError(Exception e)
    {
        Msg.Warn($"proxy speed-adjust log I/O error: {e.Message}");
        ErrorMask |= MailErrorResource;
        Err |= CleanupStatProxy;
        ProxyFakeReply(CleanupStatProxy);
        return -1;
    }

    private void ReplayPut(byte kind, int expect, ReadOnlySpan<byte> data)
    {
        var replay = Proxy!.Replay!;
        Span<byte> head = stackalloc byte[9];
        head[0] = kind;
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(head[1..], expect);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(head[5..], data.Length);
        replay.Write(head);
        replay.Write(data);
    }

    // ProxySave - smtpd_proxy_save_cmd(): keep the command; after "."
    // connect and replay.
    private int ProxySave(int expect, string text)
    {
        try
        {
            ReplayPut(ReplayCommand, expect, System.Text.Encoding.UTF8.GetBytes(text));
        }
        catch (Exception e) when (e is System.IO.IOException or ObjectDisposedException)
        {
            return ProxyReplayError(e);
        }
        return text == "." ? ProxyReplaySend() : 0;
    }

    // ProxyReplaySend - smtpd_proxy_replay_send().
    private int ProxyReplaySend()
    {
        var proxy = Proxy!;
        var replay = proxy.Replay!;
        try
        {
            replay.Flush();
            replay.Seek(0, System.IO.SeekOrigin.Begin);
        }
        catch (System.IO.IOException e)
        {
            return ProxyReplayError(e);
        }
        proxy.Saving = false;
        if (ProxyConnect() < 0)
            return -1;
        Span<byte> head = stackalloc byte[9];
        var data = new byte[512];
        try
        {
            while (true)
            {
                if (replay.Read(head) < head.Length)
                    return 0;
                var expect = System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(head[1..]);
                var len = System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(head[5..]);
                if (data.Length < len)
                    data = new byte[Math.Max(len, data.Length * 2)];
                replay.ReadExactly(data, 0, len);
                switch (head[0])
                {
                    case ReplayNorm:
                    case ReplayCont:
                        if (!ProxyRecord(head[0] == ReplayNorm ? Postfix.Global.Queue.RecordType.Norm : Postfix.Global.Queue.RecordType.Cont,
                                data.AsSpan(0, len)))
                            return -1;
                        break;
                    case ReplayCommand:
                        if (ProxyCommand(expect, System.Text.Encoding.UTF8.GetString(data, 0, len)) != 0)
                            return -1;
                        break;
                    default:
                        Msg.Panic($"proxy replay: unexpected record type {head[0]}");
                        break;
                }
            }
        }
        catch (Exception e) when (e is System.IO.IOException or System.IO.EndOfStreamException)
        {
            return ProxyReplayError(e);
        }
    }

    private int ProxyConnect()
    {
        var proxy = Proxy!;
        var name = proxy.ServiceName;
        Socket sock;
        try
        {
            if (name.StartsWith("unix:", StringComparison.OrdinalIgnoreCase))
            {
                sock = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                sock.Connect(new UnixDomainSocketEndPoint(name[5..]));
            }
            else
            {
                var endpoint = name.StartsWith("inet:", StringComparison.OrdinalIgnoreCase) ? name[5..] : name;
                var colon = endpoint.LastIndexOf(':');
                var host = colon >= 0 ? endpoint[..colon] : endpoint;
                var port = colon >= 0 ? endpoint[(colon + 1)..] : "smtp";
                if (host.StartsWith('[') && host.EndsWith(']'))
                    host = host[1..^1];
                if (!int.TryParse(port, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var portNumber))
                    portNumber = port == "smtp" ? 25 : 0;
                sock = new Socket(SocketType.Stream, ProtocolType.Tcp);
                var connect = sock.BeginConnect(host, portNumber, null, null);
                if (!connect.AsyncWaitHandle.WaitOne(Proc.ProxyTimeout * 1000))
                {
                    sock.Dispose();
                    throw new SocketException((int)SocketError.TimedOut);
                }
                sock.EndConnect(connect);
                sock.NoDelay = true;
            }
        }
        catch (SocketException e)
        {
            Msg.Warn($"connect to proxy filter {name}: {e.Message}");
            return ProxyRdwrError(0);
        }
        proxy.Socket = sock;
        proxy.Stream = new SmtpdStream(new NetworkStream(sock, ownsSocket: true), sock) { TimeoutSec = Proc.ProxyTimeout };
        if (ProxyCommand(ProxyWantOk, "") != 0)
        {
            ProxyFakeReply(CleanupStatProxy);
            ProxyClose();
            return -1;
        }
        if (ProxyCommand(ProxyWantOk, "EHLO " + Proc.ProxyEhlo) != 0)
        {
            ProxyFakeReply(CleanupStatProxy);
            ProxyClose();
            return -1;
        }
        var features = 0;
        foreach (var line in proxy.Reply.Split("\r\n"))
        {
            var words = line.Length > 4 ? line[4..].Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries) : [];
            if (words.Length > 0 && string.Equals(words[0], "XFORWARD", StringComparison.OrdinalIgnoreCase))
            {
                foreach (var w in words[1..])
                {
                    features |= w.ToUpperInvariant() switch
                    {
                        "NAME" => ProxyXforwardName,
                        "ADDR" => ProxyXforwardAddr,
                        "PORT" => ProxyXforwardPort,
                        "PROTO" => ProxyXforwardProto,
                        "HELO" => ProxyXforwardHelo,
                        "IDENT" => ProxyXforwardIdent,
                        "SOURCE" => ProxyXforwardDomain,
                        _ => 0,
                    };
                }
            }
        }
        if (features != 0)
        {
            var buf = new StringBuilder();
            var bad =
                ((features & ProxyXforwardName) != 0 && XforwardSend(buf, "NAME", ForwardName != "unknown", ForwardName))
                || ((features & ProxyXforwardAddr) != 0 && XforwardSend(buf, "ADDR", ForwardAddr != "unknown", ForwardAddr))
                || ((features & ProxyXforwardPort) != 0 && XforwardSend(buf, "PORT", ForwardPort != "unknown", ForwardPort))
                || ((features & ProxyXforwardHelo) != 0 && XforwardSend(buf, "HELO", ForwardHelo != null, ForwardHelo))
                || ((features & ProxyXforwardIdent) != 0 && XforwardSend(buf, "IDENT", ForwardIdent != null, ForwardIdent))
                || ((features & ProxyXforwardProto) != 0 && XforwardSend(buf, "PROTO", ForwardProto != "unknown", ForwardProto))
                || ((features & ProxyXforwardDomain) != 0 && XforwardSend(buf, "SOURCE", true,
                    ForwardDomain == "local" ? "LOCAL" : "REMOTE"))
                || XforwardFlush(buf);
            if (bad)
            {
                ProxyFakeReply(CleanupStatProxy);
                ProxyClose();
                return -1;
            }
        }
        if (ProxyCommand(ProxyWantOk, ProxyMail!) != 0)
        {
            ProxyClose();
            return -1;
        }
        return 0;
    }

    private const int XforwardPayloadLimit = 512 - 14;

    private bool XforwardFlush(StringBuilder buf)
    {
        if (buf.Length == 0)
            return false;
        var ret = ProxyCommand(ProxyWantOk, "XFORWARD" + buf);
        buf.Clear();
        return ret != 0;
    }

    private bool XforwardSend(StringBuilder buf, string name, bool available, string? value)
    {
        if (!available)
            value = "[UNAVAILABLE]";
        var quoted = XtextQuote(value ?? "");
        var newLen = name.Length + quoted.Length + 2;
        if (newLen > XforwardPayloadLimit)
            Msg.Warn($"XFORWARD command payload {name}={Trunc(value ?? "", 10)}... exceeds SMTP protocol limit");
        if (buf.Length > 0 && buf.Length + newLen > XforwardPayloadLimit && XforwardFlush(buf))
            return true;
        buf.Append(' ').Append(name).Append('=').Append(quoted);
        return false;
    }

    // XtextQuote - xtext_quote(): '+', '=', controls and non-ASCII as +XX.
    public static string XtextQuote(string s)
    {
        var sb = new StringBuilder();
        foreach (var b in System.Text.Encoding.UTF8.GetBytes(s))
        {
            if (b <= 32 || b >= 127 || b == '+' || b == '=')
                sb.Append('+').Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
            else
                sb.Append((char)b);
        }
        return sb.ToString();
    }

    private void ProxyFakeReply(int status)
    {
        var d = StatDetail(status);
        Proxy!.Reply = $"{d.Code} {d.Dsn} Error: {d.Text}";
    }

    // ProxyRdwrError - smtpd_proxy_rdwr_error().
    private int ProxyRdwrError(int err)
    {
        var proxy = Proxy!;
        if (err == SmtpdJump.Eof)
            Msg.Warn($"lost connection with proxy {proxy.ServiceName}");
        else if (err == SmtpdJump.Time)
            Msg.Warn($"timeout talking to proxy {proxy.ServiceName}");
        if (err != 0)
            proxy.Broken = true;
        ErrorMask |= MailErrorSoftware;
        Err |= CleanupStatProxy;
        ProxyFakeReply(CleanupStatProxy);
        return -1;
    }

    // ProxyCommand - smtpd_proxy_cmd(): send a command (none when text
    // is empty), read the reply into Proxy.Reply, check its class.
    private int ProxyCommand(int expect, string text)
    {
        var proxy = Proxy!;
        if (proxy.Saving)
            return ProxySave(expect, text);
        if (proxy.Broken || proxy.Stream == null)
            return ProxyRdwrError(0);
        var io = proxy.Stream;
        try
        {
            proxy.Request = text;
            if (text.Length > 0)
            {
                if (Msg.Verbose > 0)
                    Msg.Info($"> {proxy.ServiceName}: {text}");
                io.PutLine(System.Text.Encoding.UTF8.GetBytes(text));
            }
            if (expect == ProxyWantNone)
            {
                io.Flush();
                return 0;
            }
            var reply = new StringBuilder();
            var line = new ByteBuffer(512);
            while (true)
            {
                var last = io.GetLine(line, Config.LineLimit, skip: true);
                var s = Msg.Printable(DecodeLine(line.Span));
                if (last != '\n')
                    Msg.Warn($"{proxy.ServiceName}: response longer than {Config.LineLimit}: {Trunc(s, 30)}...");
                if (Msg.Verbose > 0)
                    Msg.Info($"< {proxy.ServiceName}: {Trunc(s, 100)}");
                if (reply.Length < Config.LineLimit)
                {
                    if (reply.Length > 0)
                        reply.Append("\r\n");
                    reply.Append(s);
                }
                var digits = 0;
                while (digits < s.Length && char.IsAsciiDigit(s[digits]))
                    digits++;
                if (digits == 3)
                {
                    if (s.Length > 3 && s[3] == '-')
                        continue;
                    if (s.Length == 3 || s[3] == ' ')
                        break;
                }
                Msg.Warn($"received garbage from proxy {proxy.ServiceName}: {Trunc(s, 100)}");
            }
            proxy.Reply = reply.ToString();
        }
        catch (SmtpdJump jump)
        {
            return ProxyRdwrError(jump.Code);
        }
        if (expect != ProxyWantAny && (proxy.Reply.Length == 0 || expect != proxy.Reply[0]))
        {
            Msg.Warn($"proxy {proxy.ServiceName} rejected \"{(proxy.Request.Length == 0 ? "connection request" : proxy.Request)}\": \"{proxy.Reply}\"");
            if (proxy.Reply.Length > 0 && (proxy.Reply[0] == ProxyWantOk || proxy.Reply[0] == ProxyWantMore))
                ProxyRdwrError(0);
            return -1;
        }
        return 0;
    }

    // ProxyRecord - smtpd_proxy_rec_put(): NORM with CRLF, CONT without.
    private bool ProxyRecord(int type, ReadOnlySpan<byte> data)
    {
        var proxy = Proxy;
        if (proxy is { Saving: true })
        {
            try
            {
                ReplayPut(type == Postfix.Global.Queue.RecordType.Norm ? ReplayNorm : ReplayCont, 0, data);
                return true;
            }
            catch (Exception e) when (e is System.IO.IOException or ObjectDisposedException)
            {
                ProxyReplayError(e);
                return false;
            }
        }
        if (proxy == null || proxy.Broken || proxy.Stream == null)
        {
            if (proxy != null)
                ProxyRdwrError(0);
            return false;
        }
        try
        {
            if (type == Postfix.Global.Queue.RecordType.Norm)
                proxy.Stream.PutLine(data);
            else
                proxy.Stream.PutRaw(data);
            return true;
        }
        catch (SmtpdJump jump)
        {
            ProxyRdwrError(jump.Code);
            return false;
        }
    }

    // ProxyClose - smtpd_proxy_close(): QUIT and disconnect.
    private void ProxyClose()
    {
        var proxy = Proxy;
        if (proxy?.Stream == null)
            return;
        if (!proxy.Broken)
        {
            try
            {
                proxy.Stream.PutLine("QUIT"u8);
                proxy.Stream.Flush();
            }
            catch (SmtpdJump)
            {
            }
        }
        try
        {
            proxy.Stream.Stream.Dispose();
        }
        catch (Exception e) when (e is System.IO.IOException or SocketException)
        {
        }
        proxy.Stream = null;
        proxy.Socket = null;
    }

    // ProxyFree - smtpd_proxy_free().
    private void ProxyFree()
    {
        if (Proxy == null)
            return;
        ProxyClose();
        Proxy.Replay?.Dispose();
        Proxy = null;
    }

    private sealed class ProxyOutput(SmtpdSession session) : IMessageOutput
    {
        public bool Record(int type, ReadOnlySpan<byte> data) => session.ProxyRecord(type, data);

        public int ErrorCode => CleanupStatProxy;
    }
}
