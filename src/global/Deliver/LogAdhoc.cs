// NAME
//	LogAdhoc - the "to=<...>, relay=..., delay=..., status=..." log line
// POSTFIX
//	src/global/log_adhoc.c, src/util/format_tv.c,
//	src/global/info_log_addr_form.c
// DESCRIPTION
//	Format() builds the line that every delivery status call logs:
//
//	ID: to=<ADDR>[, orig_to=<ORIG>], relay=RELAY[, conn_use=N],
//	delay=D, delays=A/B/C/D, dsn=X.Y.Z, status=STATUS (REASON)
//
//	orig_to appears only when it differs from the address (ignoring
//	case); conn_use only for a reused connection. The delays are the
//	time before the active queue, in the active queue, connection
//	set-up and transmission; a missing time stamp takes the time now
//	(or the delivery-done time) as the reference does. FormatTv() is
//	format_tv(): two significant digits, at most DelayMaxRes decimals,
//	large values rounded to whole seconds.
using System;
using System.Globalization;
using System.Text;
using Postfix.Global.Address;
using Postfix.Util;

namespace Postfix.Global.Deliver;

public static class LogAdhoc
{
    private const long Million = 1_000_000;
    private static readonly int[] Pow10 = [1, 10, 100, 1000, 10000, 100000, 1000000];

    // Log - log_adhoc().
    public static void Log(string id, MsgStats stats, Recipient rcpt, string relay, Dsn dsn, string status) =>
        Msg.Info(Format(id, stats, rcpt, relay, dsn, status, TimeVal.Now(), DeliverConfig.DelayMaxRes,
            DeliverConfig.LogAddrInternal));

    // LogAddr - info_log_addr_form_recipient().
    public static string LogAddr(string addr, bool internalForm) =>
        addr.Length == 0 || internalForm ? addr : Quote822.Local(addr);

    public static string LogAddr(string addr) => LogAddr(addr, DeliverConfig.LogAddrInternal);

    public static string Format(string id, MsgStats stats, Recipient rcpt, string relay, Dsn dsn, string status,
        TimeVal now, int delayMaxRes, bool internalForm)
    {
        var buf = new StringBuilder(160);
        buf.Append(id).Append(": to=<").Append(LogAddr(rcpt.Address, internalForm)).Append('>');
        if (rcpt.OrigAddr.Length > 0 && !CaseEquals(rcpt.Address, rcpt.OrigAddr))
            buf.Append(", orig_to=<").Append(LogAddr(rcpt.OrigAddr, internalForm)).Append('>');
        buf.Append(", relay=").Append(relay);
        if (stats.ReuseCount > 0)
            buf.Append(", conn_use=").Append((stats.ReuseCount + 1).ToString(CultureInfo.InvariantCulture));

        if (stats.DeliverDone.IsSet)
            now = stats.DeliverDone;
        var delay = Delta(now, stats.IncomingArrival);
        TimeVal pdelay, adelay = default, sdelay = default, xdelay = default;
        if (stats.ActiveArrival.IsSet)
        {
            pdelay = Delta(stats.ActiveArrival, stats.IncomingArrival);
            if (stats.AgentHandoff.IsSet)
            {
                adelay = Delta(stats.AgentHandoff, stats.ActiveArrival);
                if (stats.ConnSetupDone.IsSet)
                {
                    sdelay = Delta(stats.ConnSetupDone, stats.AgentHandoff);
                    xdelay = Delta(now, stats.ConnSetupDone);
                }
                else
                {
                    xdelay = Delta(now, stats.AgentHandoff);
                }
            }
            else
            {
                adelay = Delta(now, stats.ActiveArrival);
            }
        }
        else
        {
            pdelay = Delta(now, stats.IncomingArrival);
        }
        Pretty(buf, ", delay=", delay, delayMaxRes);
        Pretty(buf, ", delays=", pdelay, delayMaxRes);
        Pretty(buf, "/", adelay, delayMaxRes);
        Pretty(buf, "/", sdelay, delayMaxRes);
        Pretty(buf, "/", xdelay, delayMaxRes);
        buf.Append(", dsn=").Append(dsn.Status).Append(", status=").Append(status)
            .Append(" (").Append(dsn.Reason).Append(')');
        return buf.ToString();
    }

    // CaseEquals - strcasecmp_utf8() == 0.
    private static bool CaseEquals(string a, string b) =>
        string.Equals(a, b, StringComparison.Ordinal)
        || string.Equals(a.ToLowerInvariant(), b.ToLowerInvariant(), StringComparison.Ordinal);

    // Delta - y - z, normalized; negative differences become zero.
    private static TimeVal Delta(TimeVal y, TimeVal z)
    {
        var sec = y.Sec - z.Sec;
        var usec = y.Usec - z.Usec;
        while (usec < 0)
        {
            usec += Million;
            sec -= 1;
        }
        while (usec >= Million)
        {
            usec -= Million;
            sec += 1;
        }
        return sec < 0 ? default : new TimeVal(sec, usec);
    }

    private static void Pretty(StringBuilder buf, string text, TimeVal x, int maxRes)
    {
        buf.Append(text);
        FormatTv(buf, x.Sec, x.Usec, 2, maxRes);
    }

    // FormatTv - format_tv().
    public static StringBuilder FormatTv(StringBuilder buf, long sec, long usec, int sigDig, int maxDig)
    {
        if (maxDig < 0 || maxDig > 6)
            Msg.Panic($"format_tv: bad maximum decimal count {maxDig}");
        if (sec < 0 || usec < 0 || usec > Million)
            Msg.Panic($"format_tv: bad time {sec}s {usec}us");
        if (sigDig < 1 || sigDig > 6)
            Msg.Panic($"format_tv: bad significant decimal count {sigDig}");
        long ures = Million / Pow10[maxDig];
        long wid = Pow10[sigDig];
        if (ures < Million)
        {
            if (sec > 0)
            {
                long n = 1;
                while (sec >= n && n <= wid / 10)
                    n *= 10;
                ures = Million / wid * n;
            }
            else
            {
                while (usec >= wid * ures)
                    ures *= 10;
            }
        }
        if (ures > 1)
        {
            usec += ures / 2;
            if (usec >= Million)
            {
                sec += 1;
                usec -= Million;
            }
        }
        buf.Append(sec.ToString(CultureInfo.InvariantCulture));
        if (usec >= ures)
        {
            buf.Append('.');
            var rem = usec;
            for (var n = Million / 10; rem >= ures && n > 0; n /= 10)
            {
                buf.Append((char)('0' + rem / n));
                rem %= n;
            }
        }
        return buf;
    }
}
