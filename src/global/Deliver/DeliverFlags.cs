// NAME
//	DelReqFlags, DelRcptStat, DsnNotify, DsnRet, BounceFlags, BounceCmd,
//	DeliverStat - numeric codes of the delivery protocols
// POSTFIX
//	src/global/deliver_request.h, dsn_mask.h, bounce.h, sent.h
// DESCRIPTION
//	The bit values are on the wire (the "flags", "notify_flags",
//	"ret_flags" and "nrequest" attributes): they keep the reference's
//	numbers.
namespace Postfix.Global.Deliver;

public static class DelReqFlags
{
    public const int Success = 1 << 0;      // delete successful recipients
    public const int Bounce = 1 << 1;       // (unimplemented upstream)
    public const int Deflt = Success | Bounce;
    public const int MtaVrfy = 1 << 8;      // MTA-requested address probe
    public const int UsrVrfy = 1 << 9;      // user-requested address probe (sendmail -bv)
    public const int Record = 1 << 10;      // record and deliver (sendmail -v)
    public const int ConnLoad = 1 << 11;    // consult the connection cache
    public const int ConnStore = 1 << 12;   // update the connection cache
    public const int RecDlySent = 1 << 13;  // record delayed deliveries
    public const int ConnMask = ConnLoad | ConnStore;
    public const int Verify = MtaVrfy;
    public const int Expand = UsrVrfy;
    public const int TraceFlagsMask = MtaVrfy | UsrVrfy | Record | RecDlySent;
    public const int TraceOnlyMask = MtaVrfy | UsrVrfy;

    // TraceFlags - DEL_REQ_TRACE_FLAGS(): the flags a status call needs.
    public static int TraceFlags(int flags) => flags & TraceFlagsMask;

    // TraceOnly - DEL_REQ_TRACE_ONLY(): a probe, not a delivery.
    public static int TraceOnly(int flags) => flags & TraceOnlyMask;
}

public static class DelRcptStat
{
    public const int Ok = 0;
    public const int Defer = 1;
    public const int Bounce = 2;
    public const int Todo = 3;
}

public static class DsnNotify
{
    public const int Never = 1 << 0;
    public const int Success = 1 << 1;
    public const int Failure = 1 << 2;
    public const int Delay = 1 << 3;
    public const int Any = Success | Failure | Delay;
    public const int Override = Any | Never;

    // Ok - DSN_NOTIFY_OK(): a valid notify mask.
    public static bool Ok(int v) => v == Never || (v != 0 && (v & ~Any) == 0);
}

public static class DsnRet
{
    public const int Full = 1 << 0;
    public const int Hdrs = 1 << 1;

    public static bool Ok(int v) => v is Full or Hdrs;
}

public static class BounceFlags
{
    public const int None = 0;
    public const int Clean = 1 << 0;   // remove the log on error
    public const int DelRcpt = 1 << 1; // delete recipients from the queue file
    public const int Keep = None;
}

public static class BounceCmd
{
    public const int Append = 0;
    public const int Flush = 1;
    public const int Warn = 2;
    public const int Verp = 3;
    public const int One = 4;
    public const int Trace = 5;
}

// DeliverStat - what qmgr makes of a delivery agent's reply
// (qmgr_deliver.c DELIVER_STAT_*).
public static class DeliverStat
{
    public const int Ok = 0;
    public const int Defer = 1;
    public const int Crash = 2;
}
