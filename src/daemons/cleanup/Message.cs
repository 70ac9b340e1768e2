// NAME
//	CleanupSession (content) - message headers and body
// POSTFIX
//	src/cleanup/cleanup_message.c
// DESCRIPTION
//	Message() writes the start-of-content marker and feeds the content
//	through MimeState. Each complete header is checked against
//	header_checks (primary), mime_header_checks (MIME headers anywhere)
//	or nested_header_checks (attached messages), counted (Received:),
//	logged (Message-Id:), address-rewritten in the header rewrite
//	context (sender and recipient headers), dropped
//	(message_drop_headers) or copied. At the end of the primary headers
//	the missing Message-Id:, Date:, From: and To: (when configured)
//	headers are added, with Resent- names when the message had Resent-
//	headers. Body records go through body_checks up to
//	body_checks_size_limit. The X record ends the content.
using Postfix.Global.Address;
using System;
using System.Collections.Generic;
using System.Text;
using Postfix.Global.Mime;
using Postfix.Global.Post;
using Postfix.Global.Queue;
using Postfix.Util;

namespace Postfix.Daemons.Cleanup;

internal sealed partial class CleanupSession
{
    // Message - cleanup_message().
    private void Message(int type, string buf)
    {
        Out(RecordType.Mesg, "");
        dataOffset = Tell();
        var options = MimeState.Options.None;
        if (cfg.DisableMime)
        {
            options |= MimeState.Options.DisableMime;
        }
        else if ((Flags & CleanupFlags.Filter) != 0)
        {
            if (cfg.Strict8BitMime || cfg.Strict7BitHeaders)
                options |= MimeState.Options.Report8BitInHeader;
            if (cfg.Strict8BitMime || cfg.Strict8BitBody)
                options |= MimeState.Options.Report8BitIn7BitBody;
            if (cfg.StrictEncoding)
                options |= MimeState.Options.ReportEncodingDomain;
            if (cfg.Strict8BitMime || cfg.Strict7BitHeaders || cfg.Strict8BitBody || cfg.StrictEncoding
                || cfg.HeaderChecksNames.Length > 0 || cfg.MimeHeaderChecksNames.Length > 0
                || cfg.NestedHeaderChecksNames.Length > 0)
                options |= MimeState.Options.ReportNesting;
        }
        mime = new MimeState(options, cfg.HeaderOpts, MiltersActive ? Math.Min(cfg.HeaderLimit, 60000) : cfg.HeaderLimit, cfg.MimeBoundLimit, cfg.MimeMaxDepth,
            HeaderCallback, HeaderDoneCallback, BodyCallback, MimeErrorCallback);
        action = MessageHeaderBody;
        MessageHeaderBody(type, buf);
    }

    // MessageHeaderBody - cleanup_message_headerbody().
    private void MessageHeaderBody(int type, string buf)
    {
        if (cfg.MaskStrayCrLf && (buf.Contains('\r', StringComparison.Ordinal) || buf.Contains('\n', StringComparison.Ordinal)))
            buf = buf.Replace('\r', ' ').Replace('\n', ' ');
        if ((Flags & CleanupFlags.Filter) != 0 && cfg.RejectChars != null)
        {
            foreach (var c in buf)
            {
                if (cfg.RejectChars.Contains(c, StringComparison.Ordinal))
                {
                    Act("content", buf, "REJECT disallowed character", "character reject");
                    return;
                }
            }
        }
        if ((Flags & CleanupFlags.Filter) != 0 && cfg.StripChars != null)
        {
            var sb = new StringBuilder(buf.Length);
            foreach (var c in buf)
                if (!cfg.StripChars.Contains(c, StringComparison.Ordinal))
                    sb.Append(c);
            buf = sb.ToString();
        }
        if (type == RecordType.Norm || type == RecordType.Cont)
        {
            mimeErrs = mime!.Update(type, buf);
        }
        else if (type == RecordType.Xtra)
        {
            mimeErrs = mime!.Update(type, buf);
            // Room for a body replacement.
            if (MiltersActive)
                PutPtr(0);
            mimeErrs &= ~MimeState.ErrTruncHeader;
            if (mimeErrs != 0 && Reason == null)
            {
                Errs |= CleanupStatus.Cont;
                var (dsn, text) = MimeState.Detail(mimeErrs);
                Reason = DsnPrepend(dsn, text);
            }
            mime = null;
            xtraOffset = Tell();
            contLength = xtraOffset - dataOffset;
            action = Extracted;
        }
        else
        {
            Msg.Warn($"cleanup_message_headerbody: message rejected: unexpected record type {type} in message content");
            Errs |= CleanupStatus.Bad;
        }
    }

