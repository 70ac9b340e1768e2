// NAME
//	SmtpdHaproxy - client endpoint from an HAProxy PROXY header
// POSTFIX
//	src/smtpd/smtpd_haproxy.c, src/global/haproxy_srvr.c
// DESCRIPTION
//	With smtpd_upstream_proxy_protocol = haproxy, the connection starts
//	with a version 1 ("PROXY TCP4 ...\n") or version 2 (binary) header
//	that names the real client and server endpoints. Receive() waits at
//	most smtpd_upstream_proxy_timeout for it, parses it with the
//	reference's checks and error texts, and consumes exactly the header.
using System;
using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Postfix.Util;

namespace Postfix.Daemons.Smtpd;

internal static class SmtpdHaproxy
{
    private const int HeaderMaxLen = 536;
    private static readonly byte[] V2Signature = "\r\n\r\n\0\r\nQUIT\n"u8.ToArray();

    public sealed class Endpoints
    {
        public bool NonProxy;
        public string ClientAddr = "", ClientPort = "", ServerAddr = "", ServerPort = "";
    }

    // Receive - smtpd_peer_from_haproxy() up to the endpoint strings;
    // null (with the reference's warning) on failure.
    public static Endpoints? Receive(Socket socket, int timeoutSec, bool ipv4, bool ipv6)
    {
        try
        {
            if (!socket.Poll(timeoutSec * 1_000_000L > int.MaxValue ? int.MaxValue : timeoutSec * 1_000_000, SelectMode.SelectRead))
            {
                Msg.Warn("haproxy read: timeout error");
                return null;
            }
            var buf = new byte[HeaderMaxLen];
            var n = socket.Receive(buf, 0, buf.Length, SocketFlags.Peek);
            if (n <= 0)
            {
                Msg.Warn("haproxy read: EOF");
                return null;
            }
            var ep = new Endpoints();
            var len = n;
            var err = Parse(buf.AsSpan(0, n), ref len, ep, ipv4, ipv6);
            if (err != null)
            {
                Msg.Warn($"haproxy read: {err}: {SmtpdSession.Escape(buf.AsSpan(0, n))}");
                return null;
            }
            var got = 0;
            while (got < len)
            {
                var r = socket.Receive(buf, got, len - got, SocketFlags.None);
                if (r <= 0)
                    break;
                got += r;
            }
            if (got != len)
            {
                Msg.Warn("haproxy read: Connection reset by peer");
                return null;
            }
            return ep;
        }
        catch (SocketException e)
        {
            Msg.Warn($"haproxy read: {e.Message}");
            return null;
        }
    }

