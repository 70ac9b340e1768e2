// NAME
//	SmtpMime - MIME structure tracking and 8-bit to 7-bit conversion
//	for smtp(8) output
// POSTFIX
//	src/global/mime_state.c (MIME_OPT_DOWNGRADE), src/global/header_opts.c
// DESCRIPTION
//	The delivery agent's view of the message content, one record at a
//	time (Latin-1 strings: one char per byte). Folded header lines are
//	joined into one header (header_size_limit) and handed to HeadOut
//	with their class (primary, after a multipart boundary, or inside an
//	attached message/rfc822); body lines go to BodyOut. Content-Type
//	boundaries are stacked so that the headers of body parts are found.
//
//	With Downgrade, parts declared 8bit or binary are sent as 7-bit:
//	their Content-Transfer-Encoding header is held back and replaced at
//	the end of the part's headers by "quoted-printable" (leaf parts) or
//	"7bit" (multipart/* and message/*), and leaf bodies are encoded
//	quoted-printable with soft line breaks after 73 output characters.
//	DisableMime looks at no MIME header (header and body checks only).
using System;
using System.Collections.Generic;
using System.Text;
using Postfix.Global.Queue;

namespace Postfix.Daemons.Smtp;

internal sealed class SmtpMime
{
    public const int HdrPrimary = 1;
    public const int HdrMultipart = 2;
    public const int HdrNested = 3;
    private const int StateBody = 4;

    public const int ErrNesting = 1;

    [Flags]
    public enum Options
    {
        None = 0,
        Downgrade = 1,
        ReportNesting = 2,
        DisableMime = 4,
    }

    private enum CType { Other, Text, Message, Multipart }

    private enum SType { Other, Plain, Rfc822, Partial, ExternBody, Global }

    private const int Enc7Bit = 7, Enc8Bit = 8, EncBinary = 9, EncQp = 1, EncBase64 = 2;

    private static readonly (string Name, int Encoding, int Domain)[] Encodings =
    {
        ("7bit", Enc7Bit, Enc7Bit), ("8bit", Enc8Bit, Enc8Bit), ("binary", EncBinary, EncBinary),
        ("base64", EncBase64, Enc7Bit), ("quoted-printable", EncQp, Enc7Bit),
    };

    private static readonly string[] MimeHeaderNames =
    {
        "content-description", "content-disposition", "content-id", "content-transfer-encoding",
        "content-type", "mime-version",
    };

    // HeadOutFn - one complete header; isMime: a MIME header by name.
    public delegate void HeadOutFn(int headerClass, bool isMime, StringBuilder header);

    public delegate void BodyOutFn(int recordType, string text);

    private sealed record Boundary(CType DefCType, SType DefSType, string Text);

    private readonly Options options;
    private readonly int headerLimit;
    private readonly int boundLimit;
    private readonly int maxDepth;
    private readonly HeadOutFn headOut;
    private readonly BodyOutFn bodyOut;
    private readonly StringBuilder output = new();
    private readonly List<Boundary> stack = new();
    private int currState = HdrPrimary;
    private CType currCType = CType.Text;
    private SType currSType = SType.Plain;
    private int currEncoding = Enc7Bit;
    private int currDomain = Enc7Bit;
    private int prevRecType;
    private int nestingLevel = -1;
    private int errFlags;

    public SmtpMime(Options options, int headerLimit, int boundLimit, int maxDepth, HeadOutFn headOut, BodyOutFn bodyOut)
    {
        this.options = options;
        this.headerLimit = headerLimit;
        this.boundLimit = boundLimit;
        this.maxDepth = maxDepth;
        this.headOut = headOut;
        this.bodyOut = bodyOut;
    }

    private bool Downgrading => (options & Options.Downgrade) != 0;

    private void SetState(int state, CType ctype, SType stype, int encoding, int domain)
    {
        currState = state;
        currCType = ctype;
        currSType = stype;
        currEncoding = encoding;
        currDomain = domain;
    }