    private void MimeErrorCallback(int errCode, string text)
    {
        if ((errCode & ~MimeState.ErrTruncHeader) == 0)
            return;
        var origin = attr.GetValueOrDefault("log_message_origin", "unknown");
        Msg.Info($"{QueueId}: reject: mime-error {MimeState.Error(errCode)}: {Raw.Text(Trunc(text, 100))} from {origin}; "
            + $"from=<{Raw.Text(LogSender(Sender ?? ""))}> to=<{Raw.Text(LogSender(Recip ?? "unknown"))}>");
    }

    // HeaderCallback - cleanup_header_callback().
    private void HeaderCallback(int headerClass, HeaderInfo? info, StringBuilder headerBuf, long offset)
    {
        if (info != null && (info.Flags & HeaderFlags.Mime) != 0)
            headerClass = MimeState.HdrMultipart;
        if (info != null && info.Type == HeaderType.Received)
            hopCount++;

        var header = headerBuf.ToString();
        if ((Flags & CleanupFlags.Filter) != 0)
        {
            var (checks, mapClass) = headerClass switch
            {
                MimeState.HdrPrimary => (cfg.HeaderChecks, "header_checks"),
                MimeState.HdrMultipart => (cfg.MimeHeaderChecks, "mime_header_checks"),
                MimeState.HdrNested => (cfg.NestedHeaderChecks, "nested_header_checks"),
                _ => (null, ""),
            };
            if (checks != null)
            {
                var value = checks.Find(Raw.Text(header));
                if (value != null)
                {
                    var result = Act("header", header, Raw.FromText(value), mapClass);
                    if (result == null)
                        return;
                    if (!ReferenceEquals(result, header))
                    {
                        header = result;
                        info = cfg.HeaderOpts.Find(result);
                    }
                }
                else if (checks.Error != Postfix.Global.Dict.DictError.None)
                {
                    Msg.Warn($"{QueueId}: {checks.Title} map lookup problem -- message not accepted, try again later");
                    Errs |= CleanupStatus.Write;
                }
            }
        }

        if (info == null)
        {
            OutHeader(header);
            return;
        }

        var hdrval = header.Length > info.Name.Length + 1 ? header[(info.Name.Length + 1)..] : "";
        hdrval = hdrval.TrimStart(' ', '\t', '\r', '\n', '\v', '\f');
        if (cfg.Auto8BitEncHeader && info.Type == HeaderType.ContentTransferEncoding)
        {
            foreach (var (name, enc) in new[] { ("7bit", "7bit"), ("8bit", "8bit"), ("binary", "8bit"), ("quoted-printable", "7bit"), ("base64", "7bit") })
            {
                if (string.Equals(hdrval, name, StringComparison.OrdinalIgnoreCase))
                {
                    if (enc == "8bit")
                        attr["encoding"] = enc;
                    break;
                }
            }
        }

        if (headerClass != MimeState.HdrPrimary)
        {
            OutHeader(header);
            return;
        }

        headersSeen |= 1L << (int)info.Type;
        if (info.Type == HeaderType.MessageId)
            Msg.Info($"{QueueId}: message-id={Raw.Text(hdrval)}");
        if (info.Type == HeaderType.ResentMessageId)
            Msg.Info($"{QueueId}: resent-message-id={Raw.Text(hdrval)}");
        if (info.Type == HeaderType.Received)
        {
            if (hopCount >= cfg.HopcountLimit)
            {
                Msg.Warn($"{QueueId}: message rejected: hopcount exceeded");
                Errs |= CleanupStatus.Hops;
            }
            if (hopCount == 1)
                autoHdrs.Add(header);
        }
        if (OutOk)
        {
            if ((info.Flags & HeaderFlags.Resent) != 0)
                resent = "Resent-";
            if ((info.Flags & (HeaderFlags.Sender | HeaderFlags.Recip)) != 0 && hdrRewriteContext != null)
                RewriteHeader(info, header);
            else if ((info.Flags & HeaderFlags.Drop) == 0)
                OutHeader(header);
        }
    }

