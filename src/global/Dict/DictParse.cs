// NAME
//	DictParse - the small parsers behind "type:{...}" table names
// POSTFIX
//	src/util/balpar.c, src/util/mystrtok.c (mystrtokq), src/util/extpar.c,
//	src/util/split_qnameval.c, src/util/argv_splitq.c
// DESCRIPTION
//	Braces group text that may contain separators; the functions
//	return the same errors as Postfix's so that messages match.
using System;
using System.Collections.Generic;

namespace Postfix.Global.Dict;

public static class DictParse
{
    public const string CommaSpace = ", \t\r\n";

    // IsSpace - isspace() in the C locale.
    public static bool IsSpace(char c) => c is ' ' or '\t' or '\n' or '\r' or '\f' or '\v';

    // BalPar - length of the balanced "{...}" at the start, or 0.
    public static int BalPar(string s, int start = 0, char open = '{', char close = '}')
    {
        if (start >= s.Length || s[start] != open)
            return 0;
        var level = 1;
        for (var i = start + 1; i < s.Length; i++)
        {
            if (s[i] == close)
            {
                if (--level == 0)
                    return i - start + 1;
            }
            else if (s[i] == open)
                level++;
        }
        return 0;
    }

    // SplitQ - argv_splitq(): tokens separated by sep, braces kept whole.
    public static List<string> SplitQ(string s, string sep = CommaSpace)
    {
        var list = new List<string>();
        var pos = 0;
        string? tok;
        while ((tok = TokQ(s, ref pos, sep)) != null)
            list.Add(tok);
        return list;
    }

    // TokQ - mystrtokq(): next token, or null at the end.
    public static string? TokQ(string s, ref int pos, string sep = CommaSpace)
    {
        while (pos < s.Length && sep.IndexOf(s[pos]) >= 0)
            pos++;
        if (pos >= s.Length)
            return null;
        var start = pos;
        var level = 0;
        for (; pos < s.Length; pos++)
        {
            var c = s[pos];
            if (c == '{')
                level++;
            else if (level > 0 && c == '}')
                level--;
            else if (level == 0 && sep.IndexOf(c) >= 0)
            {
                var tok = s[start..pos];
                pos++;
                return tok;
            }
        }
        return s[start..pos];
    }

    // ExtPar - extpar() with EXTPAR_FLAG_STRIP: the text inside "{...}", or an error.
    public static string? ExtPar(ref string s)
    {
        string? err = null;
        int len;
        var text = s;
        if (text.Length == 0 || text[0] != '{')
        {
            err = $"no '{{' at start of text in \"{text}\"";
            len = text.Length;
            s = TrimSpace(text);
            return err;
        }
        if ((len = BalPar(text)) == 0)
        {
            err = $"missing '}}' in \"{text}\"";
            s = TrimSpace(text[1..]);
            return err;
        }
        if (len != text.Length)
            err = $"syntax error after '}}' in \"{text}\"";
        s = TrimSpace(text.Substring(1, len - 2));
        return err;
    }

    // TrimSpace - strip leading and trailing C-locale white space.
    public static string TrimSpace(string s)
    {
        var a = 0;
        var b = s.Length;
        while (a < b && IsSpace(s[a]))
            a++;
        while (b > a && IsSpace(s[b - 1]))
            b--;
        return a == 0 && b == s.Length ? s : s[a..b];
    }

    // SplitQNameVal - split_qnameval(): "key = value" with a quotable key.
    public static string? SplitQNameVal(string buf, out string key, out string value)
    {
        key = value = "";
        var k = 0;
        while (k < buf.Length && IsSpace(buf[k]))
            k++;
        if (k == buf.Length)
            return "no key found; expected format: key = value";
        var inQuotes = false;
        var end = k;
        for (; end < buf.Length; end++)
        {
            var c = buf[end];
            if (c == '\\')
            {
                if (++end >= buf.Length)
                    break;
            }
            else if (IsSpace(c) || c == '=')
            {
                if (!inQuotes)
                    break;
            }
            else if (c == '"')
                inQuotes = !inQuotes;
        }
        if (inQuotes)
            return "unbalanced '\"'";
        if (end > buf.Length)
            end = buf.Length;
        var v = end;
        while (v < buf.Length && IsSpace(buf[v]))
            v++;
        if (v >= buf.Length || buf[v] != '=')
            return "missing '=' after attribute name";
        key = buf[k..end];
        v++;
        while (v < buf.Length && IsSpace(buf[v]))
            v++;
        value = TrimSpace(buf[v..]);
        return null;
    }

    // SplitKeyValue - postmap/texthash line syntax: key ends at the first
    // unquoted white space; value is the rest, trimmed. False when the
    // quotes do not balance.
    public static bool SplitKeyValue(string line, out string key, out string value)
    {
        var inQuotes = false;
        var i = 0;
        for (; i < line.Length; i++)
        {
            var c = line[i];
            if (c == '\\')
            {
                if (++i >= line.Length)
                    break;
            }
            else if (IsSpace(c))
            {
                if (!inQuotes)
                    break;
            }
            else if (c == '"')
                inQuotes = !inQuotes;
        }
        if (i > line.Length)
            i = line.Length;
        key = line[..i];
        value = i < line.Length ? TrimSpace(line[(i + 1)..]) : "";
        return !inQuotes;
    }

    // SplitKeyValue - the same on bytes: key = line[..keyEnd], value =
    // line[valueStart..valueEnd]. False when the quotes do not balance.
    public static bool SplitKeyValue(ReadOnlySpan<byte> line, out int keyEnd, out int valueStart, out int valueEnd)
    {
        var inQuotes = false;
        var i = 0;
        for (; i < line.Length; i++)
        {
            var c = line[i];
            if (c == (byte)'\\')
            {
                if (++i >= line.Length)
                    break;
            }
            else if (IsSpace((char)c))
            {
                if (!inQuotes)
                    break;
            }
            else if (c == (byte)'"')
                inQuotes = !inQuotes;
        }
        if (i > line.Length)
            i = line.Length;
        keyEnd = i;
        var v = i < line.Length ? i + 1 : i;
        while (v < line.Length && IsSpace((char)line[v]))
            v++;
        var e = line.Length;
        while (e > v && IsSpace((char)line[e - 1]))
            e--;
        valueStart = v;
        valueEnd = e;
        return !inQuotes;
    }
}
