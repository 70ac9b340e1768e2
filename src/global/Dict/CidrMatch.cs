// NAME
//	CidrMatch - address patterns: net/len, bare addresses, if/endif
// POSTFIX
//	src/util/cidr_match.c
// DESCRIPTION
//	A compiled entry holds family, network bytes, mask bytes and mask
//	length. Addresses are parsed with the C library's inet_pton(), so
//	exactly the forms Postfix accepts match (no IPv4 leading zeros,
//	IPv6 with embedded IPv4). The family is IPv6 when the text has a
//	colon. Lookup walks the entries; a failed IF skips to its ENDIF.
using System;
using System.Runtime.InteropServices;

namespace Postfix.Global.Dict;

public sealed unsafe partial class CidrMatch
{
    public const int AfInet = 2;
    public const int AfInet6 = 10;

    public enum MatchOp
    {
        Match,
        If,
        EndIf,
    }

    public MatchOp Op { get; private set; }

    public int Family { get; private set; }

    public int ByteCount { get; private set; }

    public int BitCount { get; private set; }

    public int MaskShift { get; private set; }

    public bool Match { get; private set; } = true;

    private readonly byte[] net = new byte[16];
    private readonly byte[] mask = new byte[16];

    // BlockEnd - for IF: index of the matching ENDIF (-1: none).
    public int BlockEnd { get; set; } = -1;

    // FamilyOf - AF_INET6 when the text has a colon.
    public static int FamilyOf(ReadOnlySpan<char> addr) => addr.Contains(':') ? AfInet6 : AfInet;

