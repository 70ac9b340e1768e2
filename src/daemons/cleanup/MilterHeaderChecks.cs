// NAME
//	CleanupSession (milter header checks) - milter_header_checks
// POSTFIX
//	src/cleanup/cleanup_milter.c (cleanup_milter_hbc_*,
//	cleanup_milter_header_checks), src/global/header_body_checks.c
// DESCRIPTION
//	A header that a milter adds, inserts or changes is looked up in
//	milter_header_checks before it is written. The generic actions
//	(WARN, INFO, REPLACE, STRIP, IGNORE, DUNNO, OK; PREPEND is logged
//	but not carried out, as in the reference) work as in header_checks;
//	REJECT, DISCARD, HOLD, FILTER, REDIRECT and BCC are the cleanup
//	extensions and only while the message is still being filtered.
//	Each action is logged as "QUEUEID: milter-header-ACTION: header
//	TEXT from CLIENT[ADDR]; from=<..> to=<..>: detail". A REJECT or
//	DISCARD goes back to the milter client as a reply, which ends the
//	edits of the end-of-message stage; MilterApply() then ignores that
//	reply, since it has been acted on already. FILTER and REDIRECT are
//	appended as meta records after all milters have run.
using Postfix.Global.Address;
using System;
using System.Text;
using Postfix.Global.Mime;
using Postfix.Global.Queue;
using Postfix.Util;

namespace Postfix.Daemons.Cleanup;

internal sealed partial class CleanupSession
{
    private const string MilterChecksClass = "milter_header_checks";

    // hbcReply - cleanup_milter_hbc_reply: the reply a REJECT or DISCARD
    // gave the milter client ("" when none).
    private string hbcReply = "";

    // MilterHbcLog - cleanup_milter_hbc_log().
    private void MilterHbcLog(string action, string line, string? text)
    {
        var sb = new StringBuilder();
        sb.Append(QueueId).Append(": milter-header-").Append(action).Append(": header ")
          .Append(Raw.Text(line.Length > 60 ? line[..60] : line))
          .Append(" from ").Append(clientName).Append('[').Append(clientAddr).Append("];");
        if (Sender != null)
            sb.Append(" from=<").Append(Raw.Text(LogSender(Sender))).Append('>');
        if (Recip != null)
            sb.Append(" to=<").Append(Raw.Text(LogSender(Recip))).Append('>');
        if (attr.TryGetValue("log_protocol_name", out var proto))
            sb.Append(" proto=").Append(proto);
        if (attr.TryGetValue("log_helo_name", out var helo))
            sb.Append(" helo=<").Append(helo).Append('>');
        if (text != null)
            sb.Append(": ").Append(Raw.Text(text));
        Msg.Info(sb.ToString());
    }

    // MilterHeaderCheck - cleanup_milter_header_checks(): false when the
    // header must not be written; header may be replaced.
    private bool MilterHeaderCheck(ref string header)
    {
        var maps = cfg.MilterHeaderChecks!;
        var value = maps.Find(Raw.Text(header));
        if (value == null)
        {
            if (maps.Error == Postfix.Global.Dict.DictError.None)
                return true;
            Msg.Warn($"{QueueId}: {MilterChecksClass} map lookup problem -- message not accepted, try again later");
            Errs |= CleanupStatus.Write;
            return false;
        }
        var result = MilterHbcAction(header, Raw.FromText(value));
        if (result == null)
            return false;
        header = result;
        return true;
    }

    // MilterHbcAction - hbc_action() with cleanup_milter_hbc_extend():
    // the header to write (line itself or a replacement), null to drop.
    private string? MilterHbcAction(string line, string cmd)
    {
        var cmdLen = cmd.IndexOfAny([' ', '\t']);
        if (cmdLen < 0)
            cmdLen = cmd.Length;
        var k = cmdLen;
        while (k < cmd.Length && char.IsWhiteSpace(cmd[k]))
            k++;
        var args = cmd[k..];

        if (MilterHbcExtend(cmd, cmdLen, args, line, out var extended))
            return extended;
        if (CommandIs(cmd, cmdLen, "WARN"))
        {
            MilterHbcLog("warning", line, args);
            return line;
        }
        if (CommandIs(cmd, cmdLen, "INFO"))
        {
            MilterHbcLog("info", line, args);
            return line;
        }
        if (CommandIs(cmd, cmdLen, "REPLACE"))
        {
            if (args.Length == 0)
            {
                Msg.Warn($"REPLACE action without text in {MilterChecksClass} map");
                return line;
            }
            if (!HeaderOpts.IsHeader(args))
            {
                Msg.Warn($"bad REPLACE header text \"{Raw.Text(args)}\" in {MilterChecksClass} map -- need \"headername: headervalue\"");
                return line;
            }
            MilterHbcLog("replace", line, args);
            return new string(args.AsSpan());
        }
        if (CommandIs(cmd, cmdLen, "PREPEND"))
        {
            if (args.Length == 0)
                Msg.Warn($"PREPEND action without text in {MilterChecksClass} map");
            else if (!HeaderOpts.IsHeader(args))
                Msg.Warn($"bad PREPEND header text \"{Raw.Text(args)}\" in {MilterChecksClass} map -- need \"headername: headervalue\"");
            else
            {
                MilterHbcLog("prepend", line, args);
                Msg.Warn("the milter_header/body_checks prepend action is not implemented");
            }
            return line;
        }
        if (CommandIs(cmd, cmdLen, "STRIP"))
        {
            MilterHbcLog("strip", line, args);
            return null;
        }
        if (CommandIs(cmd, cmdLen, "IGNORE"))
            return null;
        if (CommandIs(cmd, cmdLen, "DUNNO") || CommandIs(cmd, cmdLen, "OK"))
            return line;
        Msg.Warn($"unsupported command in {MilterChecksClass} map: {Raw.Text(cmd)}");
        return line;
    }

