// NAME
//	HeaderExtractor - sendmail -t: pass the message through, collect
//	the recipients of To/Cc/Bcc or, once one is seen, Resent-To/Cc/Bcc
// POSTFIX
//	src/global/mime_state.c (with MIME_OPT_DISABLE_MIME), src/global/is_header.c,
//	src/global/header_opts.c, src/sendmail/sendmail.c (output_header, output_text)
// DESCRIPTION
//	Update() takes the text records of the message one at a time (and
//	Eof at the end). Primary headers are gathered with their folded
//	continuation lines ("name : value" becomes "name: value"), then
//	written line by line, cut into CONT pieces at the line limit. The
//	first line that is neither header nor empty ends the headers after
//	an inserted empty line. A header longer than header_size_limit is
//	reported (TruncatedHeader); its excess is dropped.
using System;
using System.Collections.Generic;
using System.Text;
using Postfix.Global.Address;
using Postfix.Global.Queue;

namespace Postfix.Commands.Sendmail;

internal sealed class HeaderExtractor
{
    public const int TruncatedHeader = 1 << 1;
    public const string TruncatedHeaderText = "message header length exceeds safety limit";

    private readonly IRecordSink sink;
    private readonly int lineLimit;
    private readonly int headerLimit;
    private byte[] header = new byte[256];
    private int headerLength;
    private bool inHeaders = true;
    private int prevType;
    private int errors;

    public HeaderExtractor(IRecordSink sink, int lineLimit, int headerLimit)
    {
        this.sink = sink;
        this.lineLimit = lineLimit;
        this.headerLimit = headerLimit;
    }

    // Recipients from To/Cc/Bcc, and from the Resent- variants.
    public List<string> Recipients { get; } = new();

    public List<string> ResentRecipients { get; } = new();

    public bool Resent { get; private set; }

    // Extracted - the list sendmail uses.
    public List<string> Extracted => Resent ? ResentRecipients : Recipients;

    // Update - mime_state_update(); returns the error flags so far.
    public int Update(int type, ReadOnlySpan<byte> text)
    {
        var isText = type == RecordType.Norm || type == RecordType.Cont;
        if (!isText && prevType == RecordType.Cont)
            Update(RecordType.Norm, default);

        if (inHeaders)
        {
            if (headerLength > 0)
            {
                if (isText)
                {
                    if (prevType == RecordType.Cont)
                    {
                        AppendLimited(text, false);
                        prevType = type;
                        return errors;
                    }
                    if (text.Length > 0 && (text[0] == ' ' || text[0] == '\t'))
                    {
                        AppendLimited(text, true);
                        prevType = type;
                        return errors;
                    }
                }
                FlushHeader();
            }
            if (isText)
            {
                var nameLength = HeaderNameLength(text);
                if (nameLength > 0)
                {
                    headerLength = 0;
                    AppendC(text[..nameLength]);
                    var rest = text[nameLength..];
                    var skip = 0;
                    while (skip < rest.Length && (rest[skip] == ' ' || rest[skip] == '\t'))
                        skip++;
                    AppendC(rest[skip..]);
                    prevType = type;
                    return errors;
                }
                // Not a header: the headers end here; a non-empty line
                // gets the missing empty line in front of it.
                if (text.Length > 0)
                    sink.Put(RecordType.Norm, default);
            }
            inHeaders = false;
        }
        if (isText)
            sink.Put(type, text);
        prevType = type;
        return errors;
    }

    private void AppendLimited(ReadOnlySpan<byte> text, bool newLine)
    {
        if (headerLength < headerLimit)
        {
            if (newLine)
                AppendC("\n"u8);
            AppendC(text);
        }
        else
        {
            errors |= TruncatedHeader;
        }
    }

    // AppendC - strncat(): the text up to a NUL byte.
    private void AppendC(ReadOnlySpan<byte> text)
    {
        var nul = text.IndexOf((byte)0);
        if (nul >= 0)
            text = text[..nul];
        if (headerLength + text.Length > header.Length)
            Array.Resize(ref header, Math.Max(header.Length * 2, headerLength + text.Length));
        text.CopyTo(header.AsSpan(headerLength));
        headerLength += text.Length;
    }

    // FlushHeader - output_header(): extract, then write the lines.
    private void FlushHeader()
    {
        var buf = header.AsSpan(0, headerLength);
        var colon = buf.IndexOf((byte)':');
        var name = Encoding.Latin1.GetString(buf[..colon]).TrimEnd(' ', '\t', '\r', '\n', '\f', '\v');
        var kind = RecipientHeader(name);
        if (kind != 0 && (!Resent || kind == 2))
        {
            List<string> list;
            if (kind == 2)
            {
                list = ResentRecipients;
                Resent = true;
            }
            else
            {
                list = Recipients;
            }
            list.AddRange(Tok822.Addresses(Encoding.Latin1.GetString(buf[(name.Length + 1)..])));
        }
        while (true)
        {
            var nl = buf.IndexOf((byte)'\n');
            var line = nl >= 0 ? buf[..nl] : buf;
            while (line.Length > lineLimit)
            {
                sink.Put(RecordType.Cont, line[..lineLimit]);
                line = line[lineLimit..];
            }
            sink.Put(RecordType.Norm, line);
            if (nl < 0)
                break;
            buf = buf[(nl + 1)..];
        }
        prevType = 0;
        headerLength = 0;
    }

    // RecipientHeader - 1 for To/Cc/Bcc, 2 for Resent-To/Cc/Bcc, else 0
    // (the headers with HDR_OPT_RECIP and HDR_OPT_EXTRACT).
    private static int RecipientHeader(string name) => name.ToLowerInvariant() switch
    {
        "to" or "cc" or "bcc" => 1,
        "resent-to" or "resent-cc" or "resent-bcc" => 2,
        _ => 0,
    };

    // HeaderNameLength - is_header_buf(): length of "name" in "name:" or
    // "name :", 0 when the text does not start a header.
    internal static int HeaderNameLength(ReadOnlySpan<byte> text)
    {
        var len = 0;
        var afterSpace = false;
        foreach (var c in text)
        {
            switch (c)
            {
                case (byte)':':
                    return len;
                case (byte)' ':
                case (byte)'\t':
                    if (len == 0)
                        return 0;
                    afterSpace = true;
                    continue;
                default:
                    if (c == 0 || c >= 0x80 || c < 0x20 || c == 0x7f)
                        return 0;
                    if (afterSpace)
                        return 0;
                    len++;
                    continue;
            }
        }
        return 0;
    }
}
