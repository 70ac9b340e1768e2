// NAME
//	QueuedMessage - one message in the active queue
// POSTFIX
//	src/qmgr/qmgr_message.c (qmgr_message_read), src/global/deliver_completed.c,
//	src/global/opened.c
// DESCRIPTION
//	Load() reads the envelope of an active queue file: the size record,
//	arrival time, sender, DSN and log attributes, the delay warning time
//	and every recipient not yet done (with the offset of its record, so
//	that a delivery agent can mark it done in place). Problems give the
//	reference's warnings and a null result (the caller saves the file in
//	the corrupt queue). The "from=<..>, size=N, nrcpt=N (queue active)"
//	line is logged when the sender record is read, as opened() does.
//
//	MarkDone()/Kill()/ClearWarning() rewrite one record in place, the
//	way deliver_completed(), qmgr_message_kill_record() and
//	qmgr_message_update_warn() do.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text;
using Postfix.Global.Queue;
using Postfix.Util;

namespace Postfix.Daemons.Qmgr;

internal sealed record QueuedRecipient(long Offset, string DsnOrcpt, int DsnNotify, string OrigAddr, string Address);

internal sealed class QueuedMessage
{
    // Trace flags (DEL_REQ_FLAG_*), as deliver_request.h.
    public const int FlagMtaVrfy = 1 << 8;
    public const int FlagUsrVrfy = 1 << 9;
    public const int FlagRecord = 1 << 10;
    public const int FlagRecDlySent = 1 << 13;
    public const int TraceFlagsMask = FlagMtaVrfy | FlagUsrVrfy | FlagRecord | FlagRecDlySent;
    public const int TraceOnlyMask = FlagMtaVrfy | FlagUsrVrfy;
    public const int DsnNotifySuccess = 1 << 1;

    // QMGR_READ_FLAG_*: the size record's flags (mixed recipients, and each
    // DSN NOTIFY bit shifted left by one).
    public const int ReadFlagNotifySuccess = DsnNotifySuccess << 1;
    public const int ReadFlagUser = 0x1f;

    public string QueueName { get; init; } = MailQueue.Active;
    public string QueueId { get; init; } = "";
    public string Path { get; init; } = "";
    public int ScanFlags { get; init; }
    public long ArrivalSec { get; set; }
    public long ArrivalUsec { get; set; }
    public long CreateTime { get; set; }
    public long ActiveSec { get; set; }
    public long ActiveUsec { get; set; }
    public long DataOffset { get; set; }
    public long DataSize { get; set; }
    public long ContLength { get; set; }
    public int RcptUnread { get; set; }
    public int ReadFlags { get; set; }
    public int SmtpUtf8 { get; set; }
    public string? Sender { get; set; }
    public string DsnEnvid { get; set; } = "";
    public int DsnRet { get; set; }
    public string Encoding { get; set; } = "";
    public string ClientName { get; set; } = "";
    public string ClientAddr { get; set; } = "";
    public string ClientPort { get; set; } = "";
    public string ClientProto { get; set; } = "";
    public string ClientHelo { get; set; } = "";
    public string SaslMethod { get; set; } = "";
    public string SaslUsername { get; set; } = "";
    public string SaslSender { get; set; } = "";
    public string LogIdent { get; set; } = "";
    public string RewriteContext { get; set; } = "";
    public string? FilterTransport { get; set; }
    public string? InspectTransport { get; set; }
    public string? RedirectAddress { get; set; }
    public string? VerpDelims { get; set; }
    public int TraceFlags { get; set; }
    public long TraceFlagsOffset { get; set; }
    public long WarnOffset { get; set; }
    public long WarnTime { get; set; }
    public bool NotifySuccess { get; set; }
    public List<QueuedRecipient> Recipients { get; } = new();

    // Jobs - one per transport this message uses (the preemptive scheduler).
    public List<Job> Jobs { get; } = new();

