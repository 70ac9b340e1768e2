// NAME
//	SmtpSettings - the smtp(8)/lmtp(8) configuration parameters
// POSTFIX
//	src/smtp/smtp.c (the parameter tables), src/smtp/lmtp_params.c,
//	src/smtp/smtp_params.c
// DESCRIPTION
//	One program, two parameter name spaces: smtp_* when the process
//	runs as smtp, lmtp_* when it runs as lmtp (the reference's
//	VAR_LMTP_SMTP()). Name() gives the parameter name in use.
using System;
using System.Collections.Generic;
using Postfix.Global.Config;
using Postfix.Server;
using Postfix.Util;

namespace Postfix.Daemons.Smtp;

internal sealed class SmtpSettings
{
    private static readonly char[] ListDelims = { ' ', '\t', ',', '\n', '\r' };

    public bool Lmtp { get; init; }
    public string HeloName { get; init; } = "localhost";
    public string MyHostname { get; init; } = "localhost";
    public int ConnectTimeout { get; init; } = 30;
    public int HeloTimeout { get; init; } = 300;
    public int MailTimeout { get; init; } = 300;
    public int XforwardTimeout { get; init; } = 300;
    public int RcptTimeout { get; init; } = 300;
    public int DataInitTimeout { get; init; } = 120;
    public int DataXferTimeout { get; init; } = 180;
    public int DataDoneTimeout { get; init; } = 600;
    public int RsetTimeout { get; init; } = 20;
    public int QuitTimeout { get; init; } = 300;
    public bool Skip5xxGreeting { get; init; } = true;
    public bool AlwaysEhlo { get; init; } = true;
    public bool NeverEhlo { get; init; }
    public bool SkipQuitResponse { get; init; } = true;
    public bool LookupDns { get; init; } = true;
    public bool LookupNative { get; init; }
    public bool RandomizeAddresses { get; init; } = true;
    public int MxAddressLimit { get; init; } = 5;
    public int MxSessionLimit { get; init; } = 2;
    public bool UseIpv4 { get; init; } = true;
    public bool UseIpv6 { get; init; }
    public bool PreferIpv6 { get; init; }
    public bool PreferIpv4 { get; init; }
    public string[] FallbackRelay { get; init; } = Array.Empty<string>();
    public string DefaultService { get; init; } = "smtp";
    public bool SoftBounce { get; init; }
    public bool DeferMxAddress { get; init; } = true;
    public bool IgnoreMxLookupError { get; init; }
    public int LineLengthLimit { get; init; } = 998;
    public string TlsSecurityLevel { get; init; } = "";
    public string LmtpAssumeFinal { get; init; } = "no";
    public string LmtpTcpPort { get; init; } = "24";
    public bool DisableMimeOutputConversion { get; init; }
    public int HeaderSizeLimit { get; init; } = 102400;
    public int MimeBoundaryLimit { get; init; } = 2048;
    public int MimeNestingLimit { get; init; } = 100;

    public string BindAddress { get; init; } = "";
    public string BindAddress6 { get; init; } = "";
    public bool BindAddressEnforce { get; init; }
    public bool SendXforward { get; init; }
    public int TlsLogLevel { get; init; }

    // OwnAddresses, ProxyAddresses - $inet_interfaces and
    // $proxy_interfaces (loop detection, source address); null: unknown.
    public List<byte[]>? OwnAddresses { get; set; }
    public List<byte[]>? ProxyAddresses { get; set; }

    // TlsPolicyMaps - smtp_tls_policy_maps (null: none).
    public Postfix.Global.Dict.Maps? TlsPolicyMaps { get; set; }

    // Checks - the header/body checks tables (null: none).
    public SmtpChecks? Checks { get; set; }

    // Sasl - the SASL client settings (null: disabled).
    public SmtpSaslSettings? Sasl { get; set; }

    // FinalDelivery - flags=X in master.cf (or lmtp_assume_final).
    public bool FinalDelivery { get; set; }
    public string RelayHost { get; init; } = "";

    // CliFlags - flags=DOR in master.cf: the headers to prepend.
    public SmtpCliFlags CliFlags { get; set; }

    // Generic - smtp_generic_maps (null: none).
    public SmtpGeneric? Generic { get; set; }

    // DiscardEhloMaps - smtp_discard_ehlo_keyword_address_maps (null: none).
    public Postfix.Global.Dict.Maps? DiscardEhloMaps { get; set; }
    public string DiscardEhloWords { get; init; } = "";

    // ReplyFilter - smtp_reply_filter (null: none).
    public Postfix.Global.Dict.Dict? ReplyFilter { get; set; }

