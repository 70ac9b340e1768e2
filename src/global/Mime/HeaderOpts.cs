// NAME
//	HeaderOpts - what is known about a message header name
// POSTFIX
//	src/global/header_opts.c, src/global/is_header.c
// DESCRIPTION
//	Find() looks up the (case-insensitive) name of a header line and
//	gives its type and flags: sender/recipient address header, Resent-
//	header, MIME header, and "drop" for names listed in
//	message_drop_headers (which may add names unknown to the table).
//	IsHeader() is is_header_buf(): the length of the header label when
//	the text starts with "label:" (spaces allowed before the colon).
using System;
using System.Collections.Generic;

namespace Postfix.Global.Mime;

public enum HeaderType
{
    Other, ApparentlyTo, Bcc, Cc, ContentLength, ContentTransferEncoding, ContentType, Date,
    DeliveredTo, ErrorsTo, From, MessageId, Received, ReplyTo, ResentBcc, ResentCc, ResentDate,
    ResentFrom, ResentMessageId, ResentReplyTo, ResentSender, ResentTo, ReturnPath, ReturnReceiptTo,
    Sender, To, MailFollowupTo, ContentDescription, ContentDisposition, ContentId, MimeVersion,
    DispNotification,
}

[Flags]
public enum HeaderFlags
{
    None = 0,
    Drop = 1 << 0,
    Sender = 1 << 1,
    Recip = 1 << 2,
    Resent = 1 << 3,
    Extract = 1 << 4,
    Mime = 1 << 5,
    XRecip = Recip | Extract,
}

public sealed record HeaderInfo(string Name, HeaderType Type, HeaderFlags Flags);

public sealed class HeaderOpts
{
    private static readonly HeaderInfo[] Known =
    [
        new("Apparently-To", HeaderType.ApparentlyTo, HeaderFlags.Recip),
        new("Bcc", HeaderType.Bcc, HeaderFlags.XRecip),
        new("Cc", HeaderType.Cc, HeaderFlags.XRecip),
        new("Content-Description", HeaderType.ContentDescription, HeaderFlags.Mime),
        new("Content-Disposition", HeaderType.ContentDisposition, HeaderFlags.Mime),
        new("Content-ID", HeaderType.ContentId, HeaderFlags.Mime),
        new("Content-Length", HeaderType.ContentLength, HeaderFlags.None),
        new("Content-Transfer-Encoding", HeaderType.ContentTransferEncoding, HeaderFlags.Mime),
        new("Content-Type", HeaderType.ContentType, HeaderFlags.Mime),
        new("Delivered-To", HeaderType.DeliveredTo, HeaderFlags.None),
        new("Disposition-Notification-To", HeaderType.DispNotification, HeaderFlags.Sender),
        new("Date", HeaderType.Date, HeaderFlags.None),
        new("Errors-To", HeaderType.ErrorsTo, HeaderFlags.Sender),
        new("From", HeaderType.From, HeaderFlags.Sender),
        new("Mail-Followup-To", HeaderType.MailFollowupTo, HeaderFlags.Sender),
        new("Message-Id", HeaderType.MessageId, HeaderFlags.None),
        new("MIME-Version", HeaderType.MimeVersion, HeaderFlags.Mime),
        new("Received", HeaderType.Received, HeaderFlags.None),
        new("Reply-To", HeaderType.ReplyTo, HeaderFlags.Sender),
        new("Resent-Bcc", HeaderType.ResentBcc, HeaderFlags.XRecip | HeaderFlags.Resent),
        new("Resent-Cc", HeaderType.ResentCc, HeaderFlags.XRecip | HeaderFlags.Resent),
        new("Resent-Date", HeaderType.ResentDate, HeaderFlags.Resent),
        new("Resent-From", HeaderType.ResentFrom, HeaderFlags.Sender | HeaderFlags.Resent),
        new("Resent-Message-Id", HeaderType.ResentMessageId, HeaderFlags.Resent),
        new("Resent-Reply-To", HeaderType.ResentReplyTo, HeaderFlags.Recip | HeaderFlags.Resent),
        new("Resent-Sender", HeaderType.ResentSender, HeaderFlags.Sender | HeaderFlags.Resent),
        new("Resent-To", HeaderType.ResentTo, HeaderFlags.XRecip | HeaderFlags.Resent),
        new("Return-Path", HeaderType.ReturnPath, HeaderFlags.Sender),
        new("Return-Receipt-To", HeaderType.ReturnReceiptTo, HeaderFlags.Sender),
        new("Sender", HeaderType.Sender, HeaderFlags.Sender),
        new("To", HeaderType.To, HeaderFlags.XRecip),
    ];

    private readonly Dictionary<string, HeaderInfo> table = new(StringComparer.Ordinal);

    // Default - the table with the default message_drop_headers names.
    public static readonly HeaderOpts Default = new();

    // HeaderOpts - the table, with the message_drop_headers names marked.
    public HeaderOpts(string dropHeaders = "bcc, content-length, resent-bcc, return-path")
    {
        foreach (var h in Known)
            table[h.Name.ToLowerInvariant()] = h;
        foreach (var name in dropHeaders.Split([',', ' ', '\t', '\r', '\n'], StringSplitOptions.RemoveEmptyEntries))
        {
            var key = name.ToLowerInvariant();
            table[key] = table.TryGetValue(key, out var h)
                ? h with { Flags = h.Flags | HeaderFlags.Drop }
                : new HeaderInfo(key, HeaderType.Other, HeaderFlags.Drop);
        }
    }

    // Find - header_opts_find(): the entry for the name before the colon.
    public HeaderInfo? Find(string header)
    {
        var colon = header.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0)
            Postfix.Util.Msg.Panic($"header_opts_find: no colon in header: {Prefix(header, 30)}");
        var end = colon;
        while (end > 0 && (header[end - 1] == ' ' || header[end - 1] == '\t'))
            end--;
        return table.GetValueOrDefault(header[..end].ToLowerInvariant());
    }

    private static string Prefix(string s, int n) => s.Length <= n ? s : s[..n];

    // IsHeader - is_header_buf(): label length, or 0 when not a header.
    public static int IsHeader(ReadOnlySpan<char> text)
    {
        var len = 0;
        var state = 0; // 0 init, 1 in label, 2 spaces after label
        foreach (var c in text)
        {
            switch (c)
            {
                case ' ':
                case '\t':
                    if (state == 0)
                        return 0;
                    state = 2;
                    continue;
                case ':':
                    return state != 0 ? len : 0;
                default:
                    if (c == 0 || c > 127 || char.IsControl(c) || state == 2)
                        return 0;
                    state = 1;
                    len++;
                    continue;
            }
        }
        return 0;
    }

    public static bool IsHeader(string text) => IsHeader(text.AsSpan()) > 0;
}
