// NAME
//	DnsblSites, DnsblScore, IpFilter - postscreen_dnsbl_sites and the
//	combined score of one client
// POSTFIX
//	src/postscreen/postscreen_dnsbl.c, src/util/ip_match.c
// DESCRIPTION
//	A site entry is domain[=filter][*weight]: the weight (default 1,
//	negative for allow lists) counts when the list answers with an
//	address the filter accepts (any address when there is no filter).
//	Entries of one domain are kept newest first; the reply of each
//	domain adds up the weights of its matching entries. The domain
//	with the largest single contribution names the list in the reply
//	text (postscreen_dnsbl_reply_map may give a safer name). The TTL of
//	the verdict is the smallest TTL of the replies that went the same
//	way, clipped to postscreen_dnsbl_min_ttl..postscreen_dnsbl_max_ttl.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.Net;
using Postfix.Util;

namespace Postfix.Daemons.Postscreen;

// IpFilter - an IPv4 pattern: four fields, each a number or a
// bracketed ";"-separated list of numbers and number..number ranges.
public sealed class IpFilter
{
    private readonly List<(int Low, int High)>[] fields;

    private IpFilter(List<(int, int)>[] fields) => this.fields = fields;

    public string Text { get; private init; } = "";

    // Parse - the filter, or null with the reason.
    public static IpFilter? Parse(string pattern, out string error)
    {
        error = "";
        var parts = new List<string>();
        var start = 0;
        var depth = 0;
        for (var i = 0; i < pattern.Length; i++)
        {
            if (pattern[i] == '[')
                depth++;
            else if (pattern[i] == ']')
                depth--;
            else if (pattern[i] == '.' && depth == 0)
            {
                parts.Add(pattern[start..i]);
                start = i + 1;
            }
        }
        parts.Add(pattern[start..]);
        if (parts.Count != 4)
        {
            error = $"address pattern \"{pattern}\" has {parts.Count} fields instead of 4";
            return null;
        }
        var fields = new List<(int, int)>[4];
        for (var i = 0; i < 4; i++)
        {
            var f = parts[i];
            var list = new List<(int, int)>();
            if (f.StartsWith('[') && f.EndsWith(']') && f.Length > 2)
            {
                foreach (var item in f[1..^1].Split(';', ','))
                {
                    var dots = item.IndexOf("..", StringComparison.Ordinal);
                    if (dots >= 0)
                    {
                        if (!Octet(item[..dots], out var lo) || !Octet(item[(dots + 2)..], out var hi) || lo > hi)
                        {
                            error = $"bad range \"{item}\" in \"{pattern}\"";
                            return null;
                        }
                        list.Add((lo, hi));
                    }
                    else if (Octet(item, out var v))
                    {
                        list.Add((v, v));
                    }
                    else
                    {
                        error = $"bad number \"{item}\" in \"{pattern}\"";
                        return null;
                    }
                }
            }
            else if (Octet(f, out var v))
            {
                list.Add((v, v));
            }
            else
            {
                error = $"bad field \"{f}\" in \"{pattern}\"";
                return null;
            }
            fields[i] = list;
        }
        return new IpFilter(fields) { Text = pattern };
    }

    private static bool Octet(string s, out int v) =>
        int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out v) && v <= 255;

    public bool Match(ReadOnlySpan<byte> addr)
    {
        if (addr.Length != 4)
            return false;
        for (var i = 0; i < 4; i++)
        {
            var hit = false;
            foreach (var (lo, hi) in fields[i])
            {
                if (addr[i] >= lo && addr[i] <= hi)
                {
                    hit = true;
                    break;
                }
            }
            if (!hit)
                return false;
        }
        return true;
    }
}

public sealed record DnsblSite(IpFilter? Filter, int Weight);

public sealed class DnsblDomain(string name, string safeName)
{
    public string Name { get; } = name;

    // SafeName - the name shown to clients (postscreen_dnsbl_reply_map).
    public string SafeName { get; } = safeName;

    // Sites - newest entry first, as the reference walks them.
    public List<DnsblSite> Sites { get; } = new();
}

public sealed class DnsblSites
{
    // Domains - in the order they were first named.
    public List<DnsblDomain> Domains { get; } = new();

    public bool IsEmpty => Domains.Count == 0;

