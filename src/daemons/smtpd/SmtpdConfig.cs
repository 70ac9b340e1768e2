// NAME
//	SmtpdConfig - the smtpd(8) parameters, read once per process
// POSTFIX
//	src/smtpd/smtpd.c (the var_* tables, pre_jail_init, post_jail_init)
// DESCRIPTION
//	Every main.cf setting the SMTP protocol engine uses, evaluated after
//	the master's -o overrides, plus the lists and tables built from
//	them. Shared read-only by all sessions of the process.
using System;
using System.Globalization;
using Postfix.Global.Config;
using Postfix.Global.Dict;
using Postfix.Server;
using Postfix.Util;

namespace Postfix.Daemons.Smtpd;

internal sealed class SmtpdConfig
{
    // Bare LF flags (smtpd.c BARE_LF_FLAG_*).
    public const int BareLfWantStdEod = 1 << 0;
    public const int BareLfReplyReject = 1 << 1;

    public SmtpdConfig(MailConf conf)
    {
        Conf = conf;
        MyHostname = conf.Eval("myhostname");
        MailName = conf.Eval("mail_name");
        Banner = conf.Eval("smtpd_banner");
        Timeout = Time(conf, "smtpd_timeout");
        RequestDeadline = conf.Bool("smtpd_per_request_deadline");
        MinDataRate = Int(conf, "smtpd_min_data_rate");
        ErrorSleep = Time(conf, "smtpd_error_sleep_time");
        SoftErrorLimit = Int(conf, "smtpd_soft_error_limit");
        HardErrorLimit = Int(conf, "smtpd_hard_error_limit");
        JunkCommandLimit = Int(conf, "smtpd_junk_command_limit");
        HistoryThreshold = Int(conf, "smtpd_history_flush_threshold");
        MessageSizeLimit = Long(conf, "message_size_limit");
        DisableVrfy = conf.Bool("disable_vrfy_command");
        HeloRequired = conf.Bool("smtpd_helo_required");
        StrictRfc821 = conf.Bool("strict_rfc821_envelopes");
        DelayReject = conf.Bool("smtpd_delay_reject");
        DelayOpen = conf.Bool("smtpd_delay_open_until_valid_rcpt");
        RecipientLimit = Int(conf, "smtpd_recipient_limit");
        RecipientOvershoot = Int(conf, "smtpd_recipient_overshoot_limit");
        PortLogging = conf.Bool("smtpd_client_port_logging");
        PeernameLookup = conf.Bool("smtpd_peername_lookup");
        EhloDiscardWords = conf.Eval("smtpd_discard_ehlo_keywords");
        var ehloMaps = conf.Eval("smtpd_discard_ehlo_keyword_address_maps");
        if (ehloMaps.Length > 0)
            EhloDiscardMaps = Maps.Create("smtpd_discard_ehlo_keyword_address_maps", ehloMaps, DictFlags.Lock);
        Smtputf8Enable = conf.Bool("smtputf8_enable");
        StrictSmtputf8 = conf.Bool("strict_smtputf8");
        NoopCommands = new MatchList("smtpd_noop_commands", conf.Eval("smtpd_noop_commands"), hostList: false);
        ForbiddenCommands = new MatchList("smtpd_forbidden_commands", conf.Eval("smtpd_forbidden_commands"), hostList: false);
        var filter = conf.Eval("smtpd_command_filter");
        if (filter.Length > 0)
            CommandFilter = Maps.Create("smtpd_command_filter", filter, DictFlags.Lock | DictFlags.FoldFix);
        RejectFooter = conf.LookupRaw("smtpd_reject_footer") ?? "";
        var footerMaps = conf.Eval("smtpd_reject_footer_maps");
        if (footerMaps.Length > 0)
            RejectFooterMaps = Maps.Create("smtpd_reject_footer_maps", footerMaps, DictFlags.Lock);
        ExpansionFilter = Postfix.Util.Unescape.Decode(conf.LookupRaw("smtpd_expansion_filter") ?? DefaultExpansionFilter);
        SoftBounce = conf.Bool("soft_bounce");
        BareLfMask = conf.Eval("smtpd_forbid_bare_newline").ToLowerInvariant() switch
        {
            "normalize" or "yes" => BareLfWantStdEod,
            "reject" => BareLfWantStdEod | BareLfReplyReject,
            "no" => 0,
            _ => BadBareLf(conf.Eval("smtpd_forbid_bare_newline")),
        };
        BareLfCode = Int(conf, "smtpd_forbid_bare_newline_reject_code");
        var parentStyle = conf.Eval("parent_domain_matches_subdomains");
        BareLfExclusions = new MatchList("smtpd_forbid_bare_newline_exclusions", conf.Eval("smtpd_forbid_bare_newline_exclusions"),
            hostList: true, ParentStyle(parentStyle, "mynetworks"));
        ForbidUnauthPipelining = conf.Bool("smtpd_forbid_unauth_pipelining");
        LineLimit = Int(conf, "line_length_limit");
        InputTransp = TranspMask(conf.Eval("receive_override_options"));
        FilterTransport = conf.Eval("content_filter");
        CleanupService = conf.Eval("cleanup_service_name");
        AutodetectClasses = conf.Eval("smtputf8_autodetect_classes");
        VerpClients = new MatchList("smtpd_authorized_verp_clients", conf.Eval("smtpd_authorized_verp_clients"), hostList: true);
        VerpFilter = conf.Eval("verp_delimiter_filter");
        VerpDelims = conf.Eval("default_verp_delimiters");
        FlushDomains = conf.Eval("fast_flush_domains");
        FlushService = conf.Eval("flush_service_name");
        HoggerList = new MatchList("smtpd_client_event_limit_exceptions", conf.Eval("smtpd_client_event_limit_exceptions"),
            hostList: true, ParentStyle(parentStyle, "smtpd_client_event_limit_exceptions"));
        ConnCountLimit = Int(conf, "smtpd_client_connection_count_limit");
        ConnRateLimit = Int(conf, "smtpd_client_connection_rate_limit");
        MessageRateLimit = Int(conf, "smtpd_client_message_rate_limit");
        RecipientRateLimit = Int(conf, "smtpd_client_recipient_rate_limit");
        NewTlsRateLimit = Int(conf, "smtpd_client_new_tls_session_rate_limit");
        AuthRateLimit = Int(conf, "smtpd_client_auth_rate_limit");
        XclientHosts = new MatchList("smtpd_authorized_xclient_hosts", conf.Eval("smtpd_authorized_xclient_hosts"), hostList: true);
        XforwardHosts = new MatchList("smtpd_authorized_xforward_hosts", conf.Eval("smtpd_authorized_xforward_hosts"), hostList: true);
        ErrorNotifyRecipient = conf.Eval("error_notice_recipient");
        BounceNotifyRecipient = conf.Eval("bounce_notice_recipient");
        NotifyClasses = conf.Eval("notify_classes");
        VerifySender = conf.Eval("address_verify_sender");
        SaslAuthHeader = conf.Bool("smtpd_sasl_authenticated_header");
        TlsReceivedHeader = conf.Bool("smtpd_tls_received_header");
        InfoLogInternal = string.Equals(conf.Eval("info_log_address_format"), "internal", StringComparison.OrdinalIgnoreCase);
    }

