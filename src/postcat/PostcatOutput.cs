// NAME
//	PostcatOutput - stdout as postcat's VSTREAM_OUT behaves
// POSTFIX
//	src/util/vstream.c (no flush at exit)
// DESCRIPTION
//	Bytes collect in a pending buffer that reaches stdout only at the
//	points where postcat calls vstream_fflush(): after each printed
//	record and section marker. Postfix never flushes VSTREAM_OUT at
//	exit, so text still pending then (the banner of an empty file, the
//	line end before an unprinted extracted segment) is never written;
//	we drop it the same way. Record data is written byte for byte: the
//	writer below carries each byte as one Latin-1 character.
using System;
using System.Buffers;
using System.IO;
using System.Text;
using Postfix.Util;

namespace Postfix.Commands.Postcat;

internal sealed class PostcatOutput
{
    private readonly ArrayBufferWriter<byte> pending = new(4096);

    // Stdout - a writer that passes each char as one byte (for Program.Main).
    public static TextWriter OpenStdout() =>
        new StreamWriter(Console.OpenStandardOutput(), Encoding.Latin1, 65536) { AutoFlush = false, NewLine = "\n" };

    public void Text(string text)
    {
        var n = Encoding.UTF8.GetByteCount(text);
        Encoding.UTF8.GetBytes(text, pending.GetSpan(n));
        pending.Advance(n);
    }

    public void Bytes(ReadOnlySpan<byte> data) => pending.Write(data);

    public void Byte(byte b)
    {
        pending.GetSpan(1)[0] = b;
        pending.Advance(1);
    }

    // Flush - vstream_fflush(VSTREAM_OUT).
    public void Flush()
    {
        if (pending.WrittenCount == 0)
            return;
        ProgramHost.Out.Write(Encoding.Latin1.GetString(pending.WrittenSpan));
        pending.Clear();
    }
}
