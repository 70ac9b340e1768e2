// NAME
//	CleanupSession (addresses) - envelope sender and recipients
// POSTFIX
//	src/cleanup/cleanup_addr.c, cleanup_out_recipient.c,
//	cleanup_rewrite.c
// DESCRIPTION
//	Envelope addresses are rewritten to canonical form in the "local"
//	context (quoted for trivial-rewrite, unquoted again afterwards);
//	a sender that canonicalizes to MAILER-DAEMON becomes the null
//	sender. Recipients get a DSN original recipient ("rfc822;addr")
//	when the client sent none, and duplicates (same DSN information,
//	original and final recipient) are written once.
//	With CLEANUP_FLAG_MAP_OK the canonical tables apply (AddrMap.cs),
//	recipients expand through virtual_alias_maps, and with
//	CLEANUP_FLAG_BCC_OK sender/recipient_bcc_maps add recipients.
//	masquerade_domains applies to the classes in masquerade_classes.
using Postfix.Global.Address;
using System;
using System.Text;
using Postfix.Global.Queue;

namespace Postfix.Daemons.Cleanup;

internal sealed partial class CleanupSession
{
    // RewriteInternal - cleanup_rewrite_internal().
    private string RewriteInternal(string context, string addr) =>
        Quote822.Unquote(rewriter.Rewrite(context, Quote822.Local(addr)));

    // RewriteTree - cleanup_rewrite_tree(): one address node in place.
    private bool RewriteTree(string context, Tok822 tree)
    {
        var src = Tok822.Externalize(tree.Head, Tok822.Str.Defl);
        var dst = rewriter.Rewrite(context, src);
        var head = Tok822.Scan(dst, out var tail);
        tree.Head = head;
        tree.Tail = tail;
        for (var t = head; t != null; t = t.Next)
            t.Owner = tree;
        return !string.Equals(dst, src, StringComparison.Ordinal);
    }

    // AddrSender - cleanup_addr_sender().
    private long AddrSender(string buf)
    {
        var clean = RewriteInternal("local", buf);
        if (clean.StartsWith("MAILER-DAEMON@", StringComparison.OrdinalIgnoreCase))
        {
            var daemon = RewriteInternal("local", "MAILER-DAEMON");
            if (string.Equals(clean, daemon, StringComparison.OrdinalIgnoreCase))
                clean = "";
        }
        CanonInternal(ref clean, AddressMaps.EnvFrom, cfg.AddressMaps?.SendCanon, cfg.AddressMaps?.SendCanonFlags ?? 0);
        MasqInternal(ref clean, AddressMaps.EnvFrom);
        if (cfg.SmtpUtf8Enable && clean.Length > 0 && !Raw.IsAscii(clean) && ValidUtf8(clean))
        {
            SmtpUtf8 |= SmtpUtf8Sender;
            if ((Flags & CleanupFlags.AutoUtf8) != 0)
                SmtpUtf8 |= SmtpUtf8Requested;
        }
        Out(RecordType.From, clean);
        Sender = clean;
        var after = 0L;
        if (MiltersActive)
        {
            // Room to replace the sender with a pointer.
            if (clean.Length < RecordType.PtrPayloadSize)
                Pad(RecordType.Ptr, RecordType.PtrPayloadSize - clean.Length);
            after = Tell();
        }
        BccLookup(cfg.AddressMaps?.SendBcc, clean);
        return after;
    }

    // AddrSenderForMilter - cleanup_addr_sender() for a milter's new sender.
    private long AddrSenderForMilter(string addr) => AddrSender(addr);

    // AddrBccDsn - cleanup_addr_bcc_dsn().
    private void AddrBccDsn(string bcc, string? orcpt, int notify)
    {
        var clean = RewriteInternal("local", bcc);
        CanonInternal(ref clean, AddressMaps.EnvRcpt, cfg.AddressMaps?.RcptCanon, cfg.AddressMaps?.RcptCanonFlags ?? 0);
        MasqInternal(ref clean, AddressMaps.EnvRcpt);
        if (cfg.SmtpUtf8Enable && clean.Length > 0 && !Raw.IsAscii(clean) && ValidUtf8(clean)
            && (Flags & CleanupFlags.AutoUtf8) != 0)
            SmtpUtf8 |= SmtpUtf8Requested;
        OutRecipient(orcpt, notify, clean, clean);
    }

