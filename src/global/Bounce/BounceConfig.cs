// NAME
//	BounceConfig - main.cf as a bounce(8) process sees it
// POSTFIX
//	src/bounce/bounce.c (main, post_jail_init), src/global/mail_params.c,
//	src/global/mail_conf_time.c, src/global/mail_conf_nbool.c
// DESCRIPTION
//	A Postfix daemon's configuration dictionary holds main.cf, the -o
//	settings, and every parameter that mail_params_init() and the
//	daemon's own tables read, with its default. Template $names resolve
//	against that dictionary only: $alias_maps is undefined in bounce(8)
//	unless main.cf sets it. ForTemplates() builds the expansion settings
//	with the same conversions and fatal errors as the daemon's tables;
//	StandardFrom() comes later, after the templates are loaded, as in
//	bounce(8).
using System;
using System.Collections.Generic;
using System.Text;
using Postfix.Global.Config;
using Postfix.Global.Params;
using Postfix.Util;

namespace Postfix.Global.Bounce;

public static class BounceConfig
{
    public const string ProcessName = "bounce";

    // Parameters in a bounce process's dictionary besides main.cf and -o.
    private static readonly HashSet<string> DaemonNames = new(StringComparer.Ordinal)
    {
        // single_server_main(), mail_conf_suck(), mail_params_init()
        "config_directory", "process_name", "service_name", "process_id",
        "2bounce_notice_recipient", "address_verify_negative_cache", "address_verify_service_name", "alias_database",
        "alternate_config_directories", "application_event_drain_time", "backwards_bounce_logfile_compatibility",
        "berkeley_db_create_buffer_size", "berkeley_db_read_buffer_size", "bounce_notice_recipient",
        "bounce_service_name", "bounce_size_limit", "bounce_template_file", "cleanup_service_name",
        "command_directory", "compatibility_level", "daemon_directory", "daemon_table_open_error_is_fatal",
        "daemon_timeout", "data_directory", "debug_peer_level", "debug_peer_list",
        "default_database_type", "default_delivery_status_filter", "default_privs", "default_process_limit",
        "default_verp_delimiters", "defer_service_name", "delay_logging_resolution_limit", "delay_notice_recipient",
        "delay_warning_time", "deliver_lock_attempts", "deliver_lock_delay", "disable_dns_lookups",
        "disable_mime_input_processing", "disable_mime_output_conversion", "dns_ncache_ttl_fix_enable", "dnssec_probe",
        "dont_remove", "double_bounce_sender", "enable_idna2003_compatibility", "enable_long_queue_ids",
        "enable_original_recipient", "enable_threaded_bounces", "error_service_name", "export_environment",
        "fast_flush_domains", "fault_injection_code", "flush_service_name", "fork_attempts",
        "fork_delay", "hash_queue_depth", "hash_queue_names", "header_address_token_limit",
        "header_from_format", "header_size_limit", "helpful_warnings", "import_environment",
        "in_flow_delay", "inet_interfaces", "inet_protocols", "info_log_address_format",
        "internal_mail_filter_classes", "ipc_idle", "ipc_timeout", "ipc_ttl",
        "known_tcp_ports", "line_length_limit", "lmdb_map_size", "mail_name",
        "mail_owner", "mail_release_date", "mail_version", "maillog_file",
        "maillog_file_compressor", "maillog_file_prefixes", "maillog_file_rotate_suffix", "max_idle",
        "max_use", "maximal_queue_lifetime", "message_drop_headers", "message_size_limit",
        "meta_directory", "mime_boundary_length_limit", "mime_nesting_limit", "multi_instance_directories",
        "multi_instance_enable", "multi_instance_group", "multi_instance_name", "multi_instance_wrapper",
        "mydestination", "mydomain", "myhostname", "mynetworks",
        "mynetworks_style", "myorigin", "notify_classes", "owner_request_special",
        "parent_domain_matches_subdomains", "pickup_service_name", "postlog_service_name", "process_id_directory",
        "proxy_interfaces", "proxymap_service_name", "proxywrite_service_name", "queue_directory",
        "queue_service_name", "recipient_delimiter", "relay_domains", "relayhost",
        "respectful_logging", "rewrite_service_name", "send_cyrus_sasl_authzid", "setgid_group",
        "shlib_directory", "showq_service_name", "smtputf8_autodetect_classes", "smtputf8_enable",
        "soft_bounce", "stale_lock_time", "strict_7bit_headers", "strict_8bitmime",
        "strict_8bitmime_body", "strict_mime_encoding_domain", "strict_smtputf8", "syslog_facility",
        "syslog_name", "tcp_windowsize", "trace_service_name", "trigger_timeout",
        "verp_delimiter_filter",
    };

