// NAME
//	CleanupSession (envelope) - the initial envelope segment
// POSTFIX
//	src/cleanup/cleanup_envelope.c, src/global/rec_attr_map.c
// DESCRIPTION
//	The first record makes cleanup write a placeholder size record.
//	Then each envelope record is checked and copied: one sender, an
//	arrival time (the first one wins; cleanup adds its own create_time
//	attribute), DSN attributes mapped to their pseudo record types,
//	recipients rewritten and de-duplicated, and a delay warning time
//	record written before the first recipient when
//	delay_warning_time is set. The M record switches to message content.
using System;
using System.Globalization;
using Postfix.Global.Queue;
using Postfix.Util;

namespace Postfix.Daemons.Cleanup;

internal sealed partial class CleanupSession
{
    private const int DsnNotifyNever = 1, DsnNotifySuccess = 2, DsnNotifyFailure = 4, DsnNotifyDelay = 8;
    private const int DsnNotifyAny = DsnNotifySuccess | DsnNotifyFailure | DsnNotifyDelay;
    private const int DsnRetFull = 1, DsnRetHdrs = 2;
    private const int QmgrMixedRcptOther = 1;

    private static bool DsnNotifyOk(int v) => v == DsnNotifyNever || v == (v & DsnNotifyAny);

    private static bool AllDigits(string s)
    {
        if (s.Length == 0)
            return false;
        foreach (var c in s)
            if (!char.IsAsciiDigit(c))
                return false;
        return true;
    }

    private static int Atoi(string s)
    {
        var i = 0;
        while (i < s.Length && char.IsWhiteSpace(s[i]))
            i++;
        var start = i;
        if (i < s.Length && (s[i] == '-' || s[i] == '+'))
            i++;
        while (i < s.Length && char.IsAsciiDigit(s[i]))
            i++;
        return int.TryParse(s.AsSpan(start, i - start), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) ? n : 0;
    }

    // RecAttrMap - rec_attr_map(): pseudo record type of an attribute.
    internal static int RecAttrMap(string name) => name switch
    {
        "dsn_orig_rcpt" => RecordType.DsnOrcpt,
        "notify_flags" => RecordType.DsnNotify,
        "envelope_id" => RecordType.DsnEnvId,
        "ret_flags" => RecordType.DsnRet,
        "create_time" => RecordType.CTime,
        _ => 0,
    };

    private void Reject(string warning)
    {
        Msg.Warn($"{QueueId}: message rejected: {warning}");
        Errs |= CleanupStatus.Bad;
    }

    // Envelope - cleanup_envelope(): the placeholder size record first.
    private void Envelope(int type, string buf)
    {
        Out(RecordType.Size, new SizeRecord(0, 0, 0, 0, 0, 0).Format());
        action = EnvelopeProcess;
        EnvelopeProcess(type, buf);
    }

