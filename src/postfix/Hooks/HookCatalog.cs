// NAME
//	HookCatalog - the integration points a Postfix server can have
// POSTFIX
//	postconf(5) (the parameters), master(5), smtpd(8), cleanup(8),
//	trivial-rewrite(8), local(8), virtual(8), smtp(8), pipe(8)
// DESCRIPTION
//	One Point per parameter that wires an external program, a lookup
//	table, a next hop or a notification: the stage it acts in, the
//	daemons that read it (the master.cf command names), how its value
//	is read (Kind), and one line saying what it is for (shown by
//	"postfix hooks --all" when the point is not used).
using System.Collections.Generic;

namespace Postfix.Commands.Control.Hooks;

internal enum HookKind
{
    Restrictions,   // smtpd restriction list
    Milters,        // milter list
    Tables,         // type:table list
    TableOrDomains, // domain list that may name tables
    ProxyFilter,    // host:port / unix:path of a before-queue filter
    Transport,      // transport[:nexthop]
    NextHop,        // host or [host]:port
    Command,        // a shell command line
    Sasl,           // smtpd_sasl_auth_enable + type + path
    SaslClient,     // smtp_sasl_auth_enable + password maps
    Dnsbl,          // postscreen_dnsbl_sites
    HostList,       // hosts allowed to use a command
    YesFlag,        // a yes/no switch that turns a protocol on
    Value,          // any non-empty value
    Tls,            // a TLS security level
}

internal sealed record HookPoint(string Parameter, string Stage, string[] Daemons, HookKind Kind, string Protocol, string Purpose);

internal static class HookCatalog
{
    public static readonly string[] SmtpdLike = ["smtpd"];
    private static readonly string[] Cleanup = ["cleanup"];
    private static readonly string[] Rewrite = ["trivial-rewrite"];
    private static readonly string[] Local = ["local"];
    private static readonly string[] Virtual = ["virtual"];
    private static readonly string[] Smtp = ["smtp"];
    private static readonly string[] Lmtp = ["lmtp"];
    private static readonly string[] Postscreen = ["postscreen"];
    private static readonly string[] Verify = ["verify"];
    private static readonly string[] Bounce = ["bounce", "cleanup", "local", "smtp", "smtpd", "qmgr"];
    private static readonly string[] Receivers = ["smtpd", "pickup", "qmqpd"];

    // Stage order for output.
    public static readonly string[] Stages =
    [
        "postscreen", "smtpd connect", "smtpd HELO", "smtpd MAIL", "smtpd RCPT", "smtpd DATA", "smtpd end of data",
        "smtpd ETRN", "smtpd restriction class", "smtpd session", "cleanup", "trivial-rewrite", "qmgr", "local delivery", "virtual delivery",
        "pipe delivery", "smtp delivery", "lmtp delivery", "address verification", "bounce and notifications",
        "logging", "master services",
    ];

