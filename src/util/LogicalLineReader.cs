// NAME
//	LogicalLineReader - read logical lines with Postfix's continuation rules
// POSTFIX
//	src/util/readlline.c
// DESCRIPTION
//	A logical line is a line that does not start with whitespace plus all
//	following lines that do (continuations are joined as they are, the
//	leading whitespace included). Empty lines, all-whitespace lines and
//	lines whose first non-space character is '#' are skipped, also in
//	the middle of a logical line. Text that starts a logical line with
//	whitespace is reported and skipped, as readllines() does.
using System;
using System.IO;
using System.Text;

namespace Postfix.Util;

public sealed class LogicalLineReader
{
    private readonly byte[] data;
    private readonly string path;
    private int pos;
    private int lineNumber;

    public LogicalLineReader(byte[] data, string path)
    {
        this.data = data;
        this.path = path;
    }

    // LineNumber - number of the last physical line read so far.
    public int LineNumber => lineNumber;

    // Next - the next logical line, with the number of its first physical line.
    public string? Next(out int firstLine)
    {
        var buf = new StringBuilder();
        firstLine = 0;
        for (;;)
        {
            var start = buf.Length;
            var eof = true;
            var lineStart = pos;
            while (pos < data.Length)
            {
                if (data[pos] == (byte)'\n')
                {
                    eof = false;
                    break;
                }
                pos++;
            }
            var segment = Latin1OrUtf8(data.AsSpan(lineStart, pos - lineStart));
            if (!eof)
                pos++;
            buf.Append(segment);
            if (!eof || buf.Length > start)
                lineNumber++;
            var cp = start;
            while (cp < buf.Length && IsSpace(buf[cp]))
                cp++;
            if (cp == buf.Length || buf[cp] == '#')
                buf.Length = start;
            else if (start == 0)
                firstLine = lineNumber;
            if (eof)
                break;
            if (buf.Length > 0)
            {
                if (pos >= data.Length)
                    break;
                var next = data[pos];
                if (next != (byte)'#' && !IsSpace((char)next))
                    break;
            }
        }
        if (buf.Length > 0 && IsSpace(buf[0]))
        {
            var text = buf.ToString();
            Msg.Warn($"{path}: logical line must not start with whitespace: \"{Truncate(text, 30)}{(text.Length > 30 ? "..." : "")}\"");
            return Next(out firstLine);
        }
        return buf.Length > 0 ? buf.ToString() : null;
    }

    private static string Truncate(string s, int n) => s.Length > n ? s[..n] : s;

    // IsSpace - C isspace() in the C locale.
    public static bool IsSpace(char c) => c is ' ' or '\t' or '\n' or '\r' or '\f' or '\v';

    // Text is kept byte for byte: UTF-8 where valid, otherwise Latin-1.
    private static string Latin1OrUtf8(ReadOnlySpan<byte> bytes) => ByteText.Decode(bytes);

    public static LogicalLineReader Open(string path) => new(File.ReadAllBytes(path), path);
}