    // Scheduler state.
    public int Flags { get; set; }
    public int RefCount { get; set; }

    // RcptOffset - where the recipients not read yet begin (0: all read);
    // RcptUnread - how many recipient records the file has after it (by
    // the size record's count).
    public long RcptOffset { get; set; }

    // Recipient slots of the preemptive scheduler (Jobs.cs): in use by the
    // message's entries, and granted to it (qmgr_message_recipient_minimum
    // plus what its jobs got); RefillTime - when recipients were last read.
    public int RcptCount { get; set; }
    public int RcptLimit { get; set; }
    public long RefillTime { get; set; }

    private long startOffset;
    private int recipientLimit = int.MaxValue;

    // Load - qmgr_message_read() over the whole file image; null when the
    // file is unusable (warnings already logged).

    public static QueuedMessage? Load(byte[] image, string queueId, string path, int scanFlags, bool logOpened = true,
        int recipientLimit = int.MaxValue)
    {
        var m = new QueuedMessage { QueueId = queueId, Path = path, ScanFlags = scanFlags, recipientLimit = recipientLimit };
        return m.Parse(image, logOpened) ? m : null;
    }

    // Reload - the reading part of qmgr_message_realloc(): the next batch
    // of at most limit recipients, from RcptOffset on (the other records
    // were read the first time); false, and nothing changed, when the file
    // became unusable.
    public bool Reload(byte[] image, int limit)
    {
        var (savedOffset, savedUnread) = (RcptOffset, RcptUnread);
        Recipients.Clear();
        startOffset = RcptOffset;
        recipientLimit = limit;
        RcptOffset = 0;
        if (Parse(image, false))
            return true;
        (RcptOffset, RcptUnread) = (savedOffset, savedUnread);
        Recipients.Clear();
        return false;
    }

    private static readonly string EnvTypes = RecordType.Envelope + RecordType.Extract;

