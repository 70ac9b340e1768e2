// NAME
//	RecordWriter - write typed records to a queue file or record stream
// POSTFIX
//	src/global/record.c (rec_put, rec_put_type, rec_fprintf, rec_pad),
//	src/global/rec_streamlf.c, src/cleanup/cleanup_out.c
// DESCRIPTION
//	Each record is written as Postfix writes it: the type byte, the
//	length in 7-bit groups (low first, 0x80 = more), the data. Records
//	that are rewritten in place (size, pointer, warning time) have fixed
//	widths ("%15ld"), so the helpers below format them. PutStreamLf cuts
//	message text into lines the way rec_streamlf_get() and the sendmail
//	and cleanup copy loops do: a line longer than the limit becomes CONT
//	pieces of the limit's length, then a NORM record with the rest.
using System;
using System.Buffers;
using System.Globalization;
using System.IO;
using System.Text;
using Postfix.Util;

namespace Postfix.Global.Queue;

public sealed class RecordWriter
{
    private readonly Stream stream;

    public RecordWriter(Stream stream)
    {
        this.stream = stream;
    }

    public Stream Stream => stream;

    // Position - offset of the next record (vstream_ftell).
    public long Position => stream.Position;

    // SpaceNeeded - REC_SPACE_NEED(): bytes a record with this much data occupies.
    public static long SpaceNeeded(long dataLength)
    {
        var count = 1;
        for (var l = dataLength; (l >>= 7) != 0;)
            count++;
        return 1 + count + dataLength;
    }

    // Encode - one record into dest; returns the bytes used.
    public static int Encode(Span<byte> dest, int type, ReadOnlySpan<byte> data)
    {
        if (type < 0 || type > 255)
            Msg.Panic($"rec_put: bad record type {type}");
        var n = 0;
        dest[n++] = (byte)type;
        var rest = (long)data.Length;
        do
        {
            var b = (byte)(rest & 0x7f);
            rest >>= 7;
            if (rest != 0)
                b |= 0x80;
            dest[n++] = b;
        }
        while (rest != 0);
        data.CopyTo(dest[n..]);
        return n + data.Length;
    }

    // Put - rec_put(): write one record; returns the type.
    public int Put(int type, ReadOnlySpan<byte> data)
    {
        var need = (int)SpaceNeeded(data.Length);
        if (need <= 256)
        {
            Span<byte> small = stackalloc byte[256];
            var n = Encode(small, type, data);
            stream.Write(small[..n]);
        }
        else
        {
            var rented = ArrayPool<byte>.Shared.Rent(need);
            try
            {
                var n = Encode(rented, type, data);
                stream.Write(rented, 0, n);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
        return type;
    }

    // Put - rec_fputs(): a string record, UTF-8 encoded.
    public int Put(int type, string text) => Put(type, Encoding.UTF8.GetBytes(text));

    // PutAttr - an 'A' record "name=value".
    public int PutAttr(string name, string value) => Put(RecordType.Attr, name + "=" + value);

    // PutType - rec_put_type(): change the type byte of the record at offset.
    // The stream position is left after that byte, as in Postfix.
    public int PutType(int type, long offset)
    {
        if (type < 0 || type > 255)
            Msg.Panic($"rec_put_type: bad record type {type}");
        stream.Seek(offset, SeekOrigin.Begin);
        stream.WriteByte((byte)type);
        return type;
    }

    // Pad - rec_pad(): a record that fills len bytes (at least 3).
    public int Pad(int type, int len)
    {
        var width = Math.Max(1, len - 2);
        return Put(type, new string(' ', width - 1) + "0");
    }

    // PutPointer - a pointer record ("%15ld"); offset 0 is a placeholder.
    public int PutPointer(long offset) => Put(RecordType.Ptr, FormatPointer(offset));

    // PutTime - the arrival time record ("sec usec").
    public int PutTime(long seconds, long microseconds) => Put(RecordType.Time, FormatTime(seconds, microseconds));

    // PutStreamLf - message text (lines ending in LF) as NORM/CONT records;
    // a last line without LF becomes a CONT record, nothing if empty.
    public void PutStreamLf(ReadOnlySpan<byte> text, int lineLimit)
    {
        if (lineLimit <= 0)
            Msg.Panic($"PutStreamLf: bad line limit {lineLimit}");
        while (!text.IsEmpty)
        {
            var take = Math.Min(lineLimit, text.Length);
            var nl = text[..take].IndexOf((byte)'\n');
            if (nl >= 0)
            {
                Put(RecordType.Norm, text[..nl]);
                text = text[(nl + 1)..];
            }
            else if (take == lineLimit)
            {
                // A full piece without line end: rec_streamlf_get() stops here.
                Put(RecordType.Cont, text[..take]);
                text = text[take..];
            }
            else
            {
                Put(RecordType.Cont, text);
                text = default;
            }
        }
    }

    // UpdateSize - rewrite the size record at offset in place.
    public void UpdateSize(long offset, in SizeRecord size)
    {
        var saved = stream.Position;
        stream.Seek(offset, SeekOrigin.Begin);
        Put(RecordType.Size, size.Format());
        stream.Seek(saved, SeekOrigin.Begin);
    }

    // UpdatePointer - make the pointer record at offset point to target.
    public void UpdatePointer(long offset, long target)
    {
        var saved = stream.Position;
        stream.Seek(offset, SeekOrigin.Begin);
        PutPointer(target);
        stream.Seek(saved, SeekOrigin.Begin);
    }

    public void Flush() => stream.Flush();

    // FormatPointer - REC_TYPE_PTR_FORMAT.
    public static string FormatPointer(long offset) => offset.ToString(CultureInfo.InvariantCulture).PadLeft(RecordType.PtrPayloadSize);

    // FormatWarn - REC_TYPE_WARN_FORMAT.
    public static string FormatWarn(long time) => time.ToString(CultureInfo.InvariantCulture).PadLeft(RecordType.WarnFieldWidth);

    // FormatTime - REC_TYPE_TIME_FORMAT.
    public static string FormatTime(long seconds, long microseconds) =>
        seconds.ToString(CultureInfo.InvariantCulture) + " " + microseconds.ToString(CultureInfo.InvariantCulture);
}
