// NAME
//	DictText - byte/string conversions and case folding for tables
// POSTFIX
//	src/util/lowercase.c, src/util/casefold.c, src/util/valid_utf8_string.c
// DESCRIPTION
//	Table files hold bytes. Strings handed to and from Dict carry those
//	bytes as ByteText decodes them (UTF-8 when valid, else Latin-1);
//	Encode() is the way back (UTF-8 unless every character fits in a
//	byte and the text is not valid UTF-8 as Latin-1 bytes).
//	Fold() lowercases ASCII only, like lowercase() in the C locale;
//	with the UTF-8 layer active, FoldUtf8() casefolds all of Unicode.
using System;
using System.Text;
using System.Text.Unicode;
using Postfix.Util;

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
        foreach (var c in s)
        {
            if (c > 0xff)
                return Encoding.UTF8.GetBytes(s);
        }
        // All characters fit in one byte: the text came from Latin-1 bytes
        // unless those bytes were themselves valid UTF-8 (then ByteText
        // would have decoded them as UTF-8, so they must have been UTF-8).
        var latin1 = Encoding.Latin1.GetBytes(s);
        return Utf8.IsValid(latin1) ? Encoding.UTF8.GetBytes(s) : latin1;
    }

    // Decode - a table string from bytes.
    public static string Decode(ReadOnlySpan<byte> b) => ByteText.Decode(b);

    // DecodeCString - bytes up to the first NUL (vstring_strncpy semantics).
    public static string DecodeCString(ReadOnlySpan<byte> b)
    {
        var nul = b.IndexOf((byte)0);
        return ByteText.Decode(nul < 0 ? b : b[..nul]);
    }

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
    public static bool IsValidUtf8(string s) => Utf8.IsValid(Encode(s));
}
