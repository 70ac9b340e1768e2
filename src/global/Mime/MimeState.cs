// NAME
//	MimeState - streaming MIME structure tracker, with optional 8-bit
//	to 7-bit conversion
// POSTFIX
//	src/global/mime_state.c (our own code)
// DESCRIPTION
//	Update() takes the content one record at a time (N: line, L: part of
//	a long line, anything else: end of content; Latin-1 strings, one
//	char per byte). It joins folded header lines into one header (up to
//	header_size_limit bytes; the rest is dropped), hands complete headers
//	to HeadOut with their class (primary, after a multipart boundary, or
//	at the start of an attached message/rfc822), calls HeadEnd after the
//	primary header block and BodyOut for each body record. Content-Type
//	boundaries are kept on a stack so that headers of body parts are
//	recognized; nesting beyond mime_nesting_limit, 8-bit text where 7-bit
//	is declared and bad encoding domains are reported once each when
//	asked for. DisableMime looks at no MIME header.
//
//	With Downgrade (smtp to a server without 8BITMIME), parts declared
//	8bit or binary are sent as 7-bit: their Content-Transfer-Encoding
//	header is held back and replaced at the end of the part's headers by
//	"quoted-printable" (leaf parts) or "7bit" (multipart/* and
//	message/*), and leaf bodies are encoded quoted-printable with soft
//	line breaks after 73 output characters. Body output is a view of the
//	input record or of the encoder's line buffer, valid during the call.
using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using System.Text;
using Postfix.Global.Address;
using Postfix.Global.Queue;

namespace Postfix.Global.Mime;

public sealed class MimeState
{
    public const int HdrPrimary = 1;
    public const int HdrMultipart = 2;
    public const int HdrNested = 3;
    private const int StateBody = 4;

    [Flags]
    public enum Options
    {
        None = 0,
        Downgrade = 1 << 0,
        Report8BitIn7BitBody = 1 << 1,
        Report8BitInHeader = 1 << 2,
        ReportEncodingDomain = 1 << 3,
        ReportTruncHeader = 1 << 5,
        DisableMime = 1 << 6,
        ReportNesting = 1 << 7,
    }

    public const int ErrNesting = 1 << 0;
    public const int ErrTruncHeader = 1 << 1;
    public const int Err8BitInHeader = 1 << 2;
    public const int Err8BitIn7BitBody = 1 << 3;
    public const int ErrEncodingDomain = 1 << 4;

    private static readonly (int Code, string Dsn, string Text)[] ErrDetail =
    [
        (ErrNesting, "5.6.0", "MIME nesting exceeds safety limit"),
        (ErrTruncHeader, "5.6.0", "message header length exceeds safety limit"),
        (Err8BitInHeader, "5.6.0", "improper use of 8-bit data in message header"),
        (Err8BitIn7BitBody, "5.6.0", "improper use of 8-bit data in message body"),
        (ErrEncodingDomain, "5.6.0", "invalid message/* or multipart/* encoding domain"),
    ];

    // Detail - mime_state_detail(): the most serious error's DSN and text.
    public static (string Dsn, string Text) Detail(int errors)
    {
        foreach (var d in ErrDetail)
            if ((d.Code & errors) != 0)
                return (d.Dsn, d.Text);
        Postfix.Util.Msg.Panic($"mime_state_detail: unknown error code {errors}");
        return ("", "");
    }

    public static string Error(int errors) => Detail(errors).Text;

    private enum CType { Other, Text, Message, Multipart }

    private enum SType { Other, Plain, Rfc822, Partial, ExternBody, Global }

    private const int Enc7Bit = 7, Enc8Bit = 8, EncBinary = 9, EncQp = 1, EncBase64 = 2;

    private static readonly (string Name, int Encoding, int Domain)[] Encodings =
    [
        ("7bit", Enc7Bit, Enc7Bit), ("8bit", Enc8Bit, Enc8Bit), ("binary", EncBinary, EncBinary),
        ("base64", EncBase64, Enc7Bit), ("quoted-printable", EncQp, Enc7Bit),
    ];

    private sealed record Boundary(CType DefCType, SType DefSType, string Text);

    public delegate void HeadOutFn(int headerClass, HeaderInfo? info, StringBuilder header, long offset);

    // BodyOutFn - one body record; text is valid during the call only.
    public delegate void BodyOutFn(int recordType, ReadOnlyMemory<char> text, long offset);

