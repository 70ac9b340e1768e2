// NAME
//	BalPar - balanced {} prefixes and their contents
// POSTFIX
//	src/util/balpar.c, src/util/extpar.c
using System;

namespace Postfix.Util;

public static class BalPar
{
    // Length - length of the "{...}" (for parens "{}") that starts s, or 0
    // when s does not start with the opening character or is unbalanced.
    public static int Length(ReadOnlySpan<char> s, char open = '{', char close = '}')
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

    // Extract - extpar() for text that starts with '{': the text inside the
    // braces; error gets Postfix's complaint when they don't balance or
    // text follows the closing brace.
    public static string Extract(string text, out string? error)
    {
        error = null;
        var len = Length(text);
        if (len == 0)
        {
            error = $"missing '}}' in \"{text}\"";
            return text[1..];
        }
        if (len != text.Length)
            error = $"syntax error after '}}' in \"{text}\"";
        return text.Substring(1, len - 2);
    }
}
