// NAME
//	Tok822 - RFC 822 tokens of an alias entry
// POSTFIX
//	src/global/tok822_parse.c (tok822_scan, tok822_internalize,
//	tok822_externalize), src/global/tok822_find.c
// DESCRIPTION
//	A flat token list (no address grouping, as tok822_scan() without a
//	tail pointer): atoms, quoted strings, comments (kept with their
//	parentheses), domain literals and one-character operators. Internal
//	form drops quotes; external form quotes again and spaces the list
//	the way Postfix writes it ("a, b", "Name <addr>").
using System.Collections.Generic;
using System.Text;

namespace Postfix.Commands.Postalias;

internal static class Tok822
{
    public enum TokType
    {
        Op,
        Atom,
        QString,
        Comment,
        DomLit,
    }

    // Tok - one token: an operator character, or text of the given type.
    public readonly record struct Tok(TokType Type, char Op, string Text);

    // Operator characters: "|%!" and the RFC 822 specials.
    private const string OpChars = "|%!()<>@,;:\\\".[]";

    private static bool IsSpace(char c) => c is ' ' or '\t' or '\r' or '\n';

    // Scan - tok822_scan().
    public static List<Tok> Scan(string s)
    {
        var list = new List<Tok>();
        var i = 0;
        while (i < s.Length)
        {
            var c = s[i++];
            if (IsSpace(c))
                continue;
            if (c == '(')
                list.Add(new Tok(TokType.Comment, '\0', Comment(s, ref i)));
            else if (c == '[')
                list.Add(new Tok(TokType.DomLit, '\0', Collect(s, ref i, ']', true)));
            else if (c == '"')
                list.Add(new Tok(TokType.QString, '\0', Collect(s, ref i, '"', true)));
            else if (c != '\\' && OpChars.IndexOf(c) >= 0)
                list.Add(new Tok(TokType.Op, c, c.ToString()));
            else
            {
                i--;
                var text = Collect(s, ref i, '\0', false);
                list.Add(new Tok(QuoteAtom(text) ? TokType.QString : TokType.Atom, '\0', text));
            }
        }
        return list;
    }

    // Collect - COLLECT(): backslash escapes the next character; white
    // space inside becomes a plain space. With a stop character, stop there
    // (and skip it); otherwise stop at white space or an operator.
    private static string Collect(string s, ref int i, char stop, bool skipLast)
    {
        var sb = new StringBuilder();
        while (i < s.Length)
        {
            var c = s[i];
            if (c == '\\')
            {
                if (++i >= s.Length)
                    break;
                c = s[i];
            }
            else if (skipLast ? c == stop : IsSpace(c) || OpChars.IndexOf(c) >= 0)
                break;
            sb.Append(IsSpace(c) ? ' ' : c);
            i++;
        }
        if (skipLast && i < s.Length)
            i++;
        return sb.ToString();
    }

    // Comment - tok822_comment(): kept in external form, nesting allowed.
    private static string Comment(string s, ref int i)
    {
        var sb = new StringBuilder("(");
        var level = 1;
        while (i < s.Length)
        {
            var c = s[i++];
            sb.Append(c);
            if (c == '(')
                level++;
            else if (c == ')')
            {
                if (--level == 0)
                    break;
            }
            else if (c == '\\')
            {
                if (i >= s.Length)
                    break;
                sb.Append(s[i++]);
            }
        }
        return sb.ToString();
    }

    // QuoteAtom - an atom that needs quotes becomes a quoted string.
    private static bool QuoteAtom(string text)
    {
        foreach (var c in text)
        {
            if (c == ' ' || char.IsControl(c) || OpChars.IndexOf(c) >= 0)
                return true;
        }
        return false;
    }

    private static bool NonOperator(Tok t) => t.Type != TokType.Op;

    // AppendSpace - tok822_append_space().
    private static bool AppendSpace(List<Tok> toks, int i)
    {
        if (i + 1 >= toks.Count)
            return false;
        var t = toks[i];
        var next = toks[i + 1];
        if (t.Type == TokType.Op && t.Op == ',' || next.Type == TokType.Op && next.Op == '<')
            return true;
        return NonOperator(t) && NonOperator(next);
    }

    // Internalize - tok822_internalize() of toks[start..end).
    public static string Internalize(List<Tok> toks, int start, int end)
    {
        var sb = new StringBuilder();
        var part = toks.GetRange(start, end - start);
        for (var i = 0; i < part.Count; i++)
        {
            var t = part[i];
            switch (t.Type)
            {
                case TokType.DomLit:
                    sb.Append('[').Append(t.Text).Append(']');
                    break;
                default:
                    sb.Append(t.Text);
                    break;
            }
            if (AppendSpace(part, i))
                sb.Append(' ');
        }
        return sb.ToString();
    }

    // Externalize - tok822_externalize() of toks[start..end).
    public static string Externalize(List<Tok> toks, int start, int end)
    {
        var sb = new StringBuilder();
        var part = toks.GetRange(start, end - start);
        for (var i = 0; i < part.Count; i++)
        {
            var t = part[i];
            switch (t.Type)
            {
                case TokType.Op when t.Op == ',':
                    sb.Append(", ");
                    continue;
                case TokType.QString:
                    sb.Append('"');
                    CopyQuoted(sb, t.Text, "\"\\\r\n");
                    sb.Append('"');
                    break;
                case TokType.DomLit:
                    sb.Append('[');
                    CopyQuoted(sb, t.Text, "\\\r\n");
                    sb.Append(']');
                    break;
                default:
                    sb.Append(t.Text);
                    break;
            }
            if (AppendSpace(part, i))
                sb.Append(' ');
        }
        return sb.ToString();
    }

    private static void CopyQuoted(StringBuilder sb, string s, string quote)
    {
        foreach (var c in s)
        {
            if (quote.IndexOf(c) >= 0)
                sb.Append('\\');
            sb.Append(c);
        }
    }
}
