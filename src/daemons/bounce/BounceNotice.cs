// NAME
//	BounceNotice - the parts of an RFC 3464 delivery status notification
// POSTFIX
//	src/bounce/bounce_notify_util.c
// DESCRIPTION
//	A BounceNotice holds what one notification needs: the logfile (or
//	the single recipient of a bounce_one request), the original queue
//	file (sender, arrival time, content offset and size, optionally the
//	Message-ID for threading) and the template. Its methods write the
//	message parts through a PostMail stream, in the order the services
//	call them: Header (template headers, MIME headers), Boilerplate
//	(the template text), DiagnosticLog (human-readable recipient list),
//	HeaderDsn and DiagnosticDsn (the message/delivery-status part),
//	Original (the returned message or its headers, and the closing
//	boundary). All text is octet strings (one char per byte).
using System;
using System.Globalization;
using System.IO;
using System.Text;
using Postfix.Global.Address;
using Postfix.Global.Bounce;
using Postfix.Global.Post;
using Postfix.Global.Queue;
using Postfix.Util;

namespace Postfix.Daemons.Bounce;

internal sealed class BounceNotice : IDisposable
{
    private const int LockShared = 1, LockNonBlock = 4;
    private const int LineLength = 79;
    private const int Indent = 4;

    private readonly BounceSettings settings;
    private readonly byte[]? orig;
    private FileStream? origFile;

    public string Service { get; }
    public string QueueName { get; }
    public string QueueId { get; }
    public string? MimeEncoding { get; }
    public string? DsnEnvid { get; }
    public string MimeBoundary { get; }
    public BounceTemplate Template { get; }
    public string Sender { get; private set; } = "";
    public long OrigOffset { get; private set; }
    public long ArrivalTime { get; private set; }
    public long MessageSize { get; private set; }
    public string OrigMsgid { get; private set; } = "";
    public RcptBuf Rcpt { get; }
    public DsnBuf Dsn { get; }
    public BounceLog? Log { get; }
    public string MailName { get; }
    public int SmtpUtf8 { get; }

    // HasOriginal - the original queue file was opened.
    public bool HasOriginal => orig != null;

    private BounceNotice(BounceSettings settings, string service, string queueName, string queueId, string encoding,
        int smtputf8, string dsnEnvid, RcptBuf rcpt, DsnBuf dsn, BounceTemplate template, BounceLog? log)
    {
        this.settings = settings;
        Service = service;
        QueueName = queueName;
        QueueId = queueId;
        SmtpUtf8 = smtputf8;
        if (settings.SmtpUtf8Enable || encoding == "8bit")
            MimeEncoding = "8bit";
        else if (encoding == "7bit")
            MimeEncoding = "7bit";
        else
        {
            if (encoding.Length > 0)
                Msg.Warn($"{queueId}: unknown encoding: {Trunc(encoding, 200)}");
            MimeEncoding = null;
        }
        DsnEnvid = dsnEnvid.Length > 0 ? dsnEnvid : null;
        Template = template;
        Rcpt = rcpt;
        Dsn = dsn;
        Log = log;
        var name = new StringBuilder(settings.MailName);
        for (var i = 0; i < name.Length; i++)
        {
            if (" \t\r\n()<>@,;:\\\".[]".Contains(name[i], StringComparison.Ordinal))
                name[i] = '-';
        }
        MailName = name.ToString();
        MimeBoundary = queueId + "." + settings.Now().ToString(CultureInfo.InvariantCulture) + "/" + settings.MyHostname;

        // The original message is optional; only a missing file is forgiven.
        var path = settings.Queue.Path(queueName, queueId);
        try
        {
            origFile = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            if (!(e is FileNotFoundException or DirectoryNotFoundException))
                Msg.Fatal($"open {service} {queueId}: {Sys.StrError(Sys.ErrnoOf(e))}");
        }
        if (origFile != null)
        {
            if (Sys.Flock((int)origFile.SafeFileHandle.DangerousGetHandle(), LockShared | LockNonBlock) != 0)
                Msg.Fatal($"cannot get shared lock on {path}: {Sys.LastError()}");
            orig = new byte[origFile.Length];
            origFile.ReadExactly(orig);
            ScanEnvelope(path);
        }
    }