    private void EnvelopeProcess(int type, string buf)
    {
        if (type == RecordType.Flgs)
        {
            ExtraFlags(buf);
            return;
        }
        if (type == RecordType.MiltCount)
        {
            // Not part of the queue file: smtpd hands over its milters.
            var count = Atoi(buf);
            if (count >= 0)
                MilterReceive(count);
            return;
        }

        var mappedType = type;
        var mappedBuf = buf;
        string attrName = "", attrValue = "";
        if (type == RecordType.Attr)
        {
            var error = Postfix.Global.Config.NameValue.Split(buf, out attrName, out attrValue);
            if (error != null)
            {
                Msg.Warn($"{QueueId}: message rejected: malformed attribute: {error}: {Trunc(buf, 100)}");
                Errs |= CleanupStatus.Bad;
                return;
            }
            if (attrValue.Length == 0)
            {
                Msg.Warn($"{QueueId}: spurious null attribute value for \"{attrName}\" -- ignored");
                return;
            }
            var junk = RecAttrMap(attrName);
            if (junk != 0)
            {
                mappedBuf = attrValue;
                mappedType = junk;
            }
        }

        if (!RecordType.InSet(RecordType.Envelope, type))
        {
            Reject($"unexpected record type {type} in envelope");
            return;
        }

        if ((Flags & CleanupFlags.InRcpt) == 0 && RecordType.InSet(RecordType.EnvRecipient, type))
        {
            if (Sender == null)
            {
                Reject("missing sender envelope record");
                return;
            }
            if (arrivalSeconds == 0)
            {
                Reject("missing time envelope record");
                return;
            }
            if ((Flags & CleanupFlags.WarnSeen) == 0 && Sender.Length > 0 && cfg.DelayWarnTime > 0)
                Out(RecordType.Warn, RecordWriter.FormatWarn(arrivalSeconds + cfg.DelayWarnTime));
            Flags |= CleanupFlags.InRcpt;
        }

        if (type == RecordType.Rcpt)
        {
            if (Sender == null)
            {
                Reject("envelope recipient precedes sender");
                return;
            }
            origRcpt ??= buf;
            AddrRecipient(buf);
            if (cfg.NonSmtpdMilters != null && milters == null && MilterOk)
                MilterEmulRcpt(cfg.NonSmtpdMilters, Recip!);
            origRcpt = null;
            dsnOrcpt = null;
            dsnNotify = 0;
            return;
        }
        if (type == RecordType.Done || type == RecordType.Drcp)
        {
            origRcpt = null;
            dsnOrcpt = null;
            dsnNotify = 0;
            return;
        }
        if (mappedType == RecordType.DsnOrcpt)
        {
            if (dsnOrcpt != null)
                Msg.Warn($"{QueueId}: ignoring out-of-order DSN original recipient record <{Trunc(dsnOrcpt, 200)}>");
            dsnOrcpt = mappedBuf;
            return;
        }
        if (mappedType == RecordType.DsnNotify)
        {
            if (dsnNotify != 0)
            {
                Msg.Warn($"{QueueId}: ignoring out-of-order DSN notify record <{dsnNotify}>");
                dsnNotify = 0;
            }
            int junk;
            if (!AllDigits(mappedBuf) || (junk = Atoi(mappedBuf)) == 0 || !DsnNotifyOk(junk))
                Msg.Warn($"{QueueId}: ignoring malformed DSN notify record <{Trunc(buf, 200)}>");
            else
                qmgrOpts |= (dsnNotify = junk) << 1;
            return;
        }
        if (type == RecordType.Orcp)
        {
            if (origRcpt != null)
                Msg.Warn($"{QueueId}: ignoring out-of-order original recipient record <{Trunc(origRcpt, 200)}>");
            origRcpt = buf;
            return;
        }
        if (type == RecordType.Mesg)
        {
            action = Message;
            if ((Flags & CleanupFlags.InRcpt) != 0)
            {
                if (MiltersActive)
                    (appendRcptPtOffset, appendRcptPtTarget) = Placeholder();
                Flags &= ~CleanupFlags.InRcpt;
            }
            return;
        }

        if ((Flags & CleanupFlags.InRcpt) != 0)
            qmgrOpts |= QmgrMixedRcptOther;
        if (type == RecordType.Size)
        {
            // Keep only the client's SMTPUTF8_REQUESTED flag (from
            // "postsuper -r"); the reference's sscanf() format never gets
            // that far, so in practice only the flag set earlier stays.
            SmtpUtf8 &= SmtpUtf8Requested;
            return;
        }
        if (mappedType == RecordType.CTime)
            return;
        if (type == RecordType.Time)
        {
            if (arrivalSeconds == 0)
            {
                arrivalSeconds = Atol(buf);
                var sp = buf.IndexOf(' ', StringComparison.Ordinal);
                arrivalMicros = sp >= 0 ? Atol(buf[(sp + 1)..]) : 0;
                Out(type, buf);
            }
            Out(RecordType.Attr, "create_time=" + DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture));
            return;
        }
        if (type == RecordType.Full)
        {
            if (fullname == null)
            {
                fullname = buf;
                Out(type, buf);
            }
            return;
        }
        if (type == RecordType.From)
        {
            if (Sender != null)
            {
                Reject("multiple envelope sender records");
                return;
            }
            if (MiltersActive)
                senderPtOffset = Tell();
            var afterSender = AddrSender(buf);
            if (MiltersActive)
                senderPtTarget = afterSender;
            if (cfg.NonSmtpdMilters != null && milters == null && MilterOk)
                MilterEmulMail(cfg.NonSmtpdMilters, Sender!);
            return;
        }
        if (mappedType == RecordType.DsnEnvId)
        {
            if (!AllPrint(mappedBuf))
            {
                Reject("bad DSN envelope ID record");
                return;
            }
            dsnEnvid = mappedBuf;
            Out(type, buf);
            return;
        }
        if (mappedType == RecordType.DsnRet)
        {
            int junk;
            if (!AllDigits(mappedBuf) || (junk = Atoi(mappedBuf)) == 0 || (junk != DsnRetFull && junk != DsnRetHdrs))
            {
                Reject($"bad DSN RET record <{Trunc(buf, 200)}>");
                return;
            }
            dsnRet = junk;
            Out(type, buf);
            return;
        }
        if (type == RecordType.Warn)
        {
            if ((Flags & CleanupFlags.WarnSeen) == 0)
            {
                Flags |= CleanupFlags.WarnSeen;
                Out(type, buf);
            }
            return;
        }
        if (type == RecordType.Verp)
        {
            if (verpDelims == null)
            {
                if (string.IsNullOrEmpty(Sender))
                    Msg.Warn($"{QueueId}: ignoring VERP request for null sender");
                else if (!VerpDelimsOk(buf))
                    Msg.Warn($"{QueueId}: ignoring bad VERP request: \"{Trunc(buf, 100)}\"");
                else
                {
                    verpDelims = buf;
                    Out(type, buf);
                }
            }
            return;
        }
        if (type == RecordType.Attr)
        {
            if (attr.Count >= cfg.QattrCountLimit)
            {
                Reject($"attribute count exceeds limit {cfg.QattrCountLimit}");
                return;
            }
            if (attrName == "rewrite_context")
            {
                if (attrValue == "local")
                    hdrRewriteContext = "local";
                else if (attrValue == "remote")
                    hdrRewriteContext = cfg.RemoteRewriteDomain.Length > 0 ? "remote" : null;
                else
                {
                    Reject($"bad rewriting context: {Trunc(attrValue, 100)}");
                    return;
                }
            }
            if (attrName == "trace_flags")
            {
                if (!AllDigits(attrValue))
                {
                    Reject($"bad TFLAG record <{Trunc(buf, 200)}>");
                    return;
                }
                if (tflags == 0)
                    tflags = Atoi(attrValue) & 0xf;
            }
            attr[attrName] = attrValue;
            Out(type, buf);
            return;
        }
        Out(type, buf);
    }

    private void ExtraFlags(string buf)
    {
        var extra = Atoi(buf);
        if ((extra & ~CleanupFlags.MaskExtra) != 0)
            Msg.Warn($"{QueueId}: ignoring bad extra flags: 0x{extra:x}");
        else
            Flags |= extra;
    }

    private static long Atol(string s)
    {
        var i = 0;
        while (i < s.Length && char.IsWhiteSpace(s[i]))
            i++;
        var start = i;
        if (i < s.Length && (s[i] == '-' || s[i] == '+'))
            i++;
        while (i < s.Length && char.IsAsciiDigit(s[i]))
            i++;
        return long.TryParse(s.AsSpan(start, i - start), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) ? n : 0;
    }

    private static bool AllPrint(string s)
    {
        if (s.Length == 0)
            return false;
        foreach (var c in s)
            if (c < 32 || c >= 127)
                return false;
        return true;
    }

    // VerpDelimsOk - verp_delims_verify(): two characters from
    // verp_delimiter_filter ("-=+").
    private static bool VerpDelimsOk(string s) =>
        s.Length == 2 && "-=+".Contains(s[0], StringComparison.Ordinal) && "-=+".Contains(s[1], StringComparison.Ordinal);

    private static string Trunc(string s, int n) => s.Length <= n ? s : s[..n];
}
