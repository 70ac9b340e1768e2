// NAME
//	VirtualAgent - virtual(8) delivery to mailboxes named by tables
// POSTFIX
//	src/virtual/virtual.c (local_deliver), recipient.c, mailbox.c,
//	maildir.c, unknown.c
// DESCRIPTION
//	For each recipient: look up the mailbox path in
//	virtual_mailbox_maps (relative to virtual_mailbox_base; a trailing
//	"/" means maildir), the owner in virtual_uid_maps (at least
//	virtual_minimum_uid) and virtual_gid_maps, then write the message
//	with those ids. A recipient without a mailbox bounces as an unknown
//	user; table and configuration trouble defers.
using System;
using System.Globalization;
using Postfix.Global.Deliver;
using Postfix.Global.Dict;
using Postfix.Global.Mailbox;
using Postfix.Util;

namespace Postfix.Daemons.Virtual;

internal sealed class VirtualConfig
{
    public string MailboxBase = "";
    public int MinimumUid = 100;
    public int LockMask = MboxLock.Fcntl | MboxLock.Dot;
    public bool StrictMailboxOwnership = true;
    public uint OwnerUid;
    public uint OwnerGid;
    public AccessFindOptions FindOptions = new();
}

// VirtualRequest - the parts of a delivery request the agent uses.
internal sealed class VirtualRequest
{
    public string QueueId { get; init; } = "";
    public string QueuePath { get; init; } = "";
    public byte[] QueueFile { get; init; } = [];
    public long DataOffset { get; init; }
    public string Sender { get; init; } = "";
    public int Flags { get; init; }
    public System.Collections.Generic.List<Recipient> Recipients { get; init; } = [];

    public bool TraceOnly => (Flags & DelReqFlags.TraceOnlyMask) != 0;
}

internal interface IVirtualReport
{
    int Sent(VirtualRequest req, Recipient rcpt, DsnBuf why);
    int Bounce(VirtualRequest req, Recipient rcpt, DsnBuf why);
    int Defer(VirtualRequest req, Recipient rcpt, DsnBuf why);
    void Completed(VirtualRequest req, long offset);
}

internal sealed class VirtualAgent
{
    private readonly VirtualConfig cfg;
    private readonly IVirtualReport report;
    private readonly Maps mailboxMaps;
    private readonly Maps uidMaps;
    private readonly Maps gidMaps;

    public VirtualAgent(VirtualConfig cfg, IVirtualReport report, Maps mailboxMaps, Maps uidMaps, Maps gidMaps)
    {
        this.cfg = cfg;
        this.report = report;
        this.mailboxMaps = mailboxMaps;
        this.uidMaps = uidMaps;
        this.gidMaps = gidMaps;
    }

    public int Deliver(VirtualRequest req)
    {
        var msgStat = 0;
        foreach (var rcpt in req.Recipients)
        {
            var status = DeliverRecipient(req, rcpt.Clone());
            if (status == 0 && (req.Flags & DelReqFlags.Success) != 0)
                report.Completed(req, rcpt.Offset);
            msgStat |= status;
        }
        return msgStat;
    }

    private int DeliverRecipient(VirtualRequest req, Recipient rcpt)
    {
        var why = new DsnBuf();
        var user = rcpt.Address.ToLowerInvariant();
        if (!DeliverMailbox(req, rcpt, user, why, out var status))
        {
            why.Simple("5.1.1", $"unknown user: \"{user}\"");
            status = report.Bounce(req, rcpt, why);
        }
        return status;
    }

    private bool DeliverMailbox(VirtualRequest req, Recipient rcpt, string user, DsnBuf why, out int status)
    {
        status = 0;
        if (!cfg.MailboxBase.StartsWith('/'))
            Msg.Fatal($"do not specify relative pathname: virtual_mailbox_base = {cfg.MailboxBase}");
        var mailboxRes = AccessSearch.MailAddrFind(mailboxMaps, user, out _, cfg.FindOptions);
        if (mailboxRes == null)
        {
            if (mailboxMaps.Error == 0)
                return false;
            Msg.Warn($"table {mailboxMaps.Title}: lookup {user}: {Sys.StrError(Sys.EAGAIN)}");
            why.Simple("4.3.5", "mail system configuration error");
            status = report.Defer(req, rcpt, why);
            return true;
        }
        var mailbox = cfg.MailboxBase + "/" + mailboxRes;
        var uidRes = AccessSearch.MailAddrFind(uidMaps, user, out _, cfg.FindOptions);
        if (uidRes == null)
        {
            Msg.Warn($"recipient {user}: not found in {uidMaps.Title}");
            why.Simple("4.3.5", "mail system configuration error");
            status = report.Defer(req, rcpt, why);
            return true;
        }
        if (Atol(uidRes) < cfg.MinimumUid)
        {
            Msg.Warn($"recipient {user}: bad uid {uidRes} in {uidMaps.Title}");
            why.Simple("4.3.5", "mail system configuration error");
            status = report.Defer(req, rcpt, why);
            return true;
        }
        var uid = (uint)Atol(uidRes);
        var gidRes = AccessSearch.MailAddrFind(gidMaps, user, out _, cfg.FindOptions);
        if (gidRes == null)
        {
            Msg.Warn($"recipient {user}: not found in {gidMaps.Title}");
            why.Simple("4.3.5", "mail system configuration error");
            status = report.Defer(req, rcpt, why);
            return true;
        }
        if (Atol(gidRes) <= 0)
        {
            Msg.Warn($"recipient {user}: bad gid {gidRes} in {gidMaps.Title}");
            why.Simple("4.3.5", "mail system configuration error");
            status = report.Defer(req, rcpt, why);
            return true;
        }
        var gid = (uint)Atol(gidRes);
        status = mailbox.EndsWith('/')
            ? DeliverMaildir(req, rcpt, mailbox, uid, gid, why)
            : DeliverMailboxFile(req, rcpt, mailbox, uid, gid, why);
        return true;
    }