    // AddrRecipient - cleanup_addr_recipient().
    private void AddrRecipient(string buf)
    {
        var clean = RewriteInternal("local", buf.Length > 0 ? buf : cfg.EmptyAddr);
        CanonInternal(ref clean, AddressMaps.EnvRcpt, cfg.AddressMaps?.RcptCanon, cfg.AddressMaps?.RcptCanonFlags ?? 0);
        MasqInternal(ref clean, AddressMaps.EnvRcpt);
        if (cfg.SmtpUtf8Enable && clean.Length > 0 && !Raw.IsAscii(clean) && ValidUtf8(clean)
            && (Flags & CleanupFlags.AutoUtf8) != 0)
            SmtpUtf8 |= SmtpUtf8Requested;
        if (dsnOrcpt == null && clean.Length > 0)
            dsnOrcpt = (!Raw.IsAscii(clean) && (SmtpUtf8 & SmtpUtf8Requested) != 0 ? "utf-8" : "rfc822") + ";" + clean;
        OutRecipient(dsnOrcpt, dsnNotify, origRcpt ?? clean, clean);
        Recip = clean;
        BccLookup(cfg.AddressMaps?.RcptBcc, clean);
    }

    // AddrBcc - cleanup_addr_bcc(): a locally supplied BCC recipient.
    private void AddrBcc(string bcc)
    {
        var clean = RewriteInternal("local", bcc);
        CanonInternal(ref clean, AddressMaps.EnvRcpt, cfg.AddressMaps?.RcptCanon, cfg.AddressMaps?.RcptCanonFlags ?? 0);
        MasqInternal(ref clean, AddressMaps.EnvRcpt);
        if (cfg.SmtpUtf8Enable && clean.Length > 0 && !Raw.IsAscii(clean) && ValidUtf8(clean)
            && (Flags & CleanupFlags.AutoUtf8) != 0)
            SmtpUtf8 |= SmtpUtf8Requested;
        OutRecipient(null, DsnNotifyNever, clean, clean);
    }

    // OutRecipient - cleanup_out_recipient(): with virtual_alias_maps
    // (and address mapping allowed) each address of the expansion.
    private void OutRecipient(string? orcptDsn, int notify, string orcpt, string recip)
    {
        orcptDsn ??= "";
        var virt = cfg.AddressMaps?.VirtAlias;
        if ((Flags & CleanupFlags.MapOk) == 0 || virt == null)
        {
            OutOneRecipient(orcptDsn, notify, orcpt, recip);
            return;
        }
        var list = Map1N(recip, virt, (cfg.AddressMaps!.ExtPropMask & AddressMaps.PropVirtual) != 0);
        // EXTENSION POINT: the reference also answers verify(8) probes here.
        // NOTIFY=SUCCESS for an address that expands: an "expanded" record
        // in the trace log now (qmgr sends the success notice later), and
        // the expansion carries NOTIFY minus SUCCESS.
        if ((notify & DsnNotifySuccess) != 0 && (list.Count > 1 || !string.Equals(recip, list[0], StringComparison.Ordinal)))
        {
            TraceExpanded(new Postfix.Global.Deliver.Recipient(orcpt, recip, 0, orcptDsn, notify));
            notify = notify == DsnNotifySuccess ? DsnNotifyNever : notify & ~DsnNotifySuccess;
        }
        foreach (var r in list)
            OutOneRecipient(orcptDsn, notify, orcpt, r);
    }

    // TraceExpanded - cleanup_trace_append(): an "alias expanded" success
    // record for the trace service. A failure fails the message.
    private void TraceExpanded(Postfix.Global.Deliver.Recipient rcpt)
    {
        var stats = new Postfix.Global.Deliver.MsgStats
        {
            IncomingArrival = new Postfix.Global.Deliver.TimeVal(ArrivalSeconds, ArrivalMicros),
        };
        var dsn = new Postfix.Global.Deliver.Dsn("2.0.0", "expanded", "alias expanded");
        TraceLogWritten = true;
        if (Postfix.Global.Deliver.DeliveryStatus.TraceAppend(Postfix.Global.Deliver.BounceFlags.Clean, QueueId, stats, rcpt, "none", dsn) != 0)
        {
            Postfix.Util.Msg.Warn($"{QueueId}: trace logfile update error");
            Errs |= CleanupStatus.Write;
        }
    }

    // TraceLogWritten - a trace log exists for this message (removed when
    // the message is not queued after all).
    public bool TraceLogWritten { get; private set; }

    private void OutOneRecipient(string orcptDsn, int notify, string orcpt, string recip)
    {
        var key = cfg.EnableOrigRcpt
            ? orcptDsn + "\n" + notify.ToString(System.Globalization.CultureInfo.InvariantCulture) + "\n" + orcpt + "\n" + recip
            : recip;
        if (dups.Seen(key))
            return;
        if (notify != 0)
            Out(RecordType.Attr, "notify_flags=" + notify.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (orcptDsn.Length > 0)
            Out(RecordType.Attr, "dsn_orig_rcpt=" + orcptDsn);
        Out(RecordType.Orcp, orcpt);
        Out(RecordType.Rcpt, recip);
        rcptCount++;
    }

    private static bool ValidUtf8(string raw)
    {
        try
        {
            new UTF8Encoding(false, true).GetString(Raw.ToBytes(raw));
            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}