    // Init - bounce_mail_init(): a notice from a logfile (which may be missing).
    public static BounceNotice Init(BounceSettings settings, string service, string queueName, string queueId,
        string encoding, int smtputf8, string dsnEnvid, BounceTemplate template)
    {
        var log = BounceLog.Open(settings.Queue, service, queueId);
        return new BounceNotice(settings, service, queueName, queueId, encoding, smtputf8, dsnEnvid,
            new RcptBuf(), new DsnBuf(), template, log);
    }

    // InitOne - bounce_mail_one_init(): a notice for one given recipient.
    public static BounceNotice InitOne(BounceSettings settings, string queueName, string queueId, string encoding,
        int smtputf8, string dsnEnvid, RcptBuf rcpt, DsnBuf dsn, BounceTemplate template) =>
        new(settings, "none", queueName, queueId, encoding, smtputf8, dsnEnvid, rcpt, dsn, template, null);

    // ScanEnvelope - the envelope records of bounce_mail_alloc().
    private void ScanEnvelope(string path)
    {
        var reader = new RecordReader(orig, path);
        var prevType = 0;
        var allHeadersSeen = false;
        var skipMessageSegment = false;
        var inEnvelope = true;
        var threaded = settings.ThreadedBounce;
        var sender = new StringBuilder();
        int type;
        for (; (type = reader.Read(out var rec)) > 0; prevType = type)
        {
            var text = Encoding.Latin1.GetString(rec);
            if (type == RecordType.Size)
            {
                if (MessageSize == 0)
                {
                    var parts = text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    if (parts.Length > 0)
                        MessageSize = BounceLog.AtoL(parts[0]);
                    if (parts.Length > 1)
                        OrigOffset = BounceLog.AtoL(parts[1]);
                }
                if (MessageSize < 0)
                    MessageSize = 0;
                if (OrigOffset < 0)
                    OrigOffset = 0;
            }
            else if (type == RecordType.Time)
            {
                if (ArrivalTime == 0 && (ArrivalTime = BounceLog.AtoL(text)) < 0)
                    ArrivalTime = 0;
            }
            else if (type == RecordType.From)
            {
                sender.Clear();
                Quote822.Local(sender, text.Length > 0 ? text : settings.MailDaemon, Quote822.Flags.None);
                Sender = sender.ToString();
            }
            else if (type == RecordType.Mesg)
            {
                if (Sender.Length == 0)
                    Msg.Warn($"{QueueId}: no sender before message content record");
                OrigOffset = reader.Tell();
                if (!threaded)
                    skipMessageSegment = true;
                else
                    inEnvelope = false;
            }
            else if (!inEnvelope && (type == RecordType.Norm || type == RecordType.Cont))
            {
                if (!threaded || allHeadersSeen || prevType == RecordType.Cont)
                {
                    // Nothing to learn from this record.
                }
                else if (HeaderNameLength(text) is var nameLen && nameLen > 0)
                {
                    if (string.Equals(text[..nameLen], "Message-ID", StringComparison.OrdinalIgnoreCase))
                    {
                        var line = text.TrimEnd(' ', '\t', '\r', '\n', '\f', '\v');
                        var cp = Math.Min(nameLen + 1, line.Length);
                        while (cp < line.Length && BounceLog.IsSpace(line[cp]))
                            cp++;
                        if (cp < line.Length && line[cp] == '<' && line[^1] == '>')
                            OrigMsgid = line[cp..];
                        else
                            Msg.Warn($"{QueueId}: ignoring malformed Message-ID");
                    }
                }
                else if (text.Length > 0 && BounceLog.IsSpace(text[0]))
                {
                    // The rest of a multi-line header.
                }
                else
                {
                    allHeadersSeen = true;
                    skipMessageSegment = true;
                }
            }
            else if (type == RecordType.Xtra)
            {
                if (OrigMsgid.Length == 0 && threaded)
                    allHeadersSeen = true;
                inEnvelope = true;
            }
            if (OrigOffset > 0 && ArrivalTime > 0 && Sender.Length > 0
                && (!threaded || allHeadersSeen || OrigMsgid.Length > 0))
                break;
            if (skipMessageSegment)
            {
                reader.Seek(OrigOffset + MessageSize);
                skipMessageSegment = false;
            }
        }
    }

