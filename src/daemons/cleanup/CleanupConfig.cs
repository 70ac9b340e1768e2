// NAME
//	CleanupConfig - main.cf settings and tables of the cleanup server
// POSTFIX
//	src/cleanup/cleanup_init.c (parameter tables, pre/post jail init)
// DESCRIPTION
//	Reads once per process what cleanup consults per message: limits,
//	the header/body check tables (opened like maps_create() with
//	DICT_FLAG_LOCK), the Received:/Message-Id: identity, the character
//	filters, and the queue layout. Canonical, virtual alias,
//	masquerade and sender/recipient BCC tables are not implemented yet
//	(see UnsupportedMaps): cleanup logs a warning at start-up when one
//	is configured instead of pretending to apply it.
using System;
using System.Globalization;
using Postfix.Global.Config;
using Postfix.Global.Dict;
using Postfix.Global.Mime;
using Postfix.Global.Queue;
using Postfix.Util;

namespace Postfix.Daemons.Cleanup;

internal sealed class CleanupConfig
{
    public int HopcountLimit = 50;
    public int HeaderLimit = 102400;
    public int LineLimit = 2048;
    public int TokenLimit = 10240;
    public long MessageLimit = 10240000;
    public int DupFilterLimit = 1000;
    public int QattrCountLimit = 100;
    public int BodyCheckLen = 51200;
    public int DelayWarnTime;
    public int MimeBoundLimit = 2048;
    public int MimeMaxDepth = 100;
    public bool Auto8BitEncHeader = true;
    public bool AlwaysAddHeaders;
    public bool MaskStrayCrLf = true;
    public bool DisableMime;
    public bool Strict8BitMime, Strict7BitHeaders, Strict8BitBody, StrictEncoding;
    public bool LongQueueIds;
    public bool SmtpUtf8Enable;
    public bool EnableOrigRcpt = true;
    public bool HeaderFromObsolete;
    public bool InfoLogInternal;
    public string MyHostname = "localhost";
    public string MyOrigin = "localhost";
    public string RcptWitheld = "";
    public string RemoteRewriteDomain = "";
    public string EmptyAddr = "MAILER-DAEMON";
    public string AlwaysBcc = "";
    public string QueueService = "qmgr";
    public string HeaderChecksNames = "", MimeHeaderChecksNames = "", NestedHeaderChecksNames = "";
    public string? RejectChars, StripChars;
    public HeaderOpts HeaderOpts = new();
    public MailQueue Queue = new();
    public Maps? HeaderChecks, MimeHeaderChecks, NestedHeaderChecks, BodyChecks, MilterHeaderChecks;
    public AddressMaps? AddressMaps;
    public Postfix.Milter.Milters? NonSmtpdMilters;
    public string MilterDaemonName = "", MilterV = "";
    public bool InetProtocolsFirstIpv6;

    // Parameters whose tables are not implemented in this cleanup yet.
    public static readonly string[] UnsupportedMaps = [];

