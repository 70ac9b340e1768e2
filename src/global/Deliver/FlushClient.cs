// NAME
//	FlushClient - tell the fast-flush service about deferred mail
// POSTFIX
//	src/global/flush_clnt.c (flush_add)
// DESCRIPTION
//	Add(site, id) asks public/flush to remember that message ID has
//	mail for SITE, when SITE is eligible (fast_flush_domains). Results
//	as flush_clnt.h: StatOk, StatDeny (not eligible), StatFail.
//	Eligibility: Match, when a program installs one (a full
//	domain_list with lookup tables); otherwise the literal names and
//	".parent" patterns of fast_flush_domains, where a table pattern
//	never matches.
using System;
using Postfix.Global.Attr;
using Postfix.Util;

namespace Postfix.Global.Deliver;

public static class FlushClient
{
    public const int StatOk = 0;
    public const int StatFail = -1;
    public const int StatBad = -2;
    public const int StatDeny = -3;
    public const string ReqAdd = "add";

    // Match - domain_list_match(flush_domains, site): true, false, or
    // null on a table error.
    public static Func<string, bool?>? Match { get; set; }

    public static int Add(string site, string id)
    {
        if (Msg.Verbose > 0)
            Msg.Info($"flush_add: site {site} id {id}");
        var eligible = Match != null ? Match(site) : LiteralMatch(DeliverConfig.FlushDomains, site);
        int status;
        if (eligible == true)
            status = MailCommandClient.Command(MailProto.ClassPublic, DeliverConfig.FlushService, MailProto.ProtoFlush,
                w => w.Str(MailProto.AttrReq, ReqAdd).Str(MailProto.AttrSite, site).Str(MailProto.AttrQueueId, id));
        else
            status = eligible == false ? StatDeny : StatFail;
        if (Msg.Verbose > 0)
            Msg.Info($"flush_add: site {site} id {id} status {status}");
        return status;
    }

    private static readonly char[] Separators = [',', ' ', '\t', '\r', '\n'];

    internal static bool LiteralMatch(string patterns, string site)
    {
        var name = site.ToLowerInvariant();
        foreach (var raw in patterns.Split(Separators, StringSplitOptions.RemoveEmptyEntries))
        {
            var pattern = raw.ToLowerInvariant();
            var result = true;
            while (pattern.StartsWith('!'))
            {
                result = !result;
                pattern = pattern[1..];
            }
            if (pattern.Length == 0 || pattern.Contains(':') || pattern[0] == '/')
                continue;
            if (name == pattern)
                return result;
            if (pattern[0] == '.' ? name.EndsWith(pattern, StringComparison.Ordinal)
                    : name.EndsWith("." + pattern, StringComparison.Ordinal))
                return result;
        }
        return false;
    }
}
