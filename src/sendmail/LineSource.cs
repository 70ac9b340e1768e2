// NAME
//	LineSource - message text from a descriptor, as records
// POSTFIX
//	src/global/rec_streamlf.c (rec_streamlf_get)
// DESCRIPTION
//	Next() returns NORM for a line ended by LF (without the LF), CONT
//	for a piece of maxLength bytes without LF, or for the last piece of
//	input that lacks one, and Eof after that. The returned span is valid
//	until the next call. A read error ends the input and sets Errno.
using System;
using System.Runtime.InteropServices;
using Postfix.Global.Queue;
using Postfix.Util;

namespace Postfix.Commands.Sendmail;

internal sealed class LineSource
{
    private readonly Func<byte[], int, int, int> read;
    private byte[] buf = new byte[65536];
    private int start;
    private int end;
    private bool eof;

    // LineSource - read from fd (0: stdin).
    public LineSource(int fd)
    {
        read = (b, off, count) =>
        {
            for (;;)
            {
                var n = (int)Sys.Read(fd, b.AsSpan(off, count));
                if (n >= 0)
                    return n;
                var errno = Marshal.GetLastPInvokeError();
                if (errno == Sys.EINTR)
                    continue;
                Errno = errno;
                return 0;
            }
        };
    }

    // LineSource - read from a stream (tests).
    public LineSource(System.IO.Stream stream) => read = stream.Read;

    public int Errno { get; private set; }

    public int Next(int maxLength, out ReadOnlySpan<byte> line)
    {
        for (;;)
        {
            var avail = end - start;
            var window = buf.AsSpan(start, Math.Min(avail, maxLength));
            var nl = window.IndexOf((byte)'\n');
            if (nl >= 0)
            {
                line = window[..nl];
                start += nl + 1;
                return RecordType.Norm;
            }
            if (avail >= maxLength)
            {
                line = window;
                start += maxLength;
                return RecordType.Cont;
            }
            if (eof)
            {
                line = window;
                start = end;
                return avail > 0 ? RecordType.Cont : RecordType.Eof;
            }
            Fill(maxLength);
        }
    }

    private void Fill(int maxLength)
    {
        if (start > 0)
        {
            Buffer.BlockCopy(buf, start, buf, 0, end - start);
            end -= start;
            start = 0;
        }
        if (buf.Length - end < Math.Max(4096, maxLength + 1))
            Array.Resize(ref buf, Math.Max(buf.Length * 2, end + maxLength + 4096));
        var n = read(buf, end, buf.Length - end);
        if (n <= 0)
            eof = true;
        else
            end += n;
    }
}
