// NAME
//	ClientChannel - attribute lists and queue file records on one stream
// POSTFIX
//	src/util/attr_scan0.c, attr_print0.c, src/global/record.c (rec_get_raw)
// DESCRIPTION
//	The cleanup protocol mixes attribute lists (queue ID, flags, status)
//	with raw records on one connection, and a client may send its
//	records right behind the flags. One input buffer therefore serves
//	both Receive() (attr_scan) and ReadRecord() (rec_get_raw without a
//	size limit: the type byte, a base-128 length, the data).
using System;
using System.IO;
using System.Buffers;
using Postfix.Global.Attr;

namespace Postfix.Daemons.Cleanup;

internal sealed class ClientChannel : Postfix.Milter.IMilterChannel
{
    private readonly Stream stream;
    private readonly ArrayBufferWriter<byte> outBuf = new(256);
    private readonly AttrWriter writer;
    private byte[] inBuf = new byte[8192];
    private byte[] recBuf = new byte[1024];
    private int inStart;
    private int inEnd;
    private bool eof;

    public ClientChannel(Stream stream, string path, int fd = -1)
    {
        this.stream = stream;
        Path = path;
        Fd = fd;
        writer = new AttrWriter(outBuf, AttrEncoding.Zero);
    }

    public string Path { get; }

    public bool TimedOut { get; private set; }

    // Fd - the socket descriptor (milter descriptors arrive over it).
    public int Fd { get; }

    public bool Send(Action<AttrWriter> print, AttrFlags flags)
    {
        outBuf.ResetWrittenCount();
        print(writer);
        writer.End(flags);
        try
        {
            stream.Write(outBuf.WrittenSpan);
            stream.Flush();
            return true;
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or ObjectDisposedException)
        {
            return false;
        }
    }

    public bool SendRaw(byte[] data)
    {
        try
        {
            stream.Write(data);
            stream.Flush();
            return true;
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or ObjectDisposedException)
        {
            return false;
        }
    }

    // Send - attr_print() and flush; false on a write error.
    public bool Send(Action<AttrWriter> print)
    {
        outBuf.ResetWrittenCount();
        print(writer);
        writer.End();
        try
        {
            stream.Write(outBuf.WrittenSpan);
            stream.Flush();
            return true;
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or ObjectDisposedException)
        {
            return false;
        }
    }

    // Receive - attr_scan(): the number of conversions, -1 on error.
    public int Receive(ReadOnlySpan<AttrSpec> spec, Span<AttrValue> values, AttrFlags flags,
        System.Collections.Generic.IDictionary<string, string>? hash = null)
    {
        var state = new AttrReaderState(AttrEncoding.Zero);
        for (; ; )
        {
            var r = new AttrReader(inBuf.AsSpan(inStart, inEnd - inStart), state,
                eof ? (TimedOut ? AttrInputEnd.Timeout : AttrInputEnd.Eof) : AttrInputEnd.More, Path);
            var status = r.Scan(spec, values, flags, out var result, hash);
            inStart += (int)r.Consumed;
            if (status == AttrScanStatus.Done)
                return result;
            state = r.State;
            if (!Fill())
                eof = true;
        }
    }

    // ReadRecord - rec_get_raw(): the record type, or -1 (end of input or
    // a malformed length). The data is valid until the next read: it lies
    // in the input buffer, or in a buffer kept for records that arrive in
    // pieces (no allocation per record).
    public int ReadRecord(out ReadOnlySpan<byte> data)
    {
        data = default;
        var type = ReadByte();
        if (type < 0)
            return -1;
        long len = 0;
        for (var shift = 0; ; shift += 7)
        {
            if (shift >= 8 * sizeof(int))
                return -1;
            var b = ReadByte();
            if (b < 0)
                return -1;
            len |= (long)(b & 0x7f) << shift;
            if ((b & 0x80) == 0)
                break;
        }
        if (len < 0 || len > int.MaxValue)
            return -1;
        var n = (int)len;
        if (inEnd - inStart >= n)
        {
            data = inBuf.AsSpan(inStart, n);
            inStart += n;
            return type;
        }
        if (recBuf.Length < n)
            recBuf = new byte[Math.Max(n, recBuf.Length * 2)];
        var got = 0;
        while (got < n)
        {
            if (inStart == inEnd && !Fill())
                return -1;
            var k = Math.Min(n - got, inEnd - inStart);
            inBuf.AsSpan(inStart, k).CopyTo(recBuf.AsSpan(got));
            inStart += k;
            got += k;
        }
        data = recBuf.AsSpan(0, n);
        return type;
    }

    private int ReadByte()
    {
        if (inStart == inEnd && !Fill())
            return -1;
        return inBuf[inStart++];
    }

    private bool Fill()
    {
        if (eof)
            return false;
        if (inStart > 0)
        {
            inBuf.AsSpan(inStart, inEnd - inStart).CopyTo(inBuf);
            inEnd -= inStart;
            inStart = 0;
        }
        if (inEnd == inBuf.Length)
            Array.Resize(ref inBuf, inBuf.Length * 2);
        try
        {
            var n = stream.Read(inBuf.AsSpan(inEnd));
            if (n > 0)
            {
                inEnd += n;
                return true;
            }
        }
        catch (IOException e)
        {
            TimedOut = e.InnerException is System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.TimedOut };
        }
        catch (System.Net.Sockets.SocketException e)
        {
            TimedOut = e.SocketErrorCode == System.Net.Sockets.SocketError.TimedOut;
        }
        eof = true;
        return false;
    }
}
