// NAME
//	DsnUtil - RFC 3463 enhanced status codes in text
// POSTFIX
//	src/global/dsn_util.c
// DESCRIPTION
//	Valid() is dsn_valid(): the length of a leading "D.DDD.DDD" code
//	(first digit 2, 4 or 5; then 1-3 and 1-3 digits, ending the text or
//	followed by white space), else 0. Split() is dsn_split(): the
//	text's own code or the default, and the free text after it.
//	Prepend() is dsn_prepend().
using System;
using Postfix.Util;

namespace Postfix.Global.Deliver;

public static class DsnUtil
{
    public static int Valid(ReadOnlySpan<char> text)
    {
        if (text.Length < 2 || text[0] is not ('2' or '4' or '5') || text[1] != '.')
            return 0;
        var i = 2;
        var n = Digits(text, i);
        if (n < 1 || n > 3 || i + n >= text.Length || text[i + n] != '.')
            return 0;
        i += n + 1;
        n = Digits(text, i);
        if (n < 1 || n > 3 || (i + n < text.Length && !IsSpace(text[i + n])))
            return 0;
        return i + n;
    }

    private static int Digits(ReadOnlySpan<char> s, int from)
    {
        var n = 0;
        while (from + n < s.Length && s[from + n] is >= '0' and <= '9')
            n++;
        return n;
    }

    // IsSpace - ISSPACE() of the C locale.
    internal static bool IsSpace(char c) => c is ' ' or '\t' or '\n' or '\r' or '\f' or '\v';

    // Split - dsn_split(): (status, free text).
    public static (string Status, string Text) Split(string defDsn, string text)
    {
        var cp = 0;
        while (cp < text.Length && IsSpace(text[cp]))
            cp++;
        string status;
        int len;
        if ((len = Valid(text.AsSpan(cp))) > 0)
        {
            status = text.Substring(cp, len);
            cp = Math.Min(text.Length, cp + len + 1);
        }
        else if ((len = Valid(defDsn)) > 0)
        {
            status = defDsn[..len];
        }
        else
        {
            Msg.Panic($"dsn_split: bad default status \"{defDsn}\"");
            return ("", "");
        }
        while (cp < text.Length && IsSpace(text[cp]))
            cp++;
        return (status, text[cp..]);
    }

    // Prepend - dsn_prepend(): "status text".
    public static string Prepend(string defDsn, string text)
    {
        var (status, rest) = Split(defDsn, text);
        return status + " " + rest;
    }
}
