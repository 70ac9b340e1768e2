// NAME
//	Postmap.Message - keys from a message on stdin (-b, -h, -m)
// POSTFIX
//	src/postmap/postmap.c (postmap_body, postmap_header, postmap_head_end),
//	src/global/mime_state.c, src/global/is_header.c
// DESCRIPTION
//	The message is split as the cleanup server splits it for
//	header_checks and body_checks: a header is a "name:" line plus its
//	continuation lines (joined with newlines); the primary headers end
//	at the first line that is not a header (an empty line, or text,
//	which then counts as body after an empty body line). With -h the
//	headers are keys, with -b the body lines; with -h alone reading
//	stops after the primary headers. Each key is looked up in the
//	tables in order; the first match prints "key<TAB>value".
//	With -m the MIME structure is followed: the headers of multipart
//	parts and of attached messages (message/rfc822) are headers too,
//	and boundary lines are body lines.
using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using Postfix.Global.Dict;
using Postfix.Util;

namespace Postfix.Commands.Postmap;

internal static partial class Postmap
{
    private sealed class KeyState
    {
        public required List<string> Maps;
        public required Dict?[] Dicts;
        public DictFlags DictFlags;
        public bool HeaderDone;
        public bool Found;
    }

    private enum MimeState
    {
        Primary,
        Multipart,
        Nested,
        Body,
    }

    private enum CType
    {
        Text,
        Message,
        Multipart,
        Other,
    }

    private sealed record Boundary(string Text, CType DefType, bool DefRfc822);

    private static bool ScanMessage(Stream input, List<string> maps, Dict?[] dicts, int postmapFlags, DictFlags dictFlags)
    {
        var st = new KeyState { Maps = maps, Dicts = dicts, DictFlags = dictFlags };
        var headers = (postmapFlags & FlagHeaderKey) != 0;
        var body = (postmapFlags & FlagBodyKey) != 0;
        var mime = (postmapFlags & FlagMimeKey) != 0;
        var fullKey = (postmapFlags & (FlagBodyKey | FlagMimeKey)) != 0;
        var lines = new StdinLines(input);
        var header = new StringBuilder();
        var state = MimeState.Primary;
        var ctype = CType.Text;
        var rfc822 = false;
        var stack = new List<Boundary>();

        void FlushHeader()
        {
            if (header.Length == 0)
                return;
            var text = header.ToString();
            header.Clear();
            if (mime && text.StartsWith("Content-Type:", StringComparison.OrdinalIgnoreCase))
                ContentType(text["Content-Type:".Length..], ref ctype, ref rfc822, stack);
            if (headers)
                Lookup(st, text);
        }

        void BodyLine(string text)
        {
            if (stack.Count > 0 && text.Length > 2 && text[0] == '-' && text[1] == '-')
            {
                for (var i = stack.Count - 1; i >= 0; i--)
                {
                    var b = stack[i].Text;
                    if (string.CompareOrdinal(text, 2, b, 0, b.Length) != 0 || text.Length < 2 + b.Length)
                        continue;
                    stack.RemoveRange(i + 1, stack.Count - i - 1);
                    if (text.Length >= 4 + b.Length && string.CompareOrdinal(text, 2 + b.Length, "--", 0, 2) == 0)
                    {
                        stack.RemoveAt(i);
                        state = MimeState.Body;
                        ctype = CType.Other;
                        rfc822 = false;
                    }
                    else
                    {
                        state = MimeState.Multipart;
                        ctype = stack[i].DefType;
                        rfc822 = stack[i].DefRfc822;
                    }
                    break;
                }
            }
            if (body)
                Lookup(st, text);
        }

        while (!st.HeaderDone && lines.Next(out var raw))
        {
            var text = DictText.Decode(raw);
            if (state != MimeState.Body)
            {
                if (header.Length > 0 && text.Length > 0 && (text[0] == ' ' || text[0] == '\t'))
                {
                    header.Append('\n').Append(text);
                    continue;
                }
                FlushHeader();
                var hlen = IsHeader(text);
                if (hlen > 0)
                {
                    var rest = hlen;
                    while (rest < text.Length && (text[rest] == ' ' || text[rest] == '\t'))
                        rest++;
                    // "name :" becomes "name:", as mime_state does.
                    header.Append(text, 0, hlen).Append(text, rest, text.Length - rest);
                    continue;
                }
                // The end of a header block.
                if (state == MimeState.Primary && !fullKey)
                {
                    st.HeaderDone = true;
                    break;
                }
                if (text.Length == 0)
                {
                    if (ctype == CType.Message && rfc822)
                    {
                        state = MimeState.Nested;
                        ctype = CType.Text;
                        rfc822 = false;
                    }
                    else if (ctype == CType.Multipart)
                    {
                        state = MimeState.Body;
                        ctype = CType.Other;
                    }
                    else
                        state = MimeState.Body;
                }
                else
                {
                    // Not a header: the body starts (after an implied empty line).
                    if (state == MimeState.Primary)
                        BodyLine("");
                    state = MimeState.Body;
                }
                if (state != MimeState.Body)
                {
                    BodyLine(text);
                    continue;
                }
            }
            BodyLine(text);
        }
        if (state != MimeState.Body)
            FlushHeader();
        return st.Found;
    }

