// NAME
//	AccessAddress - address forms used by table search orders
// POSTFIX
//	src/global/quote_822_local.c, src/global/strip_addr.c,
//	src/global/split_addr.c, src/util/valid_hostname.c (host addresses),
//	src/util/split_at.c
// DESCRIPTION
//	Quote/unquote the local part (tables hold the quoted, external
//	form), split off an address extension at recipient_delimiter (never
//	for postmaster, MAILER-DAEMON, the double-bounce sender, nor owner-x
//	and x-request when "-" is a delimiter and owner_request_special is
//	on), and recognise numerical host addresses, which get no parent
//	domain lookups.
using System;
using System.Text;

namespace Postfix.Global.Dict;

public static class AccessAddress
{
    public const int Quote8BitClean = 1 << 0;
    public const int QuoteExposeAt = 1 << 1;
    public const int QuoteBareLocalpart = 1 << 3;
    public const int QuoteDefault = Quote8BitClean;

    // Quote - quote_822_local_flags(): the local part as a dot-string if it
    // is one, else as a quoted-string; a source route and @domain are kept.
    public static string Quote(string mbox, int flags = QuoteDefault)
    {
        var start = 0;
        if (mbox.Length > 0 && mbox[0] == '@')
        {
            var colon = mbox.IndexOf(':', StringComparison.Ordinal);
            if (colon >= 0)
                start = colon + 1;
        }
        int end;
        if ((flags & QuoteBareLocalpart) != 0 || (end = mbox.LastIndexOf('@')) < start)
            end = mbox.Length;
        if (IsDotString(mbox, start, end, flags))
            return mbox;
        var sb = new StringBuilder(mbox.Length + 4);
        sb.Append(mbox, 0, start).Append('"');
        for (var i = start; i < end && mbox[i] != 0; i++)
        {
            var ch = mbox[i];
            if ((ch > 127 && (flags & Quote8BitClean) == 0) || ch == '"' || ch == '\\' || ch == '\r')
                sb.Append('\\');
            sb.Append(ch);
        }
        sb.Append('"').Append(mbox, end, mbox.Length - end);
        return sb.ToString();
    }

    private static bool IsDotString(string s, int start, int end, int flags)
    {
        if (start == end || s[start] == '.')
            return false;
        var i = start;
        for (; i < end && s[i] != 0; i++)
        {
            var ch = s[i];
            if (ch == '.' && i + 1 < end && s[i + 1] == '.')
                return false;
            if (ch > 127 && (flags & Quote8BitClean) == 0)
                return false;
            if (ch == ' ' || ch < 32 || ch == 127)
                return false;
            if (ch is '(' or ')' or '<' or '>' or ',' or ';' or ':' or '\\' or '"' or '[' or ']'
                || (ch == '@' && (flags & QuoteExposeAt) == 0))
                return false;
        }
        return s[i - 1] != '.';
    }

    // Unquote - unquote_822_local(), shared with the address parser.
    public static string Unquote(string mbox) => Postfix.Global.Address.Quote822.Unquote(mbox);

    // SplitLocalpart - split_addr_internal(): index of the delimiter in
    // localpart, or -1 when the local part must not be split.
    public static int SplitLocalpart(string localpart, string delimiters, AccessFindOptions options)
    {
        if (localpart.Equals("postmaster", StringComparison.OrdinalIgnoreCase)
            || localpart.Equals("MAILER-DAEMON", StringComparison.OrdinalIgnoreCase)
            || localpart.Equals(options.DoubleBounceSender, StringComparison.OrdinalIgnoreCase))
            return -1;
        if (delimiters.Contains('-', StringComparison.Ordinal) && options.OwnerRequestSpecial)
        {
            if (localpart.StartsWith("owner-", StringComparison.OrdinalIgnoreCase))
                return -1;
            if (localpart.Length - 8 > 0 && localpart.EndsWith("-request", StringComparison.OrdinalIgnoreCase))
                return -1;
        }
        var len = localpart.AsSpan().IndexOfAny(delimiters);
        if (len <= 0)
            return -1;
        return len;
    }

    // StripExtension - strip_addr_internal(): the address without its
    // extension (null when there is none) and the extension with its
    // leading delimiter.
    public static string? StripExtension(string full, string delimiters, AccessFindOptions options, out string? extension)
    {
        extension = null;
        if (delimiters.Length == 0 || full.AsSpan().IndexOfAny(delimiters) < 0)
            return null;
        var at = full.LastIndexOf('@');
        var local = at >= 0 ? full[..at] : full;
        var split = SplitLocalpart(local, delimiters, options);
        if (split < 0)
            return null;
        extension = local[split..];
        return at >= 0 ? local[..split] + full[at..] : local[..split];
    }

    // IsHostAddr - valid_hostaddr() without complaints: IPv4 dotted quad
    // or IPv6 text as Postfix accepts them.
    public static bool IsHostAddr(string addr)
    {
        if (addr.Length == 0)
            return false;
        return addr.Contains(':', StringComparison.Ordinal) ? IsIPv6(addr) : IsIPv4(addr, 0);
    }

    private static bool IsIPv4(string addr, int from)
    {
        var inByte = false;
        var byteCount = 0;
        var byteVal = 0;
        for (var i = from; i < addr.Length; i++)
        {
            var ch = addr[i];
            if (ch is >= '0' and <= '9')
            {
                if (!inByte)
                {
                    inByte = true;
                    byteVal = 0;
                    byteCount++;
                }
                byteVal = byteVal * 10 + (ch - '0');
                if (byteVal > 255)
                    return false;
            }
            else if (ch == '.')
            {
                if (!inByte || i + 1 >= addr.Length)
                    return false;
                // 0.0.0.0 is fine, 0.1.2.3 is not.
                if (byteCount == 1 && byteVal == 0 && addr.AsSpan(from).IndexOfAnyExcept("0.") >= 0)
                    return false;
                inByte = false;
            }
            else
            {
                return false;
            }
        }
        return byteCount == 4;
    }

    private static bool IsIPv6(string addr)
    {
        var nullField = 0;
        var field = 0;
        var len = 0;
        var i = 0;
        for (;;)
        {
            var ch = i < addr.Length ? addr[i] : '\0';
            switch (ch)
            {
                case '\0':
                    if (field < 2)
                        return false;
                    if (len == 0 && nullField != field - 1)
                        return false;
                    return true;
                case '.':
                    if (field < 2 || field > 6)
                        return false;
                    return IsIPv4(addr, i - len);
                case ':':
                    if (field == 0 && len == 0 && i + 1 < addr.Length && RegexpSupport.IsAlnum(addr[i + 1]))
                        return false;
                    field++;
                    if (field > 7)
                        return false;
                    i++;
                    len = 0;
                    if (i < addr.Length && addr[i] == ':')
                    {
                        if (nullField > 0)
                            return false;
                        nullField = field;
                    }
                    break;
                default:
                    len = 0;
                    while (i + len < addr.Length && Uri.IsHexDigit(addr[i + len]))
                        len++;
                    if (len > 4 || len <= 0)
                        return false;
                    i += len;
                    break;
            }
        }
    }
}
