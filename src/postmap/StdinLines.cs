// NAME
//	StdinLines - physical lines from a stream, newline removed
// POSTFIX
//	src/util/vstring_vstream.c (vstring_get_nonl)
// DESCRIPTION
//	Keys for "-q -" and "-d -": no comments, no continuation, no
//	trimming; a last line without newline still counts.
using System;
using System.IO;

namespace Postfix.Commands;

internal sealed class StdinLines
{
    private readonly Stream input;
    private readonly byte[] buf = new byte[65536];
    private int pos;
    private int end;
    private byte[] line = new byte[256];

    public StdinLines(Stream input) => this.input = input;

    public bool Next(out ReadOnlySpan<byte> text)
    {
        var n = 0;
        var any = false;
        for (;;)
        {
            if (pos >= end)
            {
                end = input.Read(buf, 0, buf.Length);
                pos = 0;
                if (end <= 0)
                {
                    end = 0;
                    text = line.AsSpan(0, n);
                    return any;
                }
            }
            any = true;
            var avail = buf.AsSpan(pos, end - pos);
            var nl = avail.IndexOf((byte)'\n');
            var run = nl < 0 ? avail : avail[..nl];
            if (n + run.Length > line.Length)
                Array.Resize(ref line, Math.Max(line.Length * 2, n + run.Length));
            run.CopyTo(line.AsSpan(n));
            n += run.Length;
            if (nl >= 0)
            {
                pos += nl + 1;
                text = line.AsSpan(0, n);
                return true;
            }
            pos = end;
        }
    }
}