    // Parse - cidr_match_parse(); null and an error text on bad syntax.
    public static CidrMatch? Parse(string pattern, bool match, out string? why)
    {
        why = null;
        var ip = new CidrMatch { Match = match };
        string? maskText = null;
        if (pattern.Length > 0 && pattern[0] == '[')
        {
            pattern = pattern[1..];
            var close = pattern.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                why = $"missing ']' character after \"[{pattern}\"";
                return null;
            }
            var after = pattern[(close + 1)..];
            pattern = pattern[..close];
            if (after.Length > 0 && after[0] == '/')
            {
                maskText = after[1..];
            }
            else if (after.Length != 0)
            {
                why = $"garbage after \"[{pattern}]\"";
                return null;
            }
            else
            {
                var slash = pattern.IndexOf('/', StringComparison.Ordinal);
                if (slash >= 0)
                {
                    maskText = pattern[(slash + 1)..];
                    pattern = pattern[..slash];
                }
            }
        }
        else
        {
            var slash = pattern.IndexOf('/', StringComparison.Ordinal);
            if (slash >= 0)
            {
                maskText = pattern[(slash + 1)..];
                pattern = pattern[..slash];
            }
        }
        ip.Family = FamilyOf(pattern);
        ip.BitCount = ip.Family == AfInet6 ? 128 : 32;
        ip.ByteCount = ip.Family == AfInet6 ? 16 : 4;
        if (maskText != null)
        {
            string? parseError = null;
            if (!AllDigits(maskText))
                parseError = "bad mask value";
            else if ((ip.MaskShift = AtoI(maskText)) > ip.BitCount)
                parseError = "bad mask length";
            else if (!Pton(ip.Family, pattern, ip.net))
                parseError = "bad network value";
            if (parseError != null)
            {
                why = $"{parseError} in \"{pattern}/{maskText}\"";
                return null;
            }
            if (ip.MaskShift > 0)
            {
                ip.mask.AsSpan(0, ip.ByteCount).Fill(0xff);
                MaskAddr(ip.mask, ip.ByteCount, ip.MaskShift);
            }
            for (var i = 0; i < ip.ByteCount; i++)
            {
                if ((ip.net[i] & ~ip.mask[i]) != 0)
                {
                    MaskAddr(ip.net, ip.ByteCount, ip.MaskShift);
                    why = $"non-null host address bits in \"{pattern}/{maskText}\", perhaps you should use \"{Ntop(ip.Family, ip.net)}/{ip.MaskShift}\" instead";
                    return null;
                }
            }
        }
        else
        {
            if (!Pton(ip.Family, pattern, ip.net))
            {
                why = $"bad address pattern: \"{pattern}\"";
                return null;
            }
            ip.MaskShift = ip.BitCount;
            ip.mask.AsSpan(0, ip.ByteCount).Fill(0xff);
        }
        ip.Op = MatchOp.Match;
        return ip;
    }

    // ParseIf - cidr_match_parse_if().
    public static CidrMatch? ParseIf(string pattern, bool match, out string? why)
    {
        var ip = Parse(pattern, match, out why);
        if (ip != null)
            ip.Op = MatchOp.If;
        return ip;
    }

    // EndIf - cidr_match_endif().
    public static CidrMatch EndIf() => new() { Op = MatchOp.EndIf };

    // Matches - cidr_match_entry(): the address bytes against this entry.
    public bool Matches(ReadOnlySpan<byte> addr)
    {
        if (MaskShift < BitCount)
        {
            for (var i = 0; i < ByteCount; i++)
            {
                if ((addr[i] & mask[i]) != net[i])
                    return !Match;
            }
        }
        else
        {
            for (var i = 0; i < ByteCount; i++)
            {
                if (addr[i] != net[i])
                    return !Match;
            }
        }
        return Match;
    }

    // Execute - cidr_match_execute(): index of the first matching entry, or -1.
    public static int Execute(CidrMatch[] list, string addr)
    {
        Span<byte> bytes = stackalloc byte[16];
        var family = FamilyOf(addr);
        if (!Pton(family, addr, bytes))
            return -1;
        for (var i = 0; i < list.Length; i++)
        {
            var entry = list[i];
            switch (entry.Op)
            {
                case MatchOp.Match:
                    if (entry.Family == family && entry.Matches(bytes))
                        return i;
                    break;
                case MatchOp.If:
                    if (entry.Family == family && entry.Matches(bytes))
                        continue;
                    if (entry.BlockEnd < 0)
                        return -1;
                    i = entry.BlockEnd;
                    break;
                default:
                    break;
            }
        }
        return -1;
    }

    // MaskAddr - keep the first len bits of an address (mask_addr()).
    public static void MaskAddr(Span<byte> addr, int byteCount, int len)
    {
        var full = len / 8;
        var rest = len % 8;
        for (var i = 0; i < byteCount; i++)
        {
            if (i < full)
                continue;
            if (i == full && rest != 0)
                addr[i] &= (byte)(0xff << (8 - rest));
            else
                addr[i] = 0;
        }
    }

    // Pton - inet_pton() of the C library; false on bad syntax.
    public static bool Pton(int family, ReadOnlySpan<char> text, Span<byte> dst)
    {
        Span<byte> buf = stackalloc byte[128];
        if (text.Length >= buf.Length)
            return false;
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] > 0x7f || text[i] == 0)
                return false;
            buf[i] = (byte)text[i];
        }
        buf[text.Length] = 0;
        fixed (byte* src = buf)
        fixed (byte* d = dst)
            return InetPton(family, src, d) == 1;
    }

    // Ntop - inet_ntop() of the C library.
    public static string Ntop(int family, ReadOnlySpan<byte> addr)
    {
        var buf = stackalloc byte[64];
        fixed (byte* a = addr)
        {
            if (InetNtop(family, a, buf, 64) == 0)
                return "";
        }
        return Marshal.PtrToStringUTF8((nint)buf) ?? "";
    }

    private static bool AllDigits(string s)
    {
        if (s.Length == 0)
            return false;
        foreach (var c in s)
        {
            if (c is < '0' or > '9')
                return false;
        }
        return true;
    }

    private static int AtoI(string s)
    {
        long v = 0;
        foreach (var c in s)
        {
            v = v * 10 + (c - '0');
            if (v > int.MaxValue)
                return int.MaxValue;
        }
        return (int)v;
    }

    [LibraryImport("libc", EntryPoint = "inet_pton")]
    private static partial int InetPton(int af, byte* src, byte* dst);

    [LibraryImport("libc", EntryPoint = "inet_ntop")]
    private static partial nint InetNtop(int af, byte* src, byte* dst, uint size);
}
