// NAME
//	BounceTemplateConfig - the settings that template expansion reads
// POSTFIX
//	src/bounce/bounce_template.c (bounce_template_lookup), src/bounce/bounce.c
// DESCRIPTION
//	DelayWarnTime and MaxQueueTime (seconds) feed $delay_warning_time_<unit>
//	and $maximal_queue_lifetime_<unit>; with SmtpUtf8Enable, $myhostname
//	and $mydomain are shown in UTF-8 form. Every other $name goes to
//	Lookup, which returns the expanded parameter value as an octet string
//	(null: undefined). StandardFrom selects the header_from_format.
using System;

namespace Postfix.Global.Bounce;

public sealed class BounceTemplateConfig
{
    public BounceTemplateConfig(Func<string, string?> lookup)
    {
        Lookup = lookup;
    }

    // Lookup - mail_conf_lookup_eval(): expanded value or null.
    public Func<string, string?> Lookup { get; }

    public int DelayWarnTime { get; init; }

    public int MaxQueueTime { get; init; } = 5 * 24 * 60 * 60;

    public bool SmtpUtf8Enable { get; init; }

    public string MyHostname { get; init; } = "";

    public string MyDomain { get; init; } = "";

    // StandardFrom - header_from_format = standard (else obsolete).
    public bool StandardFrom { get; set; } = true;
}