    // PixMaps - smtp_pix_workaround_maps (null: none).
    public Postfix.Global.Dict.Maps? PixMaps { get; set; }
    public string PixWorkarounds { get; init; } = "disable_esmtp,delay_dotcrlf";
    public int PixDelay { get; init; } = 10;
    public int PixThreshold { get; init; } = 500;

    public bool QuoteRfc821Envelope { get; init; } = true;
    public bool SendDummyMailAuth { get; init; }

    // VerifyTargetData - smtp_address_verify_target = data.
    public bool VerifyTargetData { get; init; }
    public string BestMxTransport { get; init; } = "";

    // MinBackoffTime - minimal_backoff_time: a message must have waited
    // this long before a failed opportunistic TLS handshake is retried
    // in plaintext.
    public int MinBackoffTime { get; init; } = 300;

    // BalanceInetProtocols - smtp_balance_inet_protocols.
    public bool BalanceInetProtocols { get; init; } = true;

    // CnameOverridesServername - smtp_cname_overrides_servername.
    public bool CnameOverridesServername { get; init; }

    // SenderDependentAuth - smtp_sender_dependent_authentication (SMTP only).
    public bool SenderDependentAuth { get; init; }

    // AddrOptions - the address search options (recipient_delimiter etc.).
    public Postfix.Global.Dict.AccessFindOptions AddrOptions { get; init; } = new();

    // Tables opened before the process drops privileges (PreInit).
    private static SmtpGeneric? openGeneric;
    private static Postfix.Global.Dict.Maps? openEhloMaps;
    private static Postfix.Global.Dict.Dict? openReplyFilter;
    private static Postfix.Global.Dict.Maps? openPixMaps;

    // OpenTables - the lookup tables of smtp_generic_maps,
    // smtp_discard_ehlo_keyword_address_maps, smtp_reply_filter and
    // smtp_pix_workaround_maps; called at pre-init.
    public static void OpenTables(MailConf conf, string p)
    {
        var generic = conf.Eval($"{p}_generic_maps");
        if (generic.Length > 0)
            openGeneric = SmtpGeneric.Create(conf, $"{p}_generic_maps", generic);
        var ehloName = p == "lmtp" ? "lmtp_discard_lhlo_keyword_address_maps" : "smtp_discard_ehlo_keyword_address_maps";
        var ehlo = conf.Eval(ehloName);
        if (ehlo.Length > 0)
            openEhloMaps = Postfix.Global.Dict.Maps.Create(ehloName, ehlo,
                Postfix.Global.Dict.DictFlags.Lock);
        var filter = conf.Eval($"{p}_reply_filter");
        if (filter.Length > 0)
            openReplyFilter = Postfix.Global.Dict.DictOpen.Open(filter, Postfix.Global.Dict.DictOpenFlags.ReadOnly,
                Postfix.Global.Dict.DictFlags.Lock | Postfix.Global.Dict.DictFlags.FoldFix);
        var dnsFilter = conf.Eval($"{p}_dns_reply_filter");
        if (dnsFilter.Length > 0)
            Postfix.Global.Dns.DnsReplyFilter.Compile($"{p}_dns_reply_filter", dnsFilter);
        var pix = conf.Eval($"{p}_pix_workaround_maps");
        if (pix.Length > 0)
            openPixMaps = Postfix.Global.Dict.Maps.Create($"{p}_pix_workaround_maps", pix, Postfix.Global.Dict.DictFlags.Lock);
    }

    public static string Prefix(bool lmtp) => lmtp ? "lmtp" : "smtp";

