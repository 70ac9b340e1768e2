// NAME
//	SmtpdLater - commands whose full implementation is still to come
// POSTFIX
//	src/smtpd/smtpd.c (starttls_cmd, xclient_cmd, xforward_cmd,
//	bdat_cmd), smtpd_sasl_proto.c, smtpd_proxy.c, smtpd_milter.c
// DESCRIPTION
//	STARTTLS, AUTH, XCLIENT, XFORWARD, BDAT, the before-queue proxy and
//	the milter macro table, with the replies the reference gives when
//	the feature is not available.
using System;
using System.Collections.Generic;

namespace Postfix.Daemons.Smtpd;

internal sealed partial class SmtpdSession
{
    // ---- before-queue proxy ----
    public const int ProxyWantNone = 0, ProxyWantOk = 1, ProxyWantMore = 2, ProxyWantAny = 3;

    public sealed class SmtpdProxy
    {
        public string Reply = "";
    }

    public SmtpdProxy? Proxy;

    private string? ProxyFilter => null;

    private int ProxyCreate() => -1;

    private int ProxyCommand(int want, string text) => -1;

    private void ProxyClose()
    {
    }

    private void ProxyFree()
    {
        Proxy = null;
    }

    private sealed class ProxyOutput(SmtpdSession session) : IMessageOutput
    {
        public bool Record(int type, ReadOnlySpan<byte> data) => session.Proxy != null;

        public int ErrorCode => CleanupStatProxy;
    }

}

