// NAME
//	SubmitParams - the numeric main.cf settings of mail submission
// POSTFIX
//	src/global/mail_params.c (mail_params_init), src/global/mail_conf_int.c
// DESCRIPTION
//	Load() reads line_length_limit, header_size_limit and
//	message_size_limit with the range checks Postfix makes when a
//	program reads main.cf, fatal with Postfix's texts.
using System.Globalization;
using Postfix.Global.Config;
using Postfix.Util;

namespace Postfix.Global.Submit;

public sealed class SubmitParams
{
    public int LineLimit { get; private init; }

    public int HeaderLimit { get; private init; }

    public long MessageLimit { get; private init; }

    public static SubmitParams Load(MailConf conf) => new()
    {
        LineLimit = (int)Number(conf, "line_length_limit", 512),
        HeaderLimit = (int)Number(conf, "header_size_limit", 1),
        MessageLimit = Number(conf, "message_size_limit", 0),
    };

    private static long Number(MailConf conf, string name, long min)
    {
        var text = conf.Eval(name);
        if (!long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
            Msg.Fatal($"bad numerical configuration: {name} = {text}");
        if (value < min)
            Msg.Fatal($"invalid {name} parameter value {value} < {min}");
        return value;
    }
}
