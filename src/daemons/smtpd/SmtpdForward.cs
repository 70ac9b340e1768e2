// NAME
//	SmtpdForward - client attributes as forwarded by XFORWARD
// POSTFIX
//	src/smtpd/smtpd.h (FORWARD_* macros), smtpd_xforward.c
// DESCRIPTION
//	The FORWARD_* accessors: the up-stream client's attributes when an
//	authorized XFORWARD client sent them, otherwise this session's.
namespace Postfix.Daemons.Smtpd;

internal sealed partial class SmtpdSession
{
    // SMTPD_STATE_XFORWARD_* bits.
    public const int XforwardInit = 1 << 0, XforwardName = 1 << 1, XforwardAddr = 1 << 2, XforwardProto = 1 << 3,
        XforwardHelo = 1 << 4, XforwardIdent = 1 << 5, XforwardDomain = 1 << 6, XforwardPort = 1 << 7;

    public const int XforwardClientMask = XforwardName | XforwardAddr | XforwardProto | XforwardHelo | XforwardPort;

    public bool HaveForwardedClientAttr => (Xforward.Flags & XforwardClientMask) != 0;

    public bool HaveForwardedIdent => Xforward.Ident != null;

    public string ForwardName => HaveForwardedClientAttr ? Xforward.Name ?? "" : Name;

    public string ForwardAddr => HaveForwardedClientAttr ? Xforward.RfcAddr ?? "" : RfcAddr;

    public string ForwardPort => HaveForwardedClientAttr ? Xforward.Port ?? "" : Port;

    public string ForwardNamAddr => HaveForwardedClientAttr ? Xforward.NamAddr ?? "" : NamAddr;

    public string ForwardProto => HaveForwardedClientAttr ? Xforward.Protocol ?? "" : Protocol;

    public string? ForwardHelo => HaveForwardedClientAttr ? Xforward.HeloName : HeloName;

    public string? ForwardIdent => HaveForwardedIdent ? Xforward.Ident : QueueId;

    public string ForwardDomain => (Xforward.Flags & XforwardDomain) != 0 ? Xforward.Domain ?? "" : RewriteContext;
}
