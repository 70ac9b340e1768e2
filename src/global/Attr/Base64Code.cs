// NAME
//	Base64Code - base64 as Postfix's attribute streams use it
// POSTFIX
//	src/util/base64_code.c
// DESCRIPTION
//	Encoding is standard base64 with '=' padding. Decoding keeps
//	Postfix's leniency and its strictness: the length must be a
//	multiple of 4, and the first '=' in the third or fourth place of a
//	quad ends the data (anything after it is ignored).
using System;
using System.Buffers;
using System.Buffers.Text;

namespace Postfix.Global.Attr;

public static class Base64Code
{
    private static readonly byte[] Decode64 = BuildTable();

    private static byte[] BuildTable()
    {
        var t = new byte[256];
        Array.Fill(t, (byte)0xff);
        var alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"u8;
        for (var i = 0; i < alphabet.Length; i++)
            t[alphabet[i]] = (byte)i;
        return t;
    }

    public static int EncodedLength(int length) => Base64.GetMaxEncodedToUtf8Length(length);

    // Encode - append the base64 form of data to output.
    public static void Encode(ReadOnlySpan<byte> data, IBufferWriter<byte> output)
    {
        var n = EncodedLength(data.Length);
        var dest = output.GetSpan(n);
        Base64.EncodeToUtf8(data, dest, out _, out var written);
        output.Advance(written);
    }

    // MaxDecodedLength - an upper bound for Decode's output.
    public static int MaxDecodedLength(int length) => length / 4 * 3;

    // Decode - base64_decode(); false where Postfix returns a null result.
    public static bool TryDecode(ReadOnlySpan<byte> input, Span<byte> output, out int written)
    {
        written = 0;
        if (input.Length % 4 != 0)
            return false;
        for (var i = 0; i < input.Length; i += 4)
        {
            var c0 = Decode64[input[i]];
            var c1 = Decode64[input[i + 1]];
            if (c0 == 0xff || c1 == 0xff)
                return false;
            output[written++] = (byte)(c0 << 2 | c1 >> 4);
            if (input[i + 2] == '=')
                break;
            var c2 = Decode64[input[i + 2]];
            if (c2 == 0xff)
                return false;
            output[written++] = (byte)(c1 << 4 | c2 >> 2);
            if (input[i + 3] == '=')
                break;
            var c3 = Decode64[input[i + 3]];
            if (c3 == 0xff)
                return false;
            output[written++] = (byte)(c2 << 6 | c3);
        }
        return true;
    }
}