    // HeaderNameLength - is_header(): the length of the header name, 0 if not a header.
    internal static int HeaderNameLength(string s)
    {
        var len = 0;
        var state = 0; // 0: start, 1: in name, 2: spaces after the name
        foreach (var c in s)
        {
            if (c == ':')
                return state != 0 ? len : 0;
            if (c is ' ' or '\t')
            {
                if (state == 0)
                    return 0;
                state = 2;
                continue;
            }
            if (c == 0 || c > 126 || c < 33 || state == 2)
                return 0;
            state = 1;
            len++;
        }
        return 0;
    }

    // Header - bounce_header(): recipient is the notice's envelope recipient.
    public bool Header(PostMail bounce, string dest, bool postmasterCopy)
    {
        Template.Headers(bounce.Octets, Quote822.Local(dest), postmasterCopy, settings.TemplateConfig.StandardFrom);
        if (OrigMsgid.Length > 0)
        {
            bounce.Octets("References: " + OrigMsgid);
            bounce.Octets("In-Reply-To: " + OrigMsgid);
        }
        bounce.Octets("Auto-Submitted: " + (postmasterCopy ? "auto-generated" : "auto-replied"));
        bounce.Octets("MIME-Version: 1.0");
        bounce.Octets("Content-Type: multipart/report; report-type=delivery-status;");
        bounce.Octets("\tboundary=\"" + MimeBoundary + "\"");
        if (MimeEncoding != null)
            bounce.Octets("Content-Transfer-Encoding: " + (MimeEncoding == "7bit" ? Template.Encoding : MimeEncoding));
        bounce.Octets("");
        bounce.Octets("This is a MIME-encapsulated message.");
        bounce.Octets("");
        bounce.Octets("--" + MimeBoundary);
        bounce.Octets("Content-Description: Notification");
        bounce.Octets("Content-Type: text/plain; charset="
                      + (!string.Equals(Template.Charset, "us-ascii", StringComparison.OrdinalIgnoreCase) ? Template.Charset
                          : Not7BitMime ? "utf-8" : "us-ascii"));
        if (Not7BitMime)
            bounce.Octets("Content-Transfer-Encoding: " + MimeEncoding);
        bounce.Octets("");
        return !bounce.Failed;
    }

    private bool Not7BitMime => MimeEncoding != null && !string.Equals(MimeEncoding, "7bit", StringComparison.OrdinalIgnoreCase);

    // Boilerplate - bounce_boilerplate(): the template's message text.
    public bool Boilerplate(PostMail bounce)
    {
        Template.Expand(bounce.Octets, settings.TemplateConfig);
        return !bounce.Failed;
    }

    // PrintWrap - bounce_print_wrap(): lines of at most 79 columns, continued with 4 spaces.
    private static void PrintWrap(PostMail bounce, string text) =>
        LineWrap.Wrap(text, LineLength, Indent, (line, indent) => bounce.Octets(new string(' ', indent) + line));

    // RecipientLog - bounce_recipient_log(): one recipient, human-readable.
    public bool RecipientLog(PostMail bounce)
    {
        bounce.Octets("");
        if (Rcpt.OrigAddr.Length > 0)
            PrintWrap(bounce, $"<{Rcpt.Address}> (expanded from <{Rcpt.OrigAddr}>): {Dsn.Reason}");
        else
            PrintWrap(bounce, $"<{Rcpt.Address}>: {Dsn.Reason}");
        return !bounce.Failed;
    }

