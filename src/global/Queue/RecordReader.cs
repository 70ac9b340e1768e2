// NAME
//	RecordReader - read typed records from a queue file image
// POSTFIX
//	src/global/record.c (rec_get_raw, rec_goto)
// DESCRIPTION
//	A ref struct over the bytes of a queue file (or of a record stream
//	received whole). Each record is a type byte, a length in 7-bit
//	groups, low group first, with 0x80 meaning "more", then the data;
//	the data is returned as a slice of the input, nothing is copied.
//	Position may be set anywhere, as lseek() allows; reads past the end
//	return Eof. A reader over a pipe (Seekable false) fails every seek
//	with ESPIPE and reports its position as -1, like vstream_ftell().
//	Problems are reported with the warnings Postfix writes, naming Path.
using System;
using System.Buffers;
using System.Text;
using Postfix.Util;

namespace Postfix.Global.Queue;

public ref struct RecordReader
{
    // Same limit as Postfix: a queue file that jumps backwards this often loops.
    public const int ReverseJumpLimit = 10000;

    // ESPIPE: what lseek() says about a pipe.
    public const int Espipe = 29;

    private readonly ReadOnlySpan<byte> data;
    private long position;
    private long savedOffset;
    private int reverseCount;

    public RecordReader(ReadOnlySpan<byte> data, string path, bool seekable = true)
    {
        this.data = data;
        Path = path;
        Seekable = seekable;
    }

    // Path - the name in diagnostics (VSTREAM_PATH).
    public string Path { get; }

    public bool Seekable { get; }

    // MaxOffset - the largest offset lseek() accepts (the file system's
    // maximal file size); beyond it a seek fails with EINVAL.
    public long MaxOffset { get; init; } = long.MaxValue;

    // Position - offset of the next byte to read (may lie past the end).
    public readonly long Position => position;

    public readonly int Length => data.Length;

    // Tell - vstream_ftell(): the offset, or -1 on a stream that cannot seek.
    public readonly long Tell() => Seekable ? position : -1;

    // Seek - vstream_fseek(SEEK_SET); false (errno ESPIPE) on a pipe.
    public bool Seek(long offset)
    {
        if (!Seekable || offset < 0 || offset > MaxOffset)
            return false;
        position = offset;
        return true;
    }

    // SeekEnd - vstream_fseek(0, SEEK_END).
    public bool SeekEnd() => Seek(data.Length);

    // ReadByte - one byte, or -1 at the end (VSTREAM_GETC).
    public int ReadByte()
    {
        if (position >= data.Length)
            return -1;
        return data[(int)position++];
    }

    // Unread - push back the byte just read (vstream_ungetc).
    public void Unread()
    {
        if (position > 0)
            position--;
    }

    // Read - rec_get(): one record with the default flags (no size limit).
    public int Read(out ReadOnlySpan<byte> record, long maxSize = 0) => ReadRaw(out record, maxSize, RecordFlags.Default);

    // ReadRaw - rec_get_raw(): the type of the next record, Eof or Error.
    public int ReadRaw(out ReadOnlySpan<byte> record, long maxSize, RecordFlags flags)
    {
        if (maxSize < 0)
            Msg.Panic($"rec_get: bad record size limit: {maxSize}");
        record = default;
        for (;;)
        {
            var type = ReadByte();
            if (type < 0)
                return RecordType.Eof;

            // The length is accumulated in a C int: a fifth group may
            // shift bits into the sign, which makes an illegal length.
            long len = 0;
            for (var shift = 0; ; shift += 7)
            {
                if (shift >= 32)
                {
                    Msg.Warn($"{Path}: too many length bits, record type {type}");
                    return RecordType.Error;
                }
                var lenByte = ReadByte();
                if (lenByte < 0)
                {
                    Msg.Warn($"{Path}: unexpected EOF reading length, record type {type}");
                    return RecordType.Error;
                }
                len |= (long)(int)((uint)(lenByte & 0x7f) << shift);
                if ((lenByte & 0x80) == 0)
                    break;
            }
            if (len < 0 || (maxSize > 0 && len > maxSize))
            {
                Msg.Warn($"{Path}: illegal length {len}, record type {type}");
                if (len > 0)
                    position = Math.Min(data.Length, position + len);
                return RecordType.Error;
            }
            var avail = Math.Max(0, data.Length - position);
            if (avail < len)
            {
                position = data.Length;
                Msg.Warn($"{Path}: unexpected EOF in data, record type {type} length {len}");
                return RecordType.Error;
            }
            record = data.Slice((int)position, (int)len);
            position += len;
            if (Msg.Verbose > 2)
                Msg.Info($"rec_get: type {(char)type} len {len} data {Head(record, 10)}");

            if (flags == RecordFlags.None)
                return type;
            if (type == RecordType.Ptr && (flags & RecordFlags.FollowPtr) != 0)
            {
                type = Goto(record);
                if (type != RecordType.Error)
                    continue;
            }
            if (type == RecordType.Dtxt && (flags & RecordFlags.SkipDtxt) != 0)
                continue;
            if (type == RecordType.End && (flags & RecordFlags.SeekEnd) != 0 && !SeekEnd())
            {
                Msg.Warn($"{Path}: seek error after reading END record: {Sys.StrError(Espipe)}");
                return RecordType.Error;
            }
            return type;
        }
    }

    // TryParse - one record from the start of a buffer that may hold only
    // part of the stream (a socket read): Done with the type, data and
    // bytes consumed; NeedMoreData when the record is incomplete (call
    // again with more bytes, from the same start); InvalidData on a
    // length that is malformed or above maxSize (0: no limit).
    public static OperationStatus TryParse(ReadOnlySpan<byte> buffer, long maxSize, out int type, out ReadOnlySpan<byte> data, out int consumed)
    {
        type = 0;
        data = default;
        consumed = 0;
        if (buffer.IsEmpty)
            return OperationStatus.NeedMoreData;
        type = buffer[0];
        long len = 0;
        var i = 1;
        for (var shift = 0; ; shift += 7)
        {
            if (shift >= 32)
                return OperationStatus.InvalidData;
            if (i >= buffer.Length)
                return OperationStatus.NeedMoreData;
            var lenByte = buffer[i++];
            len |= (long)(int)((uint)(lenByte & 0x7f) << shift);
            if ((lenByte & 0x80) == 0)
                break;
        }
        if (len < 0 || (maxSize > 0 && len > maxSize))
            return OperationStatus.InvalidData;
        if (buffer.Length - i < len)
            return OperationStatus.NeedMoreData;
        data = buffer.Slice(i, (int)len);
        consumed = i + (int)len;
        return OperationStatus.Done;
    }

    // Goto - rec_goto(): jump to the offset in a pointer record's data;
    // offset 0 is a placeholder and means "stay". Error on a malformed
    // value, a loop, or a stream that cannot seek.
    public int Goto(scoped ReadOnlySpan<byte> pointer)
    {
        var text = CString(pointer);
        var i = 0;
        while (i < text.Length && IsSpace(text[i]))
            i++;
        var offset = OffCvt(text[i..]);
        if (offset < 0)
        {
            Msg.Warn($"{Path}: malformed pointer record value: {Printable(text[i..])}");
            return RecordType.Error;
        }
        if (offset == 0)
            return 0;
        if (offset <= savedOffset && ++reverseCount > ReverseJumpLimit)
        {
            Msg.Warn($"{Path}: too many reverse jump records");
            return RecordType.Error;
        }
        if (!Seek(offset))
        {
            Msg.Warn($"{Path}: seek error after pointer record: {Sys.StrError(Espipe)}");
            return RecordType.Error;
        }
        savedOffset = offset;
        return 0;
    }

    // OffCvt - off_cvt_string(): decimal digits only (none means 0),
    // -1 on anything else or on overflow.
    public static long OffCvt(ReadOnlySpan<byte> text)
    {
        long result = 0;
        foreach (var b in text)
        {
            if (b < '0' || b > '9')
                return -1;
            var digit = b - '0';
            if (result > (long.MaxValue - digit) / 10)
                return -1;
            result = result * 10 + digit;
        }
        return result;
    }

    // CString - the data as C code sees it: up to the first NUL byte.
    public static ReadOnlySpan<byte> CString(ReadOnlySpan<byte> data)
    {
        var nul = data.IndexOf((byte)0);
        return nul < 0 ? data : data[..nul];
    }

    // Head - "%.Ns" of a record: at most n bytes, stopping at NUL.
    public static string Head(ReadOnlySpan<byte> data, int n)
    {
        var s = CString(data);
        return Printable(s.Length > n ? s[..n] : s);
    }

    // Printable - bytes as a string for diagnostics: valid UTF-8 is decoded,
    // other bytes above 0x7f become '?' (as printable() shows them).
    public static string Printable(ReadOnlySpan<byte> data)
    {
        try
        {
            return Strict.GetString(data);
        }
        catch (DecoderFallbackException)
        {
            var sb = new StringBuilder(data.Length);
            foreach (var b in data)
                sb.Append(b < 0x80 ? (char)b : '?');
            return sb.ToString();
        }
    }

    private static readonly UTF8Encoding Strict = new(false, true);

    private static bool IsSpace(byte b) => b == ' ' || (b >= '\t' && b <= '\r');
}
