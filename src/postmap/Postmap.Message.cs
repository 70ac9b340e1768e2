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
//	MIME structure (-m: headers of attachments) is not parsed here:
//	attachment headers are seen as body lines.
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

    private static bool ScanMessage(Stream input, List<string> maps, Dict?[] dicts, int postmapFlags, DictFlags dictFlags)
    {
        var st = new KeyState { Maps = maps, Dicts = dicts, DictFlags = dictFlags };
        var headers = (postmapFlags & FlagHeaderKey) != 0;
        var body = (postmapFlags & FlagBodyKey) != 0;
        var fullKey = (postmapFlags & (FlagBodyKey | FlagMimeKey)) != 0;
        var lines = new StdinLines(input);
        var header = new StringBuilder();
        var inHeaders = true;

        void FlushHeader()
        {
            if (header.Length > 0)
            {
                if (headers)
                    Lookup(st, header.ToString());
                header.Clear();
            }
        }

        void HeadEnd()
        {
            if (!fullKey)
                st.HeaderDone = true;
        }

        while (!st.HeaderDone && lines.Next(out var raw))
        {
            var text = DictText.Decode(raw);
            if (inHeaders)
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
                HeadEnd();
                inHeaders = false;
                if (st.HeaderDone)
                    break;
                if (text.Length > 0 && body)
                    Lookup(st, "");
            }
            if (body)
                Lookup(st, text);
        }
        if (inHeaders)
        {
            FlushHeader();
            HeadEnd();
        }
        return st.Found;
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
                    EmptyResult(d.Type, d.Name, key);
                ByteOut.Line(key, value);
                st.Found = true;
                return;
            }
            if (d.Error != DictError.None)
                Msg.Fatal($"table {d.Type}:{d.Name}: query error: {ErrnoText(d)}");
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
