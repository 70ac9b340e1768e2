// NAME
//	DeliverConfig - the settings the delivery status calls use
// POSTFIX
//	src/global/mail_params.c (var_soft_bounce, var_*_service,
//	var_delay_max_res, var_info_log_addr_form, var_verify_neg_cache,
//	var_fflush_domains)
// DESCRIPTION
//	Init(conf) loads them from main.cf (daemons call it once after the
//	configuration is read; the delivery calls also work with the
//	defaults, as unit tests do). QueueDirectory null means the current
//	directory, where a daemon runs; tests point it elsewhere.
using System;
using System.Globalization;
using Postfix.Global.Config;
using Postfix.Global.Queue;
using Postfix.Util;

namespace Postfix.Global.Deliver;

public static class DeliverConfig
{
    public static bool SoftBounce { get; set; }
    public static string BounceService { get; set; } = "bounce";
    public static string DeferService { get; set; } = "defer";
    public static string TraceService { get; set; } = "trace";
    public static string VerifyService { get; set; } = "verify";
    public static string FlushService { get; set; } = "flush";
    public static int DelayMaxRes { get; set; } = 2;
    public static bool LogAddrInternal { get; set; }
    public static bool VerifyNegCache { get; set; } = true;
    public static string FlushDomains { get; set; } = "";
    public static MailQueue Queue { get; set; } = new();
    public static string? QueueDirectory { get; set; }

    public static void Init(MailConf conf)
    {
        SoftBounce = conf.Bool("soft_bounce");
        BounceService = conf.Eval("bounce_service_name");
        DeferService = conf.Eval("defer_service_name");
        TraceService = conf.Eval("trace_service_name");
        VerifyService = conf.Eval("address_verify_service_name");
        FlushService = conf.Eval("flush_service_name");
        var res = conf.Eval("delay_logging_resolution_limit");
        if (!int.TryParse(res, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var r))
            Msg.Fatal($"bad numerical configuration: delay_logging_resolution_limit = {res}");
        if (r < 0)
            Msg.Fatal($"invalid delay_logging_resolution_limit parameter value {r} < 0");
        if (r > 6)
            Msg.Fatal($"invalid delay_logging_resolution_limit parameter value {r} > 6");
        DelayMaxRes = r;
        var form = conf.Eval("info_log_address_format");
        if (string.Equals(form, "internal", StringComparison.OrdinalIgnoreCase))
            LogAddrInternal = true;
        else if (string.Equals(form, "external", StringComparison.OrdinalIgnoreCase))
            LogAddrInternal = false;
        else
            Msg.Fatal($"invalid parameter setting \"info_log_address_format = {form}\"");
        VerifyNegCache = conf.Bool("address_verify_negative_cache");
        FlushDomains = conf.Eval("fast_flush_domains");
        Queue = MailQueue.FromConfig(conf);
    }

    // ServicePath - CLASS/SERVICE below the queue directory.
    internal static string ServicePath(string cls, string service) =>
        QueueDirectory == null ? cls + "/" + service : System.IO.Path.Combine(QueueDirectory, cls, service);
}
