// NAME
//	Recipient - one envelope recipient of a delivery request
// POSTFIX
//	src/global/recipient_list.h, rcpt_buf.c, rcpt_print.c
// DESCRIPTION
//	Offset is the position of the recipient's REC_TYPE_RCPT byte in the
//	queue file (DeliverCompleted marks it done there). OrigAddr is the
//	original recipient (may be empty), Address the complete address.
//	Status is free for the agent's own bookkeeping (the reference's
//	u.status of the SMTP client). Write() is rcpt_print() (wire order:
//	original_recipient, recipient, offset, dsn_orig_rcpt, notify_flags);
//	Spec the matching receive group, FromValues() its result.
using System;
using Postfix.Global.Attr;

namespace Postfix.Global.Deliver;

public sealed class Recipient(string origAddr, string address, long offset, string dsnOrcpt, int dsnNotify)
{
    public string OrigAddr { get; set; } = origAddr;
    public string Address { get; set; } = address;
    public long Offset { get; set; } = offset;
    public string DsnOrcpt { get; set; } = dsnOrcpt;
    public int DsnNotify { get; set; } = dsnNotify;

    // Status - agent-private per-recipient state (u.status).
    public int Status { get; set; }

    public static readonly AttrSpec[] Spec =
    [
        AttrSpec.Str(MailProto.AttrOrcpt),
        AttrSpec.Str(MailProto.AttrRecip),
        AttrSpec.Long(MailProto.AttrOffset),
        AttrSpec.Str(MailProto.AttrDsnOrcpt),
        AttrSpec.Int(MailProto.AttrDsnNotify),
    ];

    // Write - rcpt_print().
    public AttrWriter Write(AttrWriter w) => w
        .Str(MailProto.AttrOrcpt, OrigAddr)
        .Str(MailProto.AttrRecip, Address)
        .Long(MailProto.AttrOffset, Offset)
        .Str(MailProto.AttrDsnOrcpt, DsnOrcpt)
        .Int(MailProto.AttrDsnNotify, DsnNotify);

    public static Recipient FromValues(ReadOnlySpan<AttrValue> v) =>
        new(v[0].Str, v[1].Str, v[2].Long, v[3].Str, v[4].Int);

    public Recipient Clone() => new(OrigAddr, Address, Offset, DsnOrcpt, DsnNotify) { Status = Status };

    public override string ToString() => Address;
}
