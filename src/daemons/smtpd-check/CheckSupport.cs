// NAME
//	CheckSupport - helpers of the restriction engine
// POSTFIX
//	src/util/valid_hostname.c, src/global/valid_mailhost_addr.c,
//	src/smtpd/smtpd_dsn_fix.c, src/util/match_list.c (namadr_list),
//	src/util/ip_match.c, src/global/is_header.c
// DESCRIPTION
//	Host name and address syntax, the DSN adjustment for address
//	rejections, client name/address lists (mynetworks and friends) and
//	the RBL reply address patterns ("127.0.0.[2..11]").
using System;
using System.Collections.Generic;
using System.IO;
using System.Net;
using System.Net.Sockets;
using Postfix.Global.Bounce;
using Postfix.Global.Dict;
using Postfix.Util;

namespace Postfix.Daemons.SmtpdCheck;

internal static class HostSyntax
{
    public static bool ValidHostname(string name) => name.Length > 0 && MailParamsCheck.ValidHostname(name, false);

    // ValidUtf8Hostname - valid_utf8_hostname(): non-ASCII names only with SMTPUTF8.
    public static bool ValidUtf8Hostname(bool utf8, string name)
    {
        if (name.Length == 0)
            return false;
        if (!IsAscii(name))
        {
            if (!utf8)
                return false;
            try
            {
                name = new System.Globalization.IdnMapping().GetAscii(name);
            }
            catch (ArgumentException)
            {
                return false;
            }
        }
        return ValidHostname(name);
    }

    public static bool IsAscii(string s)
    {
        foreach (var c in s)
            if (c > 127)
                return false;
        return true;
    }

    // ValidHostaddr - valid_hostaddr(): a literal IPv4 or IPv6 address.
    public static bool ValidHostaddr(string addr) => addr.Contains(':') ? ValidIpv6(addr) : ValidIpv4(addr);

    public static bool ValidIpv4(string addr)
    {
        var parts = addr.Split('.');
        if (parts.Length != 4)
            return false;
        foreach (var p in parts)
        {
            if (p.Length == 0 || p.Length > 3)
                return false;
            foreach (var c in p)
                if (c < '0' || c > '9')
                    return false;
            if (int.Parse(p) > 255)
                return false;
        }
        return true;
    }

    public static bool ValidIpv6(string addr) =>
        addr.Contains(':') && !addr.Contains('%') && IPAddress.TryParse(addr, out var a) && a.AddressFamily == AddressFamily.InterNetworkV6;

    // ValidMailhostAddr - valid_mailhost_addr(): "1.2.3.4" or "IPv6:...";
    // the bare address, or null.
    public static string? ValidMailhostAddr(string addr)
    {
        if (addr.StartsWith("IPv6:", StringComparison.OrdinalIgnoreCase))
        {
            var bare = addr[5..];
            return ValidIpv6(bare) ? bare : null;
        }
        return ValidIpv4(addr) ? addr : null;
    }

    // IsHeader - is_header(): "Name: ..." with a sane header name.
    public static bool IsHeader(string s)
    {
        var i = 0;
        for (; i < s.Length; i++)
        {
            var c = s[i];
            if (c == ':')
                return i > 0;
            if (c > 126 || c < 33)
                break;
        }
        if (i == 0)
            return false;
        for (; i < s.Length && (s[i] == ' ' || s[i] == '\t'); i++)
        {
        }
        return i < s.Length && s[i] == ':';
    }

    public static bool AllDigits(string s)
    {
        if (s.Length == 0)
            return false;
        foreach (var c in s)
            if (c < '0' || c > '9')
                return false;
        return true;
    }
}

internal static class DsnFix
{
    public const string SenderDsn = "4.1.7";

    private static readonly (string Micro, string Sender, string Rcpt)[] Map =
    [
        ("1", SenderDsn, "4.1.1"),
        ("2", "4.1.8", "4.1.2"),
        ("3", "4.1.7", "4.1.3"),
        ("4", SenderDsn, "4.1.4"),
        ("5", "4.1.0", "4.1.5"),
        ("6", SenderDsn, "4.1.6"),
        ("7", "4.1.7", "4.1.3"),
        ("8", "4.1.8", "4.1.2"),
    ];

