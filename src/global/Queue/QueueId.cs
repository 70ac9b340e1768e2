// NAME
//	QueueId - make, check and take apart queue IDs
// POSTFIX
//	src/global/mail_queue.c, src/global/mail_queue.h (MQID_*),
//	src/global/file_id.c, src/global/safe_ultostr.c
// DESCRIPTION
//	Short IDs: the microseconds as five upper-case hex digits, then the
//	inode number in hex ("E5AF8B22185"). Long IDs (enable_long_queue_ids):
//	seconds in base 52 (at least six digits), microseconds in base 52
//	(exactly four), 'z', the inode number in base 51 ("4dBxbn3k2vzqKJP").
//	The base-52 alphabet is digits and letters without vowels; base 51
//	drops 'z', so the last 'z' separates time from inode.
using System;
using System.Globalization;

namespace Postfix.Global.Queue;

public static class QueueId
{
    // VALID_HOSTNAME_LEN: also the longest acceptable queue file name.
    public const int MaxLength = 255;

    public const int ShortUsecPad = 5;
    public const int LongSecBase = 52;
    public const int LongSecPad = 6;
    public const int LongUsecBase = 52;
    public const int LongUsecPad = 4;
    public const int LongTimePad = LongSecPad + LongUsecPad;
    public const char LongInumSeparator = 'z';
    public const int LongInumBase = 51;

    private const string SafeChars = "0123456789BCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz";

    // IsValid - mail_queue_id_ok(): 1-255 letters, digits or '_' (flush
    // logfile names use '_' for the other characters of a domain).
    public static bool IsValid(ReadOnlySpan<char> id)
    {
        if (id.IsEmpty || id.Length > MaxLength)
            return false;
        foreach (var c in id)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '_')
                return false;
        }
        return true;
    }

    // Short - a short queue ID from the time's microseconds and the inode.
    public static string Short(long microseconds, ulong inode) =>
        ((int)microseconds).ToString("X5", CultureInfo.InvariantCulture) + inode.ToString("X", CultureInfo.InvariantCulture);

    // Long - a long queue ID from the time and the inode.
    public static string Long(long seconds, long microseconds, ulong inode) =>
        SafeEncode((ulong)seconds, LongSecBase, LongSecPad) + SafeEncode((ulong)microseconds, LongUsecBase, LongUsecPad)
        + LongInumSeparator + SafeEncode(inode, LongInumBase, 0);

    // Make - the ID mail_queue_enter() gives a new file.
    public static string Make(bool longIds, DateTimeOffset now, ulong inode)
    {
        var usec = now.UtcTicks / 10 % 1_000_000;
        return longIds ? Long(now.ToUnixTimeSeconds(), usec, inode) : Short(usec, inode);
    }

    // FileId - get_file_id_st(): the inode part alone.
    public static string FileId(ulong inode, bool longIds) =>
        longIds ? SafeEncode(inode, LongInumBase, 0) : inode.ToString("X", CultureInfo.InvariantCulture);

    // LongSeparator - index of the 'z' of a long ID, or -1 for a short one
    // (MQID_FIND_LG_INUM_SEPARATOR: the last 'z', after the time digits).
    public static int LongSeparator(ReadOnlySpan<char> id)
    {
        var z = id.LastIndexOf(LongInumSeparator);
        return z >= LongTimePad ? z : -1;
    }

    public static bool IsLong(ReadOnlySpan<char> id) => LongSeparator(id) >= 0;

    // TryGetInode - MQID_GET_INUM(): the inode number an ID was made from.
    public static bool TryGetInode(ReadOnlySpan<char> id, out ulong inode)
    {
        var z = LongSeparator(id);
        if (z >= 0)
            return SafeDecode(id[(z + 1)..], LongInumBase, out inode);
        inode = 0;
        if (id.Length <= ShortUsecPad)
            return false;
        return ulong.TryParse(id[ShortUsecPad..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out inode);
    }

    // HashKey - the name whose first characters pick the hashed
    // subdirectories: the ID itself, or for a long ID its microseconds
    // re-encoded as five hex digits (MQID_LG_GET_HEX_USEC), so that both
    // forms spread over the same 16 directories.
    public static string HashKey(string id)
    {
        var z = LongSeparator(id);
        if (z < 0)
            return id;
        if (!SafeDecode(id.AsSpan(z - LongUsecPad, LongUsecPad), LongUsecBase, out var usec))
            usec = 0;
        return ((int)usec).ToString("X5", CultureInfo.InvariantCulture);
    }

    // SafeEncode - safe_ultostr(): digits of the vowel-free alphabet, left-padded with '0'.
    public static string SafeEncode(ulong value, int radix, int padLength)
    {
        if (radix < 2 || radix > SafeChars.Length)
            throw new ArgumentOutOfRangeException(nameof(radix));
        Span<char> buf = stackalloc char[72];
        var n = buf.Length;
        while (value != 0)
        {
            buf[--n] = SafeChars[(int)(value % (ulong)radix)];
            value /= (ulong)radix;
        }
        while (buf.Length - n < padLength)
            buf[--n] = '0';
        return new string(buf[n..]);
    }

    // SafeDecode - safe_strtoul() of the whole text; false on a stray
    // character, an empty text, or overflow.
    public static bool SafeDecode(ReadOnlySpan<char> text, int radix, out ulong value)
    {
        if (radix < 2 || radix > SafeChars.Length)
            throw new ArgumentOutOfRangeException(nameof(radix));
        value = 0;
        var i = 0;
        while (i < text.Length && char.IsWhiteSpace(text[i]))
            i++;
        var start = i;
        for (; i < text.Length; i++)
        {
            var digit = SafeChars.IndexOf(text[i], StringComparison.Ordinal);
            if (digit < 0 || digit >= radix)
                break;
            if (value > (ulong.MaxValue - (ulong)digit) / (ulong)radix)
                return false;
            value = value * (ulong)radix + (ulong)digit;
        }
        // An empty conversion leaves the end pointer at the start, which
        // Postfix accepts only when the text is empty: value 0.
        return i == text.Length && (i > start || text.Length == 0);
    }
}