    // AsString - the body record as a string: the input record itself
    // when it was passed on unchanged.
    public static string AsString(ReadOnlyMemory<char> text) =>
        MemoryMarshal.TryGetString(text, out var whole, out var start, out var length) && start == 0 && length == whole.Length
            ? whole : text.ToString();

    private readonly Options options;
    private readonly HeaderOpts headerOpts;
    private readonly int headerLimit;
    private readonly int boundLimit;
    private readonly int maxDepth;
    private readonly HeadOutFn headOut;
    private readonly Action? headEnd;
    private readonly BodyOutFn bodyOut;
    private readonly Action<int, string>? errPrint;
    private readonly StringBuilder output = new();
    private readonly char[] qpLine = new char[QpLineMax];
    private int qpLength;
    private readonly List<Boundary> stack = new(); // top at the end
    private int currState = HdrPrimary;
    private CType currCType = CType.Text;
    private SType currSType = SType.Plain;
    private int currEncoding = Enc7Bit;
    private int currDomain = Enc7Bit;
    private int prevRecType;
    private int nestingLevel = -1;
    private int errFlags;
    private long headOffset;
    private long bodyOffset;

    // MimeState - mime_state_alloc(); headerOpts null: the default table.
    public MimeState(Options options, HeaderOpts? headerOpts, int headerLimit, int boundLimit, int maxDepth,
        HeadOutFn headOut, Action? headEnd, BodyOutFn bodyOut, Action<int, string>? errPrint)
    {
        this.options = options;
        this.headerOpts = headerOpts ?? HeaderOpts.Default;
        this.headerLimit = headerLimit;
        this.boundLimit = boundLimit;
        this.maxDepth = maxDepth;
        this.headOut = headOut;
        this.headEnd = headEnd;
        this.bodyOut = bodyOut;
        this.errPrint = errPrint;
    }

    private void SetState(int state, CType ctype, SType stype, int encoding, int domain)
    {
        currCType = ctype;
        currSType = stype;
        currEncoding = encoding;
        currDomain = domain;
        SetCurrState(state);
    }

    private void SetCurrState(int state)
    {
        currState = state;
        if (state == StateBody)
            bodyOffset = 0;
        else
            headOffset = 0;
    }

    private void Report(int err, string text)
    {
        if ((errFlags & err) == 0)
        {
            errPrint?.Invoke(err, text);
            errFlags |= err;
        }
    }

    private void HeadOut(HeaderInfo? info, int len)
    {
        headOut(currState, info, output, headOffset);
        headOffset += len + 1;
    }

    private void BodyOut(int type, ReadOnlyMemory<char> text)
    {
        bodyOut(type, text, bodyOffset);
        bodyOffset += text.Length + 1;
    }

    private bool Downgrading => (options & Options.Downgrade) != 0 && currDomain != Enc7Bit;

