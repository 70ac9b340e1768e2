// NAME
//	MilterMacros - the per-event macro name lists
// POSTFIX
//	src/milter/milter_macros.c
// DESCRIPTION
//	Eight lists of Sendmail macro names, one per event class. A null
//	member (only in a milter's own override set) means "use the list of
//	the whole milter list". Print/Scan move the lists between smtpd and
//	cleanup as the attributes conn_macros ... unk_macros, in that order.
using System;
using Postfix.Global.Attr;

namespace Postfix.Milter;

public sealed class MilterMacros
{
    public const string AttrConn = "conn_macros", AttrHelo = "helo_macros", AttrMail = "mail_macros",
        AttrRcpt = "rcpt_macros", AttrData = "data_macros", AttrEoh = "eoh_macros", AttrEod = "eod_macros",
        AttrUnk = "unk_macros";

    public string? Conn, Helo, Mail, Rcpt, Data, Eoh, Eod, Unk;

    public static MilterMacros Empty() => new()
    {
        Conn = "", Helo = "", Mail = "", Rcpt = "", Data = "", Eoh = "", Eod = "", Unk = "",
    };

    // Print - milter_macros_print(): the eight lists as string attributes.
    public void Print(AttrWriter w) =>
        w.Str(AttrConn, Conn ?? "").Str(AttrHelo, Helo ?? "").Str(AttrMail, Mail ?? "").Str(AttrRcpt, Rcpt ?? "")
            .Str(AttrData, Data ?? "").Str(AttrEoh, Eoh ?? "").Str(AttrEod, Eod ?? "").Str(AttrUnk, Unk ?? "");

    internal static readonly AttrSpec[] ScanSpec =
    [
        AttrSpec.Str(AttrConn), AttrSpec.Str(AttrHelo), AttrSpec.Str(AttrMail), AttrSpec.Str(AttrRcpt),
        AttrSpec.Str(AttrData), AttrSpec.Str(AttrEoh), AttrSpec.Str(AttrEod), AttrSpec.Str(AttrUnk),
    ];

    // FromValues - the result of scanning ScanSpec.
    internal static MilterMacros FromValues(ReadOnlySpan<AttrValue> v) => new()
    {
        Conn = v[0].Str, Helo = v[1].Str, Mail = v[2].Str, Rcpt = v[3].Str,
        Data = v[4].Str, Eoh = v[5].Str, Eod = v[6].Str, Unk = v[7].Str,
    };

    // SMFIM_* class numbers of the secondary negotiation.
    internal bool SetByClass(uint smfim, string list)
    {
        switch (smfim)
        {
            case 0: Conn = list; return true;
            case 1: Helo = list; return true;
            case 2: Mail = list; return true;
            case 3: Rcpt = list; return true;
            case 4: Data = list; return true;
            case 5: Eod = list; return true;
            case 6: Eoh = list; return true;
            default: return false;
        }
    }
}
