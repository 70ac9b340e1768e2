// NAME
//	SmtpdToken - split an SMTP command line into words
// POSTFIX
//	src/smtpd/smtpd_token.c
// DESCRIPTION
//	Words are separated by white space; <...> and "..." groups keep
//	their white space and quoting (nested quotes inside angle brackets,
//	backslash escapes); "from:" and "to:" end a word at the colon so
//	that "MAIL FROM:<a>" and "MAIL FROM: <a>" split the same way. A
//	group without its closing character marks the word as an error.
using System.Collections.Generic;
using System.Text;

namespace Postfix.Daemons.Smtpd;

internal readonly record struct SmtpdToken(string Text, bool Error);

internal static class SmtpdTokenizer
{
    public static List<SmtpdToken> Split(string line)
    {
        var result = new List<SmtpdToken>();
        var pos = 0;
        var buf = new StringBuilder();
        while (true)
        {
            buf.Clear();
            var error = false;
            if (!NextToken(line, ref pos, buf, ref error))
                break;
            result.Add(new SmtpdToken(buf.ToString(), error));
        }
        return result;
    }

    private static bool IsSpace(char c) => c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';

    private static bool NextToken(string s, ref int cp, StringBuilder arg, ref bool error)
    {
        while (cp < s.Length)
        {
            var c = s[cp++];
            if (IsSpace(c))
            {
                while (cp < s.Length && IsSpace(s[cp]))
                    cp++;
                if (arg.Length > 0)
                    break;
            }
            else if (c == '<')
            {
                Quoted(s, ref cp, arg, c, '>', ref error);
            }
            else if (c == '"')
            {
                Quoted(s, ref cp, arg, c, c, ref error);
            }
            else if (c == ':')
            {
                arg.Append(c);
                var so = arg.ToString();
                if (PrefixOf(so, "to:") || PrefixOf(so, "from:"))
                    break;
            }
            else
            {
                if (c == '\\')
                {
                    arg.Append(c);
                    if (cp >= s.Length)
                        break;
                    c = s[cp++];
                }
                arg.Append(c);
            }
        }
        return arg.Length > 0;
    }

    // strncasecmp(x, y, strlen(x)) == 0
    private static bool PrefixOf(string x, string y) =>
        x.Length <= y.Length && string.Compare(x, 0, y, 0, x.Length, System.StringComparison.OrdinalIgnoreCase) == 0;

    private static void Quoted(string s, ref int cp, StringBuilder arg, char start, char last, ref bool error)
    {
        var stack = new Stack<char>();
        var wanted = last;
        stack.Push(wanted);
        arg.Append(start);
        while (cp < s.Length)
        {
            var c = s[cp++];
            arg.Append(c);
            if (c == '\\')
            {
                if (cp >= s.Length)
                    break;
                arg.Append(s[cp++]);
            }
            else if (c == wanted)
            {
                if (stack.Count == 1)
                    return;
                stack.Pop();
                wanted = stack.Peek();
            }
            else if (c == '"')
            {
                stack.Push(wanted = '"');
            }
            else if (c == '<' && wanted == '>')
            {
                stack.Push(wanted = '>');
            }
        }
        error = true;
    }
}