    // Parse - haproxy_srvr_parse(): null on success (len set to the
    // header length), else the reason.
    public static string? Parse(ReadOnlySpan<byte> data, ref int len, Endpoints ep, bool ipv4, bool ipv6)
    {
        if (data.Length >= 6 && data[..6].SequenceEqual("PROXY "u8))
        {
            var text = Encoding.Latin1.GetString(data);
            var nl = text.IndexOf('\n');
            if (nl < 0)
                return "missing protocol header terminator";
            var tokens = text[..nl].Split([' ', '\r'], StringSplitOptions.RemoveEmptyEntries);
            string? Tok(int i) => i < tokens.Length ? tokens[i] : null;
            if (Tok(0) != "PROXY")
                return "bad or missing protocol header";
            var proto = Tok(1);
            int family;
            if (string.Equals(proto, "TCP6", StringComparison.OrdinalIgnoreCase) && ipv6)
                family = 10;
            else if (string.Equals(proto, "TCP4", StringComparison.OrdinalIgnoreCase) && ipv4)
                family = 2;
            else
                return "bad or missing protocol type";
            if (!ParseAddr(Tok(2), family, ipv4, out ep.ClientAddr))
                return "bad or missing client address";
            if (!ParseAddr(Tok(3), family, ipv4, out ep.ServerAddr))
                return "bad or missing server address";
            if (!ValidPort(Tok(4)))
                return "bad or missing client port";
            ep.ClientPort = Tok(4)!;
            if (!ValidPort(Tok(5)))
                return "bad or missing server port";
            ep.ServerPort = Tok(5)!;
            len = nl + 1;
            return null;
        }
        if (data.Length < 16)
            return "short protocol header";
        if (!data[..12].SequenceEqual(V2Signature))
            return "unrecognized protocol header";
        if ((data[12] & 0xF0) != 0x20)
            return "unrecognized protocol version";
        var bodyLen = BinaryPrimitives.ReadUInt16BigEndian(data[14..]);
        if (data.Length < 16 + bodyLen)
            return "short version 2 protocol header";
        switch (data[12] & 0x0F)
        {
            case 0x01:
                switch (data[13])
                {
                    case 0x11:
                        if (!ipv4)
                            return "Postfix IPv4 support is disabled";
                        if (bodyLen < 12)
                            return "short address field";
                        ep.ClientAddr = new IPAddress(data.Slice(16, 4)).ToString();
                        ep.ServerAddr = new IPAddress(data.Slice(20, 4)).ToString();
                        ep.ClientPort = BinaryPrimitives.ReadUInt16BigEndian(data[24..]).ToString(System.Globalization.CultureInfo.InvariantCulture);
                        ep.ServerPort = BinaryPrimitives.ReadUInt16BigEndian(data[26..]).ToString(System.Globalization.CultureInfo.InvariantCulture);
                        break;
                    case 0x21:
                        if (!ipv6)
                            return "Postfix IPv6 support is disabled";
                        if (bodyLen < 36)
                            return "short address field";
                        ep.ClientAddr = V6String(new IPAddress(data.Slice(16, 16)), ipv4);
                        ep.ServerAddr = V6String(new IPAddress(data.Slice(32, 16)), ipv4);
                        ep.ClientPort = BinaryPrimitives.ReadUInt16BigEndian(data[48..]).ToString(System.Globalization.CultureInfo.InvariantCulture);
                        ep.ServerPort = BinaryPrimitives.ReadUInt16BigEndian(data[50..]).ToString(System.Globalization.CultureInfo.InvariantCulture);
                        break;
                    default:
                        return "unsupported network protocol";
                }
                len = 16 + bodyLen;
                return null;
            case 0x00:
                ep.NonProxy = true;
                len = 16 + bodyLen;
                return null;
            default:
                return "bad command in proxy header";
        }
    }

    private static string V6String(IPAddress ip, bool ipv4) =>
        ip.IsIPv4MappedToIPv6 && ipv4 ? ip.MapToIPv4().ToString() : ip.ToString();

    private static bool ParseAddr(string? text, int family, bool ipv4, out string addr)
    {
        addr = "";
        if (text == null || text.Length >= 46)
            return false;
        if (family == 2)
        {
            var parts = text.Split('.');
            if (parts.Length != 4)
                return false;
            var bytes = new byte[4];
            for (var i = 0; i < 4; i++)
            {
                if (parts[i].Length == 0 || parts[i].Length > 3 || !int.TryParse(parts[i], System.Globalization.NumberStyles.None,
                        System.Globalization.CultureInfo.InvariantCulture, out var v) || v > 255)
                    return false;
                bytes[i] = (byte)v;
            }
            addr = new IPAddress(bytes).ToString();
            return true;
        }
        if (!text.Contains(':') || !IPAddress.TryParse(text, out var ip) || ip.AddressFamily != AddressFamily.InterNetworkV6)
            return false;
        addr = V6String(ip, ipv4);
        return true;
    }

    // ValidPort - valid_hostport(): digits, no leading zero, at most 65535.
    private static bool ValidPort(string? s)
    {
        if (string.IsNullOrEmpty(s) || s.Length > 5 || (s.Length > 1 && s[0] == '0'))
            return false;
        foreach (var c in s)
        {
            if (c < '0' || c > '9')
                return false;
        }
        return int.Parse(s, System.Globalization.CultureInfo.InvariantCulture) <= 65535;
    }
}
