// NAME
//	RegexpSupport - pieces shared by the regexp:, pcre: and cidr: tables
// POSTFIX
//	src/util/dict_stream.c, src/util/extpar.c, src/util/mac_parse.c
//	(prescan callers), src/util/dict_surrogate.c
// DESCRIPTION
//	Rule files come from disk or inline ("{{rule}, {rule}}", one rule
//	per braced item). Keys and values travel as strings that carry
//	bytes (see ByteText); pattern engines want the bytes back, so the
//	encoder here inverts ByteText.Decode exactly. Replacement text with
//	$number references is compiled once into literal and group parts.
using System;
using System.Collections.Generic;
using System.IO;
using System.Runtime.InteropServices;
using System.Text;
using Postfix.Util;

namespace Postfix.Global.Dict;

public static partial class RegexpSupport
{
    private static readonly UTF8Encoding StrictUtf8 = new(false, true);

    private static readonly char[] CommaSpace = { ',', ' ', '\t', '\r', '\n' };

    // Encode - the bytes behind a table string. Text is UTF-8; a lone
    // low surrogate U+DC80..U+DCFF stands for the raw byte 0x80..0xFF
    // (the "surrogateescape" convention, for bytes that are not UTF-8).
    // A string of Latin-1 characters is ambiguous under ByteText's
    // Latin-1 fallback ("\u00e9" may have been E9 or C3 A9); UTF-8 wins,
    // so that UTF-8 keys match UTF-8 patterns as they do in Postfix.
    public static byte[] Encode(string text)
    {
        var buf = Array.Empty<byte>();
        var n = Encode(text, ref buf, false);
        return n == buf.Length ? buf : buf.AsSpan(0, n).ToArray();
    }

    // Encode - into buf (grown as needed), optionally NUL-terminated; the byte count.
    public static int Encode(string text, ref byte[] buf, bool nul)
    {
        var ascii = true;
        var escapes = false;
        foreach (var c in text)
        {
            if (c >= 0x80)
            {
                ascii = false;
                if (c is >= '\uDC80' and <= '\uDCFF')
                    escapes = true;
            }
        }
        if (ascii)
        {
            if (buf.Length < text.Length + 1)
                buf = new byte[nul ? Math.Max(text.Length + 1, buf.Length * 2) : text.Length];
            for (var i = 0; i < text.Length; i++)
                buf[i] = (byte)text[i];
            if (nul)
                buf[text.Length] = 0;
            return text.Length;
        }
        var max = Encoding.UTF8.GetMaxByteCount(text.Length) + 1;
        if (buf.Length < max)
            buf = new byte[Math.Max(max, buf.Length * 2)];
        int written;
        if (!escapes)
        {
            written = Encoding.UTF8.GetBytes(text, buf);
        }
        else
        {
            written = 0;
            for (var i = 0; i < text.Length; i++)
            {
                var c = text[i];
                if (c is >= '\uDC80' and <= '\uDCFF' && (i == 0 || !char.IsHighSurrogate(text[i - 1])))
                {
                    buf[written++] = (byte)(c - 0xDC00);
                }
                else
                {
                    var len = char.IsHighSurrogate(c) && i + 1 < text.Length ? 2 : 1;
                    written += Encoding.UTF8.GetBytes(text.AsSpan(i, len), buf.AsSpan(written));
                    i += len - 1;
                }
            }
        }
        if (nul)
            buf[written] = 0;
        return written;
    }

    // Decode - bytes to a table string (DictText.Decode, the inverse of Encode).
    public static string Decode(ReadOnlySpan<byte> bytes) => DictText.Decode(bytes);

    // IsSpace - C isspace() in the C locale.
    public static bool IsSpace(char c) => c is ' ' or '\t' or '\n' or '\r' or '\f' or '\v';

    // IsAlnum - C isalnum() in the C locale.
    public static bool IsAlnum(char c) => c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9');

    // TrimBlanks - text without trailing whitespace (trimblanks()).
    public static string TrimBlanks(string s)
    {
        var end = s.Length;
        while (end > 0 && IsSpace(s[end - 1]))
            end--;
        return end == s.Length ? s : s[..end];
    }

    // FoldAscii - lowercase() in the C locale: ASCII letters only.
    public static string FoldAscii(string s)
    {
        foreach (var c in s)
        {
            if (c is >= 'A' and <= 'Z')
                return string.Create(s.Length, s, static (dst, src) =>
                {
                    for (var i = 0; i < src.Length; i++)
                        dst[i] = src[i] is >= 'A' and <= 'Z' ? (char)(src[i] + 32) : src[i];
                });
        }
        return s;
    }

    // Rules - logical lines of a rule file (readllines()), as table strings.
    public sealed class Rules
    {
        private readonly DictLineReader reader;

        public Rules(byte[] data, string path)
        {
            reader = new DictLineReader(new MemoryStream(data, false), path);
        }

        // ReadError - why reading stopped early (strerror text), or null.
        public string? ReadError { get; init; }

