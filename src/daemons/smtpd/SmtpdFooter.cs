// NAME
//	SmtpdFooter - append smtpd_reject_footer text to a reject reply
// POSTFIX
//	src/global/smtp_reply_footer.c
// DESCRIPTION
//	Apply() adds the footer template below the last line of the reply,
//	one reply line per "\n" in the template, each with the reply code
//	and the enhanced status code of the last line. A template that
//	starts with "\c" continues the last line instead. $name macros
//	expand through the session's lookup; on an expansion error the
//	reply goes out without footer.
using System.Text;
using Postfix.Util;

namespace Postfix.Daemons.Smtpd;

internal static class SmtpdFooter
{
    public static string Apply(string reply, string template, string filter, MacExpand.Lookup lookup)
    {
        // Find the last reply line and check the reply syntax.
        var lastStart = 0;
        var pos = 0;
        var crlfAtEnd = false;
        while (true)
        {
            if (reply.Length - pos < 4 || !char.IsAsciiDigit(reply[pos]) || !char.IsAsciiDigit(reply[pos + 1])
                || !char.IsAsciiDigit(reply[pos + 2]) || (reply[pos + 3] != ' ' && reply[pos + 3] != '-'))
                return reply;
            lastStart = pos;
            var next = reply.IndexOf("\r\n", pos, System.StringComparison.Ordinal);
            if (next < 0)
                break;
            pos = next + 2;
            if (pos == reply.Length)
            {
                crlfAtEnd = true;
                reply = reply[..next];
                break;
            }
        }
        var buffer = new StringBuilder(reply);
        var undoLength = buffer.Length;
        var code = reply.Substring(lastStart, 3);
        var dsnOffset = lastStart + 4;
        var dsnLen = dsnOffset <= reply.Length ? Postfix.Global.Deliver.DsnUtil.Valid(System.MemoryExtensions.AsSpan(reply, dsnOffset)) : 0;
        var dsn = dsnLen > 0 ? reply.Substring(dsnOffset, dsnLen) : "";
        var lineAdded = false;
        var error = false;
        var parts = template.Split("\\n");
        for (var i = 0; i < parts.Length; i++)
        {
            var part = parts[i];
            if (i == 0 && part.StartsWith("\\c", System.StringComparison.Ordinal))
            {
                part = part[2..];
            }
            else
            {
                buffer.Append("\r\n").Append(code).Append(i < parts.Length - 1 ? '-' : ' ');
                if (dsnLen > 0)
                    buffer.Append(dsn).Append(' ');
                lineAdded = true;
            }
            if ((MacExpand.Expand(buffer, part, MacExpand.FlagAppend, filter, lookup) & MacExpand.ParseError) != 0)
            {
                error = true;
                break;
            }
        }
        if (error)
        {
            buffer.Length = undoLength;
        }
        else if (lineAdded)
        {
            buffer[lastStart + 3] = '-';
        }
        if (crlfAtEnd)
            buffer.Append("\r\n");
        return buffer.ToString();
    }
}