    private bool Parse(byte[] image, bool logOpened)
    {
        var reader = new RecordReader(image, Path);
        string? origRcpt = null;
        string? dsnOrcpt = null;
        var dsnNotify = 0;
        var haveLogClient = false;
        // A further read starts where the last one stopped; the records
        // that are not recipients were all seen the first time.
        var seenAll = startOffset > 0;
        if (seenAll)
            reader.Seek(startOffset);
        int type;
        for (;;)
        {
            var expected = EnvTypes;
            var offset = reader.Position;
            if (offset == DataOffset && offset > 0)
            {
                reader.Seek(offset + DataSize);
                offset += DataSize;
                expected = "X";
            }
            type = reader.ReadRaw(out var rec, 0, RecordFlags.None);
            if (type == RecordType.Ptr)
            {
                if ((type = reader.Goto(rec)) == RecordType.Error)
                    break;
                continue;
            }
            if (type <= 0)
            {
                Msg.Warn($"{QueueId}: message rejected: missing end record");
                break;
            }
            if (expected.IndexOf((char)type) < 0)
            {
                Msg.Warn($"Unexpected record type '{(char)type}' at offset {offset}");
                type = RecordType.Error;
                break;
            }
            if (type == RecordType.End)
            {
                seenAll = true;
                break;
            }
            var text = Utf8(rec);
            string name = "", value = "";
            if (type == RecordType.Attr)
            {
                var eq = text.IndexOf('=');
                if (eq <= 0)
                {
                    Msg.Warn($"{QueueId}: bad attribute record: {(eq < 0 ? "missing '=' after attribute name" : "missing attribute name")}: {Trunc(text, 200)}");
                    type = RecordType.Error;
                    break;
                }
                name = text[..eq].Trim();
                value = text[(eq + 1)..].Trim();
                var mapped = AttrMap(name);
                if (mapped != 0)
                {
                    type = mapped;
                    text = value;
                }
            }
            switch (type)
            {
                case RecordType.Rcpt:
                    // Past the limit, recipients wait for a further read.
                    if (RcptOffset == 0)
                    {
                        RcptUnread--;
                        Recipients.Add(new QueuedRecipient(offset, dsnOrcpt ?? "", dsnNotify, origRcpt ?? "", text));
                        NotifySuccess |= (dsnNotify & DsnNotifySuccess) != 0;
                        if (Recipients.Count >= recipientLimit)
                            RcptOffset = reader.Position;
                    }
                    dsnOrcpt = origRcpt = null;
                    dsnNotify = 0;
                    continue;
                case RecordType.Done:
                case RecordType.Drcp:
                    if (RcptOffset == 0)
                        RcptUnread--;
                    dsnOrcpt = origRcpt = null;
                    dsnNotify = 0;
                    continue;
                case RecordType.DsnOrcpt:
                    if (dsnOrcpt != null)
                        Msg.Warn($"{QueueId}: ignoring out-of-order DSN original recipient address <{Trunc(dsnOrcpt, 200)}>");
                    dsnOrcpt = RcptOffset == 0 ? text : null;
                    continue;
                case RecordType.DsnNotify:
                    if (dsnNotify != 0)
                    {
                        Msg.Warn($"{QueueId}: ignoring out-of-order DSN notify flags <{dsnNotify}>");
                        dsnNotify = 0;
                    }
                    if (RcptOffset != 0)
                        continue;
                    if (!AllDigits(text) || !int.TryParse(text, out var n) || n == 0 || (n & ~0xf) != 0 || ((n & 1) != 0 && n != 1))
                        Msg.Warn($"{QueueId}: ignoring malformed DSN notify flags <{Trunc(text, 200)}>");
                    else
                        dsnNotify = n;
                    continue;
                case RecordType.Orcp:
                    if (origRcpt != null)
                        Msg.Warn($"{QueueId}: ignoring out-of-order original recipient <{Trunc(origRcpt, 200)}>");
                    origRcpt = RcptOffset == 0 ? text : null;
                    continue;
            }
            if (seenAll)
                continue;
            switch (type)
            {
                case RecordType.Size:
                    if (DataOffset == 0)
                    {
                        var f = text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                        var v = new long[6];
                        var count = 0;
                        for (; count < f.Length && count < 6 && long.TryParse(f[count], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out v[count]); count++)
                        {
                        }
                        if (count >= 3)
                        {
                            DataSize = v[0];
                            DataOffset = v[1];
                            RcptUnread = (int)v[2];
                            ReadFlags = (int)v[3];
                            ContLength = v[4];
                            SmtpUtf8 = (int)v[5];
                            if (DataOffset <= 0 || DataSize <= 0)
                            {
                                Msg.Warn($"{QueueId}: invalid size record: {Trunc(text, 100)}");
                                type = RecordType.Error;
                                goto done;
                            }
                            if ((ReadFlags & ~ReadFlagUser) != 0)
                            {
                                Msg.Warn($"{QueueId}: invalid flags in size record: {Trunc(text, 100)}");
                                type = RecordType.Error;
                                goto done;
                            }
                        }
                        else
                        {
                            Msg.Warn($"{QueueId}: message rejected: weird size record");
                            type = RecordType.Error;
                            goto done;
                        }
                    }
                    if (ContLength == 0)
                        ContLength = DataSize;
                    else if (ContLength < 0)
                    {
                        Msg.Warn($"{QueueId}: invalid size record: {Trunc(text, 100)}");
                        type = RecordType.Error;
                        goto done;
                    }
                    break;
                case RecordType.Time:
                    if (ArrivalSec == 0)
                    {
                        var f = text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                        ArrivalSec = f.Length > 0 && long.TryParse(f[0], out var s) ? s : 0;
                        ArrivalUsec = f.Length > 1 && long.TryParse(f[1], out var u) ? u : 0;
                    }
                    break;
                case RecordType.CTime:
                    if (CreateTime == 0)
                        CreateTime = long.TryParse(text, out var ct) ? ct : 0;
                    break;
                case RecordType.Filt:
                    FilterTransport = text;
                    break;
                case RecordType.Insp:
                    InspectTransport = text;
                    break;
                case RecordType.Rdr:
                    RedirectAddress = text;
                    break;
                case RecordType.From:
                    if (Sender == null)
                    {
                        Sender = text;
                        if (logOpened)
                            Msg.Info($"{QueueId}: from=<{Sender}>, size={ContLength}, nrcpt={RcptUnread} (queue {QueueName})");
                    }
                    break;
                case RecordType.DsnEnvId:
                    DsnEnvid = text;
                    break;
                case RecordType.DsnRet:
                    if (!AllDigits(text) || !int.TryParse(text, out var ret) || (ret != 1 && ret != 2))
                        Msg.Warn($"{QueueId}: ignoring malformed DSN RET flags in queue file record:{Trunc(text, 100)}");
                    else
                        DsnRet = ret;
                    break;
                case RecordType.Attr:
                    Attribute(name, value, offset, ref haveLogClient);
                    break;
                case RecordType.Warn:
                    if (WarnOffset == 0)
                    {
                        WarnOffset = offset;
                        WarnTime = long.TryParse(text.Trim(), out var w) ? w : 0;
                    }
                    break;
                case RecordType.Verp:
                    if (VerpDelims == null)
                    {
                        if (string.IsNullOrEmpty(Sender))
                            Msg.Warn($"{QueueId}: ignoring VERP request for null sender");
                        else if (text.Length != 2 || !"-=+".Contains(text[0]) || !"-=+".Contains(text[1]))
                            Msg.Warn($"{QueueId}: ignoring bad VERP request: \"{Trunc(text, 100)}\"");
                        else
                            VerpDelims = text;
                    }
                    break;
            }
        }
    done:
        if (dsnOrcpt != null && type > 0)
            Msg.Warn($"{QueueId}: ignoring out-of-order DSN original recipient <{Trunc(dsnOrcpt, 200)}>");
        if (origRcpt != null && type > 0)
            Msg.Warn($"{QueueId}: ignoring out-of-order original recipient <{Trunc(origRcpt, 200)}>");
        if (Encoding.Length == 0)
            Encoding = "";
        if (RewriteContext.Length == 0)
            RewriteContext = "local";
        if (CreateTime == 0)
            CreateTime = ArrivalSec;
        if (RcptUnread < 0 || (RcptOffset == 0 && RcptUnread != 0))
        {
            Msg.Warn($"{QueueId}: rcpt count mismatch ({RcptUnread})");
            RcptUnread = 0;
        }
        if (type <= 0)
            return false;
        if (ArrivalSec == 0)
            Msg.Warn($"{QueueId}: message rejected: missing arrival time record");
        else if (Sender == null)
            Msg.Warn($"{QueueId}: message rejected: missing sender record");
        else if (DataOffset == 0)
            Msg.Warn($"{QueueId}: message rejected: missing size record");
        else
            return true;
        return false;
    }