    // Update - mime_state_update(): process one record; returns the errors.
    public int Update(int recType, string text)
    {
        var isText = recType == RecordType.Norm || recType == RecordType.Cont;
        if (!isText && prevRecType == RecordType.Cont)
            Update(RecordType.Norm, "");

        if (currState != StateBody)
        {
            if (output.Length > 0)
            {
                if (isText)
                {
                    if (prevRecType == RecordType.Cont)
                    {
                        if (output.Length < headerLimit)
                            output.Append(text);
                        else if ((options & Options.ReportTruncHeader) != 0)
                            Report(ErrTruncHeader, output.ToString());
                        prevRecType = recType;
                        return errFlags;
                    }
                    if (text.Length > 0 && (text[0] == ' ' || text[0] == '\t'))
                    {
                        if (output.Length < headerLimit)
                            output.Append('\n').Append(text);
                        else if ((options & Options.ReportTruncHeader) != 0)
                            Report(ErrTruncHeader, output.ToString());
                        prevRecType = recType;
                        return errFlags;
                    }
                }
                FlushHeader(text.Length);
            }

            if (isText)
            {
                var labelLen = HeaderOpts.IsHeader(text.AsSpan());
                if (labelLen > 0)
                {
                    output.Clear().Append(text, 0, labelLen);
                    var k = labelLen;
                    while (k < text.Length && (text[k] == ' ' || text[k] == '\t'))
                        k++;
                    output.Append(text, k, text.Length - k);
                    prevRecType = recType;
                    return errFlags;
                }
            }

            // The end of a header block: the replacement encoding header.
            if (Downgrading)
            {
                var enc = (currCType == CType.Message && currSType != SType.Global) || currCType == CType.Multipart
                    ? "7bit" : "quoted-printable";
                output.Clear().Append("Content-Transfer-Encoding: ").Append(enc);
                HeadOut(null, text.Length);
                output.Clear();
            }

            if (currState == HdrPrimary)
                headEnd?.Invoke();

            if ((options & Options.ReportEncodingDomain) != 0)
            {
                if (currCType == CType.Message)
                {
                    if (currSType is SType.Partial or SType.ExternBody)
                    {
                        if (currDomain != Enc7Bit)
                            Report(ErrEncodingDomain, EncName(currEncoding));
                    }
                    else if (currSType == SType.Rfc822 && currEncoding != currDomain)
                    {
                        Report(ErrEncodingDomain, EncName(currEncoding));
                    }
                }
                else if (currCType == CType.Multipart && currEncoding != currDomain)
                {
                    Report(ErrEncodingDomain, EncName(currEncoding));
                }
            }

            if (isText)
            {
                if (text.Length == 0)
                {
                    bodyOffset = 0;
                    if (currCType == CType.Message)
                    {
                        if (currSType == SType.Rfc822 || (currSType == SType.Global && !Downgrading))
                            SetState(HdrNested, CType.Text, SType.Plain, Enc7Bit, Enc7Bit);
                        else
                            SetCurrState(StateBody);
                    }
                    else if (currCType == CType.Multipart)
                    {
                        SetState(StateBody, CType.Other, SType.Other, Enc7Bit, Enc7Bit);
                    }
                    else
                    {
                        SetCurrState(StateBody);
                    }
                }
                else
                {
                    if (currState == HdrPrimary)
                        BodyOut(RecordType.Norm, ReadOnlyMemory<char>.Empty);
                    SetCurrState(StateBody);
                }
            }
            else
            {
                SetCurrState(StateBody);
            }
        }

        // Body text (also the record that ended a header block).
        if (isText)
        {
            if ((options & Options.Report8BitIn7BitBody) != 0 && currEncoding == Enc7Bit
                && (errFlags & Err8BitIn7BitBody) == 0 && !Raw.IsAscii(text))
                Report(Err8BitIn7BitBody, text);
            if (stack.Count > 0 && prevRecType != RecordType.Cont && text.Length > 2 && text[0] == '-' && text[1] == '-')
                MatchBoundary(text);
            if (Downgrading)
                Downgrade(recType, text);
            else
                BodyOut(recType, text.AsMemory());
        }
        prevRecType = recType;
        return errFlags;
    }

    // The encoder's line: a soft break once it passes 72 characters, so
    // at most 75, and 77 after the trailing blank of a hard line.
    private const int QpLineMax = 80;
    private const string HexChars = "0123456789ABCDEF";

    private void QpEncode(char ch)
    {
        qpLine[qpLength++] = '=';
        qpLine[qpLength++] = HexChars[(ch >> 4) & 0xf];
        qpLine[qpLength++] = HexChars[ch & 0xf];
    }

    // Downgrade - mime_state_downgrade(): quoted-printable for one body
    // record, the trailing blank of a hard line encoded.
    private void Downgrade(int recType, string text)
    {
        foreach (var ch in text)
        {
            if (qpLength > 72)
            {
                qpLine[qpLength++] = '=';
                BodyOut(RecordType.Norm, qpLine.AsMemory(0, qpLength));
                qpLength = 0;
            }
            if ((ch < 32 && ch != '\t') || ch == '=' || ch > 126)
                QpEncode(ch);
            else
                qpLine[qpLength++] = ch;
        }
        if (recType == RecordType.Norm)
        {
            if (qpLength > 0 && qpLine[qpLength - 1] is ' ' or '\t')
                QpEncode(qpLine[--qpLength]);
            BodyOut(RecordType.Norm, qpLine.AsMemory(0, qpLength));
            qpLength = 0;
        }
    }

    private void FlushHeader(int len)
    {
        var header = output.ToString();
        var info = headerOpts.Find(header);
        if ((options & Options.DisableMime) == 0 && info != null)
        {
            if (info.Type == HeaderType.ContentType)
                ContentType(header, info);
            if (info.Type == HeaderType.ContentTransferEncoding)
                ContentEncoding(header, info);
        }
        if ((options & Options.Report8BitInHeader) != 0 && (errFlags & Err8BitInHeader) == 0 && !Raw.IsAscii(header))
            Report(Err8BitInHeader, header);
        if (info is not { Type: HeaderType.ContentTransferEncoding } || !Downgrading)
            HeadOut(info, len);
        prevRecType = 0;
        output.Clear();
    }

