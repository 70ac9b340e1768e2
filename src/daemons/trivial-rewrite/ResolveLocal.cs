// NAME
//	ResolveLocal - is a domain one of this machine's destinations
// POSTFIX
//	src/global/resolve_local.c, src/global/own_inet_addr.c
// DESCRIPTION
//	Check(domain): one trailing dot is ignored (two mean "not local");
//	the name is matched against $mydestination (a string list), and an
//	address literal "[addr]" or "[IPv6:addr]" against the addresses of
//	$inet_interfaces and $proxy_interfaces. Returns 1 for local, 0 for
//	not local, a negative DictError when the list lookup failed.
using System;
using System.Collections.Generic;
using System.Net;
using Postfix.Global.Config;
using Postfix.Global.Dict;
using Postfix.Util;

namespace Postfix.Daemons.TrivialRewrite;

internal sealed class ResolveLocal
{
    private readonly DomainMatchList mydestination;
    private readonly MailConf conf;
    private List<byte[]>? ownAddresses;
    private List<byte[]>? proxyAddresses;

    public ResolveLocal(MailConf conf)
    {
        this.conf = conf;
        mydestination = DomainMatchList.StringList("mydestination", conf.Eval("mydestination"));
    }

    // Test hook: interface addresses given instead of asked for.
    internal ResolveLocal(MailConf conf, List<byte[]> own, List<byte[]> proxy) : this(conf)
    {
        ownAddresses = own;
        proxyAddresses = proxy;
    }

    public int Check(string domain)
    {
        var name = domain;
        if (name.Length == 0)
            return 0;
        if (name[^1] == '.')
            name = name[..^1];
        if (name.Length == 0 || name[^1] == '.')
            return 0;
        if (mydestination.Match(name))
            return 1;
        if (mydestination.Error != DictError.None)
            return (int)mydestination.Error;
        if (name.Length >= 2 && name[0] == '[' && name[^1] == ']')
        {
            var bare = HostSyntax.ValidMailhostAddr(name[1..^1], gripe: true);
            if (bare != null && IPAddress.TryParse(bare, out var ip))
            {
                var bytes = ip.GetAddressBytes();
                if (Contains(OwnAddresses(), bytes) || Contains(ProxyAddresses(), bytes))
                    return 1;
            }
        }
        return 0;
    }

    private static bool Contains(List<byte[]> list, byte[] bytes) =>
        list.Exists(a => a.AsSpan().SequenceEqual(bytes));

    private List<byte[]> OwnAddresses()
    {
        if (ownAddresses == null)
        {
            ownAddresses = new List<byte[]>();
            var families = MyNetworks.Families(conf.Eval("inet_protocols"));
            if (families.Count > 0)
                foreach (var a in MyNetworks.OwnAddresses(conf.Eval("inet_interfaces"), families))
                    ownAddresses.Add(a.Address);
        }
        return ownAddresses;
    }

    private List<byte[]> ProxyAddresses()
    {
        if (proxyAddresses == null)
        {
            proxyAddresses = new List<byte[]>();
            foreach (var word in conf.Eval("proxy_interfaces").Split([' ', '\t', ','], StringSplitOptions.RemoveEmptyEntries))
            {
                var host = word.Trim('[', ']');
                IPAddress[] addrs;
                if (IPAddress.TryParse(host, out var ip))
                {
                    addrs = [ip];
                }
                else
                {
                    try
                    {
                        addrs = Dns.GetHostAddresses(host);
                    }
                    catch (Exception e) when (e is System.Net.Sockets.SocketException or ArgumentException)
                    {
                        addrs = [];
                    }
                    if (addrs.Length == 0)
                        Msg.Fatal($"config variable proxy_interfaces: host not found: {host}");
                }
                foreach (var a in addrs)
                    proxyAddresses.Add(a.GetAddressBytes());
            }
        }
        return proxyAddresses;
    }
}
