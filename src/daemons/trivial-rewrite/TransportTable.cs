// NAME
//	TransportTable - transport_maps lookups for the resolver
// POSTFIX
//	src/trivial-rewrite/transport.c
// DESCRIPTION
//	Lookup(address, rcptDomain, ref channel, ref nexthop) searches
//	user+ext@domain, user@domain, then the domain and its parents
//	("example.com" or ".example.com" style, as
//	parent_domain_matches_subdomains says for transport_maps), and
//	finally the "*" entry (looked up again every 30 seconds or after a
//	failure). A value "transport:nexthop" replaces the channel and the
//	nexthop; an empty transport keeps the channel; an empty nexthop
//	resets it to the recipient domain (or a fixed text for the error
//	and retry transports). Returns false when nothing was found; the
//	maps' Error then says whether the lookup failed.
using System;
using Postfix.Global.Dict;
using Postfix.Util;

namespace Postfix.Daemons.TrivialRewrite;

internal sealed class TransportTable
{
    private const int WildcardLifetime = 30;

    private readonly bool parentStyle;
    private readonly AccessFindOptions options;
    private (string Channel, string Nexthop)? wildcard;
    private DictError wildcardError;
    private long expire;

    public Maps Maps { get; }

    public TransportTable(Maps maps, bool parentStyle, AccessFindOptions options)
    {
        Maps = maps;
        this.parentStyle = parentStyle;
        this.options = options;
        InitWildcard();
    }

    private static void UpdateEntry(string newChannel, string newNexthop, string rcptDomain, ref string channel, ref string nexthop)
    {
        if (newChannel.Length == 0)
        {
            if (newNexthop.Length != 0)
                nexthop = newNexthop;
        }
        else
        {
            channel = newChannel;
            if (newNexthop.Length != 0)
                nexthop = newNexthop;
            else if (channel != "error" && channel != "retry")
                nexthop = rcptDomain;
            else
                nexthop = "Address is undeliverable";
        }
    }

    private static void ParseEntry(string value, string rcptDomain, ref string channel, ref string nexthop)
    {
        var colon = value.IndexOf(':');
        var newChannel = colon < 0 ? value : value[..colon];
        var newNexthop = colon < 0 ? "" : value[(colon + 1)..];
        UpdateEntry(newChannel, newNexthop, rcptDomain, ref channel, ref nexthop);
    }

    private void InitWildcard()
    {
        var value = Maps.Find("*");
        if (value != null)
        {
            string channel = "", nexthop = "";
            ParseEntry(value, "", ref channel, ref nexthop);
            wildcardError = DictError.None;
            wildcard = (channel, nexthop);
            if (Msg.Verbose > 0)
                Msg.Info($"wildcard_{{chan:hop}}={{{channel}:{nexthop}}}");
        }
        else
        {
            wildcardError = Maps.Error;
            wildcard = null;
        }
        expire = DateTimeOffset.UtcNow.ToUnixTimeSeconds() + WildcardLifetime;
    }

    public bool Lookup(string address, string rcptDomain, ref string channel, ref string nexthop)
    {
        if (address.Length == 0)
        {
            Msg.Warn("transport_lookup: null address - skipping table lookup");
            return false;
        }
        var at = address.LastIndexOf('@');
        if (at < 0 || at == address.Length - 1)
            Msg.Panic($"transport_lookup: bad address: \"{address}\"");
        var value = AccessSearch.TransportFind(Maps, address, parentStyle, options);
        if (value != null)
        {
            ParseEntry(value, rcptDomain, ref channel, ref nexthop);
            return true;
        }
        if (Maps.Error != DictError.None)
            return false;
        if (wildcardError != DictError.None || DateTimeOffset.UtcNow.ToUnixTimeSeconds() > expire)
            InitWildcard();
        if (wildcardError != DictError.None)
        {
            Maps.SetError(wildcardError);
            return false;
        }
        if (wildcard is { } w)
        {
            UpdateEntry(w.Channel, w.Nexthop, rcptDomain, ref channel, ref nexthop);
            return true;
        }
        return false;
    }
}
