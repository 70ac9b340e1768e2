// NAME
//	RecordInput - records from a pipe or socket, one at a time
// POSTFIX
//	src/global/record.c (rec_get_raw with REC_FLAG_NONE)
// DESCRIPTION
//	Next() returns the record type with its data (valid until the next
//	call), Eof at a clean end of input, or Error after the warning that
//	rec_get_raw() prints, naming the stream ("stdin"). Records longer
//	than maxSize are errors.
using System;
using System.IO;
using Postfix.Global.Queue;
using Postfix.Util;

namespace Postfix.Commands.Postdrop;

internal sealed class RecordInput
{
    private readonly Stream input;
    private readonly string name;
    private byte[] buf = new byte[8192];
    private int start;
    private int end;
    private bool eof;

    public RecordInput(Stream input, string name)
    {
        this.input = input;
        this.name = name;
    }

    public int Next(long maxSize, out ReadOnlySpan<byte> data)
    {
        data = default;
        var type = ReadByte();
        if (type < 0)
            return RecordType.Eof;
        long len = 0;
        for (var shift = 0; ; shift += 7)
        {
            if (shift >= 32)
            {
                Msg.Warn($"{name}: too many length bits, record type {type}");
                return RecordType.Error;
            }
            var b = ReadByte();
            if (b < 0)
            {
                Msg.Warn($"{name}: unexpected EOF reading length, record type {type}");
                return RecordType.Error;
            }
            len |= (long)(int)((uint)(b & 0x7f) << shift);
            if ((b & 0x80) == 0)
                break;
        }
        if (len < 0 || (maxSize > 0 && len > maxSize))
        {
            Msg.Warn($"{name}: illegal length {len}, record type {type}");
            return RecordType.Error;
        }
        while (end - start < len && !eof)
            Fill((int)len);
        if (end - start < len)
        {
            start = end;
            Msg.Warn($"{name}: unexpected EOF in data, record type {type} length {len}");
            return RecordType.Error;
        }
        data = buf.AsSpan(start, (int)len);
        start += (int)len;
        return type;
    }

    private int ReadByte()
    {
        if (start == end && !eof)
            Fill(1);
        return start < end ? buf[start++] : -1;
    }

    private void Fill(int need)
    {
        if (start > 0)
        {
            Buffer.BlockCopy(buf, start, buf, 0, end - start);
            end -= start;
            start = 0;
        }
        if (buf.Length < need + 1024)
            Array.Resize(ref buf, need + 8192);
        int n;
        try
        {
            n = input.Read(buf, end, buf.Length - end);
        }
        catch (IOException)
        {
            n = 0;
        }
        if (n <= 0)
            eof = true;
        else
            end += n;
    }
}
