// NAME
//	SizeRecord - the fixed-width first record of a cleanup-made queue file
// POSTFIX
//	src/global/rec_type.h (REC_TYPE_SIZE_FORMAT), src/cleanup/cleanup_final.c,
//	src/qmgr/qmgr_message.c (reading it)
// DESCRIPTION
//	Six "%15ld" fields separated by spaces (95 bytes): content size
//	(bytes from the first text record to the X record), data offset (first text
//	record), recipient count, queue manager flags, content length, and
//	SMTPUTF8 flags. Fixed width, so cleanup can rewrite it in place.
using System;
using System.Globalization;
using System.Text;

namespace Postfix.Global.Queue;

public readonly record struct SizeRecord(
    long ContentSize, long DataOffset, long RecipientCount, long QmgrFlags, long ContentLength, long SmtpUtf8)
{
    // Length - bytes of the formatted data.
    public const int Length = RecordType.SizeFields * (RecordType.SizeFieldWidth + 1) - 1;

    // Format - REC_TYPE_SIZE_FORMAT.
    public string Format()
    {
        var sb = new StringBuilder(Length);
        Field(sb, ContentSize);
        Field(sb, DataOffset);
        Field(sb, RecipientCount);
        Field(sb, QmgrFlags);
        Field(sb, ContentLength);
        Field(sb, SmtpUtf8);
        return sb.ToString();
    }

    private static void Field(StringBuilder sb, long v)
    {
        if (sb.Length > 0)
            sb.Append(' ');
        sb.Append(v.ToString(CultureInfo.InvariantCulture).PadLeft(RecordType.SizeFieldWidth));
    }

    // TryParse - sscanf("%ld %ld %ld %ld %ld %ld") as far as the fields go;
    // returns how many fields were converted (qmgr needs at least 3).
    public static int TryParse(ReadOnlySpan<byte> data, out SizeRecord size)
    {
        Span<long> f = stackalloc long[RecordType.SizeFields];
        var count = 0;
        var pos = 0;
        while (count < f.Length && ScanLong(data, ref pos, out f[count]))
            count++;
        size = new SizeRecord(f[0], f[1], f[2], f[3], f[4], f[5]);
        return count;
    }

    // ScanLong - one %ld conversion: blanks, optional sign, digits
    // (saturating like strtol).
    public static bool ScanLong(ReadOnlySpan<byte> s, ref int pos, out long value)
    {
        value = 0;
        var i = pos;
        while (i < s.Length && (s[i] == ' ' || (s[i] >= '\t' && s[i] <= '\r')))
            i++;
        var neg = false;
        if (i < s.Length && (s[i] == '+' || s[i] == '-'))
            neg = s[i++] == '-';
        var start = i;
        decimal acc = 0;
        while (i < s.Length && s[i] >= '0' && s[i] <= '9')
        {
            if (acc <= long.MaxValue)
                acc = acc * 10 + (s[i] - '0');
            i++;
        }
        if (i == start)
            return false;
        if (neg)
            acc = -acc;
        value = acc > long.MaxValue ? long.MaxValue : acc < long.MinValue ? long.MinValue : (long)acc;
        pos = i;
        return true;
    }
}
