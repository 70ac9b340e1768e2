// NAME
//	VerboseParams - what mail_params_init() logs under -v
// POSTFIX
//	src/global/mail_params.c, src/global/inet_proto.c, src/global/mynetworks.c
// DESCRIPTION
//	The protocol and mynetworks_style masks, the interface scan and the
//	computed mynetworks (only when main.cf does not set it), in the
//	order the reference logs them while it reads main.cf.
using System;
using Postfix.Global.Config;
using Postfix.Util;

namespace Postfix.Commands.Postsuper;

internal static class VerboseParams
{
    public static void Log(MailConf conf)
    {
        var protocols = conf.Eval("inet_protocols");
        Msg.Info($"name_mask: {protocols}");
        var families = MyNetworks.Families(protocols);
        var interfaces = conf.Eval("inet_interfaces").Trim().ToLowerInvariant();
        var scan = families.Count > 0 && interfaces is ("all" or "loopback-only");
        if (conf.LookupRaw("mynetworks") == null)
        {
            var style = conf.Eval("mynetworks_style");
            Msg.Info($"name_mask: {style}");
            if (scan)
                Configured(families);
            var nets = MyNetworks.Compute(style, interfaces, protocols);
            var list = nets.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (list.Length > 1)
            {
                foreach (var n in list)
                    Msg.Info($"been_here: {n}: 0");
            }
            Msg.Info($"mynetworks_core: {nets}");
        }
        else if (scan)
        {
            Configured(families);
        }
    }

    private static void Configured(System.Collections.Generic.List<int> families)
    {
        foreach (var f in families)
            Msg.Info($"inet_addr_local: configured {Sys.InterfaceAddresses(f).Count} IPv{(f == 2 ? 4 : 6)} addresses");
    }
}