    // Fix - smtpd_dsn_fix(): an address DSN that fits what is rejected.
    public static string Fix(string status, string replyClass)
    {
        if (status.Length < 5 || !char.IsAsciiDigit(status[0]) || string.CompareOrdinal(status, 1, ".1.", 0, 3) != 0)
            return status;
        string result;
        var micro = status[4..];
        if (replyClass == SmtpdChecker.NameSender || replyClass == SmtpdChecker.NameRecipient)
        {
            var sender = replyClass == SmtpdChecker.NameSender;
            result = "4.1.0";
            foreach (var m in Map)
                if (m.Micro == micro)
                {
                    result = sender ? m.Sender : m.Rcpt;
                    break;
                }
        }
        else
        {
            result = "4.0.0";
        }
        if (status[2..] != result[2..])
            Msg.Info($"mapping DSN status {status} into {replyClass} status {status[0]}{result[1..]}");
        return result;
    }
}

// NamadrList - a "name or address" list: mynetworks, permit_mx_backup_networks.
internal sealed class NamadrList
{
    private readonly List<(bool Negate, string Pattern, Maps? Table)> patterns = new();
    private readonly bool parentStyle;

    public NamadrList(string paramName, string text, bool parentStyle)
    {
        this.parentStyle = parentStyle;
        Add(paramName, text, 0);
    }

    public DictError Error { get; private set; }

    private void Add(string paramName, string text, int depth)
    {
        foreach (var raw in SmtpdChecker.SplitList(text))
        {
            var item = raw;
            var negate = false;
            while (item.StartsWith('!'))
            {
                negate = !negate;
                item = item[1..];
            }
            if (item.Length == 0)
                continue;
            if (item.StartsWith('/') && depth < 5)
            {
                string content;
                try
                {
                    content = File.ReadAllText(item);
                }
                catch (IOException e)
                {
                    Msg.Fatal($"{paramName}: open file {item}: {Postfix.Util.Sys.ErrorText(e)}");
                    return;
                }
                var lines = new List<string>();
                foreach (var line in content.Split('\n'))
                {
                    var t = line.Trim();
                    if (t.Length > 0 && !t.StartsWith('#'))
                        lines.Add(t);
                }
                Add(paramName, string.Join(' ', lines), depth + 1);
                continue;
            }
            if (item.Contains(':') && !item.StartsWith('[') && !HostSyntax.ValidIpv6(item.Split('/')[0]))
            {
                patterns.Add((negate, item, Maps.Create(paramName, item, DictFlags.Lock | DictFlags.FoldFix)));
                continue;
            }
            patterns.Add((negate, item.ToLowerInvariant(), null));
        }
    }

    // Match - namadr_list_match(): the first matching pattern decides.
    public bool Match(string name, string addr)
    {
        Error = DictError.None;
        var lname = name.ToLowerInvariant();
        foreach (var (negate, pattern, table) in patterns)
        {
            bool hit;
            if (table != null)
            {
                lock (SmtpdChecker.TableLock)
                {
                    hit = MatchTableName(table, lname) || table.Find(addr) != null;
                    if (!hit && table.Error != DictError.None)
                    {
                        Error = table.Error;
                        return false;
                    }
                }
            }
            else if (pattern.StartsWith('[') || char.IsAsciiDigit(pattern[0]) || pattern.Contains(':'))
            {
                hit = MatchAddr(pattern, addr);
            }
            else
            {
                hit = MatchName(pattern, lname);
            }
            if (hit)
                return !negate;
        }
        return false;
    }

    private bool MatchTableName(Maps table, string name)
    {
        if (name.Length == 0 || name == "unknown")
            return false;
        for (var n = name; ;)
        {
            if (table.Find(n) != null)
                return true;
            if (table.Error != DictError.None)
                return false;
            var dot = n.IndexOf('.');
            if (dot < 0)
                return false;
            n = n[(dot + 1)..];
            if (!parentStyle)
                n = "." + n;
            if (n.Length <= 1)
                return false;
            if (!parentStyle)
            {
                if (table.Find(n) != null)
                    return true;
                n = n[1..];
                if (n.IndexOf('.') < 0)
                    return false;
                continue;
            }
        }
    }

