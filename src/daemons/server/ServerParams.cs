// NAME
//	ServerParams - parameter value conversions daemons share
// POSTFIX
//	src/global/mail_conf_time.c, mail_conf_int.c
// DESCRIPTION
//	Time() reads a time value with an optional unit (s, m, h, d, w;
//	seconds by default) as a count of seconds; Int() a plain number.
using System;
using System.Globalization;
using Postfix.Global.Config;
using Postfix.Global.Dict;
using Postfix.Util;

namespace Postfix.Server;

public static class ServerParams
{
    public static int Time(string text)
    {
        var v = text.Trim();
        if (v.Length == 0)
            return 0;
        var unit = v[^1] switch
        {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86400,
            'w' => 604800,
            _ => 0,
        };
        if (unit != 0)
            v = v[..^1];
        else
            unit = 1;
        return int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n * unit : 0;
    }

    public static int Time(MailConf conf, string name) => Time(conf.Eval(name));

    public static int Int(MailConf conf, string name) =>
        int.TryParse(conf.Eval(name).Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : 0;

    // ApplyParams - the parts of mail_params_init() the daemons rely on.
    public static void Apply(MailConf conf)
    {
        DictOpen.DefaultType = conf.Eval("default_database_type");
        DictOpen.Utf8Enable = conf.Bool("smtputf8_enable");
        Msg.Utf8Enable = DictOpen.Utf8Enable;
        if (long.TryParse(conf.Eval("lmdb_map_size"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var size) && size > 0)
            DictLmdb.MapSize = size;
        DictSurrogate.AllowSurrogate = true;
        conf.Update("process_id", Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
    }
}