    private void MatchBoundary(string text)
    {
        for (var i = stack.Count - 1; i >= 0; i--)
        {
            var b = stack[i].Text;
            if (text.Length >= 2 + b.Length && string.CompareOrdinal(text, 2, b, 0, b.Length) == 0)
            {
                while (stack.Count - 1 > i)
                    Pop();
                var sp = stack[i];
                if (text.Length >= 4 + b.Length && string.CompareOrdinal(text, 2 + b.Length, "--", 0, 2) == 0)
                {
                    Pop();
                    SetState(StateBody, CType.Other, SType.Other, Enc7Bit, Enc7Bit);
                }
                else
                {
                    SetState(HdrMultipart, sp.DefCType, sp.DefSType, Enc7Bit, Enc7Bit);
                }
                break;
            }
        }
    }

    private void Pop()
    {
        nestingLevel--;
        stack.RemoveAt(stack.Count - 1);
    }

    private static string EncName(int encoding)
    {
        foreach (var e in Encodings)
            if (e.Encoding == encoding)
                return e.Name;
        return "unknown";
    }

    private const string Rfc2045TSpecials = "()<>@,;:\\\"/[]?=";

    private void ContentType(string header, HeaderInfo info)
    {
        var pos = info.Name.Length + 1;
        var tok = HeaderToken.Next(header, ref pos, 3, Rfc2045TSpecials, ';');
        if (tok == null || tok.Count == 0)
        {
            currCType = CType.Other;
            return;
        }
        static bool Match((int Type, string Value) t, string s) =>
            t.Type == HeaderToken.Token && string.Equals(t.Value, s, StringComparison.OrdinalIgnoreCase);
        if (Match(tok[0], "text"))
        {
            currCType = CType.Text;
            currSType = tok.Count >= 3 && tok[1].Type == '/' && Match(tok[2], "plain") ? SType.Plain : SType.Other;
            return;
        }
        if (Match(tok[0], "message"))
        {
            currCType = CType.Message;
            currSType = SType.Other;
            if (tok.Count >= 3 && tok[1].Type == '/')
            {
                if (Match(tok[2], "rfc822"))
                    currSType = SType.Rfc822;
                else if (Match(tok[2], "partial"))
                    currSType = SType.Partial;
                else if (Match(tok[2], "external-body"))
                    currSType = SType.ExternBody;
                else if (Match(tok[2], "global"))
                    currSType = SType.Global;
            }
            return;
        }
        if (Match(tok[0], "multipart"))
        {
            currCType = CType.Multipart;
            var digest = tok.Count >= 3 && tok[1].Type == '/' && Match(tok[2], "digest");
            var defC = digest ? CType.Message : CType.Text;
            var defS = digest ? SType.Rfc822 : SType.Plain;
            List<(int Type, string Value)>? more;
            while ((more = HeaderToken.Next(header, ref pos, 3, Rfc2045TSpecials, ';')) != null)
            {
                if (more.Count >= 3 && Match(more[0], "boundary") && more[1].Type == '=')
                {
                    if (nestingLevel > maxDepth)
                    {
                        if ((options & Options.ReportNesting) != 0)
                            Report(ErrNesting, header);
                    }
                    else
                    {
                        nestingLevel++;
                        var b = more[2].Value;
                        stack.Add(new Boundary(defC, defS, b.Length > boundLimit ? b[..boundLimit] : b));
                    }
                }
            }
        }
        // Other known-syntax types leave the current type alone, as the
        // reference does.
    }

    private void ContentEncoding(string header, HeaderInfo info)
    {
        var pos = info.Name.Length + 1;
        var tok = HeaderToken.Next(header, ref pos, 1, null, '\0');
        if (tok != null && tok.Count > 0 && tok[0].Type == HeaderToken.Token)
        {
            foreach (var e in Encodings)
            {
                if (string.Equals(tok[0].Value, e.Name, StringComparison.OrdinalIgnoreCase))
                {
                    currEncoding = e.Encoding;
                    currDomain = e.Domain;
                    break;
                }
            }
        }
    }
}
