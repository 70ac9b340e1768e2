// NAME
//	EhloMask - EHLO keywords to leave out of the EHLO reply
// POSTFIX
//	src/global/ehlo_mask.c
// DESCRIPTION
//	Parse(): a list of EHLO keywords (any case; unknown words are
//	ignored) as a bit mask. Format(): the mask as keywords, in the
//	reference's table order, for the "discarding EHLO keywords" log line.
using System;
using System.Text;

namespace Postfix.Daemons.Smtpd;

internal static class EhloMask
{
    public const int EightBitMime = 1 << 0, Pipelining = 1 << 1, Size = 1 << 2, Vrfy = 1 << 3, Etrn = 1 << 4,
        Auth = 1 << 5, Verp = 1 << 6, StartTls = 1 << 7, Xclient = 1 << 8, Xforward = 1 << 9,
        EnhancedStatusCodes = 1 << 10, Dsn = 1 << 11, Smtputf8 = 1 << 12, Chunking = 1 << 13, Silent = 1 << 15;

    private static readonly (string Name, int Bit)[] Table =
    [
        ("8BITMIME", EightBitMime),
        ("AUTH", Auth),
        ("ETRN", Etrn),
        ("PIPELINING", Pipelining),
        ("SIZE", Size),
        ("VERP", Verp),
        ("VRFY", Vrfy),
        ("XCLIENT", Xclient),
        ("XFORWARD", Xforward),
        ("STARTTLS", StartTls),
        ("ENHANCEDSTATUSCODES", EnhancedStatusCodes),
        ("DSN", Dsn),
        ("EHLO_MASK_SMTPUTF8", Smtputf8),
        ("SMTPUTF8", Smtputf8),
        ("CHUNKING", Chunking),
        ("SILENT-DISCARD", Silent),
    ];

    public static int Parse(string words)
    {
        var mask = 0;
        foreach (var word in words.Split([',', ' ', '\t', '\r', '\n'], StringSplitOptions.RemoveEmptyEntries))
        {
            foreach (var (name, bit) in Table)
            {
                if (string.Equals(name, word, StringComparison.OrdinalIgnoreCase))
                {
                    mask |= bit;
                    break;
                }
            }
        }
        return mask;
    }

    public static string Format(int mask)
    {
        var sb = new StringBuilder();
        foreach (var (name, bit) in Table)
        {
            if (mask == 0)
                break;
            if ((mask & bit) != 0)
            {
                mask &= ~bit;
                if (sb.Length > 0)
                    sb.Append(' ');
                sb.Append(name);
            }
        }
        return sb.ToString();
    }
}