    private const int MaxQueueTimeLimit = 8640000;

    // LogTag - "syslog_name/bounce", the tag of the daemon's messages.
    public static string LogTag(MailConf conf, string serviceName) => Eval(conf, serviceName, "syslog_name") + "/" + ProcessName;

    // ForTemplates - expansion settings, after bounce(8)'s own parameter
    // tables (int, string, time, boolean: fatal on a bad value).
    public static BounceTemplateConfig ForTemplates(MailConf conf, string serviceName)
    {
        CompatLevel.Register();
        string E(string name) => Eval(conf, serviceName, name);

        // mail_params_init() runs again in bounce(8); only its warnings show.
        var smtputf8 = MailParamsCheck.Bool("smtputf8_enable", E("smtputf8_enable"));
        Msg.Utf8Enable = smtputf8;
        MailParamsCheck.KnownTcpPorts(E("known_tcp_ports"));
        MailParamsCheck.Int("bounce_size_limit", E("bounce_size_limit"), 1, 0);
        foreach (var (name, min) in new[]
                 {
                     ("notify_classes", 0), ("bounce_notice_recipient", 1), ("2bounce_notice_recipient", 1),
                     ("delay_notice_recipient", 1), ("bounce_template_file", 0), ("header_from_format", 1),
                 })
            MailParamsCheck.Str(name, E(name), min, 0);
        var maxQueueTime = MailParamsCheck.Time("maximal_queue_lifetime", E("maximal_queue_lifetime"), 0, MaxQueueTimeLimit);
        var delayWarnTime = MailParamsCheck.Time("delay_warning_time", E("delay_warning_time"), 0, 0);
        MailParamsCheck.Bool("enable_threaded_bounces", E("enable_threaded_bounces"));
        return new BounceTemplateConfig(name => LookupEval(conf, serviceName, name) is { } v ? BounceTemplate.Octets(v) : null)
        {
            SmtpUtf8Enable = smtputf8,
            MaxQueueTime = maxQueueTime,
            DelayWarnTime = delayWarnTime,
            MyHostname = BounceTemplate.Octets(E("myhostname")),
            MyDomain = BounceTemplate.Octets(E("mydomain")),
        };
    }

    // CheckMainCf - what mail_conf_read() checks before postconf runs bounce(8).
    public static void CheckMainCf(MailConf conf, string configDir) => MailParamsCheck.Run(conf, configDir, name => Eval(conf, "", name));

    // StandardFrom - hfrom_format_parse(header_from_format).
    public static bool StandardFrom(MailConf conf, string serviceName)
    {
        var value = Eval(conf, serviceName, "header_from_format");
        if (string.Equals(value, "standard", StringComparison.OrdinalIgnoreCase))
            return true;
        if (string.Equals(value, "obsolete", StringComparison.OrdinalIgnoreCase))
            return false;
        Msg.Fatal($"invalid setting: \"header_from_format = {value}\"");
        return false;
    }

    // LookupEval - mail_conf_lookup_eval(): the expanded value, null when undefined.
    public static string? LookupEval(MailConf conf, string serviceName, string name)
    {
        var raw = Lookup(conf, serviceName, name);
        return raw == null ? null : Expand(conf, serviceName, raw);
    }

    private static string Eval(MailConf conf, string serviceName, string name) => LookupEval(conf, serviceName, name) ?? "";

    private static string Expand(MailConf conf, string serviceName, string value)
    {
        CompatLevel.Register();
        var sb = new StringBuilder();
        MacExpand.Expand(sb, value, MacExpand.FlagRecurse, null, (n, _) => Lookup(conf, serviceName, n));
        return sb.ToString();
    }

    // Lookup - a value as set, or the default of a parameter the daemon reads.
    private static string? Lookup(MailConf conf, string serviceName, string name)
    {
        if (conf.LookupRaw(name) is { } v)
            return v;
        if (!DaemonNames.Contains(name))
            return null;
        switch (name)
        {
            case "process_name":
                return ProcessName;
            case "service_name":
                return serviceName;
            case "mynetworks":
                // As mynetworks() makes it: a space after each network.
                return MyNetworks.Compute(Eval(conf, serviceName, "mynetworks_style"),
                    Eval(conf, serviceName, "inet_interfaces"), Eval(conf, serviceName, "inet_protocols"));
            case "config_directory":
            case "myhostname":
            case "mydomain":
            case "process_id":
                return conf.Lookup(name);
            default:
                return ParamCatalog.Default(name);
        }
    }
}