    // MilterHbcExtend - cleanup_milter_hbc_extend(): true when the action
    // is one of cleanup's own (or filtering has stopped).
    private bool MilterHbcExtend(string cmd, int cmdLen, string args, string line, out string? result)
    {
        result = line;
        if ((Flags & CleanupFlags.FilterAll) == 0)
            return true;
        if (CommandIs(cmd, cmdLen, "BCC"))
        {
            if (!args.Contains('@', StringComparison.Ordinal))
                Msg.Warn($"bad BCC address \"{Raw.Text(args)}\" in {MilterChecksClass} map -- need user@domain");
            else
            {
                MilterHbcLog("bcc", line, args);
                AddRcpt(args, "");
            }
            return true;
        }
        if (CommandIs(cmd, cmdLen, "REJECT"))
        {
            var detail = CleanupStatus.DetailOf(CleanupStatus.Cont);
            var reason = DsnPrepend(detail.Dsn, args.Length > 0 ? args : detail.Text);
            if (args.Length > 0 && reason[0] != '4' && reason[0] != '5')
            {
                Msg.Warn($"bad DSN action in {Raw.Text(args)} -- need 4.x.x or 5.x.x");
                reason = "4" + reason[1..];
            }
            Reason = reason;
            Errs |= reason[0] == '4' ? CleanupStatus.Defer : CleanupStatus.Cont;
            Flags &= ~CleanupFlags.FilterAll;
            MilterHbcLog("reject", line, reason);
            hbcReply = reason[0] + $"{detail.Smtp} {reason}"[1..];
            return true;
        }
        if (CommandIs(cmd, cmdLen, "FILTER"))
        {
            if (args.Length == 0)
                Msg.Warn($"missing FILTER command argument in {MilterChecksClass} map");
            else if (!args.Contains(':', StringComparison.Ordinal))
                Msg.Warn($"bad FILTER command {Raw.Text(args)} in {MilterChecksClass} -- need transport:destination");
            else
            {
                filter = args;
                MilterHbcLog("filter", line, args);
            }
            return true;
        }
        if (CommandIs(cmd, cmdLen, "DISCARD"))
        {
            MilterHbcLog("discard", line, args);
            hbcReply = "D";
            Flags |= CleanupFlags.Discard;
            Flags &= ~CleanupFlags.FilterAll;
            return true;
        }
        if (CommandIs(cmd, cmdLen, "HOLD"))
        {
            if ((Flags & (CleanupFlags.Hold | CleanupFlags.Discard)) == 0)
            {
                MilterHbcLog("hold", line, args);
                Flags |= CleanupFlags.Hold;
            }
            return true;
        }
        if (CommandIs(cmd, cmdLen, "REDIRECT"))
        {
            if (!args.Contains('@', StringComparison.Ordinal))
                Msg.Warn($"bad REDIRECT target \"{Raw.Text(args)}\" in {MilterChecksClass} map -- need user@domain");
            else
            {
                redirect = args;
                MilterHbcLog("redirect", line, args);
                Flags &= ~CleanupFlags.FilterAll;
            }
            return true;
        }
        return false;
    }

    // MilterChecksReinit - cleanup_milter_header_checks_reinit(): before
    // the end-of-message stage.
    private void MilterChecksReinit()
    {
        filter = null;
        redirect = null;
        hbcReply = "";
    }

    // MilterChecksFinish - cleanup_milter_hbc_finish(): FILTER and
    // REDIRECT from milter_header_checks become meta records.
    private void MilterChecksFinish()
    {
        if (!OutOk || RejectingOrDiscarding || (filter == null && redirect == null))
            return;
        if (appendMetaPtOffset < 0 || appendMetaPtTarget < 0)
            Msg.Panic("cleanup_milter_hbc_add_meta_records: no meta append pointer location");
        SeekEnd();
        var newMetaOffset = Tell();
        if (filter != null)
            Out(RecordType.Filt, filter);
        if (redirect != null)
            Out(RecordType.Rdr, redirect);
        var reversePtrOffset = Tell();
        PutPtr(appendMetaPtTarget);
        dst.Seek(appendMetaPtOffset, System.IO.SeekOrigin.Begin);
        PutPtr(newMetaOffset);
        appendMetaPtOffset = reversePtrOffset;
    }

    // EditReply - what a header edit returns: an output error, else the
    // milter_header_checks reply, else null.
    private string? EditReply() => !OutOk ? MilterError(0) : hbcReply.Length > 0 ? hbcReply : null;
}
