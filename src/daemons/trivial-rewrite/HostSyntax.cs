// NAME
//	HostSyntax - domain name and address literal syntax checks
// POSTFIX
//	src/util/valid_hostname.c, src/util/valid_utf8_hostname.c,
//	src/global/valid_mailhost_addr.c
// DESCRIPTION
//	ValidHostname: letters, digits, "_" and inner "-" in labels of up
//	to 63 characters, no empty label, not all-numeric, 255 characters
//	at most. ValidHostAddr: a dotted quad or an IPv6 address in the
//	forms the reference accepts. ValidMailhostLiteral: "[addr]" with an
//	optional "IPv6:" prefix. ValidUtf8Hostname: with SMTPUTF8 enabled a
//	non-ASCII name must convert to a valid A-label form. The address
//	checks log why they fail when asked to (gripe).
using System;
using System.Globalization;

namespace Postfix.Daemons.TrivialRewrite;

internal static class HostSyntax
{
    private const int MaxLabel = 63;
    private const int MaxName = 255;

    public static bool ValidHostname(string name)
    {
        if (name.Length == 0)
            return false;
        int labelLength = 0, labelCount = 0;
        var nonNumeric = false;
        for (var i = 0; i < name.Length; i++)
        {
            var ch = name[i];
            var next = i + 1 < name.Length ? name[i + 1] : '\0';
            if (char.IsAsciiLetterOrDigit(ch) || ch == '_')
            {
                if (labelLength == 0)
                    labelCount++;
                if (++labelLength > MaxLabel)
                    return false;
                if (!char.IsAsciiDigit(ch))
                    nonNumeric = true;
            }
            else if (ch == '.')
            {
                if (labelLength == 0 || next == '\0')
                    return false;
                labelLength = 0;
            }
            else if (ch == '-')
            {
                nonNumeric = true;
                labelLength++;
                if (labelLength == 1 || next == '\0' || next == '.')
                    return false;
            }
            else
            {
                return false;
            }
        }
        return nonNumeric && name.Length <= MaxName;
    }

    public static bool ValidHostAddr(string addr) =>
        addr.Length != 0 && (addr.Contains(':') ? ValidIpv6(addr) : ValidIpv4(addr));

    private static string Clip(string s) => s.Length > 100 ? s[..100] : s;

    private static int ByteOf(char c) => c < 0x80 ? c : System.Text.Encoding.UTF8.GetBytes(c.ToString())[0];

    private static bool Gripe(bool gripe, string text)
    {
        if (gripe)
            Postfix.Util.Msg.Warn(text);
        return false;
    }

    public static bool ValidIpv4(string addr, bool gripe = false)
    {
        const string Me = "valid_ipv4_hostaddr";
        var inByte = false;
        int count = 0, value = 0;
        for (var i = 0; i < addr.Length; i++)
        {
            var ch = addr[i];
            if (char.IsAsciiDigit(ch))
            {
                if (!inByte)
                {
                    inByte = true;
                    value = 0;
                    count++;
                }
                value = value * 10 + (ch - '0');
                if (value > 255)
                    return Gripe(gripe, $"{Me}: invalid octet value: {Clip(addr)}");
            }
            else if (ch == '.')
            {
                if (!inByte || i + 1 == addr.Length)
                    return Gripe(gripe, $"{Me}: misplaced dot: {Clip(addr)}");
                // 0.0.0.0 is allowed, 0.1.2.3 is not.
                if (count == 1 && value == 0 && addr.AsSpan().TrimStart("0.").Length != 0)
                    return Gripe(gripe, $"{Me}: bad initial octet value: {Clip(addr)}");
                inByte = false;
            }
            else
            {
                return Gripe(gripe, $"{Me}: invalid character {ByteOf(ch)}(decimal): {Clip(addr)}");
            }
        }
        if (count != 4)
            return Gripe(gripe, $"{Me}: invalid octet count: {Clip(addr)}");
        return true;
    }

