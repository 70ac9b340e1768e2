// NAME
//	CleanupSession (extracted) - the segment after the message content
// POSTFIX
//	src/cleanup/cleanup_extracted.c
// DESCRIPTION
//	Writes the X marker, then the records the client sends after the
//	content (recipients from "sendmail -t", return-receipt etc.).
//	Before the first recipient (or the end) it adds what the content
//	checks found: a FILTER and REDIRECT action and the 8bit encoding
//	attribute. At the E record it adds always_bcc and BCC action
//	recipients and ends the queue file.
using Postfix.Global.Address;
using Postfix.Global.Queue;
using Postfix.Util;

namespace Postfix.Daemons.Cleanup;

internal sealed partial class CleanupSession
{
    private void Extracted(int type, string buf)
    {
        Out(RecordType.Xtra, "");
        action = ExtractedProcess;
        ExtractedProcess(type, buf);
    }

    private void ExtractedProcess(int type, string buf)
    {
        if (type == RecordType.Flgs)
        {
            ExtraFlags(buf);
            return;
        }
        if (!RecordType.InSet(RecordType.Extract, type))
        {
            Reject($"unexpected record type {type} in extracted envelope");
            return;
        }
        if (type == RecordType.Attr)
        {
            var error = Postfix.Global.Config.NameValue.Split(buf, out var attrName, out var attrValue);
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
                buf = attrValue;
                type = junk;
            }
        }

        if ((Flags & CleanupFlags.InRcpt) == 0 && RecordType.InSet(RecordType.ExtRecipient, type))
        {
            if (filter != null)
                Out(RecordType.Filt, filter);
            if (redirect != null)
                Out(RecordType.Rdr, redirect);
            if (attr.TryGetValue("encoding", out var encoding))
                Out(RecordType.Attr, "encoding=" + encoding);
            Flags |= CleanupFlags.InRcpt;
            // Room to append more meta records.
            if (MiltersActive)
                (appendMetaPtOffset, appendMetaPtTarget) = Placeholder();
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
        if (type == RecordType.DsnOrcpt)
        {
            if (dsnOrcpt != null)
                Msg.Warn($"{QueueId}: ignoring out-of-order DSN original recipient record <{Trunc(dsnOrcpt, 200)}>");
            dsnOrcpt = buf;
            return;
        }
        if (type == RecordType.DsnNotify)
        {
            if (dsnNotify != 0)
            {
                Msg.Warn($"{QueueId}: ignoring out-of-order DSN notify record <{dsnNotify}>");
                dsnNotify = 0;
            }
            int junk;
            if (!AllDigits(buf) || (junk = Atoi(buf)) == 0 || !DsnNotifyOk(junk))
                Msg.Warn($"{QueueId}: ignoring malformed dsn notify record <{Trunc(buf, 200)}>");
            else
                qmgrOpts |= (dsnNotify = junk) << 1;
            return;
        }
        if (type == RecordType.Orcp)
        {
            if (origRcpt != null)
                Msg.Warn($"{QueueId}: ignoring out-of-order original recipient record <{Trunc(buf, 200)}>");
            origRcpt = buf;
            return;
        }
        if (type == RecordType.End)
        {
            // Room to append recipients.
            if (MiltersActive && appendRcptPtOffset < 0)
                (appendRcptPtOffset, appendRcptPtTarget) = Placeholder();
            Flags &= ~CleanupFlags.InRcpt;
            Flags |= CleanupFlags.EndSeen;
            ExtractedFinish();
            return;
        }
        if ((Flags & CleanupFlags.InRcpt) != 0)
            qmgrOpts |= QmgrMixedRcptOther;
        Out(type, buf);
    }

    // ExtractedFinish - cleanup_extracted_finish().
    private void ExtractedFinish()
    {
        if ((Flags & CleanupFlags.BccOk) != 0 && Recip != null && cfg.AlwaysBcc.Length > 0)
            AddrBcc(Raw.FromText(cfg.AlwaysBcc));
        if (hbcRcpt != null)
        {
            if (OutOk && Recip != null)
                foreach (var bcc in hbcRcpt)
                    AddrBcc(bcc);
            hbcRcpt = null;
        }
        Out(RecordType.End, "");
    }
}
