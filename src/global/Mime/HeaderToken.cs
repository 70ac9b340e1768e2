// NAME
//	HeaderToken - the tokens of a structured header value
// POSTFIX
//	src/global/header_token.c (our own code)
// DESCRIPTION
//	Next() gives up to max tokens of the next terminator-delimited part
//	of a header value (comments skipped, quoted strings unquoted,
//	specials as one-character tokens), or null after the last part.
using System;
using System.Collections.Generic;
using System.Text;

namespace Postfix.Global.Mime;

public static class HeaderToken
{
    public const int Token = 256;
    public const int QString = 257;
    private const string Lex822Specials = "()<>@,;:\\\".[]";

    // Next - header_token(): up to max items of the next
    // terminator-delimited part; null after the last one.
    public static List<(int Type, string Value)>? Next(string s, ref int pos, int max, string? specials, char terminator)
    {
        specials ??= Lex822Specials;
        var tokens = new List<(int, string)>();
        var sb = new StringBuilder();
        var cp = pos;
        char ch = '\0';
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
                    tokens.Add((QString, sb.ToString()));
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
                tokens.Add((Token, sb.ToString()));
        }
        if (tokens.Count == 0 && atEnd && (cp >= s.Length || s[cp] == 0))
            return null;
        pos = cp;
        return tokens;
    }
}