    public static bool ValidIpv6(string addr, bool gripe = false)
    {
        const string Me = "valid_ipv6_hostaddr";
        int nullField = 0, field = 0, len = 0, i = 0;
        for (;;)
        {
            var ch = i < addr.Length ? addr[i] : '\0';
            switch (ch)
            {
                case '\0':
                    if (field < 2)
                        return Gripe(gripe, $"{Me}: too few `:' in IPv6 address: {Clip(addr)}");
                    if (len == 0 && nullField != field - 1)
                        return Gripe(gripe, $"{Me}: bad null last field in IPv6 address: {Clip(addr)}");
                    return true;
                case '.':
                    if (field < 2 || field > 6)
                        return Gripe(gripe, $"{Me}: malformed IPv4-in-IPv6 address: {Clip(addr)}");
                    return ValidIpv4(addr[(i - len)..], gripe);
                case ':':
                    {
                        var next = i + 1 < addr.Length ? addr[i + 1] : '\0';
                        if (field == 0 && len == 0 && char.IsAsciiLetterOrDigit(next))
                            return Gripe(gripe, $"{Me}: bad null first field in IPv6 address: {Clip(addr)}");
                        if (++field > 7)
                            return Gripe(gripe, $"{Me}: too many `:' in IPv6 address: {Clip(addr)}");
                        i++;
                        len = 0;
                        if (i < addr.Length && addr[i] == ':')
                        {
                            if (nullField > 0)
                                return Gripe(gripe, $"{Me}: too many `::' in IPv6 address: {Clip(addr)}");
                            nullField = field;
                        }
                        break;
                    }
                default:
                    len = 0;
                    while (i + len < addr.Length && char.IsAsciiHexDigit(addr[i + len]))
                        len++;
                    if (len > 4)
                        return Gripe(gripe, $"{Me}: malformed IPv6 address: {Clip(addr)}");
                    if (len == 0)
                        return Gripe(gripe, $"{Me}: invalid character {ByteOf(ch)}(decimal) in IPv6 address: {Clip(addr)}");
                    i += len;
                    break;
            }
        }
    }

    // ValidMailhostAddr - the bare address after an optional "IPv6:".
    public static string? ValidMailhostAddr(string addr, bool gripe = false)
    {
        if (addr.StartsWith("IPv6:", StringComparison.OrdinalIgnoreCase))
        {
            var bare = addr[5..];
            return ValidIpv6(bare, gripe) ? bare : null;
        }
        return ValidIpv4(addr, gripe) ? addr : null;
    }

    public static bool ValidMailhostLiteral(string addr)
    {
        if (addr.Length == 0 || addr[0] != '[')
            return false;
        var last = addr.IndexOf(']');
        if (last < 0 || last != addr.Length - 1)
            return false;
        var inner = addr[1..last];
        if (inner.Length >= 46)
            return false;
        return ValidMailhostAddr(inner) != null;
    }

    public static bool ValidUtf8Hostname(bool utf8Enable, string name)
    {
        if (name.Length == 0)
            return false;
        if (utf8Enable && !IsAscii(name))
        {
            try
            {
                var ascii = new IdnMapping { UseStd3AsciiRules = true }.GetAscii(name);
                return ValidHostname(ascii);
            }
            catch (Exception e) when (e is ArgumentException or PlatformNotSupportedException)
            {
                return false;
            }
        }
        return ValidHostname(name);
    }

    // ValidUtf8String - text that came from well-formed UTF-8. The
    // attribute reader decodes malformed UTF-8 as Latin-1, which cannot
    // be told apart from text in the Latin-1 range, so only broken
    // surrogate pairs are caught here.
    public static bool ValidUtf8String(string s)
    {
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            if (char.IsHighSurrogate(c))
            {
                if (i + 1 >= s.Length || !char.IsLowSurrogate(s[i + 1]))
                    return false;
                i++;
            }
            else if (char.IsLowSurrogate(c))
            {
                return false;
            }
        }
        return true;
    }

    public static bool IsAscii(string s)
    {
        foreach (var c in s)
            if (c > 0x7f)
                return false;
        return true;
    }
}
