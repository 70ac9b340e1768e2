// NAME
//	TableConfig - main.cf settings that postmap and postalias use
// POSTFIX
//	src/global/mail_dict.c (mail_dict_init), src/global/mail_params.c
// DESCRIPTION
//	Reads main.cf from the -c directory or $MAIL_CONFIG and hands the
//	table layer its defaults: default_database_type, smtputf8_enable
//	(UTF-8 checks) and lmdb_map_size.
using System;
using System.Globalization;
using Postfix.Global.Bounce;
using Postfix.Global.Config;
using Postfix.Global.Dict;
using Postfix.Util;

namespace Postfix.Commands;

internal static class TableConfig
{
    public static MailConf Init(string? configDir)
    {
        var conf = MailConf.Read(configDir);
        // mail_conf_read() ends in mail_params_init(): its fatal checks come first.
        MailParamsCheck.Run(conf, conf.ConfigDirectory, conf.Eval);
        DictOpen.DefaultType = conf.Eval("default_database_type");
        DictOpen.Utf8Enable = conf.Bool("smtputf8_enable");
        Msg.Utf8Enable = DictOpen.Utf8Enable;
        if (long.TryParse(conf.Eval("lmdb_map_size"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var size) && size > 0)
            DictLmdb.MapSize = size;
        DictSurrogate.AllowSurrogate = false;
        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable("MAIL_VERBOSE")) && Msg.Verbose == 0)
            Msg.Verbose = 1;
        return conf;
    }
}