    private void Attribute(string name, string value, long offset, ref bool haveLogClient)
    {
        switch (name)
        {
            case "encoding":
                Encoding = value;
                break;
            case "client_name":
                if (!haveLogClient && ClientName.Length == 0) ClientName = value;
                break;
            case "client_address":
                if (!haveLogClient && ClientAddr.Length == 0) ClientAddr = value;
                break;
            case "client_port":
                if (!haveLogClient && ClientPort.Length == 0) ClientPort = value;
                break;
            case "protocol_name":
                if (!haveLogClient && ClientProto.Length == 0) ClientProto = value;
                break;
            case "helo_name":
                if (!haveLogClient && ClientHelo.Length == 0) ClientHelo = value;
                break;
            case "log_client_name":
                ClientName = value;
                haveLogClient = true;
                break;
            case "log_client_address":
                ClientAddr = value;
                haveLogClient = true;
                break;
            case "log_client_port":
                ClientPort = value;
                haveLogClient = true;
                break;
            case "log_protocol_name":
                ClientProto = value;
                haveLogClient = true;
                break;
            case "log_helo_name":
                ClientHelo = value;
                haveLogClient = true;
                break;
            case "sasl_method":
                SaslMethod = Once(SaslMethod, name, value);
                break;
            case "sasl_username":
                SaslUsername = Once(SaslUsername, name, value);
                break;
            case "sasl_sender":
                SaslSender = Once(SaslSender, name, value);
                break;
            case "log_ident":
                LogIdent = Once(LogIdent, name, value);
                break;
            case "rewrite_context":
                RewriteContext = Once(RewriteContext, name, value);
                break;
            case "trace_flags":
                if (TraceFlags == 0)
                {
                    TraceFlags = (int.TryParse(value, out var t) ? t : 0) & TraceFlagsMask;
                    TraceFlagsOffset = TraceFlags == FlagRecord ? offset : 0;
                }
                break;
        }
    }

