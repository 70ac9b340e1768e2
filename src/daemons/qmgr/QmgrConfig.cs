// NAME
//	QmgrConfig - the queue manager's parameters
// POSTFIX
//	src/qmgr/qmgr.c (the parameter tables), src/qmgr/qmgr_transport.c
//	(per-transport overrides)
// DESCRIPTION
//	Global limits and times, and PerTransport() for the
//	TRANSPORT_destination_concurrency_limit style parameters that fall
//	back to their default_ counterparts.
using System;
using System.Globalization;
using Postfix.Global.Config;
using Postfix.Server;
using Postfix.Util;

namespace Postfix.Daemons.Qmgr;

internal sealed class QmgrConfig
{
    public required MailConf Conf { get; init; }
    public int ActiveLimit { get; set; } = 20000;
    public int RecipientLimit { get; set; } = 20000;
    public int RecipientMinimum { get; set; } = 10;
    // FudgeFactor - oqmgr: the percentage of the recipient budget one read
    // of a message may take (qmgr_fudge_factor).
    public int FudgeFactor { get; set; } = 100;
    // ClogWarnTime - how often a destination that fills the active queue
    // is warned about (0: never; also off without helpful_warnings).
    public int ClogWarnTime { get; set; } = 300;
    public int MinBackoff { get; set; } = 300;
    public int MaxBackoff { get; set; } = 4000;
    public int QueueRunDelay { get; set; } = 300;
    public int MaxQueueTime { get; set; } = 5 * 86400;
    public int DsnQueueTime { get; set; } = 5 * 86400;
    public int DelayWarnTime { get; set; }
    public int TransportRetryTime { get; set; } = 60;
    public int IpcTimeout { get; set; } = 60;
    public int DaemonTimeout { get; set; } = 18000;
    public int ProcessLimit { get; set; } = 100;
    public int InFlowDelay { get; set; } = 1;
    public string[] DeferTransports { get; set; } = [];
    public string DoubleBounceSender { get; set; } = "double-bounce";
    public string DefaultFilterNexthop { get; set; } = "";
    public string MyHostname { get; set; } = "";
    public string RecipientDelimiter { get; set; } = "";
    public string BounceService { get; set; } = "bounce";
    public string DeferService { get; set; } = "defer";
    public string TraceService { get; set; } = "trace";

    public static QmgrConfig FromConf(MailConf conf)
    {
        var c = new QmgrConfig
        {
            Conf = conf,
            ActiveLimit = IntOr(conf, "qmgr_message_active_limit", 20000),
            RecipientLimit = IntOr(conf, "qmgr_message_recipient_limit", 20000),
            RecipientMinimum = Math.Max(1, IntOr(conf, "qmgr_message_recipient_minimum", 10)),
            FudgeFactor = Math.Clamp(IntOr(conf, "qmgr_fudge_factor", 100), 10, 100),
            ClogWarnTime = conf.Bool("helpful_warnings") ? TimeOr(conf, "qmgr_clog_warn_time", 300) : 0,
            MinBackoff = TimeOr(conf, "minimal_backoff_time", 300),
            MaxBackoff = TimeOr(conf, "maximal_backoff_time", 4000),
            QueueRunDelay = TimeOr(conf, "queue_run_delay", 300),
            MaxQueueTime = TimeOr(conf, "maximal_queue_lifetime", 5 * 86400, 'd'),
            DsnQueueTime = TimeOr(conf, "bounce_queue_lifetime", 5 * 86400, 'd'),
            DelayWarnTime = TimeOr(conf, "delay_warning_time", 0, 'h'),
            TransportRetryTime = TimeOr(conf, "transport_retry_time", 60),
            IpcTimeout = TimeOr(conf, "qmgr_ipc_timeout", 60),
            DaemonTimeout = TimeOr(conf, "qmgr_daemon_timeout", 1000),
            ProcessLimit = IntOr(conf, "default_process_limit", 100),
            InFlowDelay = TimeOr(conf, "in_flow_delay", 1),
            DeferTransports = conf.Eval("defer_transports").Split([',', ' ', '\t', '\r', '\n'], StringSplitOptions.RemoveEmptyEntries),
            DoubleBounceSender = Or(conf.Eval("double_bounce_sender"), "double-bounce"),
            DefaultFilterNexthop = conf.Eval("default_filter_nexthop"),
            MyHostname = conf.Eval("myhostname"),
            RecipientDelimiter = conf.Eval("recipient_delimiter"),
            BounceService = Or(conf.Eval("bounce_service_name"), "bounce"),
            DeferService = Or(conf.Eval("defer_service_name"), "defer"),
            TraceService = Or(conf.Eval("trace_service_name"), "trace"),
        };
        if (c.RecipientLimit < c.ActiveLimit)
        {
            Msg.Warn("qmgr_message_recipient_limit is smaller than qmgr_message_active_limit - adjusting qmgr_message_recipient_limit");
            c.RecipientLimit = c.ActiveLimit;
        }
        if (c.DsnQueueTime > c.MaxQueueTime)
        {
            Msg.Warn("bounce_queue_lifetime is larger than maximal_queue_lifetime - adjusting bounce_queue_lifetime");
            c.DsnQueueTime = c.MaxQueueTime;
        }
        return c;
    }

    // PerTransport - TRANSPORT_NAME, or default_NAME when not set.
    public string PerTransport(string transport, string name)
    {
        var v = Conf.Lookup(transport + "_" + name);
        return v != null ? Conf.Expand(v) : Conf.Eval("default_" + name);
    }

    public int PerTransportInt(string transport, string name, int fallback) => ParseInt(PerTransport(transport, name), fallback);

    // PerTransportTime - a per-transport time in seconds (bare numbers are seconds).
    public int PerTransportTime(string transport, string name)
    {
        var v = PerTransport(transport, name).Trim();
        if (v.Length == 0)
            return 0;
        if (char.IsAsciiDigit(v[^1]))
            v += 's';
        return ServerParams.Time(v);
    }

    private static string Or(string v, string d) => v.Length > 0 ? v : d;

    private static int IntOr(MailConf conf, string name, int d) => ParseInt(conf.Eval(name), d);

    private static int ParseInt(string v, int d) =>
        int.TryParse(v.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : d;

    // TimeOr - a time value; a bare number takes the parameter's default unit.
    internal static int TimeOr(MailConf conf, string name, int d, char defaultUnit = 's')
    {
        var v = conf.Eval(name).Trim();
        if (v.Length == 0)
            return d;
        if (char.IsAsciiDigit(v[^1]))
            v += defaultUnit;
        return ServerParams.Time(v);
    }
}
