// NAME
//	DnsReplyFilter - drop DNS records that a table matches
// POSTFIX
//	src/dns/dns_rr_filter.c
// DESCRIPTION
//	Compile() installs a table (smtp_dns_reply_filter and friends) that
//	each successful lookup's records pass through, in their text form
//	"name. ttl IN type data": IGNORE drops the record (logged "ignoring
//	DNS RR: ..."); any other action, or a table error, makes the lookup
//	fail. DnsLookup.Lookup applies it.
using System;
using System.Collections.Generic;
using Postfix.Global.Dict;
using Postfix.Util;

namespace Postfix.Global.Dns;

public static class DnsReplyFilter
{
    private static readonly char[] Blanks = { ' ', '\t' };

    // Maps - the filter table, or null.
    public static Maps? Maps { get; private set; }

    public static void Compile(string title, string mapNames) =>
        Maps = Postfix.Global.Dict.Maps.Create(title, mapNames, DictFlags.Lock | DictFlags.FoldFix);

    // Execute - dns_rr_filter_execute(): false on a table error or an unknown action.
    internal static bool Execute(List<DnsRecord> records)
    {
        var maps = Maps!;
        for (var i = 0; i < records.Count;)
        {
            var text = records[i].ToString();
            var action = maps.Find(text);
            if (action != null)
            {
                var end = action.IndexOfAny(Blanks);
                var cmd = end < 0 ? action : action[..end];
                if (string.Equals(cmd, "IGNORE", StringComparison.OrdinalIgnoreCase))
                {
                    Msg.Info($"ignoring DNS RR: {text}");
                    records.RemoveAt(i);
                    continue;
                }
                Msg.Warn($"{maps.Title}: unknown DNS filter action: \"{action}\"");
                return false;
            }
            if (maps.Error != DictError.None)
                return false;
            i++;
        }
        return true;
    }
}