    private string Once(string current, string name, string value)
    {
        if (current.Length == 0)
            return value;
        Msg.Warn($"{QueueId}: ignoring multiple {name} attribute: {value}");
        return current;
    }

    // rec_attr_map(): attributes that stand for record types.
    private static int AttrMap(string name) => name switch
    {
        "envelope_id" => RecordType.DsnEnvId,
        "ret_flags" => RecordType.DsnRet,
        "notify_flags" => RecordType.DsnNotify,
        "dsn_orig_rcpt" => RecordType.DsnOrcpt,
        "create_time" => RecordType.CTime,
        _ => 0,
    };

    private static bool AllDigits(string s)
    {
        if (s.Length == 0)
            return false;
        foreach (var c in s)
        {
            if (c < '0' || c > '9')
                return false;
        }
        return true;
    }

    private static string Utf8(ReadOnlySpan<byte> rec)
    {
        var n = rec.IndexOf((byte)0);
        return System.Text.Encoding.UTF8.GetString(n >= 0 ? rec[..n] : rec);
    }

    private static string Trunc(string s, int n) => s.Length <= n ? s : s[..n];

    // MarkDone - deliver_completed(): the recipient record becomes a
    // "done" record, in place.
    public static void MarkDone(string path, long offset) => PutType(path, offset, RecordType.Done);

    // Kill - qmgr_message_kill_record(): the record becomes a killed one.
    public static void Kill(string path, long offset) => PutType(path, offset, RecordType.Kill);

    private static void PutType(string path, long offset, int type)
    {
        if (offset == -1)
            return;
        if (offset < 0)
            Msg.Panic($"deliver_completed: bad offset {offset}");
        try
        {
            using var f = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
            f.Seek(offset, SeekOrigin.Begin);
            f.WriteByte((byte)type);
            f.Flush(true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Msg.Fatal($"update queue file {path}: {Sys.StrError(Sys.ErrnoOf(e))}");
        }
    }

    // ClearWarning - qmgr_message_update_warn(): the delay warning was
    // sent; the warning record now says -1 (never again).
    public void ClearWarning()
    {
        if (WarnOffset == 0)
            return;
        var data = System.Text.Encoding.ASCII.GetBytes((-1L).ToString(CultureInfo.InvariantCulture).PadLeft(RecordType.WarnFieldWidth));
        try
        {
            using var f = new FileStream(Path, FileMode.Open, FileAccess.ReadWrite);
            f.Seek(WarnOffset, SeekOrigin.Begin);
            f.WriteByte((byte)RecordType.Warn);
            f.WriteByte((byte)data.Length);
            f.Write(data);
            f.Flush(true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Msg.Fatal($"update queue file {Path}: {Sys.StrError(Sys.ErrnoOf(e))}");
        }
        WarnTime = -1;
    }
}