    private bool MatchName(string pattern, string name)
    {
        if (name == pattern)
            return true;
        if (pattern.StartsWith('.'))
            return name.EndsWith(pattern, StringComparison.Ordinal);
        return parentStyle && name.EndsWith("." + pattern, StringComparison.Ordinal);
    }

    public static bool MatchAddr(string pattern, string addr)
    {
        var p = pattern;
        string? len = null;
        var slash = p.LastIndexOf('/');
        if (slash > 0)
        {
            len = p[(slash + 1)..];
            p = p[..slash];
        }
        if (p.StartsWith('[') && p.EndsWith(']'))
            p = p[1..^1];
        if (!IPAddress.TryParse(p, out var net) || !IPAddress.TryParse(addr, out var a))
            return false;
        if (a.IsIPv4MappedToIPv6 && net.AddressFamily == AddressFamily.InterNetwork)
            a = a.MapToIPv4();
        if (a.AddressFamily != net.AddressFamily)
            return false;
        if (len == null)
            return a.Equals(net);
        if (!int.TryParse(len, out var bits))
            return false;
        var nb = net.GetAddressBytes();
        var ab = a.GetAddressBytes();
        if (bits < 0 || bits > nb.Length * 8)
            return false;
        for (var i = 0; i < nb.Length; i++)
        {
            var keep = Math.Clamp(bits - i * 8, 0, 8);
            var mask = (byte)(0xff << (8 - keep));
            if ((nb[i] & mask) != (ab[i] & mask))
                return false;
        }
        return true;
    }
}

// IpMatch - ip_match.c: "127.0.0.2", "127.0.0.[2..11]", "127.0.0.[2;4;6..8]".
internal sealed class IpMatch
{
    private readonly List<(int Lo, int Hi)>[] octets;

    private IpMatch(List<(int, int)>[] octets) => this.octets = octets;

    public static IpMatch? Parse(string pattern, out string? error)
    {
        error = null;
        var result = new List<(int, int)>[4];
        var pos = 0;
        for (var i = 0; i < 4; i++)
        {
            var list = new List<(int, int)>();
            if (pos < pattern.Length && pattern[pos] == '[')
            {
                var end = pattern.IndexOf(']', pos);
                if (end < 0)
                {
                    error = $"missing \"]\" in \"{pattern}\"";
                    return null;
                }
                foreach (var item in pattern[(pos + 1)..end].Split(';'))
                {
                    var dots = item.IndexOf("..", StringComparison.Ordinal);
                    if (dots >= 0 && int.TryParse(item[..dots], out var lo) && int.TryParse(item[(dots + 2)..], out var hi) && lo <= hi && hi < 256)
                        list.Add((lo, hi));
                    else if (dots < 0 && int.TryParse(item, out var v) && v < 256)
                        list.Add((v, v));
                    else
                    {
                        error = $"bad address pattern \"{pattern}\"";
                        return null;
                    }
                }
                pos = end + 1;
            }
            else
            {
                var start = pos;
                while (pos < pattern.Length && char.IsAsciiDigit(pattern[pos]))
                    pos++;
                if (pos == start || !int.TryParse(pattern[start..pos], out var v) || v > 255)
                {
                    error = $"bad address pattern \"{pattern}\"";
                    return null;
                }
                list.Add((v, v));
            }
            result[i] = list;
            if (i < 3)
            {
                if (pos >= pattern.Length || pattern[pos] != '.')
                {
                    error = $"bad address pattern \"{pattern}\"";
                    return null;
                }
                pos++;
            }
        }
        if (pos != pattern.Length)
        {
            error = $"bad address pattern \"{pattern}\"";
            return null;
        }
        return new IpMatch(result);
    }

    public bool Match(byte[] addr)
    {
        if (addr.Length != 4)
            return false;
        for (var i = 0; i < 4; i++)
        {
            var ok = false;
            foreach (var (lo, hi) in octets[i])
                if (addr[i] >= lo && addr[i] <= hi)
                {
                    ok = true;
                    break;
                }
            if (!ok)
                return false;
        }
        return true;
    }
}