    // DiagnosticLog - bounce_diagnostic_log(): recipients selected by the
    // NOTIFY filter; -1 on a write error.
    public int DiagnosticLog(PostMail bounce, int notifyFilter)
    {
        var count = 0;
        if (Log == null)
        {
            if (Template.IsFailure)
            {
                bounce.Octets("");
                bounce.Octets("\t--- Delivery report unavailable ---");
                count = 1;
            }
        }
        else
        {
            Log.Rewind();
            while (Log.Read(Rcpt, Dsn))
            {
                if (Rcpt.DsnNotify == 0 || (Rcpt.DsnNotify & notifyFilter) != 0)
                {
                    count++;
                    if (!RecipientLog(bounce))
                        break;
                }
            }
        }
        return bounce.Failed ? -1 : count;
    }

    // HeaderDsn - bounce_header_dsn(): the per-message delivery status fields.
    public bool HeaderDsn(PostMail bounce)
    {
        bounce.Octets("");
        bounce.Octets("--" + MimeBoundary);
        bounce.Octets("Content-Description: Delivery report");
        var global = (SmtpUtf8 & BounceCodes.SmtpUtf8Requested) != 0;
        bounce.Octets("Content-Type: message/" + (global ? "global-" : "") + "delivery-status");
        if (Not7BitMime && global)
            bounce.Octets("Content-Transfer-Encoding: " + MimeEncoding);
        bounce.Octets("");
        bounce.Octets("Reporting-MTA: dns; " + settings.MyHostname);
        if (DsnEnvid != null)
            bounce.Octets("Original-Envelope-Id: " + DsnEnvid);
        bounce.Octets($"X-{MailName}-Queue-ID: {QueueId}");
        if (Sender.Length > 0)
            bounce.Octets($"X-{MailName}-Sender: {(SmtpUtf8 != 0 && IsUtf8Address(Sender) ? "utf-8" : "rfc822")}; {Sender}");
        if (ArrivalTime > 0)
            bounce.Octets("Arrival-Date: " + MailDate.Format(ArrivalTime));
        return !bounce.Failed;
    }

    // IsUtf8Address - non-empty, not all ASCII, valid UTF-8 (octet string).
    private static bool IsUtf8Address(string s)
    {
        if (s.Length == 0 || Raw.IsAscii(s))
            return false;
        try
        {
            new UTF8Encoding(false, true).GetString(Encoding.Latin1.GetBytes(s));
            return true;
        }
        catch (DecoderFallbackException)
        {
            return false;
        }
    }

    // RecipientDsn - bounce_recipient_dsn(): the per-recipient fields.
    public bool RecipientDsn(PostMail bounce)
    {
        bounce.Octets("");
        bounce.Octets($"Final-Recipient: {(SmtpUtf8 != 0 && IsUtf8Address(Rcpt.Address) ? "utf-8" : "rfc822")}; {Rcpt.Address}");
        if (Rcpt.DsnOrcpt.Length > 0)
            bounce.Octets("Original-Recipient: " + Rcpt.DsnOrcpt);
        else if (Rcpt.OrigAddr.Length > 0)
            bounce.Octets($"Original-Recipient: {(SmtpUtf8 != 0 && IsUtf8Address(Rcpt.OrigAddr) ? "utf-8" : "rfc822")}; {Rcpt.OrigAddr}");
        bounce.Octets("Action: " + (Template.IsFailure ? "failed" : Dsn.Action));
        bounce.Octets("Status: " + Dsn.Status);
        if (Dsn.Mtype.Length > 0 && Dsn.Mname.Length > 0)
            PrintWrap(bounce, $"Remote-MTA: {Dsn.Mtype}; {Dsn.Mname}");
        if (Dsn.Dtype.Length > 0 && Dsn.Dtext.Length > 0)
            PrintWrap(bounce, $"Diagnostic-Code: {Dsn.Dtype}; {Dsn.Dtext}");
        else
            PrintWrap(bounce, $"Diagnostic-Code: X-{MailName}; {Dsn.Reason}");
        if (Template.IsDelay)
            bounce.Octets("Will-Retry-Until: " + MailDate.Format(ArrivalTime + settings.MaxQueueTime));
        return !bounce.Failed;
    }

