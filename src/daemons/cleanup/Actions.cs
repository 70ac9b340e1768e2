// NAME
//	CleanupSession (actions) - header_checks and body_checks actions
// POSTFIX
//	src/cleanup/cleanup_message.c (cleanup_act, cleanup_act_log)
// DESCRIPTION
//	Act() carries out the action a header or body check table returned
//	for some text, logs it as "QUEUEID: action: class text from origin;
//	from=<sender> to=<recipient>: optional text", and returns the text
//	to keep (the same string object), a replacement, or null to drop it.
//	DELAY is compiled out of the reference and is treated like any
//	unknown action here as well.
using Postfix.Global.Address;
using System;
using System.Collections.Generic;
using System.Text;
using Postfix.Global.Mime;
using Postfix.Global.Queue;
using Postfix.Util;

namespace Postfix.Daemons.Cleanup;

internal sealed partial class CleanupSession
{
    // ActLog - cleanup_act_log().
    private void ActLog(string action, string cls, string content, string? text)
    {
        var sb = new StringBuilder();
        sb.Append(QueueId).Append(": ").Append(action).Append(": ").Append(cls).Append(' ')
          .Append(Raw.Text(Trunc(content, 200))).Append(" from ")
          .Append(attr.GetValueOrDefault("log_message_origin", "unknown")).Append(';');
        if (Sender != null)
            sb.Append(" from=<").Append(Raw.Text(LogSender(Sender))).Append('>');
        if (Recip != null)
            sb.Append(" to=<").Append(Raw.Text(LogSender(Recip))).Append('>');
        if (attr.TryGetValue("log_protocol_name", out var proto))
            sb.Append(" proto=").Append(proto);
        if (attr.TryGetValue("log_helo_name", out var helo))
            sb.Append(" helo=<").Append(helo).Append('>');
        if (!string.IsNullOrEmpty(text))
            sb.Append(": ").Append(Raw.Text(text));
        Msg.Info(sb.ToString());
    }

    private static bool CommandIs(string value, int len, string name) =>
        len == name.Length && string.Compare(value, 0, name, 0, len, StringComparison.OrdinalIgnoreCase) == 0;

    // Act - cleanup_act().
    private string? Act(string context, string buf, string value, string mapClass)
    {
        var cmdLen = value.IndexOfAny([' ', '\t']);
        if (cmdLen < 0)
            cmdLen = value.Length;
        var k = cmdLen;
        while (k < value.Length && char.IsWhiteSpace(value[k]))
            k++;
        var optional = value[k..];

        if (CommandIs(value, cmdLen, "REJECT"))
        {
            if (optional.Length > 0)
            {
                Reason = DsnPrepend("5.7.1", optional);
                if (Reason[0] != '4' && Reason[0] != '5')
                {
                    Msg.Warn($"bad DSN action in {Raw.Text(optional)} -- need 4.x.x or 5.x.x");
                    Reason = "4" + Reason[1..];
                }
            }
            else
            {
                var d = CleanupStatus.DetailOf(CleanupStatus.Cont);
                Reason = DsnPrepend(d.Dsn, d.Text);
            }
            Errs |= Reason[0] == '4' ? CleanupStatus.Defer : CleanupStatus.Cont;
            Flags &= ~CleanupFlags.FilterAll;
            ActLog("reject", context, buf, Reason);
            return buf;
        }
        if (CommandIs(value, cmdLen, "WARN"))
        {
            ActLog("warning", context, buf, optional);
            return buf;
        }
        if (CommandIs(value, cmdLen, "INFO"))
        {
            ActLog("info", context, buf, optional);
            return buf;
        }
        if (CommandIs(value, cmdLen, "FILTER"))
        {
            if (optional.Length == 0)
                Msg.Warn($"missing FILTER command argument in {mapClass} map");
            else if (!optional.Contains(':', StringComparison.Ordinal))
                Msg.Warn($"bad FILTER command {Raw.Text(optional)} in {mapClass} -- need transport:destination");
            else
            {
                filter = optional;
                ActLog("filter", context, buf, optional);
            }
            return buf;
        }
        if (CommandIs(value, cmdLen, "PASS"))
        {
            ActLog("pass", context, buf, optional);
            Flags &= ~CleanupFlags.FilterAll;
            return buf;
        }
        if (CommandIs(value, cmdLen, "DISCARD"))
        {
            ActLog("discard", context, buf, optional);
            Flags |= CleanupFlags.Discard;
            Flags &= ~CleanupFlags.FilterAll;
            return buf;
        }
        if (CommandIs(value, cmdLen, "HOLD"))
        {
            if ((Flags & (CleanupFlags.Hold | CleanupFlags.Discard)) == 0)
            {
                ActLog("hold", context, buf, optional);
                Flags |= CleanupFlags.Hold;
            }
            return buf;
        }
        if (CommandIs(value, cmdLen, "PREPEND"))
        {
            if (optional.Length == 0)
            {
                Msg.Warn($"PREPEND action without text in {mapClass} map");
            }
            else if (context == "header")
            {
                if (!HeaderOpts.IsHeader(optional))
                {
                    Msg.Warn($"bad PREPEND header text \"{Raw.Text(optional)}\" in {mapClass} map -- need \"headername: headervalue\"");
                }
                else
                {
                    ActLog("prepend", context, buf, optional);
                    OutHeader(optional);
                }
            }
            else
            {
                ActLog("prepend", context, buf, optional);
                Out(RecordType.Norm, optional);
            }
            return buf;
        }
        if (CommandIs(value, cmdLen, "REPLACE"))
        {
            if (optional.Length == 0)
            {
                Msg.Warn($"REPLACE action without text in {mapClass} map");
                return buf;
            }
            if (context == "header" && !HeaderOpts.IsHeader(optional))
            {
                Msg.Warn($"bad REPLACE header text \"{Raw.Text(optional)}\" in {mapClass} map -- need \"headername: headervalue\"");
                return buf;
            }
            ActLog("replace", context, buf, optional);
            return new string(optional.AsSpan());
        }
        if (CommandIs(value, cmdLen, "REDIRECT"))
        {
            if (!optional.Contains('@', StringComparison.Ordinal))
            {
                Msg.Warn($"bad REDIRECT target \"{Raw.Text(optional)}\" in {mapClass} map -- need user@domain");
            }
            else
            {
                redirect = optional;
                ActLog("redirect", context, buf, optional);
                Flags &= ~CleanupFlags.FilterAll;
            }
            return buf;
        }
        if (CommandIs(value, cmdLen, "BCC"))
        {
            if (!optional.Contains('@', StringComparison.Ordinal))
            {
                Msg.Warn($"bad BCC address \"{Raw.Text(optional)}\" in {mapClass} map -- need user@domain");
            }
            else
            {
                (hbcRcpt ??= new List<string>()).Add(optional);
                ActLog("bcc", context, buf, optional);
            }
            return buf;
        }
        if (CommandIs(value, cmdLen, "STRIP"))
        {
            ActLog("strip", context, buf, optional);
            return null;
        }
        if (CommandIs(value, cmdLen, "IGNORE"))
            return null;
        if (CommandIs(value, cmdLen, "DUNNO") || CommandIs(value, cmdLen, "OK"))
            return buf;
        Msg.Warn($"unknown command in {mapClass} map: {Raw.Text(value)}");
        return buf;
    }
}
