// NAME
//	BounceSettings - the main.cf parameters of the bounce(8) daemon
// POSTFIX
//	src/bounce/bounce.c (main: the parameter tables), src/global/mail_params.c
// DESCRIPTION
//	FromConfig() checks the daemon's parameter tables with the
//	reference's fatal errors (through BounceConfig.ForTemplates, shared
//	with postconf -b) and collects what the services read.
using System;
using System.Globalization;
using Postfix.Global.Address;
using Postfix.Global.Bounce;
using Postfix.Global.Config;
using Postfix.Global.Post;
using Postfix.Global.Queue;
using Postfix.Util;

namespace Postfix.Daemons.Bounce;

internal sealed class BounceSettings
{
    public int BounceLimit;
    public int MaxQueueTime = 5 * 86400;
    public int NotifyMask = BounceCodes.ErrorResource | BounceCodes.ErrorSoftware;
    public string BounceRcpt = "postmaster";
    public string TwoBounceRcpt = "postmaster";
    public string DelayRcpt = "postmaster";
    public bool ThreadedBounce;
    public bool OldlogCompat = true;
    public bool SmtpUtf8Enable = true;
    public string MyHostname = "localhost";
    public string MailName = "Postfix";
    // DoubleBounceSender - mail_addr_double_bounce(): $double_bounce_sender@$myhostname.
    public string DoubleBounceSender = "double-bounce@localhost";

    // MailDaemon - mail_addr_mail_daemon(): MAILER-DAEMON@$myhostname.
    public string MailDaemon = "MAILER-DAEMON@localhost";
    public MailQueue Queue = new();
    public PostMail.Settings Post = new();
    public BounceTemplates Templates = BounceTemplates.Create();
    public BounceTemplateConfig TemplateConfig = new(_ => null);

    // Now - event_time() (tests replace it).
    public Func<long> Now = () => DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    // Post - post_mail_fopen_nowait() (tests replace it).
    public Func<string, string, int, PostMail?>? Open;

    public static BounceSettings FromConfig(MailConf conf, string serviceName)
    {
        var templateConfig = BounceConfig.ForTemplates(conf, serviceName);
        string E(string name) => BounceConfig.LookupEval(conf, serviceName, name) ?? "";
        var s = new BounceSettings
        {
            TemplateConfig = templateConfig,
            BounceLimit = int.Parse(E("bounce_size_limit"), NumberStyles.Integer, CultureInfo.InvariantCulture),
            MaxQueueTime = templateConfig.MaxQueueTime,
            NotifyMask = NotifyClasses(E("notify_classes")),
            BounceRcpt = Raw.FromText(E("bounce_notice_recipient")),
            TwoBounceRcpt = Raw.FromText(E("2bounce_notice_recipient")),
            DelayRcpt = Raw.FromText(E("delay_notice_recipient")),
            ThreadedBounce = conf.Bool("enable_threaded_bounces"),
            OldlogCompat = conf.Bool("backwards_bounce_logfile_compatibility"),
            SmtpUtf8Enable = templateConfig.SmtpUtf8Enable,
            MyHostname = Raw.FromText(E("myhostname")),
            MailName = Raw.FromText(E("mail_name")),
            DoubleBounceSender = Raw.FromText(E("double_bounce_sender") + "@" + E("myhostname")),
            MailDaemon = Raw.FromText("MAILER-DAEMON@" + E("myhostname")),
            Queue = MailQueue.FromConfig(conf),
            Post = PostMail.Settings.FromConfig(conf),
        };
        return s;
    }

    // NotifyClasses - name_mask(notify_classes, mail_error_masks).
    public static int NotifyClasses(string names)
    {
        var mask = 0;
        foreach (var name in names.Split([',', ' ', '\t', '\r', '\n'], StringSplitOptions.RemoveEmptyEntries))
        {
            mask |= name switch
            {
                "bounce" => BounceCodes.ErrorBounce,
                "2bounce" => BounceCodes.Error2Bounce,
                "data" => BounceCodes.ErrorData,
                "delay" => BounceCodes.ErrorDelay,
                "policy" => BounceCodes.ErrorPolicy,
                "protocol" => BounceCodes.ErrorProtocol,
                "resource" => BounceCodes.ErrorResource,
                "software" => BounceCodes.ErrorSoftware,
                _ => Unknown(name, names),
            };
        }
        return mask;
    }

    private static int Unknown(string name, string names)
    {
        Msg.Fatal($"unknown notify_classes value \"{name}\" in \"{names}\"");
        return 0;
    }
}
