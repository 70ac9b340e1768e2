// NAME
//	DictText - byte/string conversions and case folding for tables
// POSTFIX
//	src/util/lowercase.c, src/util/casefold.c, src/util/valid_utf8_string.c
// DESCRIPTION
//	Table files hold bytes, and Dict passes strings. Valid UTF-8 decodes
//	as UTF-8; in text that is not valid UTF-8 each byte >= 0x80 becomes
//	the lone surrogate U+DC80..U+DCFF (as Python's "surrogateescape"), so
//	that Encode() gives back exactly the bytes that were read, and a
//	Latin-1 byte can never be mistaken for a UTF-8 character.
//	Fold() lowercases ASCII only, like lowercase() in the C locale;
//	with the UTF-8 layer active, FoldUtf8() casefolds all of Unicode.
using System;
using System.Text;
using System.Text.Unicode;

namespace Postfix.Global.Dict;

public static class DictText
{
    // Encode - the bytes behind a table string.
    public static byte[] Encode(string s)
    {
        foreach (var c in s)
        {
            if (c >= 0x80)
                return EncodeSlow(s);
        }
        return Encoding.ASCII.GetBytes(s);
    }

    private static byte[] EncodeSlow(string s)
    {
        var buf = new byte[Encoding.UTF8.GetMaxByteCount(s.Length)];
        var n = 0;
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            if (c < 0x80)
                buf[n++] = (byte)c;
            else if (c >= 0xDC80 && c <= 0xDCFF)
                buf[n++] = (byte)(c - 0xDC00);
            else if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                n += Encoding.UTF8.GetBytes(s.AsSpan(i, 2), buf.AsSpan(n));
                i++;
            }
            else
                n += Encoding.UTF8.GetBytes(s.AsSpan(i, 1), buf.AsSpan(n));
        }
        return buf.AsSpan(0, n).ToArray();
    }

    // Decode - a table string from bytes.
    public static string Decode(ReadOnlySpan<byte> b)
    {
        if (IsAllAscii(b))
            return Encoding.ASCII.GetString(b);
        if (Utf8.IsValid(b))
            return Encoding.UTF8.GetString(b);
        var chars = new char[b.Length];
        for (var i = 0; i < b.Length; i++)
            chars[i] = b[i] < 0x80 ? (char)b[i] : (char)(0xDC00 + b[i]);
        return new string(chars);
    }

    // DecodeCString - bytes up to the first NUL (vstring_strncpy semantics).
    public static string DecodeCString(ReadOnlySpan<byte> b)
    {
        var nul = b.IndexOf((byte)0);
        return Decode(nul < 0 ? b : b[..nul]);
    }

    // Show - text for a diagnostic: a byte that is not part of valid UTF-8
    // shows as one '?', as Postfix's printable() shows it.
    public static string Show(string s)
    {
        if (IsValidUtf8(s))
            return s;
        var chars = s.ToCharArray();
        for (var i = 0; i < chars.Length; i++)
        {
            if (chars[i] >= 0xDC80 && chars[i] <= 0xDCFF)
                chars[i] = '?';
        }
        return new string(chars);
    }

    // Show - the same for raw bytes.
    public static string Show(ReadOnlySpan<byte> b) => Show(Decode(b));

    // FoldAscii - lowercase() in place: ASCII letters only.
    public static void FoldAscii(Span<byte> b)
    {
        for (var i = 0; i < b.Length; i++)
        {
            var c = b[i];
            if (c >= (byte)'A' && c <= (byte)'Z')
                b[i] = (byte)(c + 32);
        }
    }

    // Fold - lowercase() of a string: ASCII letters only.
    public static string Fold(string s)
    {
        var i = 0;
        while (i < s.Length && !(s[i] >= 'A' && s[i] <= 'Z'))
            i++;
        if (i == s.Length)
            return s;
        var chars = s.ToCharArray();
        for (; i < chars.Length; i++)
        {
            if (chars[i] >= 'A' && chars[i] <= 'Z')
                chars[i] = (char)(chars[i] + 32);
        }
        return new string(chars);
    }

    // FoldUtf8 - casefold() for the UTF-8 layer.
    public static string FoldUtf8(string s) => s.ToLowerInvariant();

    // IsAllAscii - allascii().
    public static bool IsAllAscii(ReadOnlySpan<byte> b)
    {
        foreach (var c in b)
        {
            if (c >= 0x80)
                return false;
        }
        return true;
    }

    // IsValidUtf8 - valid_utf8_string() for bytes.
    public static bool IsValidUtf8(ReadOnlySpan<byte> b) => Utf8.IsValid(b);

    // IsValidUtf8 - true unless the string carries Latin-1 decoded bytes.
    public static bool IsValidUtf8(string s)
    {
        foreach (var c in s)
        {
            if (c >= 0xDC80 && c <= 0xDCFF)
                return false;
        }
        return true;
    }
}
