// NAME
//	TcpDict - the tcp: table client (tcp_table(5) protocol)
// POSTFIX
//	src/util/dict_tcp.c, src/util/hex_quote.c
// DESCRIPTION
//	Request "get KEY\n", reply "NNN TEXT\n", both %XX-encoded where a
//	byte is '%', white space or not printable. 2xx: found; 4xx: try
//	again (disconnect); 5xx: not found; anything else is a malformed
//	reply. The connection is made on the first lookup and kept; a failed
//	connection or read is retried up to 10 times, one second apart.
using System;
using System.IO;
using System.Net.Sockets;
using System.Text;
using Postfix.Util;

namespace Postfix.Global.Dict;

public sealed class TcpDict : Dict
{
    private readonly object gate = new();

    public const string TypeName = "tcp";

    private const int MaxTry = 10;
    private const int Timeout = 100;
    private const int MaxLen = 4096;

    private Socket? socket;
    private BufferedStream? stream;
    private byte[] keyBuf = new byte[256];
    private readonly byte[] line = new byte[MaxLen + 1];

    // Sleep - the pause between attempts (tests replace it).
    internal static Action<int> Sleep { get; set; } = static s => System.Threading.Thread.Sleep(s * 1000);

    private TcpDict(string name, DictOpenFlags openFlags, DictFlags dictFlags)
        : base(TypeName, name, openFlags, dictFlags | DictFlags.Pattern)
    {
    }

    // Open - dict_tcp_open(): no connection until the first lookup.
    public static Dict Open(string name, DictOpenFlags openFlags, DictFlags dictFlags)
    {
        if ((dictFlags & DictFlags.NoUnauth) != 0)
            return DictSurrogate.Create(TypeName, name, openFlags, dictFlags, $"{TypeName}:{name} map is not allowed for security sensitive data");
        if (openFlags != DictOpenFlags.ReadOnly)
            return DictSurrogate.Create(TypeName, name, openFlags, dictFlags, $"{TypeName}:{name} map requires O_RDONLY access mode");
        return new TcpDict(name, openFlags, dictFlags);
    }

    // Lookup - one lookup at a time per table: the match buffers (and
    // connections) belong to the table, as in a Postfix process.
    public override string? Lookup(string key)
    {
        lock (gate)
            return LookupLocked(key);
    }

    private string? LookupLocked(string key)
    {
        if (Msg.Verbose > 0)
            Msg.Info($"dict_tcp_lookup: key {key}");
        if ((Flags & DictFlags.FoldMul) != 0)
            key = RegexpSupport.FoldAscii(key);
        var request = Encoding.ASCII.GetBytes("get " + HexQuote(key) + "\n");
        int len;
        var errno = 0;
        for (var tries = 0; ; )
        {
            if (stream != null || Connect(out errno))
            {
                if (Msg.Verbose > 0)
                    Msg.Info($"dict_tcp_lookup: send: get {HexQuote(key)}");
                var last = Exchange(request, out len, out errno);
                if (last == '\n')
                    break;
                // A clean EOF sets no errno; the reference then shows the
                // one its non-blocking connect() left behind.
                if (errno == 0)
                    errno = TcpConnect.EInProgress;
                if (last < 0)
                    Msg.Warn($"read TCP map reply from {Name}: unexpected EOF ({Sys.StrError(errno)})");
                else
                    Msg.Warn($"read TCP map reply from {Name}: text longer than {MaxLen}");
                Disconnect();
            }
            if (++tries >= MaxTry)
            {
                SetError(DictError.Retry, Sys.StrError(errno));
                return null;
            }
            Sleep(1);
        }
        var reply = line.AsSpan(0, len);
        if (Msg.Verbose > 0)
            Msg.Info($"dict_tcp_lookup: recv: {RegexpSupport.Decode(reply)}");
        // The reference reports a stale errno here: the one left by its
        // non-blocking connect().
        var stale = Sys.StrError(TcpConnect.EInProgress);
        byte[]? raw = null;
        if (len < 4 || !IsDigit(reply[0]) || !IsDigit(reply[1]) || !IsDigit(reply[2]) || !IsSpaceByte(reply[3])
            || (raw = HexUnquote(reply[4..])) == null)
        {
            Msg.Warn($"read TCP map reply from {Name}: malformed reply: {Printable(reply, 100)}");
            Disconnect();
            SetError(DictError.Retry, stale);
            return null;
        }
        switch (reply[0])
        {
            case (byte)'4':
                if (Msg.Verbose > 0)
                    Msg.Info($"dict_tcp_lookup: soft error: {Printable(reply, int.MaxValue)}");
                Disconnect();
                SetError(DictError.Retry, stale);
                return null;
            case (byte)'5':
                if (Msg.Verbose > 0)
                    Msg.Info($"dict_tcp_lookup: not found: {Printable(reply, int.MaxValue)}");
                SetError(DictError.None);
                return null;
            case (byte)'2':
                SetError(DictError.None);
                return RegexpSupport.Decode(raw);
            default:
                Msg.Warn($"read TCP map reply from {Name}: bad status code: {Printable(reply, 100)}");
                Disconnect();
                SetError(DictError.Retry, stale);
                return null;
        }
    }

