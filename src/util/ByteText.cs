// NAME
//	ByteText - round-trip raw configuration bytes through .NET strings
// DESCRIPTION
//	Postfix treats configuration text as bytes. Valid UTF-8 decodes as
//	UTF-8; anything else decodes as Latin-1 so that no byte is lost and
//	the same bytes come back out on output.
using System;
using System.Text;

namespace Postfix.Util;

public static class ByteText
{
    private static readonly UTF8Encoding StrictUtf8 = new(false, true);

    public static string Decode(ReadOnlySpan<byte> bytes)
    {
        var ascii = true;
        foreach (var b in bytes)
        {
            if (b >= 0x80)
            {
                ascii = false;
                break;
            }
        }
        if (ascii)
            return Encoding.ASCII.GetString(bytes);
        try
        {
            return StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            return Encoding.Latin1.GetString(bytes);
        }
    }
}
