// NAME
//	ByteOut - stdout for table data, byte for byte
// DESCRIPTION
//	Table keys and values are bytes (not always UTF-8). When stdout is
//	the process's stream, text is written as the bytes it came from,
//	through one buffer (a 100,000-key query must not cost a system call
//	per line). When a test replaced ProgramHost.Out, text goes there.
//	Like Postfix's VSTREAM_OUT, the buffer is 4096 bytes and is written
//	whenever it fills up; what is still buffered when a fatal error ends
//	the program is lost, as it is with Postfix (so the commands call
//	Flush() on normal exit only).
using System;
using System.IO;
using Postfix.Global.Dict;
using Postfix.Util;

namespace Postfix.Commands;

internal static class ByteOut
{
    private static Stream? raw;
    private static readonly byte[] Buf = new byte[4096];
    private static int len;

    private static Stream? Raw()
    {
        if (raw != null)
            return raw;
        if (ProgramHost.Out is StreamWriter sw)
        {
            sw.Flush();
            raw = sw.BaseStream;
        }
        return raw;
    }

    // Write - text as table bytes.
    public static void Write(string text)
    {
        if (Raw() == null)
        {
            ProgramHost.Out.Write(text);
            return;
        }
        Write(DictText.Encode(text));
    }

    public static void Write(ReadOnlySpan<byte> bytes)
    {
        var s = Raw();
        if (s == null)
        {
            ProgramHost.Out.Write(DictText.Decode(bytes));
            return;
        }
        while (bytes.Length > 0)
        {
            var n = Math.Min(bytes.Length, Buf.Length - len);
            bytes[..n].CopyTo(Buf.AsSpan(len));
            len += n;
            bytes = bytes[n..];
            if (len == Buf.Length)
                FlushBuffer(s);
        }
    }

    // Line - "a<TAB>b\n" or "a\n".
    public static void Line(string a, string? b = null, string sep = "\t")
    {
        Write(a);
        if (b != null)
        {
            Write(sep);
            Write(b);
        }
        Write("\n"u8);
    }

    public static void Flush()
    {
        var s = raw;
        if (s != null)
        {
            FlushBuffer(s);
            try
            {
                s.Flush();
            }
            catch (IOException)
            {
            }
        }
        else
            ProgramHost.FlushOut();
    }

    private static void FlushBuffer(Stream s)
    {
        if (len > 0)
            Write(s, Buf.AsSpan(0, len));
        len = 0;
    }

    private static void Write(Stream s, ReadOnlySpan<byte> bytes)
    {
        try
        {
            s.Write(bytes);
        }
        catch (IOException)
        {
            // A closed pipe on stdout: the reader went away.
        }
    }
}