    // DiagnosticDsn - bounce_diagnostic_dsn(); -1 on a write error.
    public int DiagnosticDsn(PostMail bounce, int notifyFilter)
    {
        var count = 0;
        if (Log == null)
        {
            if (Template.IsFailure)
                count = 1;
        }
        else
        {
            Log.Rewind();
            while (Log.Read(Rcpt, Dsn))
            {
                if (Rcpt.DsnNotify == 0 || (Rcpt.DsnNotify & notifyFilter) != 0)
                {
                    count++;
                    if (!RecipientDsn(bounce))
                        break;
                }
            }
        }
        return bounce.Failed ? -1 : count;
    }

    // Original - bounce_original(): the returned message (or its headers
    // only: by request, or when it is larger than bounce_size_limit).
    public bool Original(PostMail bounce, int headersOnly)
    {
        if (settings.BounceLimit > 0 && orig != null && (MessageSize <= 0 || MessageSize > settings.BounceLimit))
            headersOnly = BounceCodes.RetHdrs;
        var hdrs = headersOnly == BounceCodes.RetHdrs;
        bounce.Octets("");
        bounce.Octets("--" + MimeBoundary);
        bounce.Octets("Content-Description: " + (Template.IsFailure || Template.IsDelay ? "Undelivered " : "")
                      + (hdrs ? "Message Headers" : "Message"));
        if ((SmtpUtf8 & BounceCodes.SmtpUtf8Requested) != 0)
            bounce.Octets("Content-Type: message/" + (hdrs ? "global-headers" : "global"));
        else
            bounce.Octets("Content-Type: " + (hdrs ? "text/rfc822-headers" : "message/rfc822"));
        if (Not7BitMime)
            bounce.Octets("Content-Transfer-Encoding: " + MimeEncoding);
        bounce.Octets("");
        if (OrigOffset == 0 || orig == null || OrigOffset > orig.Length)
        {
            bounce.Octets("\t--- Undelivered message unavailable ---");
            return !bounce.Failed;
        }
        bounce.Octets("Return-Path: <" + Sender + ">");
        var reader = new RecordReader(orig, settings.Queue.Path(QueueName, QueueId));
        reader.Seek(OrigOffset);
        int type;
        while (!bounce.Failed && (type = reader.Read(out var rec)) > 0)
        {
            if (type != RecordType.Norm && type != RecordType.Cont)
                break;
            if (hdrs && !IsHeaderLine(rec))
                break;
            bounce.Record(type, rec);
        }
        bounce.Octets("");
        bounce.Octets("--" + MimeBoundary + "--");
        return !bounce.Failed;
    }

    private static bool IsHeaderLine(ReadOnlySpan<byte> rec) =>
        (rec.Length > 0 && (rec[0] == ' ' || rec[0] == '\t')) || HeaderNameLength(Encoding.Latin1.GetString(rec)) > 0;

    // DeleteRecipients - bounce_delrcpt(): mark the logged recipients done.
    public void DeleteRecipients()
    {
        if (origFile == null || Log == null)
            return;
        Log.Rewind();
        while (Log.Read(Rcpt, Dsn))
        {
            if (Rcpt.Offset > 0)
                Completed(Rcpt.Offset);
        }
    }

    // DeleteRecipientOne - bounce_delrcpt_one().
    public void DeleteRecipientOne()
    {
        if (origFile != null && Rcpt.Offset > 0)
            Completed(Rcpt.Offset);
    }

    // Completed - deliver_completed(): turn the recipient record into a done record.
    private void Completed(long offset)
    {
        try
        {
            new RecordWriter(origFile!).PutType(RecordType.Done, offset);
            origFile!.Flush();
        }
        catch (IOException e)
        {
            Msg.Fatal($"update queue file {settings.Queue.Path(QueueName, QueueId)}: {Sys.StrError(Sys.ErrnoOf(e))}");
        }
    }

    private static string Trunc(string s, int n) => s.Length > n ? s[..n] : s;

    public void Dispose()
    {
        origFile?.Dispose();
        origFile = null;
    }
}