    // Atol - atol(): leading digits (with sign), 0 when there are none.
    private static long Atol(string s)
    {
        s = s.TrimStart();
        var i = 0;
        if (i < s.Length && (s[i] == '-' || s[i] == '+'))
            i++;
        while (i < s.Length && char.IsAsciiDigit(s[i]))
            i++;
        return long.TryParse(s[..i], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) ? n : 0;
    }

    private int DeliverMailboxFile(VirtualRequest req, Recipient rcpt, string mailbox, uint uid, uint gid, DsnBuf why)
    {
        if (req.TraceOnly)
        {
            why.Simple("2.0.0", "delivers to mailbox");
            return report.Sent(req, rcpt, why);
        }
        var copyStatus = MailCopy.StatWrite;
        Eugid.Set(uid, gid);
        var mp = Mbox.Open(mailbox, Sys.O_APPEND | Sys.O_WRONLY | Sys.O_CREAT, 0x180, out var st, SafeOpen.Keep, SafeOpen.Keep,
            cfg.LockMask, "4.2.0", why);
        if (mp != null)
        {
            if (!Sys.IsReg(st.Mode))
            {
                mp.CloseFile();
                Msg.Warn($"recipient {rcpt.Address}: destination {mailbox} is not a regular file");
                why.Simple("5.3.5", "mail system configuration error");
            }
            else if (cfg.StrictMailboxOwnership && st.Uid != uid)
            {
                mp.CloseFile();
                why.Simple("4.2.0", $"destination {mailbox} is not owned by recipient");
                Msg.Warn("specify \"strict_mailbox_ownership = no\" to ignore mailbox ownership mismatch");
            }
            else
            {
                copyStatus = MailCopy.Copy(req.QueueFile, req.DataOffset, req.QueuePath, req.Sender, rcpt.OrigAddr,
                    rcpt.Address, mp.TakeFd(), MailCopy.MboxFlags, why, out _);
            }
            mp.Release();
        }
        Eugid.Set(cfg.OwnerUid, cfg.OwnerGid);
        if ((copyStatus & MailCopy.StatCorrupt) != 0)
            return 1;
        if (copyStatus != 0)
        {
            why.Reason = $"delivery failed to mailbox {mailbox}: " + why.Reason;
            return why.Status.StartsWith('4') ? report.Defer(req, rcpt, why) : report.Bounce(req, rcpt, why);
        }
        why.Simple("2.0.0", "delivered to mailbox");
        return report.Sent(req, rcpt, why);
    }

    private int DeliverMaildir(VirtualRequest req, Recipient rcpt, string path, uint uid, uint gid, DsnBuf why)
    {
        if (req.TraceOnly)
        {
            why.Simple("2.0.0", "delivers to maildir");
            return report.Sent(req, rcpt, why);
        }
        Eugid.Set(uid, gid);
        var copyStatus = Maildir.Write(req.QueueFile, req.DataOffset, req.QueuePath, req.Sender, rcpt.OrigAddr, rcpt.Address,
            path, MailCopy.ToFile | MailCopy.ReturnPath | MailCopy.Delivered | MailCopy.OrigRcpt, why, out var errno, "4.2.0");
        Eugid.Set(cfg.OwnerUid, cfg.OwnerGid);
        if ((copyStatus & MailCopy.StatCorrupt) != 0)
            return 1;
        if (copyStatus != 0)
        {
            if (errno == Sys.EACCES)
            {
                Msg.Warn($"maildir access problem for UID/GID={uid}/{gid}: {why.Reason}");
                Msg.Warn("perhaps you need to create the maildirs in advance");
            }
            why.Reason = "maildir delivery failed: " + why.Reason;
            return why.Status.StartsWith('4') ? report.Defer(req, rcpt, why) : report.Bounce(req, rcpt, why);
        }
        why.Simple("2.0.0", "delivered to maildir");
        return report.Sent(req, rcpt, why);
    }
}