    // Update - one record (N, L or anything else for the end); the error flags.
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
                        prevRecType = recType;
                        return errFlags;
                    }
                    if (text.Length > 0 && (text[0] == ' ' || text[0] == '\t'))
                    {
                        if (output.Length < headerLimit)
                            output.Append('\n').Append(text);
                        prevRecType = recType;
                        return errFlags;
                    }
                }
                FlushHeader();
            }

            if (isText)
            {
                var labelLen = IsHeader(text);
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
            if (Downgrading && currDomain != Enc7Bit)
            {
                var enc = (currCType == CType.Message && currSType != SType.Global) || currCType == CType.Multipart
                    ? "7bit" : "quoted-printable";
                output.Clear().Append("Content-Transfer-Encoding: ").Append(enc);
                headOut(currState, false, output);
                output.Clear();
            }

            if (isText)
            {
                if (text.Length == 0)
                {
                    if (currCType == CType.Message)
                    {
                        if (currSType == SType.Rfc822
                            || (currSType == SType.Global && (!Downgrading || currDomain == Enc7Bit)))
                            SetState(HdrNested, CType.Text, SType.Plain, Enc7Bit, Enc7Bit);
                        else
                            currState = StateBody;
                    }
                    else if (currCType == CType.Multipart)
                    {
                        SetState(StateBody, CType.Other, SType.Other, Enc7Bit, Enc7Bit);
                    }
                    else
                    {
                        currState = StateBody;
                    }
                }
                else
                {
                    if (currState == HdrPrimary)
                        bodyOut(RecordType.Norm, "");
                    currState = StateBody;
                }
            }
            else
            {
                currState = StateBody;
            }
        }

        if (isText)
        {
            if (stack.Count > 0 && prevRecType != RecordType.Cont && text.Length > 2 && text[0] == '-' && text[1] == '-')
                MatchBoundary(text);
            if (Downgrading && currDomain != Enc7Bit)
                Downgrade(recType, text);
            else
                bodyOut(recType, text);
        }
        prevRecType = recType;
        return errFlags;
    }

    private const string HexChars = "0123456789ABCDEF";

    private void QpEncode(char ch)
    {
        output.Append('=').Append(HexChars[(ch >> 4) & 0xf]).Append(HexChars[ch & 0xf]);
    }

    // Downgrade - quoted-printable for one body record; a soft line
    // break once the pending line passes 72 characters, the trailing
    // blank of a hard line encoded.
    private void Downgrade(int recType, string text)
    {
        foreach (var ch in text)
        {
            if (output.Length > 72)
            {
                output.Append('=');
                bodyOut(RecordType.Norm, output.ToString());
                output.Clear();
            }
            if ((ch < 32 && ch != '\t') || ch == '=' || ch > 126)
                QpEncode(ch);
            else
                output.Append(ch);
        }
        if (recType == RecordType.Norm)
        {
            if (output.Length > 0 && output[^1] is ' ' or '\t')
            {
                var last = output[^1];
                output.Length--;
                QpEncode(last);
            }
            bodyOut(RecordType.Norm, output.ToString());
            output.Clear();
        }
    }

    private void FlushHeader()
    {
        var header = output.ToString();
        var name = HeaderName(header);
        var isMime = Array.IndexOf(MimeHeaderNames, name) >= 0;
        var isCte = name == "content-transfer-encoding";
        if ((options & Options.DisableMime) == 0)
        {
            if (name == "content-type")
                ContentType(header, name.Length);
            else if (isCte)
                ContentEncoding(header, name.Length);
        }
        if (!isCte || !Downgrading || currDomain == Enc7Bit)
            headOut(currState, isMime, output);
        prevRecType = 0;
        output.Clear();
    }

    // HeaderName - the lower-case name before the colon (blanks before it dropped).
    private static string HeaderName(string header)
    {
        var colon = header.IndexOf(':');
        if (colon < 0)
            return "";
        var end = colon;
        while (end > 0 && header[end - 1] is ' ' or '\t')
            end--;
        return header[..end].ToLowerInvariant();
    }

    // IsHeader - is_header_buf(): the label length, 0 when not a header.
    internal static int IsHeader(string text)
    {
        var len = 0;
        var state = 0;
        foreach (var c in text)
        {
            switch (c)
            {
                case ' ':
                case '\t':
                    if (state == 0)
                        return 0;
                    state = 2;
                    continue;
                case ':':
                    return state != 0 ? len : 0;
                default:
                    if (c == 0 || c > 126 || c < 33 || state == 2)
                        return 0;
                    state = 1;
                    len++;
                    continue;
            }
        }
        return 0;
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

    private const string Rfc2045TSpecials = "()<>@,;:\\\"/[]?=";

    private static bool Match((int Type, string Value) t, string s) =>
        t.Type == TokToken && string.Equals(t.Value, s, StringComparison.OrdinalIgnoreCase);

    private void ContentType(string header, int nameLen)
    {
        var pos = nameLen + 1;
        var tok = HeaderToken(header, ref pos, 3, Rfc2045TSpecials, ';');
        if (tok == null || tok.Count == 0)
        {
            currCType = CType.Other;
            return;
        }
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
            while ((more = HeaderToken(header, ref pos, 3, Rfc2045TSpecials, ';')) != null)
            {
                if (more.Count >= 3 && Match(more[0], "boundary") && more[1].Type == '=')
                {
                    if (nestingLevel > maxDepth)
                    {
                        if ((options & Options.ReportNesting) != 0)
                            errFlags |= ErrNesting;
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
        // Any other type leaves the current type alone, as the reference does.
    }

    private void ContentEncoding(string header, int nameLen)
    {
        var pos = nameLen + 1;
        var tok = HeaderToken(header, ref pos, 1, null, '\0');
        if (tok != null && tok.Count > 0 && tok[0].Type == TokToken)
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

    private const int TokToken = 256;
    private const int TokQString = 257;
    private const string Lex822Specials = "()<>@,;:\\\".[]";

    // HeaderToken - header_token(): up to max items of the next
    // terminator-delimited part; null after the last one.
    private static List<(int Type, string Value)>? HeaderToken(string s, ref int pos, int max, string? specials, char terminator)
    {
        specials ??= Lex822Specials;
        var tokens = new List<(int, string)>();
        var sb = new StringBuilder();
        var cp = pos;
        char ch;
        var atEnd = true;
        while (cp < s.Length && (ch = s[cp]) != 0 && (terminator != 0 || tokens.Count < max))
        {
            cp++;
            if (ch is ' ' or '\t' or '\r' or '\n')
                continue;
            if (ch == terminator)
            {
                atEnd = false;
                break;
            }
            if (ch == '(')
            {
                var level = 1;
                while (cp < s.Length && (ch = s[cp]) != 0)
                {
                    cp++;
                    if (ch == '(')
                        level++;
                    else if (ch == ')')
                    {
                        if (--level == 0)
                            break;
                    }
                    else if (ch == '\\')
                    {
                        if (cp >= s.Length)
                            break;
                        cp++;
                    }
                }
                continue;
            }
            if (ch == '"')
            {
                sb.Clear();
                while (cp < s.Length && (ch = s[cp]) != 0)
                {
                    cp++;
                    if (ch == '"')
                        break;
                    if (ch == '\n')
                    {
                        while (sb.Length > 0 && sb[^1] is ' ' or '\t' or '\r' or '\n')
                            sb.Length--;
                        continue;
                    }
                    if (ch == '\\')
                    {
                        if (cp >= s.Length)
                            break;
                        ch = s[cp++];
                    }
                    sb.Append(ch);
                }
                if (tokens.Count < max)
                    tokens.Add((TokQString, sb.ToString()));
                continue;
            }
            if (specials.Contains(ch, StringComparison.Ordinal) || (ch < 128 && char.IsControl(ch)))
            {
                if (tokens.Count < max)
                    tokens.Add((ch, ch.ToString()));
                continue;
            }
            sb.Clear().Append(ch);
            while (cp < s.Length && (ch = s[cp]) != 0 && ch is not (' ' or '\t' or '\r' or '\n')
                   && !(ch < 128 && char.IsControl(ch)) && !specials.Contains(ch, StringComparison.Ordinal))
            {
                cp++;
                sb.Append(ch);
            }
            if (tokens.Count < max)
                tokens.Add((TokToken, sb.ToString()));
        }
        if (tokens.Count == 0 && atEnd && (cp >= s.Length || s[cp] == 0))
            return null;
        pos = cp;
        return tokens;
    }
}