    public static CleanupConfig FromConf(MailConf conf, Func<string, string, Maps>? openMaps = null)
    {
        openMaps ??= (title, names) => Maps.Create(title, names, DictFlags.Lock);
        var c = new CleanupConfig
        {
            HopcountLimit = Int(conf, "hopcount_limit", 1),
            HeaderLimit = Int(conf, "header_size_limit", 1),
            LineLimit = Int(conf, "line_length_limit", 1),
            TokenLimit = Int(conf, "header_address_token_limit", 1),
            MessageLimit = Long(conf, "message_size_limit"),
            DupFilterLimit = Int(conf, "duplicate_filter_limit", 0),
            QattrCountLimit = Int(conf, "queue_file_attribute_count_limit", 1),
            BodyCheckLen = Int(conf, "body_checks_size_limit", 0),
            DelayWarnTime = Time(conf, "delay_warning_time", 'h'),
            MimeBoundLimit = Int(conf, "mime_boundary_length_limit", 1),
            MimeMaxDepth = Int(conf, "mime_nesting_limit", 1),
            Auto8BitEncHeader = conf.Bool("detect_8bit_encoding_header"),
            AlwaysAddHeaders = conf.Bool("always_add_missing_headers"),
            MaskStrayCrLf = conf.Bool("cleanup_replace_stray_cr_lf"),
            DisableMime = conf.Bool("disable_mime_input_processing"),
            Strict8BitMime = conf.Bool("strict_8bitmime"),
            Strict7BitHeaders = conf.Bool("strict_7bit_headers"),
            Strict8BitBody = conf.Bool("strict_8bitmime_body"),
            StrictEncoding = conf.Bool("strict_mime_encoding_domain"),
            LongQueueIds = conf.Bool("enable_long_queue_ids"),
            SmtpUtf8Enable = conf.Bool("smtputf8_enable"),
            EnableOrigRcpt = conf.Bool("enable_original_recipient"),
            InfoLogInternal = string.Equals(conf.Eval("info_log_address_format"), "internal", StringComparison.OrdinalIgnoreCase),
            MyHostname = conf.Eval("myhostname"),
            MilterDaemonName = conf.Eval("milter_macro_daemon_name"),
            MilterV = conf.Eval("milter_macro_v"),
            InetProtocolsFirstIpv6 = FirstProtocolIsIpv6(conf.Eval("inet_protocols")),
            MyOrigin = conf.Eval("myorigin"),
            RcptWitheld = conf.Eval("undisclosed_recipients_header"),
            RemoteRewriteDomain = conf.Eval("remote_header_rewrite_domain"),
            EmptyAddr = conf.Eval("empty_address_recipient"),
            AlwaysBcc = conf.Eval("always_bcc"),
            QueueService = conf.Eval("queue_service_name"),
            HeaderOpts = new HeaderOpts(conf.Eval("message_drop_headers")),
            Queue = MailQueue.FromConfig(conf),
        };
        var hfrom = conf.Eval("header_from_format");
        if (string.Equals(hfrom, "obsolete", StringComparison.OrdinalIgnoreCase))
            c.HeaderFromObsolete = true;
        else if (!string.Equals(hfrom, "standard", StringComparison.OrdinalIgnoreCase))
            Msg.Fatal($"invalid setting: \"header_from_format = {hfrom}\"");
        c.HeaderChecksNames = conf.Eval("header_checks");
        c.MimeHeaderChecksNames = conf.Eval("mime_header_checks");
        c.NestedHeaderChecksNames = conf.Eval("nested_header_checks");
        var body = conf.Eval("body_checks");
        if (c.HeaderChecksNames.Length > 0)
            c.HeaderChecks = openMaps("header_checks", c.HeaderChecksNames);
        if (c.MimeHeaderChecksNames.Length > 0)
            c.MimeHeaderChecks = openMaps("mime_header_checks", c.MimeHeaderChecksNames);
        if (c.NestedHeaderChecksNames.Length > 0)
            c.NestedHeaderChecks = openMaps("nested_header_checks", c.NestedHeaderChecksNames);
        if (body.Length > 0)
            c.BodyChecks = openMaps("body_checks", body);
        var milterChecks = conf.Eval("milter_header_checks");
        if (milterChecks.Length > 0)
            c.MilterHeaderChecks = openMaps("milter_header_checks", milterChecks);
        c.AddressMaps = AddressMaps.FromConf(conf, (title, names, flags) => Maps.Create(title, names, flags));
        var reject = conf.Eval("message_reject_characters");
        if (reject.Length > 0)
            c.RejectChars = Postfix.Util.Unescape.Decode(reject);
        var strip = conf.Eval("message_strip_characters");
        if (strip.Length > 0)
            c.StripChars = Postfix.Util.Unescape.Decode(strip);
        return c;
    }

    // WarnUnsupported - say which configured tables this cleanup ignores.
    public static void WarnUnsupported(MailConf conf)
    {
        foreach (var name in UnsupportedMaps)
            if (conf.Eval(name).Length > 0)
                Msg.Warn($"{name} is not yet supported by this cleanup server -- ignoring \"{name} = {conf.Eval(name)}\"");
    }

    private static int Int(MailConf conf, string name, int min)
    {
        var v = conf.Eval(name);
        if (!int.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n))
            Msg.Fatal($"bad numerical configuration: {name} = {v}");
        if (n < min)
            Msg.Fatal($"invalid {name} parameter value {n} < {min}");
        return n;
    }

    private static long Long(MailConf conf, string name)
    {
        var v = conf.Eval(name);
        if (!long.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n))
            Msg.Fatal($"bad numerical configuration: {name} = {v}");
        return n;
    }

    // FirstProtocolIsIpv6 - inet_proto_info()->sa_family_list[0] == AF_INET6.
    private static bool FirstProtocolIsIpv6(string protocols)
    {
        var p = protocols.Trim().ToLowerInvariant();
        if (p == "all")
            return false;
        var first = p.Split([',', ' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
        return first.Length > 0 && first[0] == "ipv6" && !Array.Exists(first, x => x == "ipv4");
    }

    // Time - get_mail_conf_time(): a number with an optional unit.
    internal static int Time(MailConf conf, string name, char defUnit)
    {
        var v = conf.Eval(name);
        if (!Postfix.Util.ConvTime.TryParse(v, defUnit, out var seconds))
            Msg.Fatal($"invalid {name}: \"{v}\"");
        return seconds;
    }
}
