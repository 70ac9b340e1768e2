// NAME
//	DsnBuf - a delivery status under construction
// POSTFIX
//	src/global/dsn_buf.c (dsb_simple, dsb_unix, dsb_update)
// DESCRIPTION
//	What the mailbox code fills in when a delivery attempt ends: the
//	enhanced status code, the human-readable reason, and optionally the
//	diagnostic type and text ("x-unix; ...") and the action. The
//	delivery agents turn it into the delivery library's Dsn when they
//	report the outcome.
namespace Postfix.Global.Mailbox;

public sealed class DsnBuf
{
    public string Status { get; set; } = "";

    public string Action { get; set; } = "";

    public string Reason { get; set; } = "";

    public string Dtype { get; set; } = "";

    public string Dtext { get; set; } = "";

    public string Mtype { get; set; } = "";

    public string Mname { get; set; } = "";

    // Simple - dsb_simple(): status and reason, no diagnostic.
    public DsnBuf Simple(string status, string reason)
    {
        Status = status;
        Reason = reason;
        Action = "";
        Dtype = Dtext = Mtype = Mname = "";
        return this;
    }

    // Unix - dsb_unix(): status, an "x-unix" diagnostic text and reason.
    public DsnBuf Unix(string status, string dtext, string reason)
    {
        Simple(status, reason);
        Dtype = "x-unix";
        Dtext = dtext;
        return this;
    }

    // Update - dsb_update() without the remote MTA and reply.
    public DsnBuf Update(string status, string action, string reason)
    {
        Simple(status, reason);
        Action = action;
        return this;
    }


}
