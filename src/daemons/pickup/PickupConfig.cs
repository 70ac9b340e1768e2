// NAME
//	PickupConfig - main.cf settings of the pickup server
// POSTFIX
//	src/pickup/pickup.c (str_table, post_jail_init),
//	src/global/input_transp.c, src/global/smtputf8.c
// DESCRIPTION
//	content_filter (added as a FILTER record), receive_override_options
//	(which cleanup features to turn off), whether sendmail submissions
//	get SMTPUTF8 autodetection, the Received: header identity and the
//	mail_owner uid that marks requeued ("postsuper -r") files.
using System;
using Postfix.Global.Config;
using Postfix.Util;

namespace Postfix.Daemons.Pickup;

internal sealed class PickupConfig
{
    public const int TranspUnknownRcpt = 1 << 0;
    public const int TranspAddressMapping = 1 << 1;
    public const int TranspHeaderBody = 1 << 2;
    public const int TranspMilter = 1 << 3;

    public string FilterTransport = "";
    public int TranspMask;
    public bool AutodetectSendmail = true;
    public string MyHostname = "localhost";
    public string MailName = "Postfix";
    public string CleanupService = "cleanup";
    public string QueueDirectory = ".";
    public int LineLimit = 2048;
    public uint OwnerUid;
    public bool LogInternal;
    public Func<long, string> MailDate = Postfix.Global.Post.MailDate.Format;

    public static PickupConfig FromConf(MailConf conf)
    {
        var c = new PickupConfig
        {
            FilterTransport = conf.Eval("content_filter"),
            TranspMask = TranspMaskOf("receive_override_options", conf.Eval("receive_override_options")),
            MyHostname = conf.Eval("myhostname"),
            MailName = conf.Eval("mail_name"),
            CleanupService = conf.Eval("cleanup_service_name"),
            QueueDirectory = conf.Eval("queue_directory"),
            LineLimit = int.Parse(conf.Eval("line_length_limit"), System.Globalization.CultureInfo.InvariantCulture),
            LogInternal = string.Equals(conf.Eval("info_log_address_format"), "internal", StringComparison.OrdinalIgnoreCase),
        };
        var classes = conf.Eval("smtputf8_autodetect_classes");
        c.AutodetectSendmail = false;
        foreach (var name in classes.Split([',', ' ', '\t', '\n'], StringSplitOptions.RemoveEmptyEntries))
            if (name.Equals("sendmail", StringComparison.OrdinalIgnoreCase) || name.Equals("all", StringComparison.OrdinalIgnoreCase))
                c.AutodetectSendmail = true;
        var owner = Sys.GetPwNam(conf.Eval("mail_owner"));
        if (owner != null)
            c.OwnerUid = owner.Uid;
        return c;
    }

    // TranspMaskOf - input_transp_mask().
    internal static int TranspMaskOf(string param, string value)
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
                _ => Unknown(param, name),
            };
        }
        return mask;
    }

    private static int Unknown(string param, string name)
    {
        Msg.Fatal($"unknown {param} value \"{name}\" in \"{name}\"");
        return 0;
    }
}
