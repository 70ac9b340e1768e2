// NAME
//	Dsn - delivery status: RFC 3463 status, RFC 3464 details, free text
// POSTFIX
//	src/global/dsn.h, dsn.c, dsn_print.c, dsb_scan.c
// DESCRIPTION
//	Unavailable parts are empty strings, never null. Write() is
//	dsn_print() (attribute order fixed by the wire protocol: status,
//	diag_type, diag_text, mta_type, mta_mname, action, reason); Spec is
//	the matching receive group for AttrStream.Receive (seven specs
//	after an AttrSpec.Func(7)), FromValues() builds the result.
using System;
using Postfix.Global.Attr;

namespace Postfix.Global.Deliver;

public sealed record Dsn(string Status, string Action, string Reason, string Dtype = "", string Dtext = "",
    string Mtype = "", string Mname = "")
{
    // Simple - DSN_SIMPLE(): status and reason only.
    public static Dsn Simple(string status, string reason) => new(status, "", reason);

    // Empty - the "dummy" status deliver_request_final() sends without a hop status.
    public static readonly Dsn Empty = new("", "", "");

    public static readonly AttrSpec[] Spec =
    [
        AttrSpec.Str(MailProto.AttrDsnStatus),
        AttrSpec.Str(MailProto.AttrDsnDtype),
        AttrSpec.Str(MailProto.AttrDsnDtext),
        AttrSpec.Str(MailProto.AttrDsnMtype),
        AttrSpec.Str(MailProto.AttrDsnMname),
        AttrSpec.Str(MailProto.AttrDsnAction),
        AttrSpec.Str(MailProto.AttrWhy),
    ];

    // Write - dsn_print().
    public AttrWriter Write(AttrWriter w) => w
        .Str(MailProto.AttrDsnStatus, Status)
        .Str(MailProto.AttrDsnDtype, Dtype)
        .Str(MailProto.AttrDsnDtext, Dtext)
        .Str(MailProto.AttrDsnMtype, Mtype)
        .Str(MailProto.AttrDsnMname, Mname)
        .Str(MailProto.AttrDsnAction, Action)
        .Str(MailProto.AttrWhy, Reason);

    // FromValues - the seven values received with Spec.
    public static Dsn FromValues(ReadOnlySpan<AttrValue> v) =>
        new(v[0].Str, v[5].Str, v[6].Str, v[1].Str, v[2].Str, v[3].Str, v[4].Str);

    // Create - dsn_create(): status and reason must not be empty.
    public static Dsn Create(string status, string action, string reason, string dtype = "", string dtext = "",
        string mtype = "", string mname = "")
    {
        if (string.IsNullOrEmpty(status))
            Postfix.Util.Msg.Panic("dsn_create: null dsn status");
        if (string.IsNullOrEmpty(reason))
            Postfix.Util.Msg.Panic("dsn_create: null dsn reason");
        return new(status, action, reason, dtype, dtext, mtype, mname);
    }
}