        // Next - the next logical line and the number of its first line; null at the end.
        public string? Next(out int lineNo) =>
            reader.ReadLogical(out var text, out lineNo) ? DictText.Decode(text) : null;
    }

    // OpenRules - the rule text of a pattern table (dict_stream_open);
    // null and the reason when it cannot be had.
    public static Rules? OpenRules(string type, string name, out long ownerUid, out string? why)
    {
        ownerUid = 0;
        why = null;
        if (name.Length > 0 && name[0] == '{')
        {
            why = InlineToMultiline(name, out var text);
            if (why != null)
            {
                why = $"{type} map: {why}";
                return null;
            }
            ownerUid = Postfix.Util.Sys.GetUid();
            return new Rules(Encode(text), name);
        }
        // open(2) of a directory succeeds; the first read fails, which
        // reads as an empty table.
        if (Directory.Exists(name))
        {
            ownerUid = FileOwner(name);
            return new Rules(Array.Empty<byte>(), name) { ReadError = Postfix.Util.Sys.StrError(Postfix.Util.Sys.EISDIR) };
        }
        byte[] data;
        try
        {
            data = File.ReadAllBytes(name);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            why = $"open {name}: {Postfix.Util.Sys.StrError(Postfix.Util.Sys.ErrnoOf(e))}";
            return null;
        }
        ownerUid = FileOwner(name);
        return new Rules(data, name);
    }

    // InlineToMultiline - "{{a b}, {c d}}" as "a b\nc d\n"; an error text or null.
    public static string? InlineToMultiline(string spec, out string text)
    {
        var sb = new StringBuilder();
        text = "";
        var err = ExtPar(spec, '{', '}', false, out var inner);
        if (err != null)
            return err;
        var pos = 0;
        while (NextToken(inner, ref pos, ", \t\r\n", out var tok))
        {
            err = ExtPar(tok, '{', '}', true, out var rule);
            if (err != null)
                return err;
            sb.Append(rule).Append('\n');
        }
        text = sb.ToString();
        return null;
    }

    // ExtPar - strip one level of parens (extpar()); an error text or null.
    public static string? ExtPar(string s, char open, char close, bool strip, out string inner)
    {
        string? err = null;
        if (s.Length == 0 || s[0] != open)
        {
            err = $"no '{open}' at start of text in \"{s}\"";
            inner = s;
        }
        else
        {
            var len = BalPar(s, open, close);
            if (len == 0)
            {
                err = $"missing '{close}' in \"{s}\"";
                inner = s[1..];
            }
            else
            {
                if (len != s.Length)
                    err = $"syntax error after '{close}' in \"{s}\"";
                inner = s.Substring(1, len - 2);
            }
        }
        if (strip)
            inner = TrimBlanks(inner).TrimStart(' ', '\t', '\n', '\r', '\f', '\v');
        return err;
    }

    // BalPar - length of the balanced text at the start of s, 0 if none.
    public static int BalPar(string s, char open, char close)
    {
        if (s.Length == 0 || s[0] != open)
            return 0;
        var level = 1;
        for (var i = 1; i < s.Length; i++)
        {
            if (s[i] == close)
            {
                if (--level == 0)
                    return i + 1;
            }
            else if (s[i] == open)
            {
                level++;
            }
        }
        return 0;
    }

    // NextToken - mystrtokq() with {} grouping.
    public static bool NextToken(string s, ref int pos, string sep, out string token)
    {
        while (pos < s.Length && sep.Contains(s[pos], StringComparison.Ordinal))
            pos++;
        if (pos >= s.Length)
        {
            token = "";
            return false;
        }
        var start = pos;
        var level = 0;
        for (; pos < s.Length; pos++)
        {
            var ch = s[pos];
            if (ch == '{')
            {
                level++;
            }
            else if (level > 0 && ch == '}')
            {
                level--;
            }
            else if (level == 0 && sep.Contains(ch, StringComparison.Ordinal))
            {
                token = s[start..pos];
                pos++;
                return true;
            }
        }
        token = s[start..];
        return true;
    }

    // FileToBase64 - the files named in value (comma/space separated),
    // joined by newlines, in base64 (dict_file_to_b64(), postmap -F);
    // null and the reason on failure.
    public static string? FileToBase64(string value, out string? why)
    {
        why = null;
        var names = value.Split(CommaSpace, StringSplitOptions.RemoveEmptyEntries);
        if (names.Length == 0)
        {
            why = $"empty pathname list: >>{value}<<'";
            return null;
        }
        var data = new List<byte>();
        for (var i = 0; i < names.Length; i++)
        {
            try
            {
                data.AddRange(File.ReadAllBytes(names[i]));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                why = $"open {names[i]}: {Postfix.Util.Sys.StrError(Postfix.Util.Sys.ErrnoOf(e))}";
                return null;
            }
            if (i + 1 < names.Length)
                data.Add((byte)'\n');
        }
        return Convert.ToBase64String(data.ToArray());
    }

