// NAME
//	AttrStream - attribute lists over a byte stream, both directions
// POSTFIX
//	src/util/attr_print0.c, attr_scan0.c on a VSTREAM
// DESCRIPTION
//	Wraps a connected stream (a NetworkStream over a UNIX-domain socket,
//	for clients and for servers alike; any Stream in tests) with an input
//	buffer and an AttrWriter. Send() writes one list and flushes it, as
//	attr_print() followed by vstream_fflush(). Receive() is attr_scan():
//	it reads until the wish list is satisfied, leaving any bytes of the
//	next list buffered. Path names the stream in warnings, as
//	VSTREAM_PATH does ("private/rewrite socket"). A read timeout
//	(IOException from the stream's ReadTimeout) reads as "timeout on
//	PATH while reading ...".
using System;
using System.Buffers;
using System.Collections.Generic;
using System.IO;
using System.Net.Sockets;

namespace Postfix.Global.Attr;

public sealed class AttrStream : IDisposable
{
    private const int ETIMEDOUT = 110;

    private readonly Stream stream;
    private readonly ArrayBufferWriter<byte> outBuf = new(1024);
    private readonly AttrWriter writer;
    private byte[] inBuf = new byte[4096];
    private int inStart;
    private int inEnd;
    private AttrInputEnd inputEnd = AttrInputEnd.More;

    public AttrStream(Stream stream, string path, AttrEncoding encoding = AttrEncoding.Zero)
    {
        this.stream = stream;
        Path = path;
        Encoding = encoding;
        writer = new AttrWriter(outBuf, encoding);
    }

    public string Path { get; }

    public AttrEncoding Encoding { get; }

    // LastErrno - errno of the last failed read or write (0: end of input).
    public int LastErrno { get; private set; }

    // Buffered - received bytes not used yet.
    public int Buffered => inEnd - inStart;

    // Send - write one attribute list and flush; false on a write error.
    public bool Send(Action<AttrWriter> print, AttrFlags flags = AttrFlags.None)
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
        catch (IOException e)
        {
            LastErrno = Errno(e);
            return false;
        }
        catch (SocketException e)
        {
            LastErrno = AttrClient.Errno(e);
            return false;
        }
    }

    // Receive - attr_scan(): conversions, -1 on error, 0 when the input
    // ended before the list began.
    public int Receive(ReadOnlySpan<AttrSpec> spec, Span<AttrValue> values, AttrFlags flags,
        IDictionary<string, string>? hash = null)
    {
        var state = new AttrReaderState(Encoding);
        for (; ; )
        {
            var r = new AttrReader(inBuf.AsSpan(inStart, inEnd - inStart), state, inputEnd, Path);
            var status = r.Scan(spec, values, flags, out var result, hash);
            inStart += (int)r.Consumed;
            if (status == AttrScanStatus.Done)
                return result;
            state = r.State;
            Fill();
        }
    }

    // ScanMore - attr_scan_more(): 0 after consuming a list terminator,
    // 1 when another list follows, -1 at the end of input.
    public int ScanMore()
    {
        for (; ; )
        {
            var r = new AttrReader(inBuf.AsSpan(inStart, inEnd - inStart), new AttrReaderState(Encoding), inputEnd, Path);
            var status = r.ScanMore(out var result);
            inStart += (int)r.Consumed;
            if (status == AttrScanStatus.Done)
                return result;
            Fill();
        }
    }

    // Fill - read more input, or note the end of it.
    private void Fill()
    {
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
                return;
            }
            LastErrno = 0;
            inputEnd = AttrInputEnd.Eof;
        }
        catch (IOException e)
        {
            LastErrno = Errno(e);
            inputEnd = LastErrno == ETIMEDOUT ? AttrInputEnd.Timeout : AttrInputEnd.Eof;
        }
        catch (SocketException e)
        {
            LastErrno = AttrClient.Errno(e);
            inputEnd = LastErrno == ETIMEDOUT ? AttrInputEnd.Timeout : AttrInputEnd.Eof;
        }
    }

    private static int Errno(IOException e) =>
        e.InnerException is SocketException se ? AttrClient.Errno(se) : e.HResult & 0xffff;

    public void Dispose() => stream.Dispose();
}
