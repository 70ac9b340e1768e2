// NAME
//	DsnBuf - delivery status under construction
// POSTFIX
//	src/global/dsn_buf.c
// DESCRIPTION
//	The mutable DSN_BUF of the delivery agents: Update() sets all
//	fields (dsb_update), Simple() status and reason (dsb_simple),
//	Unix() a "x-unix" diagnostic (dsb_unix), Formal() the formal fields
//	without the reason (dsb_formal), SetStatus() the status only
//	(dsb_status), Reset() clears. ToDsn() is DSN_FROM_DSN_BUF().
//	The MTA type and name, and the diagnostic type and text, are set in
//	pairs: when either is null or empty, both become empty.
namespace Postfix.Global.Deliver;

public sealed class DsnBuf
{
    public string Status { get; set; } = "";
    public string Action { get; set; } = "";
    public string Mtype { get; set; } = "";
    public string Mname { get; set; } = "";
    public string Dtype { get; set; } = "";
    public string Dtext { get; set; } = "";
    public string Reason { get; set; } = "";

    public const string MtypeDns = "dns";
    public const string DtypeSmtp = "smtp";
    public const string DtypeUnix = "x-unix";
    public const string DtypeSasl = "x-sasl";

    // Update - dsb_update(): every field.
    public DsnBuf Update(string status, string? action, string? mtype, string? mname, string? dtype, string? dtext,
        string reason)
    {
        Status = status;
        Action = action ?? "";
        var mta = !string.IsNullOrEmpty(mtype) && !string.IsNullOrEmpty(mname);
        Mtype = mta ? mtype! : "";
        Mname = mta ? mname! : "";
        var diag = !string.IsNullOrEmpty(dtype) && !string.IsNullOrEmpty(dtext);
        Dtype = diag ? dtype! : "";
        Dtext = diag ? dtext! : "";
        Reason = reason;
        return this;
    }

    // Simple - dsb_simple().
    public DsnBuf Simple(string status, string reason) => Update(status, null, null, null, null, null, reason);

    // Unix - dsb_unix(): a sysexits-style diagnostic.
    public DsnBuf Unix(string status, string dtext, string reason) =>
        Update(status, null, null, null, DtypeUnix, dtext, reason);

    // Formal - dsb_formal(): the formal fields, reason left alone.
    public DsnBuf Formal(string status, string? action, string? mtype, string? mname, string? dtype, string? dtext)
    {
        var reason = Reason;
        Update(status, action, mtype, mname, dtype, dtext, reason);
        return this;
    }

    // SetStatus - dsb_status().
    public DsnBuf SetStatus(string status)
    {
        Status = status;
        return this;
    }

    // Reset - dsb_reset().
    public void Reset()
    {
        Status = Action = Mtype = Mname = Dtype = Dtext = Reason = "";
    }

    public Dsn ToDsn() => new(Status, Action, Reason, Dtype, Dtext, Mtype, Mname);

    // Set - copy a received status (dsb_scan target).
    public DsnBuf Set(Dsn dsn)
    {
        Status = dsn.Status;
        Action = dsn.Action;
        Reason = dsn.Reason;
        Dtype = dsn.Dtype;
        Dtext = dsn.Dtext;
        Mtype = dsn.Mtype;
        Mname = dsn.Mname;
        return this;
    }
}