    // Surrogate - report an open failure (dict_surrogate()).
    public static Dict Surrogate(string type, string name, DictOpenFlags openFlags, DictFlags dictFlags, string reason) =>
        DictSurrogate.Create(type, name, openFlags, dictFlags, reason);

    // FileOwner - st_uid of a file (0 when it cannot be had).
    public static unsafe long FileOwner(string path)
    {
        var st = stackalloc byte[256];
        var bytes = Encoding.UTF8.GetBytes(path + "\0");
        fixed (byte* p = bytes)
        {
            if (Stat(p, st) != 0)
                return 0;
        }
        var offset = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 28 : 24;
        return *(uint*)(st + offset);
    }

    [LibraryImport("libc", EntryPoint = "stat")]
    private static unsafe partial int Stat(byte* path, byte* buf);

    // Template - replacement text compiled for $number substitution.
    public sealed class Template
    {
        private readonly byte[][] literals;   // literal before part i (last: trailing)
        private readonly int[] groups;        // group number of part i

        private Template(byte[][] literals, int[] groups, int maxSub)
        {
            this.literals = literals;
            this.groups = groups;
            MaxSub = maxSub;
        }

        // MaxSub - the largest $number used.
        public int MaxSub { get; }

        // Literal - the replacement when it has no $number ($$ already $).
        public string Literal { get; private set; } = "";

        // Compile - prescan the replacement as dict_regexp_prescan() does;
        // null after warning "TYPE map NAME, line N: ..." on bad syntax.
        public static Template? Compile(string type, string mapName, int lineNo, string text)
        {
            var parts = new List<(bool IsVar, string Text)>();
            var maxSub = 0;
            string? literal = null;
            var status = MacExpand.Parse(text, (isVar, part) =>
            {
                if (isVar)
                {
                    literal = null;
                    if (part.Length == 0 || !AllDigits(part))
                    {
                        Msg.Warn($"{type} map {mapName}, line {lineNo}: non-numeric replacement index \"{part}\"");
                        return MacExpand.ParseError;
                    }
                    var n = AtoI(part);
                    if (n < 1)
                    {
                        var what = type == "regexp" ? "out-of-range" : "out of range";
                        Msg.Warn($"{type} map {mapName}, line {lineNo}: {what} replacement index \"{part}\"");
                        return MacExpand.ParseError;
                    }
                    if (n > maxSub)
                        maxSub = n;
                    parts.Add((true, n.ToString(System.Globalization.CultureInfo.InvariantCulture)));
                }
                else
                {
                    if (maxSub == 0)
                        literal = part;
                    parts.Add((false, part));
                }
                return 0;
            });
            if ((status & MacExpand.ParseError) != 0)
            {
                Msg.Warn($"{type} map {mapName}, line {lineNo}: bad replacement syntax: skipping this rule");
                return null;
            }
            var lits = new List<byte[]>();
            var grps = new List<int>();
            var pending = new StringBuilder();
            foreach (var (isVar, part) in parts)
            {
                if (isVar)
                {
                    lits.Add(Encode(pending.ToString()));
                    pending.Clear();
                    grps.Add(int.Parse(part, System.Globalization.CultureInfo.InvariantCulture));
                }
                else
                {
                    pending.Append(part);
                }
            }
            lits.Add(Encode(pending.ToString()));
            return new Template(lits.ToArray(), grps.ToArray(), maxSub)
            {
                Literal = maxSub == 0 ? (literal ?? text) : "",
            };
        }

        // Expand - the replacement with $n taken from subject[offsets[2n]..offsets[2n+1]]
        // (offsets[2n] < 0: group not set; empty or unset groups expand to nothing).
        public string Expand(ReadOnlySpan<byte> subject, ReadOnlySpan<int> offsets)
        {
            var size = 0;
            foreach (var l in literals)
                size += l.Length;
            for (var i = 0; i < groups.Length; i++)
            {
                var g = groups[i];
                var start = offsets[2 * g];
                var end = offsets[2 * g + 1];
                if (start >= 0 && end > start)
                    size += end - start;
            }
            Span<byte> small = stackalloc byte[256];
            var buf = size <= small.Length ? small : new byte[size];
            var n = 0;
            for (var i = 0; i < groups.Length; i++)
            {
                literals[i].CopyTo(buf[n..]);
                n += literals[i].Length;
                var g = groups[i];
                var start = offsets[2 * g];
                var end = offsets[2 * g + 1];
                if (start >= 0 && end > start)
                {
                    subject[start..end].CopyTo(buf[n..]);
                    n += end - start;
                }
            }
            literals[^1].CopyTo(buf[n..]);
            n += literals[^1].Length;
            return Decode(buf[..n]);
        }

        private static bool AllDigits(string s)
        {
            foreach (var c in s)
            {
                if (c is < '0' or > '9')
                    return false;
            }
            return true;
        }

        // AtoI - atoi() of an all-digit string, saturating.
        private static int AtoI(string s)
        {
            long v = 0;
            foreach (var c in s)
            {
                v = v * 10 + (c - '0');
                if (v > int.MaxValue)
                    return int.MaxValue;
            }
            return (int)v;
        }
    }
}
