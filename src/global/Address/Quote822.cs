// NAME
//	Quote822 - quote and unquote the local part of an address
// POSTFIX
//	src/global/quote_822_local.c
// DESCRIPTION
//	Local() (8-bit clean unless told otherwise, like quote_822_local())
//	leaves a local part that is an RFC 822 dot-string alone and
//	otherwise turns it into a quoted string (a source route prefix
//	"@a,@b:" is kept as is). Unquote() removes the quoting again,
//	leaving the text after the last unquoted "@" untouched.
using System;
using System.Text;

namespace Postfix.Global.Address;

public static class Quote822
{
    [Flags]
    public enum Flags
    {
        None = 0,
        EightBitClean = 1 << 0,
        ExposeAt = 1 << 1,
        BareLocalpart = 1 << 3,
    }

    private static bool IsDotString(string s, int start, int end, Flags flags)
    {
        if (start == end || s[start] == '.')
            return false;
        for (var i = start; i < end; i++)
        {
            var ch = s[i];
            if (ch == '.' && i + 1 < end && s[i + 1] == '.')
                return false;
            if (ch > 127 && (flags & Flags.EightBitClean) == 0)
                return false;
            if (ch == ' ' || (ch < 128 && char.IsControl(ch)))
                return false;
            if (ch is '(' or ')' or '<' or '>' or ',' or ';' or ':' or '\\' or '"' or '[' or ']'
                || (ch == '@' && (flags & Flags.ExposeAt) == 0))
                return false;
        }
        return s[end - 1] != '.';
    }

    // Local - quote_822_local_flags() appending to dst.
    public static StringBuilder Local(StringBuilder dst, string mbox, Flags flags = Flags.EightBitClean)
    {
        var nul = mbox.IndexOf('\0', StringComparison.Ordinal);
        if (nul >= 0)
            mbox = mbox[..nul];
        int start = 0, colon;
        if (mbox.Length > 0 && mbox[0] == '@' && (colon = mbox.IndexOf(':', StringComparison.Ordinal)) >= 0)
            start = colon + 1;
        int end;
        if ((flags & Flags.BareLocalpart) != 0 || (end = mbox.LastIndexOf('@')) < start)
            end = mbox.Length;
        if (IsDotString(mbox, start, end, flags))
            return dst.Append(mbox);
        dst.Append(mbox, 0, start).Append('"');
        for (var i = start; i < end; i++)
        {
            var ch = mbox[i];
            if ((ch > 127 && (flags & Flags.EightBitClean) == 0) || ch is '"' or '\\' or '\r')
                dst.Append('\\');
            dst.Append(ch);
        }
        return dst.Append('"').Append(mbox, end, mbox.Length - end);
    }

    public static string Local(string mbox) => Local(new StringBuilder(), mbox).ToString();

    // Unquote - unquote_822_local().
    public static string Unquote(string mbox)
    {
        var dst = new StringBuilder(mbox.Length);
        int start = 0, colon;
        if (mbox.Length > 0 && mbox[0] == '@' && (colon = mbox.IndexOf(':', StringComparison.Ordinal)) >= 0)
        {
            start = colon + 1;
            dst.Append(mbox, 0, start);
        }
        var inQuote = false;
        var bareAtDst = -1;
        var bareAtSrc = -1;
        for (var i = start; i < mbox.Length; i++)
        {
            var c = mbox[i];
            if (c == '"')
            {
                inQuote = !inQuote;
                continue;
            }
            if (c == '@')
            {
                if (!inQuote)
                {
                    bareAtDst = dst.Length;
                    bareAtSrc = i;
                }
            }
            else if (c == '\\')
            {
                if (i + 1 >= mbox.Length)
                    continue;
                c = mbox[++i];
            }
            dst.Append(c);
        }
        if (bareAtDst >= 0)
        {
            dst.Length = bareAtDst;
            dst.Append(mbox, bareAtSrc, mbox.Length - bareAtSrc);
        }
        return dst.ToString();
    }
}
