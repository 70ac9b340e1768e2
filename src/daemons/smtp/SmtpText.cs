// NAME
//	SmtpText - address quoting and xtext encoding for SMTP commands
// POSTFIX
//	src/global/quote_821_local.c, src/global/xtext.c,
//	src/smtp/smtp_misc.c (smtp_quote_821_address)
using System;
using System.Text;
using Postfix.Global.Deliver;

namespace Postfix.Daemons.Smtp;

internal static class SmtpText
{
    // Quote821 - quote_821_local(): quote the local part when it is not a dot-string.
    public static string Quote821(string addr)
    {
        if (addr.Length == 0)
            return addr;
        var at = addr.LastIndexOf('@');
        var local = at < 0 ? addr : addr[..at];
        var domain = at < 0 ? "" : addr[at..];
        if (IsDotString(local))
            return addr;
        var sb = new StringBuilder("\"");
        foreach (var ch in local)
        {
            if (ch is '\r' or '\n' or '"' or '\\')
                sb.Append('\\');
            sb.Append(ch);
        }
        return sb.Append('"').Append(domain).ToString();
    }

    private static bool IsDotString(string local)
    {
        if (local.Length == 0 || local[0] == '.' || local[^1] == '.')
            return false;
        for (var i = 0; i < local.Length; i++)
        {
            var ch = local[i];
            if (ch == '.' && i + 1 < local.Length && local[i + 1] == '.')
                return false;
            if (ch == ' ' || char.IsControl(ch) || "<>()[]\\,;:@\"".Contains(ch))
                return false;
        }
        return true;
    }

    // Xtext - xtext_quote(): "+XX" for bytes outside '!'..'~', '+' and the specials.
    public static string Xtext(string text, string special)
    {
        var sb = new StringBuilder();
        foreach (var b in Encoding.UTF8.GetBytes(text))
        {
            if (b < '!' || b > '~' || b == '+' || special.IndexOf((char)b) >= 0)
                sb.Append('+').Append(b.ToString("X2"));
            else
                sb.Append((char)b);
        }
        return sb.ToString();
    }

    // NotifyString - dsn_notify_str().
    public static string NotifyString(int notify)
    {
        if ((notify & DsnNotify.Never) != 0)
            return "NEVER";
        var parts = new System.Collections.Generic.List<string>();
        if ((notify & DsnNotify.Success) != 0)
            parts.Add("SUCCESS");
        if ((notify & DsnNotify.Failure) != 0)
            parts.Add("FAILURE");
        if ((notify & DsnNotify.Delay) != 0)
            parts.Add("DELAY");
        return string.Join(",", parts);
    }

    public static string OneLine(string text) => text.Replace('\n', ' ');
}
