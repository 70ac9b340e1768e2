// NAME
//	PrintableErr - stderr with Postfix's printable() applied to messages
// POSTFIX
//	src/util/msg_output.c, src/util/printable.c
// DESCRIPTION
//	Postfix replaces every character of a diagnostic that is not
//	printable ASCII with '?' (byte by byte), except UTF-8 characters
//	when smtputf8_enable is on. Table keys and lines in messages are
//	raw input, so this matters for postmap and postalias.
using System;
using System.IO;
using System.Text;
using Postfix.Global.Dict;

namespace Postfix.Commands;

internal sealed class PrintableErr : TextWriter
{
    private readonly Stream output;

    public PrintableErr(Stream output) => this.output = output;

    public override Encoding Encoding => Encoding.UTF8;

    public override void Write(char value) => Write(value.ToString());

    public override void Write(string? value)
    {
        if (string.IsNullOrEmpty(value))
            return;
        var newline = value.EndsWith('\n');
        var text = newline ? value[..^1] : value;
        var sb = new StringBuilder(text.Length + 1);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c >= 0x20 && c < 0x7f)
                sb.Append(c);
            else if (c < 0x80 || (c >= 0xDC80 && c <= 0xDCFF))
                sb.Append('?');
            else if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                if (DictOpen.Utf8Enable)
                    sb.Append(c).Append(text[i + 1]);
                else
                    sb.Append('?', 4);
                i++;
            }
            else if (DictOpen.Utf8Enable && !char.IsSurrogate(c))
                sb.Append(c);
            else
                sb.Append('?', Math.Max(1, Encoding.UTF8.GetByteCount(c.ToString())));
        }
        if (newline)
            sb.Append('\n');
        var bytes = Encoding.UTF8.GetBytes(sb.ToString());
        try
        {
            output.Write(bytes);
            output.Flush();
        }
        catch (IOException)
        {
        }
    }
}
