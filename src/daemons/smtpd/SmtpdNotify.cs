// NAME
//	SmtpdNotify - tell the postmaster about a troubled SMTP session
// POSTFIX
//	src/smtpd/smtpd_chat.c (smtpd_chat_notify), src/util/line_wrap.c
// DESCRIPTION
//	When a session ends (or resets) with errors of a class named in
//	notify_classes, the session transcript goes to the postmaster
//	(error_notice_recipient, or bounce_notice_recipient for bounce
//	class errors) from the double-bounce address, as junk mail: it is
//	not sent when the cleanup service cannot be reached.
using System;
using System.Collections.Generic;
using Postfix.Global.Post;
using Postfix.Util;

namespace Postfix.Daemons.Smtpd;

internal static class SmtpdNotify
{
    private const int Length = 78, Indent = 4;

    public static void Send(SmtpdSession session)
    {
        var cfg = session.Config;
        var conf = cfg.Conf;
        var history = session.History;
        if (history == null)
            return;
        var sender = conf.Eval("double_bounce_sender") + "@" + cfg.MyHostname;
        var recipient = (session.ErrorMask & SmtpdSession.MailErrorBounce) != 0 ? cfg.BounceNotifyRecipient : cfg.ErrorNotifyRecipient;
        PostMail? notice;
        try
        {
            notice = PostMail.OpenNoWait(PostMail.Settings.FromConfig(conf), sender, recipient, PostMail.SourceNotify, 0, 0);
        }
        catch (FatalException)
        {
            throw;
        }
        if (notice == null)
        {
            Msg.Warn("postmaster notify: Connection refused");
            return;
        }
        var daemon = "MAILER-DAEMON@" + cfg.MyHostname;
        if (!string.Equals(conf.Eval("header_from_format"), "obsolete", StringComparison.OrdinalIgnoreCase))
        {
            notice.Line($"From: Mail Delivery System <{daemon}>");
            notice.Line($"To: Postmaster <{cfg.ErrorNotifyRecipient}>");
        }
        else
        {
            notice.Line($"From: {daemon} (Mail Delivery System)");
            notice.Line($"To: {cfg.ErrorNotifyRecipient} (Postmaster)");
        }
        notice.Line($"Subject: {cfg.MailName} SMTP server: errors from {session.NamAddr}");
        notice.Line("");
        notice.Line("Transcript of session follows.");
        notice.Line("");
        foreach (var entry in history)
        {
            foreach (var (text, indent) in Wrap(Msg.Printable(entry), Length, Indent))
                notice.Line(" " + new string(' ', indent) + text);
        }
        notice.Line("");
        if (session.Reason != null)
            notice.Line($"Session aborted, reason: {session.Reason}");
        notice.Line("");
        notice.Line("For other details, see the local mail logfile");
        notice.Close();
    }

    // Wrap - line_wrap(): break at white space; continuation lines indented.
    public static List<(string Text, int Indent)> Wrap(string str, int len, int indent)
    {
        var result = new List<(string, int)>();
        var currIndent = 0;
        var currLen = len;
        var startLine = 0;
        int? word = 0;
        while (word != null)
        {
            var w = word.Value;
            var nextSpace = str.IndexOfAny([' ', '\t'], w);
            if (nextSpace < 0)
                nextSpace = str.Length;
            if (w > startLine && nextSpace - startLine > currLen)
            {
                var lineLen = w - startLine;
                while (lineLen > 0 && char.IsWhiteSpace(str[startLine + lineLen - 1]))
                    lineLen--;
                result.Add((str.Substring(startLine, lineLen), currIndent));
                while (w < str.Length && char.IsWhiteSpace(str[w]))
                    w++;
                if (startLine == 0)
                {
                    currIndent += indent;
                    currLen -= indent;
                }
                startLine = w;
            }
            word = nextSpace < str.Length ? nextSpace + 1 : null;
        }
        var rest = str[startLine..].TrimEnd();
        result.Add((rest, currIndent));
        return result;
    }
}
