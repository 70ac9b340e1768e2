// NAME
//	BounceTemplates - the group of failure, delay, success and verify templates
// POSTFIX
//	src/bounce/bounce_templates.c, src/util/load_file.c
// DESCRIPTION
//	Create() gives the built-in templates. Load() reads a template file
//	(bounce(5): "name_template = <<MARKER", text lines, "MARKER") and
//	overrides the templates it names; LoadFile() does so from a path,
//	again while the file is being modified. Expand() writes the message
//	texts with $name expanded (postconf -b), Dump() the whole templates
//	in the file format (postconf -t). The writers must pass octets
//	through (ISO-8859-1): see BounceTemplate.
using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using Postfix.Util;

namespace Postfix.Global.Bounce;

public sealed class BounceTemplates
{
    private const string PostmasterAddr = "postmaster";

    private static readonly BounceTemplate DefaultFailure = new(
        BounceTemplate.ClassFailure,
        "Undelivered Mail Returned to Sender",
        "Postmaster Copy: Undelivered Mail",
        new[]
        {
            "This is the mail system at host $myhostname.",
            "",
            "I'm sorry to have to inform you that your message could not",
            "be delivered to one or more recipients. It's attached below.",
            "",
            "For further assistance, please send mail to " + PostmasterAddr + ".",
            "",
            "If you do so, please include this problem report. You can",
            "delete your own text from the attached returned message.",
            "",
            "                   The mail system",
        });

    private static readonly BounceTemplate DefaultDelay = new(
        BounceTemplate.ClassDelay,
        "Delayed Mail (still being retried)",
        "Postmaster Warning: Delayed Mail",
        new[]
        {
            "This is the mail system at host $myhostname.",
            "",
            "####################################################################",
            "# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #",
            "####################################################################",
            "",
            "Your message could not be delivered for more than $delay_warning_time_hours hour(s).",
            "It will be retried until it is $maximal_queue_lifetime_days day(s) old.",
            "",
            "For further assistance, please send mail to " + PostmasterAddr + ".",
            "",
            "If you do so, please include this problem report. You can",
            "delete your own text from the attached returned message.",
            "",
            "                   The mail system",
        });

    private static readonly BounceTemplate DefaultSuccess = new(
        BounceTemplate.ClassSuccess,
        "Successful Mail Delivery Report",
        null,
        new[]
        {
            "This is the mail system at host $myhostname.",
            "",
            "Your message was successfully delivered to the destination(s)",
            "listed below. If the message was delivered to mailbox you will",
            "receive no further notifications. Otherwise you may still receive",
            "notifications of mail delivery errors from other systems.",
            "",
            "                   The mail system",
        });

    private static readonly BounceTemplate DefaultVerify = new(
        BounceTemplate.ClassVerify,
        "Mail Delivery Status Report",
        null,
        new[]
        {
            "This is the mail system at host $myhostname.",
            "",
            "Enclosed is the mail delivery report that you requested.",
            "",
            "                   The mail system",
        });

    private BounceTemplates()
    {
        Failure = new BounceTemplate(DefaultFailure);
        Delay = new BounceTemplate(DefaultDelay);
        Success = new BounceTemplate(DefaultSuccess);
        Verify = new BounceTemplate(DefaultVerify);
    }

    public BounceTemplate Failure { get; }

    public BounceTemplate Delay { get; }

    public BounceTemplate Success { get; }

    public BounceTemplate Verify { get; }

    private IEnumerable<BounceTemplate> All => new[] { Failure, Delay, Success, Verify };

    // Create - a group of built-in templates.
    public static BounceTemplates Create() => new();

    // LoadFile - load_file(): Load() from path until the file is no longer being changed.
    public void LoadFile(string path)
    {
        if (Directory.Exists(path))
        {
            // open(2) succeeds on a directory; the first read fails.
            Msg.Fatal($"read {path}: {Sys.StrError(21)}");
        }
        if (!HotFileReader.Load(path, data => Load(data, path), out var errno))
            Msg.Fatal($"open {path}: {Sys.StrError(errno)}");
    }

    // Load - bounce_templates_load(): override the templates named in data.
    public void Load(byte[] data, string path)
    {
        var origin = BounceTemplate.Octets(path);
        var reader = new LineReader(data);
        var lineno = 1;
        while (reader.Next(out var line))
        {
            lineno++;
            var s = 0;
            while (s < line.Length && BounceTemplate.IsSpace(line[s]))
                s++;
            if (s == line.Length || line[s] == '#')
                continue;
            var err = SplitNameValue(line, out var nameEnd, out var valueStart, out var valueEnd, out var nameStart);
            if (err != null)
                Msg.Fatal($"{path}, line {lineno}: {err}: \"{BounceTemplate.Text(line)}\"");
            var memberName = line[nameStart..nameEnd];
            var value = line[valueStart..valueEnd];
            if (value.Length >= 2 && value[0] == '<' && value[1] == '<')
            {
                var m = valueStart + 2;
                while (m < valueEnd && BounceTemplate.IsSpace(line[m]))
                    m++;
                if (m == valueEnd)
                    Msg.Fatal($"{path}, line {lineno}: missing end marker after <<");
                if (!MacExpand.IsAlnum(line[m]))
                    Msg.Fatal($"{path}, line {lineno}: malformed end marker after <<");
                var marker = line[m..valueEnd];

                // split_nameval() terminated the name and the value in place.
                reader.Poke(nameEnd);
                reader.Poke(valueEnd);
                var text = new StringBuilder();
                while (reader.Next(out line))
                {
                    lineno++;
                    if (line == marker)
                        break;
                    if (text.Length > 0)
                        text.Append('\n');
                    text.Append(line);
                }

                // Postfix prints the marker through a pointer into its line
                // buffer, which by now holds the last line read.
                if (reader.Eof)
                    Msg.Warn($"{path}, line {lineno}: missing \"{BounceTemplate.Text(reader.StringAt(m))}\" end marker");
                value = text.ToString();
            }
            var target = Find(memberName);
            if (target != null)
                target.Load(origin, value);
            else
                Msg.Warn($"{path}, line {lineno}: unknown template name: {BounceTemplate.Text(memberName)} -- ignoring this template");
        }
    }