    private bool Connect(out int errno)
    {
        socket = TcpConnect.Inet(Name, Timeout, out errno);
        if (socket == null)
        {
            Msg.Warn($"connect to TCP map {Name}: {Sys.StrError(errno)}");
            return false;
        }
        stream = new BufferedStream(new NetworkStream(socket, true));
        return true;
    }

    private void Disconnect()
    {
        stream?.Dispose();
        stream = null;
        socket = null;
    }

    // Exchange - send the request, read one reply line (without the
    // newline) into line; '\n', the last byte when too long, or -1 at EOF.
    private int Exchange(byte[] request, out int len, out int errno)
    {
        len = 0;
        errno = 0;
        try
        {
            stream!.Write(request);   // connected: stream is set
            stream.Flush();
            while (len < MaxLen)
            {
                var b = stream.ReadByte();
                if (b < 0)
                    return -1;
                if (b == '\n')
                    return '\n';
                line[len++] = (byte)b;
            }
            return line[len - 1];
        }
        catch (IOException e)
        {
            errno = e.InnerException is SocketException se ? TcpConnect.Errno(se) : 104;
            return -1;
        }
    }

    // HexQuote - hex_quote(): %XX for '%', white space and non-printables.
    internal string HexQuote(string key)
    {
        var n = RegexpSupport.Encode(key, ref keyBuf, false);
        var sb = new StringBuilder(n + 8);
        for (var i = 0; i < n; i++)
        {
            var ch = keyBuf[i];
            if (ch != '%' && ch > 0x20 && ch < 0x7f)
                sb.Append((char)ch);
            else
                sb.Append('%').Append(ch.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
        }
        return sb.ToString();
    }

    // HexUnquote - hex_unquote(): null on a malformed %XX.
    internal static byte[]? HexUnquote(ReadOnlySpan<byte> hex)
    {
        var raw = new byte[hex.Length];
        var n = 0;
        for (var i = 0; i < hex.Length; i++)
        {
            var ch = hex[i];
            if (ch == '%')
            {
                if (i + 2 >= hex.Length)
                    return null;
                var hi = HexValue(hex[i + 1]);
                var lo = HexValue(hex[i + 2]);
                if (hi < 0 || lo < 0)
                    return null;
                ch = (byte)(hi << 4 | lo);
                i += 2;
            }
            raw[n++] = ch;
        }
        return raw.AsSpan(0, n).ToArray();
    }

    private static int HexValue(byte c) => c switch
    {
        >= (byte)'0' and <= (byte)'9' => c - '0',
        >= (byte)'a' and <= (byte)'f' => c - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => c - 'A' + 10,
        _ => -1,
    };

    private static bool IsDigit(byte b) => b is >= (byte)'0' and <= (byte)'9';

    private static bool IsSpaceByte(byte b) => b is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r' or (byte)'\f' or (byte)'\v';

    // Printable - printable(text, '_'), cut to max bytes (%.100s).
    internal static string Printable(ReadOnlySpan<byte> text, int max)
    {
        var n = Math.Min(text.Length, max);
        var sb = new StringBuilder(n);
        for (var i = 0; i < n; i++)
            sb.Append(text[i] is >= 0x20 and < 0x7f ? (char)text[i] : '_');
        return sb.ToString();
    }

    protected override void Dispose(bool disposing)
    {
        Disconnect();
        base.Dispose(disposing);
    }
}