    public MailConf Conf { get; }
    public string MyHostname, MailName, Banner;
    public bool RequestDeadline;
    public int MinDataRate;
    public int Timeout, ErrorSleep, SoftErrorLimit, HardErrorLimit, JunkCommandLimit, HistoryThreshold;
    public long MessageSizeLimit;
    public bool DisableVrfy, HeloRequired, StrictRfc821, DelayReject, DelayOpen, PortLogging, PeernameLookup;
    public int RecipientLimit, RecipientOvershoot;
    public string EhloDiscardWords;
    public Maps? EhloDiscardMaps;
    public bool Smtputf8Enable, StrictSmtputf8;
    public MatchList NoopCommands, ForbiddenCommands;
    public Maps? CommandFilter;
    public string RejectFooter;
    public Maps? RejectFooterMaps;
    public string ExpansionFilter;
    public bool SoftBounce;
    public int BareLfMask, BareLfCode;
    public MatchList BareLfExclusions;
    public bool ForbidUnauthPipelining;
    public int LineLimit;
    public int InputTransp;
    public string FilterTransport, CleanupService, AutodetectClasses;
    public MatchList VerpClients;
    public string VerpFilter, VerpDelims;
    public string FlushDomains, FlushService;
    public MatchList HoggerList;
    public int ConnCountLimit, ConnRateLimit, MessageRateLimit, RecipientRateLimit, NewTlsRateLimit, AuthRateLimit;
    public MatchList XclientHosts, XforwardHosts;
    public string ErrorNotifyRecipient, BounceNotifyRecipient, NotifyClasses, VerifySender;
    public bool SaslAuthHeader, TlsReceivedHeader, InfoLogInternal;

    // Input transparency bits (input_transp.h).
    public const int TranspUnknownRcpt = 1 << 0, TranspAddressMapping = 1 << 1, TranspHeaderBody = 1 << 2,
        TranspMilter = 1 << 3;

    private static int TranspMask(string value)
    {
        var mask = 0;
        foreach (var name in value.Split([',', ' ', '\t', '\n', '\r'], StringSplitOptions.RemoveEmptyEntries))
        {
            mask |= name.ToLowerInvariant() switch
            {
                "no_unknown_recipient_checks" => TranspUnknownRcpt,
                "no_address_mappings" => TranspAddressMapping,
                "no_header_body_checks" => TranspHeaderBody,
                "no_milters" => TranspMilter,
                _ => BadTransp(name, value),
            };
        }
        return mask;
    }

    private static int BadTransp(string name, string value)
    {
        Msg.Fatal($"unknown receive_override_options value \"{name}\" in \"{value}\"");
        return 0;
    }

    private static int BadBareLf(string v)
    {
        Msg.Fatal($"bad parameter value: 'smtpd_forbid_bare_newline = {v}'");
        return 0;
    }

    private const string DefaultExpansionFilter =
        "\\t\\40!\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\\\]^_`abcdefghijklmnopqrstuvwxyz{|}~";

    // ParentStyle - match_parent_style(): does the parameter appear in
    // parent_domain_matches_subdomains?
    public static bool ParentStyle(string list, string name)
    {
        foreach (var item in list.Split([',', ' ', '\t', '\r', '\n'], StringSplitOptions.RemoveEmptyEntries))
        {
            if (item == name)
                return true;
        }
        return false;
    }

    public static int Time(MailConf conf, string name) => ServerParams.Time(conf.Eval(name));

    public static int Int(MailConf conf, string name)
    {
        var v = conf.Eval(name);
        if (!int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n))
            Msg.Fatal($"bad numerical configuration: {name} = {v}");
        return n;
    }

    public static long Long(MailConf conf, string name)
    {
        var v = conf.Eval(name);
        if (!long.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n))
            Msg.Fatal($"bad numerical configuration: {name} = {v}");
        return n;
    }
}
