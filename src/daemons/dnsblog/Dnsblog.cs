// NAME
//	Dnsblog - the DNS allow/deny list lookup agent of postscreen(8)
// POSTFIX
//	src/dnsblog/dnsblog.c
// DESCRIPTION
//	One request per connection: postscreen names a list domain, a
//	client address and a request label; the agent asks DNS for the A
//	records of the reversed address under the list domain, logs each
//	listing, and answers with the domain, the address, the label, the
//	space-separated reply addresses (empty when not listed) and the
//	smallest TTL (-1 when unknown). The lookups use our own resolver.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using Postfix.Global.Attr;
using Postfix.Global.Dns;
using Postfix.Server;
using Postfix.Util;

namespace Postfix.Daemons.Dnsblog;

public static class Dnsblog
{
    public const string AttrRblDomain = "rbl_domain";
    public const string AttrClientAddr = "client_address";
    public const string AttrLabel = "label";
    public const string AttrRblAddr = "rbl_addr";
    public const string AttrTtl = "ttl";

    private static int replyDelay;

    public static int Run(string[] args) =>
        SingleServer.Run(args, Serve, new ServerOptions
        {
            PostInit = ctx => replyDelay = ServerParams.Time(ctx.Conf, "dnsblog_reply_delay"),
            Unlimited = true,
        });

    private static void Serve(ServerContext ctx, ClientConnection conn)
    {
        if (ctx.Args.Length > 0)
            Msg.Fatal($"unexpected command-line argument: {ctx.Args[0]}");
        var stream = new AttrStream(conn.Stream, "dnsblog socket");
        var values = new AttrValue[3];
        var got = stream.Receive([AttrSpec.Str(AttrRblDomain), AttrSpec.Str(AttrClientAddr), AttrSpec.Int(AttrLabel)],
            values, AttrFlags.More | AttrFlags.Strict);
        if (got != 3)
            return;
        var domain = values[0].Str;
        var addr = values[1].Str;
        var label = values[2].Int;
        var result = Query(domain, addr, out var ttl);
        if (replyDelay > 0)
            Thread.Sleep(replyDelay * 1000);
        stream.Send(w => w.Str(AttrRblDomain, domain).Str(AttrClientAddr, addr).Int(AttrLabel, label)
            .Str(AttrRblAddr, result).Int(AttrTtl, ttl));
    }

    // QueryName - the reversed address under the list domain: nibbles
    // for IPv6, octets for IPv4.
    public static string QueryName(string domain, string addr)
    {
        var sb = new StringBuilder();
        if (addr.Contains(':') && IPAddress.TryParse(addr, out var ip6) && ip6.AddressFamily == AddressFamily.InterNetworkV6)
        {
            var bytes = ip6.GetAddressBytes();
            for (var i = bytes.Length - 1; i >= 0; i--)
                sb.Append(CultureInfo.InvariantCulture, $"{bytes[i] & 0xf:x}.{bytes[i] >> 4:x}.");
        }
        else
        {
            var octets = addr.Split('.');
            for (var i = octets.Length - 1; i >= 0; i--)
                sb.Append(octets[i]).Append('.');
        }
        return sb.Append(domain).ToString();
    }

    // Query - dnsblog_query(): the listing addresses, space separated.
    public static string Query(string domain, string addr, out int ttl)
    {
        var query = QueryName(domain, addr);
        var status = DnsLookup.Lookup(query, DnsType.A, DnsFlags.None, out var records, out _, out var why, out _, keepSoa: true);
        var result = new StringBuilder();
        ttl = -1;
        if (status == DnsStatus.Ok)
        {
            foreach (var rr in records)
            {
                var a = rr.Address;
                if (a == null)
                {
                    Msg.Warn($"dnsblog_query: skipping reply record type {DnsType.Name(rr.Type)} for query {query}: Invalid argument");
                    continue;
                }
                Msg.Info($"addr {addr} listed by domain {domain} as {a}");
                if (result.Length > 0)
                    result.Append(' ');
                result.Append(a);
                if (ttl < 0 || ttl > rr.Ttl)
                    ttl = rr.Ttl;
            }
        }
        else if (status == DnsStatus.NotFound)
        {
            if (Msg.Verbose > 0)
                Msg.Info($"dnsblog_query: addr {addr} not listed by domain {domain}");
            foreach (var rr in records)
            {
                if (rr.Type == DnsType.SOA && (ttl < 0 || ttl > rr.Ttl))
                    ttl = rr.Ttl;
            }
        }
        else
        {
            Msg.Warn($"dnsblog_query: lookup error for DNS query {query}: {why}");
        }
        return result.ToString();
    }
}