    // Expand - bounce_templates_expand(): expanded message texts.
    public void Expand(TextWriter fp, BounceTemplateConfig config)
    {
        var sep = "";
        foreach (var tp in All)
        {
            fp.Write(sep);
            fp.Write($"expanded_{tp.Class}_text = <<EOF\n");
            tp.Expand(line => fp.Write(line + "\n"), config);
            fp.Write("EOF\n");
            sep = "\n";
        }
    }

    // Dump - bounce_templates_dump(): the templates in template file form.
    public void Dump(TextWriter fp, bool standardFrom)
    {
        var sep = "";
        foreach (var tp in All)
        {
            fp.Write(sep);
            fp.Write($"{tp.Class}_template = <<EOF\n");
            tp.Dump(fp, standardFrom);
            fp.Write("EOF\n");
            sep = "\n";
        }
    }

    // Find - the template called "<class>_template", or null.
    private BounceTemplate? Find(string memberName)
    {
        foreach (var tp in All)
        {
            if (memberName.Length == tp.Class.Length + "_template".Length
                && memberName.StartsWith(tp.Class, StringComparison.Ordinal)
                && memberName.EndsWith("_template", StringComparison.Ordinal))
                return tp;
        }
        return null;
    }

    // SplitNameValue - split_nameval() as offsets into the line.
    private static string? SplitNameValue(string buf, out int nameEnd, out int valueStart, out int valueEnd, out int nameStart)
    {
        nameEnd = valueStart = valueEnd = 0;
        var i = 0;
        while (i < buf.Length && BounceTemplate.IsSpace(buf[i]))
            i++;
        nameStart = i;
        if (i == buf.Length || buf[i] == '=')
            return "missing attribute name";
        while (i < buf.Length && !BounceTemplate.IsSpace(buf[i]) && buf[i] != '=')
            i++;
        nameEnd = i;
        while (i < buf.Length && BounceTemplate.IsSpace(buf[i]))
            i++;
        if (i == buf.Length || buf[i] != '=')
            return "missing '=' after attribute name";
        i++;
        while (i < buf.Length && BounceTemplate.IsSpace(buf[i]))
            i++;
        var end = buf.Length;
        while (end > i && BounceTemplate.IsSpace(buf[end - 1]))
            end--;
        valueStart = i;
        valueEnd = end;
        return null;
    }

    // LineReader - vstring_get_nonl() over a file image, with its line
    // buffer: a line overwrites the start of the buffer and leaves the
    // rest, a NUL after it; at end of file the buffer becomes "".
    private sealed class LineReader
    {
        private readonly byte[] data;
        private byte[] buf = new byte[100];
        private int pos;

        public LineReader(byte[] data)
        {
            this.data = data;
        }

        // Eof - a read has run into the end of the file.
        public bool Eof { get; private set; }

        // Next - the next line (up to a NUL byte) as octets; false at EOF.
        public bool Next(out string line)
        {
            var start = pos;
            while (pos < data.Length && data[pos] != (byte)'\n')
                pos++;
            var len = pos - start;
            var newline = pos < data.Length;
            if (newline)
                pos++;
            else
                Eof = true;
            if (buf.Length < len + 1)
                Array.Resize(ref buf, Math.Max(buf.Length * 2, len + 1));
            Array.Copy(data, start, buf, 0, len);
            buf[len] = 0;
            var nul = Array.IndexOf(buf, (byte)0, 0, len + 1);
            line = Encoding.Latin1.GetString(buf, 0, nul);

            // A last line without newline that ends in a NUL or 8-bit byte
            // reads as end of file: Postfix returns that byte as a signed char.
            if (newline)
                return true;
            return len > 0 && data[start + len - 1] is > 0 and < 0x80;
        }

        // Poke - write a NUL into the line buffer.
        public void Poke(int offset)
        {
            if (offset < buf.Length)
                buf[offset] = 0;
        }

        // StringAt - the NUL-terminated buffer text at offset.
        public string StringAt(int offset)
        {
            if (offset >= buf.Length)
                return "";
            var nul = Array.IndexOf(buf, (byte)0, offset);
            return Encoding.Latin1.GetString(buf, offset, (nul < 0 ? buf.Length : nul) - offset);
        }
    }
}