    // ContentType - the parts of a Content-Type value that matter here:
    // message/rfc822 (nested headers) and multipart boundaries.
    private static void ContentType(string value, ref CType ctype, ref bool rfc822, List<Boundary> stack)
    {
        var parts = value.Split(';');
        var type = parts[0].Trim();
        var slash = type.IndexOf('/');
        var major = (slash < 0 ? type : type[..slash]).Trim();
        var minor = slash < 0 ? "" : type[(slash + 1)..].Trim();
        rfc822 = false;
        if (major.Equals("text", StringComparison.OrdinalIgnoreCase))
            ctype = CType.Text;
        else if (major.Equals("message", StringComparison.OrdinalIgnoreCase))
        {
            ctype = CType.Message;
            rfc822 = minor.Equals("rfc822", StringComparison.OrdinalIgnoreCase);
        }
        else if (major.Equals("multipart", StringComparison.OrdinalIgnoreCase))
        {
            ctype = CType.Multipart;
            var digest = minor.Equals("digest", StringComparison.OrdinalIgnoreCase);
            for (var i = 1; i < parts.Length; i++)
            {
                var eq = parts[i].IndexOf('=');
                if (eq < 0 || !parts[i][..eq].Trim().Equals("boundary", StringComparison.OrdinalIgnoreCase))
                    continue;
                var b = parts[i][(eq + 1)..].Trim();
                if (b.Length >= 2 && b[0] == '"' && b[^1] == '"')
                    b = b[1..^1];
                if (b.Length > 0 && stack.Count < 20)
                    stack.Add(new Boundary(b, digest ? CType.Message : CType.Text, digest));
            }
        }
        else
            ctype = CType.Other;
    }

    // Lookup - postmap_body(): first table with the key wins.
    private static void Lookup(KeyState st, string key)
    {
        for (var n = 0; n < st.Maps.Count; n++)
        {
            var d = st.Dicts[n] ??= OpenForQuery(st.Maps[n], st.DictFlags);
            var value = d.Lookup(key);
            if (value != null)
            {
                if (value.Length == 0)
                    TableMessages.EmptyResult(d.Type, d.Name, key);
                ByteOut.Line(key, value);
                st.Found = true;
                return;
            }
            if (d.Error != DictError.None)
                Msg.Fatal($"table {d.Type}:{d.Name}: query error: {TableMessages.ErrnoText(d)}");
        }
    }

    // IsHeader - is_header_buf(): length of the header name when the text
    // starts with "name:" (spaces allowed before the colon), else 0.
    internal static int IsHeader(string s)
    {
        const int Init = 0, InChar = 1, InCharSpace = 2;
        var state = Init;
        var len = 0;
        foreach (var c in s)
        {
            switch (c)
            {
                case ' ':
                case '\t':
                    if (state == InChar)
                        state = InCharSpace;
                    if (state == InCharSpace)
                        continue;
                    return 0;
                case ':':
                    return state is InChar or InCharSpace ? len : 0;
                default:
                    if (c == 0 || c > 127 || char.IsControl(c))
                        return 0;
                    if (state == Init)
                        state = InChar;
                    if (state == InChar)
                    {
                        len++;
                        continue;
                    }
                    return 0;
            }
        }
        return 0;
    }
}