    public static readonly HookPoint[] Points =
    [
        new("postscreen_dnsbl_sites", "postscreen", Postscreen, HookKind.Dnsbl, "DNSBL/DNSWL", "DNS block/allow lists scored before a client may talk to smtpd"),
        new("postscreen_access_list", "postscreen", Postscreen, HookKind.Tables, "access table", "permanent allow/deny list of client addresses for postscreen"),
        new("postscreen_cache_map", "postscreen", Postscreen, HookKind.Tables, "cache table", "where postscreen remembers clients that passed its tests"),
        new("postscreen_dnsbl_reply_map", "postscreen", Postscreen, HookKind.Tables, "lookup table", "the DNSBL name postscreen shows to a rejected client"),
        new("postscreen_upstream_proxy_protocol", "postscreen", Postscreen, HookKind.Value, "HAProxy protocol", "client address handed over by an HAProxy load balancer"),
        new("smtpd_upstream_proxy_protocol", "smtpd connect", SmtpdLike, HookKind.Value, "HAProxy protocol", "client address handed over by an HAProxy load balancer"),
        new("smtpd_client_restrictions", "smtpd connect", SmtpdLike, HookKind.Restrictions, "restrictions", "checks on the client's address and name"),
        new("smtpd_helo_restrictions", "smtpd HELO", SmtpdLike, HookKind.Restrictions, "restrictions", "checks on the HELO/EHLO name"),
        new("smtpd_sender_restrictions", "smtpd MAIL", SmtpdLike, HookKind.Restrictions, "restrictions", "checks on the MAIL FROM address"),
        new("smtpd_relay_restrictions", "smtpd RCPT", SmtpdLike, HookKind.Restrictions, "restrictions", "relay permission checks at RCPT TO"),
        new("smtpd_recipient_restrictions", "smtpd RCPT", SmtpdLike, HookKind.Restrictions, "restrictions", "spam and policy checks at RCPT TO"),
        new("smtpd_data_restrictions", "smtpd DATA", SmtpdLike, HookKind.Restrictions, "restrictions", "checks when the client sends DATA"),
        new("smtpd_end_of_data_restrictions", "smtpd end of data", SmtpdLike, HookKind.Restrictions, "restrictions", "checks after the message content (size known)"),
        new("smtpd_etrn_restrictions", "smtpd ETRN", SmtpdLike, HookKind.Restrictions, "restrictions", "checks on ETRN requests"),
        new("local_recipient_maps", "smtpd RCPT", SmtpdLike, HookKind.Tables, "recipient validation table", "rejects unknown local recipients during SMTP"),
        new("relay_recipient_maps", "smtpd RCPT", SmtpdLike, HookKind.Tables, "recipient validation table", "rejects unknown relay recipients during SMTP"),
        new("smtpd_sender_login_maps", "smtpd MAIL", SmtpdLike, HookKind.Tables, "SASL login table", "which SASL login may use which sender address"),
        new("smtpd_milters", "smtpd session", SmtpdLike, HookKind.Milters, "milter", "Sendmail mail filters called at each SMTP stage"),
        new("smtpd_proxy_filter", "smtpd DATA", SmtpdLike, HookKind.ProxyFilter, "before-queue SMTP proxy", "an SMTP filter that sees the message before it is queued"),
        new("smtpd_sasl_auth_enable", "smtpd session", SmtpdLike, HookKind.Sasl, "SASL", "SMTP AUTH for clients, through Dovecot or Cyrus SASL"),
        new("smtpd_tls_security_level", "smtpd session", SmtpdLike, HookKind.Tls, "TLS", "STARTTLS for clients, with its certificate"),
        new("smtpd_tls_wrappermode", "smtpd session", SmtpdLike, HookKind.YesFlag, "TLS (wrapper mode)", "implicit TLS on connect (port 465)"),
        new("tls_server_sni_maps", "smtpd session", SmtpdLike, HookKind.Tables, "TLS policy (SNI)", "per-server-name certificates"),
        new("smtpd_authorized_xclient_hosts", "smtpd session", SmtpdLike, HookKind.HostList, "XCLIENT", "hosts that may override the client identity (proxies, tests)"),
        new("smtpd_authorized_xforward_hosts", "smtpd session", SmtpdLike, HookKind.HostList, "XFORWARD", "hosts that may forward the original client identity (content filters)"),
        new("smtpd_command_filter", "smtpd session", SmtpdLike, HookKind.Tables, "lookup table", "rewrites SMTP commands before smtpd parses them"),
        new("content_filter", "qmgr", Receivers, HookKind.Transport, "after-queue content filter", "sends every new message through a filter transport before delivery"),
        new("header_checks", "cleanup", Cleanup, HookKind.Tables, "header checks", "pattern actions on message headers"),
        new("mime_header_checks", "cleanup", Cleanup, HookKind.Tables, "header checks", "pattern actions on MIME headers"),
        new("nested_header_checks", "cleanup", Cleanup, HookKind.Tables, "header checks", "pattern actions on headers of attached messages"),
        new("body_checks", "cleanup", Cleanup, HookKind.Tables, "body checks", "pattern actions on body lines"),
        new("milter_header_checks", "cleanup", Cleanup, HookKind.Tables, "header checks", "pattern actions on headers that milters add"),
        new("non_smtpd_milters", "cleanup", Cleanup, HookKind.Milters, "milter", "mail filters for mail not received by smtpd (sendmail, pickup)"),
        new("canonical_maps", "cleanup", Cleanup, HookKind.Tables, "canonical mapping", "rewrites sender and recipient addresses"),
        new("sender_canonical_maps", "cleanup", Cleanup, HookKind.Tables, "canonical mapping", "rewrites sender addresses"),
        new("recipient_canonical_maps", "cleanup", Cleanup, HookKind.Tables, "canonical mapping", "rewrites recipient addresses"),
        new("masquerade_domains", "cleanup", Cleanup, HookKind.Value, "address masquerading", "hides host names below the listed domains"),
        new("virtual_alias_maps", "cleanup", Cleanup, HookKind.Tables, "virtual alias expansion", "forwards recipients to other addresses, for any domain"),
        new("sender_bcc_maps", "cleanup", Cleanup, HookKind.Tables, "BCC table", "blind copies by sender"),
        new("recipient_bcc_maps", "cleanup", Cleanup, HookKind.Tables, "BCC table", "blind copies by recipient"),
        new("always_bcc", "cleanup", Cleanup, HookKind.Value, "BCC address", "a blind copy of every message"),
        new("transport_maps", "trivial-rewrite", Rewrite, HookKind.Tables, "transport table", "per-domain or per-address delivery transport and next hop"),
        new("relocated_maps", "trivial-rewrite", Rewrite, HookKind.Tables, "relocated table", "bounces mail for users who have moved, with the new address"),
        new("sender_dependent_relayhost_maps", "trivial-rewrite", Rewrite, HookKind.Tables, "relayhost table", "relay host chosen by sender address"),
        new("sender_dependent_default_transport_maps", "trivial-rewrite", Rewrite, HookKind.Tables, "transport table", "default transport chosen by sender address"),
        new("virtual_alias_domains", "trivial-rewrite", Rewrite, HookKind.TableOrDomains, "domain list", "domains that exist only as virtual aliases"),
        new("virtual_mailbox_domains", "trivial-rewrite", Rewrite, HookKind.TableOrDomains, "domain list", "domains whose mailboxes virtual(8) (or virtual_transport) delivers"),
        new("relay_domains", "trivial-rewrite", Rewrite, HookKind.TableOrDomains, "domain list", "domains this server relays to (backup MX, gateway)"),
        new("default_transport", "qmgr", Rewrite, HookKind.Transport, "delivery transport", "transport for remote destinations"),
        new("relay_transport", "qmgr", Rewrite, HookKind.Transport, "delivery transport", "transport for relay_domains"),
        new("relayhost", "smtp delivery", Rewrite, HookKind.NextHop, "SMTP relay", "send all remote mail through this host (smarthost)"),
        new("local_transport", "local delivery", Rewrite, HookKind.Transport, "delivery transport", "transport for $mydestination"),
        new("alias_maps", "local delivery", Local, HookKind.Tables, "alias table", "aliases(5) for local recipients"),
        new("forward_path", "local delivery", Local, HookKind.Value, ".forward files", "where local(8) looks for users' .forward files"),
        new("mailbox_command", "local delivery", Local, HookKind.Command, "pipe command", "external program that delivers to local mailboxes (procmail, dovecot-lda)"),
        new("mailbox_command_maps", "local delivery", Local, HookKind.Tables, "lookup table", "per-user mailbox command"),
        new("mailbox_transport", "local delivery", Local, HookKind.Transport, "delivery transport", "hands local mailbox delivery to another transport (LMTP)"),
        new("mailbox_transport_maps", "local delivery", Local, HookKind.Tables, "transport table", "per-user mailbox transport"),
        new("fallback_transport", "local delivery", Local, HookKind.Transport, "delivery transport", "transport for local recipients without a UNIX account"),
        new("fallback_transport_maps", "local delivery", Local, HookKind.Tables, "transport table", "per-user fallback transport"),
        new("luser_relay", "local delivery", Local, HookKind.Value, "catch-all address", "where mail for unknown local users goes"),
        new("home_mailbox", "local delivery", Local, HookKind.Value, "mailbox path", "mailbox file or Maildir/ relative to the home directory"),
        new("virtual_transport", "virtual delivery", Rewrite, HookKind.Transport, "delivery transport", "transport for virtual_mailbox_domains"),
        new("virtual_mailbox_maps", "virtual delivery", ["virtual", "smtpd"], HookKind.Tables, "mailbox table", "virtual mailbox paths (and valid recipients)"),
        new("virtual_mailbox_base", "virtual delivery", Virtual, HookKind.Value, "mailbox path", "directory prefixed to virtual mailbox paths"),
        new("virtual_uid_maps", "virtual delivery", Virtual, HookKind.Tables, "lookup table", "user ID for each virtual mailbox"),
        new("virtual_gid_maps", "virtual delivery", Virtual, HookKind.Tables, "lookup table", "group ID for each virtual mailbox"),
        new("smtp_fallback_relay", "smtp delivery", Smtp, HookKind.NextHop, "SMTP relay", "relay tried when the destination does not answer"),
        new("smtp_sasl_auth_enable", "smtp delivery", Smtp, HookKind.SaslClient, "SASL client", "SMTP AUTH towards the next hop"),
        new("smtp_tls_policy_maps", "smtp delivery", Smtp, HookKind.Tables, "TLS policy", "per-destination TLS requirements"),
        new("smtp_tls_security_level", "smtp delivery", Smtp, HookKind.Tls, "TLS policy", "default TLS level towards remote servers"),
        new("smtp_generic_maps", "smtp delivery", Smtp, HookKind.Tables, "address mapping", "rewrites addresses of outgoing mail"),
        new("smtp_header_checks", "smtp delivery", Smtp, HookKind.Tables, "header checks", "pattern actions on headers of outgoing mail"),
        new("smtp_body_checks", "smtp delivery", Smtp, HookKind.Tables, "body checks", "pattern actions on body lines of outgoing mail"),
        new("smtp_send_xforward_command", "smtp delivery", Smtp, HookKind.YesFlag, "XFORWARD", "passes the original client identity to a content filter"),
        new("smtp_delivery_status_filter", "smtp delivery", Smtp, HookKind.Tables, "lookup table", "rewrites delivery status results"),
        new("smtp_reply_filter", "smtp delivery", Smtp, HookKind.Tables, "lookup table", "rewrites replies from remote servers"),
        new("lmtp_sasl_auth_enable", "lmtp delivery", Lmtp, HookKind.SaslClient, "SASL client", "LMTP AUTH towards the next hop"),
        new("lmtp_tls_policy_maps", "lmtp delivery", Lmtp, HookKind.Tables, "TLS policy", "per-destination TLS requirements for LMTP"),
        new("lmtp_tls_security_level", "lmtp delivery", Lmtp, HookKind.Tls, "TLS policy", "default TLS level for LMTP"),
        new("lmtp_send_xforward_command", "lmtp delivery", Lmtp, HookKind.YesFlag, "XFORWARD", "passes the original client identity over LMTP"),
        new("lmtp_header_checks", "lmtp delivery", Lmtp, HookKind.Tables, "header checks", "pattern actions on headers delivered over LMTP"),
        new("address_verify_map", "address verification", Verify, HookKind.Tables, "cache table", "where verify(8) keeps probe results"),
        new("address_verify_relayhost", "address verification", Rewrite, HookKind.NextHop, "SMTP relay", "where address probes are sent"),
        new("address_verify_transport_maps", "address verification", Rewrite, HookKind.Tables, "transport table", "transport table for address probes"),
        new("notify_classes", "bounce and notifications", Bounce, HookKind.Value, "postmaster notices", "which problems are reported to the postmaster"),
        new("bounce_notice_recipient", "bounce and notifications", Bounce, HookKind.Value, "notice address", "who gets copies of bounces"),
        new("2bounce_notice_recipient", "bounce and notifications", Bounce, HookKind.Value, "notice address", "who gets undeliverable bounces"),
        new("delay_notice_recipient", "bounce and notifications", Bounce, HookKind.Value, "notice address", "who gets copies of delay warnings"),
        new("error_notice_recipient", "bounce and notifications", Bounce, HookKind.Value, "notice address", "who gets protocol and resource error notices"),
        new("bounce_template_file", "bounce and notifications", Bounce, HookKind.Value, "template file", "the text of bounce and delay messages"),
        new("delay_warning_time", "bounce and notifications", ["qmgr"], HookKind.Value, "delay warning", "warn senders when mail is delayed this long"),
        new("internal_mail_filter_classes", "bounce and notifications", Cleanup, HookKind.Value, "filter classes", "which internally generated mail goes through content filters and milters"),
        new("maillog_file", "logging", ["postlogd"], HookKind.Value, "log file", "logs to a file through postlogd(8) instead of syslog"),
        new("syslog_facility", "logging", ["*"], HookKind.Value, "syslog", "the syslog facility Postfix logs to"),
        new("debug_peer_list", "logging", ["*"], HookKind.TableOrDomains, "verbose logging", "more logging for these peers"),
    ];

    public static readonly Dictionary<string, string> RestrictionPurpose = new()
    {
        ["check_policy_service"] = "policy delegation server (postgrey, policyd-spf, rate limiters)",
        ["reject_rbl_client"] = "DNS block list of client addresses",
        ["reject_rhsbl_client"] = "DNS block list of client names",
        ["reject_unverified_recipient"] = "address verification probes",
    };
}
