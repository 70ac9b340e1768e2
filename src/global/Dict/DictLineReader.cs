// NAME
//	DictLineReader - logical lines of a table source file, as bytes
// POSTFIX
//	src/util/readlline.c (readllines)
// DESCRIPTION
//	A logical line is a line that does not start with white space plus
//	the following lines that do; they are joined as they are (no
//	newline in between). Empty, all-white-space and '#' lines are
//	skipped, also inside a logical line. A logical line that starts
//	with white space is reported and skipped. Lines are returned as a
//	span over an internal buffer, valid until the next call, so that
//	building a large table allocates nothing per line.
using System;
using System.IO;
using Postfix.Util;

namespace Postfix.Global.Dict;

public sealed class DictLineReader
{
    private readonly Stream input;
    private readonly byte[] inBuf = new byte[65536];
    private int inPos;
    private int inLen;
    private byte[] line = new byte[256];
    private int lineLen;
    private int lineNumber;

    public DictLineReader(Stream input, string path)
    {
        this.input = input;
        Path = path;
    }

    // Path - the name used in messages (VSTREAM_PATH).
    public string Path { get; }

    // LineNumber - physical lines read so far.
    public int LineNumber => lineNumber;

    // Rewind - start over (the stream must be seekable).
    public void Rewind()
    {
        input.Seek(0, SeekOrigin.Begin);
        inPos = inLen = 0;
        lineNumber = 0;
    }

    private int GetC()
    {
        if (inPos >= inLen)
        {
            inLen = input.Read(inBuf, 0, inBuf.Length);
            inPos = 0;
            if (inLen <= 0)
            {
                inLen = 0;
                return -1;
            }
        }
        return inBuf[inPos++];
    }

    private int PeekC()
    {
        var c = GetC();
        if (c >= 0)
            inPos--;
        return c;
    }

    private void Add(byte b)
    {
        if (lineLen == line.Length)
            Array.Resize(ref line, line.Length * 2);
        line[lineLen++] = b;
    }

    private static bool IsSpace(int c) => c is ' ' or '\t' or '\n' or '\r' or '\f' or '\v';

    // ReadLogical - next logical line, and the number of its first line.
    public bool ReadLogical(out ReadOnlySpan<byte> text, out int firstLine)
    {
        for (;;)
        {
            firstLine = 0;
            lineLen = 0;
            for (;;)
            {
                var start = lineLen;
                int ch;
                // Fast path: copy a run of bytes up to the newline.
                for (;;)
                {
                    if (inPos >= inLen)
                    {
                        ch = GetC();
                        if (ch < 0 || ch == '\n')
                            break;
                        Add((byte)ch);
                        continue;
                    }
                    var avail = inBuf.AsSpan(inPos, inLen - inPos);
                    var nl = avail.IndexOf((byte)'\n');
                    var run = nl < 0 ? avail : avail[..nl];
                    if (lineLen + run.Length > line.Length)
                        Array.Resize(ref line, Math.Max(line.Length * 2, lineLen + run.Length));
                    run.CopyTo(line.AsSpan(lineLen));
                    lineLen += run.Length;
                    if (nl >= 0)
                    {
                        inPos += nl + 1;
                        ch = '\n';
                        break;
                    }
                    inPos = inLen;
                }
                if (ch == '\n' || lineLen > start)
                    lineNumber++;
                var cp = start;
                while (cp < lineLen && IsSpace(line[cp]))
                    cp++;
                if (cp == lineLen || line[cp] == '#')
                    lineLen = start;
                else if (start == 0)
                    firstLine = lineNumber;
                if (ch < 0)
                    break;
                if (lineLen > 0)
                {
                    var next = PeekC();
                    if (next != '#' && !IsSpace(next))
                        break;
                }
            }
            if (lineLen > 0 && IsSpace(line[0]))
            {
                var shown = DictText.Show(line.AsSpan(0, Math.Min(30, lineLen)));
                Msg.Warn($"{Path}: logical line must not start with whitespace: \"{shown}{(lineLen > 30 ? "..." : "")}\"");
                continue;
            }
            text = line.AsSpan(0, lineLen);
            return lineLen > 0;
        }
    }
}