    // Parse - psc_dnsbl_init(): comma/space separated entries.
    public static DnsblSites Parse(string text, Func<string, string?>? replyMap = null)
    {
        var sites = new DnsblSites();
        foreach (var entry in text.Split([',', ' ', '\t', '\r', '\n'], StringSplitOptions.RemoveEmptyEntries))
            sites.Add(entry, replyMap);
        return sites;
    }

    private void Add(string entry, Func<string, string?>? replyMap)
    {
        var site = entry;
        var weight = 1;
        var star = site.IndexOf('*');
        if (star >= 0)
        {
            var weightText = site[(star + 1)..];
            if (!int.TryParse(weightText, NumberStyles.AllowLeadingSign | NumberStyles.AllowLeadingWhite,
                    CultureInfo.InvariantCulture, out weight))
                Msg.Fatal($"bad DNSBL weight factor \"{weightText}\" in \"{entry}\"");
            site = site[..star];
        }
        IpFilter? filter = null;
        var eq = site.IndexOf('=');
        if (eq >= 0)
        {
            filter = IpFilter.Parse(site[(eq + 1)..], out var why);
            if (filter == null)
                Msg.Fatal($"bad DNSBL filter syntax: {why}");
            site = site[..eq];
        }
        if (!ValidDomain(site))
            Msg.Fatal($"bad DNSBL domain name \"{site}\" in \"{entry}\"");
        var domain = Domains.Find(d => string.Equals(d.Name, site, StringComparison.Ordinal));
        if (domain == null)
        {
            domain = new DnsblDomain(site, replyMap?.Invoke(site) ?? site);
            Domains.Add(domain);
        }
        domain.Sites.Insert(0, new DnsblSite(filter, weight));
    }

    private static bool ValidDomain(string name)
    {
        if (name.Length == 0 || name.Length > 255)
            return false;
        foreach (var label in name.Split('.'))
        {
            if (label.Length == 0 || label.Length > 63 || label[0] == '-' || label[^1] == '-')
                return false;
            foreach (var c in label)
            {
                if (!char.IsAsciiLetterOrDigit(c) && c != '-' && c != '_')
                    return false;
            }
        }
        return true;
    }
}

// DnsblScore - psc_dnsbl_receive() arithmetic for one client.
public sealed class DnsblScore
{
    public int Total { get; private set; }
    public string? Name { get; private set; }
    private int nameWeight;
    private int failTtl = -1;
    private int passTtl = -1;

    // Add - one dnsblog reply: the list's reply addresses (space
    // separated, empty when not listed) and the reply TTL.
    public void Add(DnsblDomain domain, string replyAddrs, int ttl)
    {
        if (replyAddrs.Length > 0)
        {
            List<byte[]>? addrs = null;
            foreach (var site in domain.Sites)
            {
                if (site.Filter == null || Matches(site.Filter, addrs ??= ParseAddrs(replyAddrs)))
                {
                    if (Name == null || nameWeight < site.Weight)
                    {
                        Name = domain.SafeName;
                        nameWeight = site.Weight;
                    }
                    Total += site.Weight;
                }
                if (site.Weight > 0)
                    failTtl = Min(failTtl, ttl);
                else
                    passTtl = Min(passTtl, ttl);
            }
        }
        else
        {
            foreach (var site in domain.Sites)
            {
                if (site.Weight > 0)
                    passTtl = Min(passTtl, ttl);
                else
                    failTtl = Min(failTtl, ttl);
            }
        }
    }

    // Ttl - the verdict's lifetime in the cache.
    public int Ttl(int minTtl, int maxTtl)
    {
        var ttl = Total > 0 ? failTtl : passTtl;
        if (ttl < minTtl)
            ttl = minTtl;
        if (ttl > maxTtl)
            ttl = maxTtl;
        return ttl;
    }

    private static int Min(int current, int ttl) => current < 0 || current > ttl ? ttl : current;

    private static List<byte[]> ParseAddrs(string text)
    {
        var list = new List<byte[]>();
        foreach (var a in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (IPAddress.TryParse(a, out var ip) && ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork)
                list.Add(ip.GetAddressBytes());
            else
                Msg.Warn($"address conversion error for {a} -- ignoring this reply");
        }
        return list;
    }

    private static bool Matches(IpFilter filter, List<byte[]> addrs)
    {
        foreach (var a in addrs)
        {
            if (filter.Match(a))
                return true;
        }
        return false;
    }
}
