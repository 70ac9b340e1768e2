// NAME
//	Raw - byte-transparent strings for message content
// POSTFIX
//	(none: .NET glue)
// DESCRIPTION
//	Queue file text is bytes. Cleanup keeps it in strings with one char
//	per byte (Latin-1), so that header parsing never alters 8-bit data.
//	Text() turns such a string into the UTF-8 decoded form used for
//	attribute values, table lookups and logging; FromText() goes back.
using System;
using System.Text;

namespace Postfix.Global.Address;

public static class Raw
{
    public static string FromBytes(ReadOnlySpan<byte> data) => Encoding.Latin1.GetString(data);

    public static byte[] ToBytes(string raw) => Encoding.Latin1.GetBytes(raw);

    public static bool IsAscii(string raw)
    {
        foreach (var c in raw)
            if (c > 127)
                return false;
        return true;
    }

    // Invalid UTF-8 shows as '?', as in the reference's log lines.
    private static readonly Encoding Utf8 =
        Encoding.GetEncoding("utf-8", EncoderFallback.ReplacementFallback, new DecoderReplacementFallback("?"));

    // Text - raw bytes decoded as UTF-8.
    public static string Text(string raw) => IsAscii(raw) ? raw : Utf8.GetString(ToBytes(raw));

    // FromText - a .NET string as raw UTF-8 bytes.
    public static string FromText(string text) => IsAscii(text) ? text : FromBytes(Encoding.UTF8.GetBytes(text));
}