    // RewriteHeader - cleanup_rewrite_sender() and cleanup_rewrite_recip():
    // rewrite each address of the header, then fold the new text.
    private void RewriteHeader(HeaderInfo info, string header)
    {
        var tree = Tok822.Parse(header[(info.Name.Length + 1)..], cfg.TokenLimit);
        var rewritten = false;
        var isSender = (info.Flags & HeaderFlags.Sender) != 0;
        foreach (var addr in Tok822.Grep(tree, Tok822.Addr))
        {
            rewritten |= RewriteTree(hdrRewriteContext!, addr);
            rewritten |= isSender
                ? CanonTree(addr, AddressMaps.HdrFrom, cfg.AddressMaps?.SendCanon, cfg.AddressMaps?.SendCanonFlags ?? 0)
                : CanonTree(addr, AddressMaps.HdrRcpt, cfg.AddressMaps?.RcptCanon, cfg.AddressMaps?.RcptCanonFlags ?? 0);
            rewritten |= MasqTree(addr, isSender ? AddressMaps.HdrFrom : AddressMaps.HdrRcpt);
        }
        if (rewritten)
        {
            var sb = new StringBuilder(header, 0, info.Name.Length, header.Length + 16);
            sb.Append(": ");
            Tok822.Externalize(sb, tree, Tok822.Str.Head);
            header = sb.ToString();
        }
        if ((info.Flags & HeaderFlags.Drop) == 0)
        {
            if (rewritten)
                FoldHeader(header);
            else
                OutHeader(header);
        }
    }

    // FoldHeader - cleanup_fold_header(): join address lines up to 70 columns.
    private void FoldHeader(string header)
    {
        var chars = header.ToCharArray();
        var startLine = 0;
        var line = 0;
        while (true)
        {
            var endLine = Array.IndexOf(chars, '\n', line);
            if (endLine < 0)
                endLine = chars.Length;
            if (line > startLine)
            {
                if (endLine - startLine < 70)
                    chars[line - 1] = ' ';
                else
                    startLine = line;
            }
            if (endLine >= chars.Length)
                break;
            line = endLine + 1;
        }
        OutHeader(new string(chars));
    }