    public static SmtpSettings FromConfig(MailConf conf, bool lmtp)
    {
        var p = Prefix(lmtp);
        string S(string name) => conf.Eval($"{p}_{name}");
        int T(string name) => ServerParams.Time(S(name));
        bool B(string name) => conf.Bool($"{p}_{name}");
        static string[] Words(string v) => v.Split(ListDelims, StringSplitOptions.RemoveEmptyEntries);
        var protocols = Words(conf.Eval("inet_protocols").ToLowerInvariant());
        var all = Array.IndexOf(protocols, "all") >= 0;
        var hostLookup = Words(S("host_lookup").ToLowerInvariant());
        var pref = S("address_preference").ToLowerInvariant();
        var target = S("address_verify_target");
        if (target != "rcpt" && target != "data")
            Msg.Fatal($"bad protocol stage: \"{p}_address_verify_target = {target}\"");
        return new SmtpSettings
        {
            Generic = openGeneric,
            DiscardEhloMaps = openEhloMaps,
            DiscardEhloWords = S(lmtp ? "discard_lhlo_keywords" : "discard_ehlo_keywords"),
            ReplyFilter = openReplyFilter,
            PixMaps = openPixMaps,
            PixWorkarounds = S("pix_workarounds"),
            PixDelay = T("pix_workaround_delay_time"),
            PixThreshold = T("pix_workaround_threshold_time"),
            QuoteRfc821Envelope = B("quote_rfc821_envelope"),
            SendDummyMailAuth = B("send_dummy_mail_auth"),
            VerifyTargetData = target == "data",
            BestMxTransport = conf.Eval("best_mx_transport"),
            MinBackoffTime = ServerParams.Time(conf.Eval("minimal_backoff_time")),
            BalanceInetProtocols = B("balance_inet_protocols"),
            CnameOverridesServername = B("cname_overrides_servername"),
            SenderDependentAuth = !lmtp && conf.Bool("smtp_sender_dependent_authentication"),
            AddrOptions = new Postfix.Global.Dict.AccessFindOptions
            {
                RecipientDelimiter = conf.Eval("recipient_delimiter"),
                MyOrigin = conf.Eval("myorigin"),
                DoubleBounceSender = conf.Eval("double_bounce_sender"),
                OwnerRequestSpecial = conf.Bool("owner_request_special"),
            },
            Lmtp = lmtp,
            HeloName = lmtp ? S("lhlo_name") : S("helo_name"),
            MyHostname = conf.Eval("myhostname"),
            ConnectTimeout = T("connect_timeout"),
            HeloTimeout = T(lmtp ? "lhlo_timeout" : "helo_timeout"),
            MailTimeout = T("mail_timeout"),
            XforwardTimeout = T("xforward_timeout"),
            RcptTimeout = T("rcpt_timeout"),
            DataInitTimeout = T("data_init_timeout"),
            DataXferTimeout = T("data_xfer_timeout"),
            DataDoneTimeout = T("data_done_timeout"),
            RsetTimeout = T("rset_timeout"),
            QuitTimeout = T("quit_timeout"),
            Skip5xxGreeting = lmtp || B("skip_5xx_greeting"),
            AlwaysEhlo = !lmtp && B("always_send_ehlo"),
            NeverEhlo = !lmtp && B("never_send_ehlo"),
            SkipQuitResponse = B("skip_quit_response"),
            LookupDns = !conf.Bool("disable_dns_lookups") && Array.IndexOf(hostLookup, "dns") >= 0,
            LookupNative = Array.IndexOf(hostLookup, "native") >= 0,
            RandomizeAddresses = B("randomize_addresses"),
            MxAddressLimit = Int(S("mx_address_limit")),
            MxSessionLimit = Int(S("mx_session_limit")),
            UseIpv4 = all || Array.IndexOf(protocols, "ipv4") >= 0,
            UseIpv6 = all || Array.IndexOf(protocols, "ipv6") >= 0,
            PreferIpv6 = pref == "ipv6",
            PreferIpv4 = pref == "ipv4",
            FallbackRelay = Words(S("fallback_relay")),
            DefaultService = lmtp ? "lmtp" : "smtp",
            SoftBounce = conf.Bool("soft_bounce"),
            DeferMxAddress = B("defer_if_no_mx_address_found"),
            LineLengthLimit = Int(S("line_length_limit")),
            TlsSecurityLevel = S("tls_security_level") is { Length: > 0 } level ? level
                : B("enforce_tls") ? (B("tls_enforce_peername") ? "verify" : "encrypt") : B("use_tls") ? "may" : "none",
            LmtpAssumeFinal = lmtp ? S("assume_final") : "no",
            LmtpTcpPort = conf.Eval("lmtp_tcp_port"),
            RelayHost = conf.Eval("relayhost"),
            IgnoreMxLookupError = conf.Bool("ignore_mx_lookup_error"),
            BindAddress = S("bind_address"),
            BindAddress6 = S("bind_address6"),
            BindAddressEnforce = B("bind_address_enforce"),
            SendXforward = B("send_xforward_command"),
            TlsLogLevel = Int(S("tls_loglevel")),
            DisableMimeOutputConversion = conf.Bool("disable_mime_output_conversion"),
            HeaderSizeLimit = Int(conf.Eval("header_size_limit")),
            MimeBoundaryLimit = Int(conf.Eval("mime_boundary_length_limit")),
            MimeNestingLimit = Int(conf.Eval("mime_nesting_limit")),
        };
    }

    private static int Int(string v) => int.TryParse(v, out var n) ? n : 0;
}