    // HeaderDoneCallback - cleanup_header_done_callback().
    private void HeaderDoneCallback()
    {
        if (!OutOk)
            return;
        if (hopCount < 1)
        {
            Msg.Warn($"{QueueId}: message rejected: no Received: header");
            Errs |= CleanupStatus.Bad;
            return;
        }
        var add = hdrRewriteContext != null || cfg.AlwaysAddHeaders;
        var isResent = resent.Length > 0;
        var msgIdType = isResent ? HeaderType.ResentMessageId : HeaderType.MessageId;
        if (add && !Seen(msgIdType))
        {
            var id = cfg.LongQueueIds
                ? $"{QueueId}@{cfg.MyHostname}"
                : $"{MailDate.UtcStamp(CreateTime)}.{QueueId}@{cfg.MyHostname}";
            Out(RecordType.Norm, $"{resent}Message-Id: <{id}>");
            Msg.Info($"{QueueId}: {(isResent ? "resent-" : "")}message-id=<{id}>");
            headersSeen |= 1L << (int)msgIdType;
        }
        if (!Seen(HeaderType.MessageId))
            Msg.Info($"{QueueId}: message-id=<>");
        if (add && !Seen(isResent ? HeaderType.ResentDate : HeaderType.Date))
            Out(RecordType.Norm, $"{resent}Date: {MailDate.Format(arrivalSeconds)}");
        if (add && !Seen(isResent ? HeaderType.ResentFrom : HeaderType.From))
            Out(RecordType.Norm, FromHeader());
        const long visibleRcpt = (1L << (int)HeaderType.To) | (1L << (int)HeaderType.ResentTo)
            | (1L << (int)HeaderType.Cc) | (1L << (int)HeaderType.ResentCc);
        if (add && (headersSeen & visibleRcpt) == 0 && cfg.RcptWitheld.Length > 0)
        {
            if (!HeaderOpts.IsHeader(cfg.RcptWitheld))
                Msg.Warn($"bad undisclosed_recipients_header header text \"{cfg.RcptWitheld}\" -- need \"headername: headervalue\"");
            else
                Out(RecordType.Norm, Raw.FromText(cfg.RcptWitheld));
        }
        // Room to append headers without moving the end of the content.
        if (MiltersActive)
        {
            (appendHdrPtOffset, appendHdrPtTarget) = Placeholder();
            bodyOffset = appendHdrPtTarget;
        }
    }

    private bool Seen(HeaderType type) => (headersSeen & (1L << (int)type)) != 0;

    // FromHeader - the missing (Resent-)From: header text.
    private string FromHeader()
    {
        var sender = Sender ?? "";
        var addr = Quote822.Local(sender.Length > 0 ? sender : "MAILER-DAEMON");
        if (sender.Length > 0 && !string.IsNullOrEmpty(fullname))
        {
            var name = fullname.Replace('\r', ' ').Replace('\n', ' ');
            if (!cfg.HeaderFromObsolete)
            {
                var sb = new StringBuilder().Append(resent).Append("From: ");
                Tok822? token;
                if (name.IndexOfAny(("%!" + "()<>@,;:\\\".[]").ToCharArray()) < 0)
                    token = Tok822.Scan(name, out _, cfg.TokenLimit);
                else
                    token = new Tok822(Tok822.QString, name);
                if (token != null)
                {
                    Tok822.Externalize(sb, token, Tok822.Str.None);
                    sb.Append(' ');
                }
                return sb.Append('<').Append(addr).Append('>').ToString();
            }
            var obs = new StringBuilder().Append(resent).Append("From: ").Append(addr).Append(' ');
            Tok822.Externalize(obs, Tok822.Parse("(" + name + ")"), Tok822.Str.None);
            return obs.ToString();
        }
        return resent + "From: " + addr;
    }

    // BodyCallback - cleanup_body_callback().
    private void BodyCallback(int type, ReadOnlyMemory<char> text, long offset)
    {
        var buf = MimeState.AsString(text);
        if (!OutOk)
            return;
        if ((Flags & CleanupFlags.Filter) != 0 && cfg.BodyChecks != null
            && (cfg.BodyCheckLen == 0 || offset < cfg.BodyCheckLen))
        {
            var value = cfg.BodyChecks.Find(Raw.Text(buf));
            if (value != null)
            {
                var result = Act("body", buf, Raw.FromText(value), "body_checks");
                if (result == null)
                    return;
                if (!ReferenceEquals(result, buf))
                {
                    Out(type, result);
                    return;
                }
            }
            else if (cfg.BodyChecks.Error != Postfix.Global.Dict.DictError.None)
            {
                Msg.Warn($"{QueueId}: {cfg.BodyChecks.Title} map lookup problem -- message not accepted, try again later");
                Errs |= CleanupStatus.Write;
            }
        }
        Out(type, buf);
    }
}
