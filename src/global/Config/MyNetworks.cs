// NAME
//	MyNetworks - the default of mynetworks, computed from the interfaces
// POSTFIX
//	src/global/mynetworks.c, src/global/own_inet_addr.c,
//	src/util/inet_addr_local.c, src/global/inet_proto.c
// DESCRIPTION
//	One network per local address, in interface order, IPv4 first:
//	"class" uses the natural class mask, "subnet" the interface's mask,
//	"host" the address alone (/32, /128). Repeated results are dropped,
//	keeping the first.
using System;
using System.Collections.Generic;
using System.Net;
using System.Text;
using Postfix.Util;

namespace Postfix.Global.Config;

public static class MyNetworks
{
    private const int AfInet = 2;
    private const int AfInet6 = 10;

    private static readonly char[] Separators = { ',', ' ', '\t', '\r', '\n' };

    // Families - inet_protocols as a list of address families (IPv4 first).
    public static List<int> Families(string protocols)
    {
        bool v4 = false, v6 = false;
        foreach (var word in protocols.Split(Separators, StringSplitOptions.RemoveEmptyEntries))
        {
            switch (word.ToLowerInvariant())
            {
                case "all":
                    v4 = v6 = true;
                    break;
                case "ipv4":
                    v4 = true;
                    break;
                case "ipv6":
                    v6 = true;
                    break;
                default:
                    Msg.Fatal($"bad inet_protocols value \"{protocols}\"; specify one or more of \"ipv4\", \"ipv6\", or \"all\"");
                    break;
            }
        }
        var list = new List<int>();
        if (v4)
            list.Add(AfInet);
        if (v6)
            list.Add(AfInet6);
        return list;
    }

    // Compute - mynetworks_core(style).
    public static string Compute(string style, string interfaces, string protocols)
    {
        var families = Families(protocols);
        if (families.Count == 0)
            return "";
        var s = style.Trim().ToLowerInvariant();
        var styles = style.Split(Separators, StringSplitOptions.RemoveEmptyEntries);
        foreach (var w in styles)
        {
            if (w.ToLowerInvariant() is not ("class" or "subnet" or "host"))
                Msg.Fatal($"unknown mynetworks mask style value \"{w}\" in \"{style}\"");
        }
        if (styles.Length != 1)
            Msg.Fatal($"bad mynetworks_style value: {style}; specify exactly one value");
        s = styles[0].ToLowerInvariant();

        var result = new List<string>();
        foreach (var a in OwnAddresses(interfaces, families))
        {
            if (a.Address.Length == 4)
            {
                var addr = (uint)(a.Address[0] << 24 | a.Address[1] << 16 | a.Address[2] << 8 | a.Address[3]);
                var mask = (uint)(a.Mask[0] << 24 | a.Mask[1] << 16 | a.Mask[2] << 8 | a.Mask[3]);
                int bits;
                switch (s)
                {
                    case "class":
                        if ((addr & 0x80000000) == 0)
                            (mask, bits) = (0xff000000, 8);
                        else if ((addr & 0xc0000000) == 0x80000000)
                            (mask, bits) = (0xffff0000, 16);
                        else if ((addr & 0xe0000000) == 0xc0000000)
                            (mask, bits) = (0xffffff00, 24);
                        else if ((addr & 0xf0000000) == 0xe0000000)
                            (mask, bits) = (0xf0000000, 4);
                        else
                            Msg.Fatal($"mynetworks_core: unknown address class: {new IPAddress(a.Address)}");
                        bits = bits0(mask);
                        break;
                    case "subnet":
                        bits = 32;
                        for (var junk = mask; junk != 0; junk <<= 1)
                            bits--;
                        bits = 32 - bits;
                        break;
                    default:
                        mask = 0xffffffff;
                        bits = 32;
                        break;
                }
                var net = addr & mask;
                result.Add($"{net >> 24}.{(net >> 16) & 255}.{(net >> 8) & 255}.{net & 255}/{bits}");
            }
            else
            {
                var shift = 128;
                if (s != "host")
                {
                    foreach (var b in a.Mask)
                    {
                        if (b == 0xff)
                        {
                            shift -= 8;
                            continue;
                        }
                        var ch = b;
                        while (ch != 0)
                        {
                            shift--;
                            ch = (byte)(ch << 1);
                        }
                        break;
                    }
                }
                else
                {
                    shift = 0;
                }
                var prefix = 128 - shift;
                var net = (byte[])a.Address.Clone();
                for (var i = 0; i < 16; i++)
                {
                    var keep = Math.Clamp(prefix - i * 8, 0, 8);
                    net[i] &= (byte)(0xff << (8 - keep));
                }
                result.Add($"[{new IPAddress(net)}]/{prefix}");
            }
        }
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var sb = new StringBuilder();
        foreach (var r in result)
        {
            if (seen.Add(r))
                sb.Append(r).Append(' ');
        }
        return sb.ToString();

        static int bits0(uint mask)
        {
            var n = 0;
            for (var m = mask; m != 0; m <<= 1)
                n++;
            return n;
        }
    }

    // OwnAddresses - own_inet_addr_list() with the interface masks.
    public static List<Sys.InterfaceAddress> OwnAddresses(string interfaces, List<int> families)
    {
        var local = new List<Sys.InterfaceAddress>();
        foreach (var f in families)
            local.AddRange(Sys.InterfaceAddresses(f));
        var words = interfaces.Split(Separators, StringSplitOptions.RemoveEmptyEntries);
        if (words.Length == 1 && words[0].Equals("all", StringComparison.OrdinalIgnoreCase))
            return local;
        var result = new List<Sys.InterfaceAddress>();
        if (words.Length == 1 && words[0].Equals("loopback-only", StringComparison.OrdinalIgnoreCase))
        {
            foreach (var a in local)
                if (IPAddress.IsLoopback(new IPAddress(a.Address)))
                    result.Add(a);
            return result;
        }
        foreach (var w in words)
        {
            var host = w.Trim('[', ']');
            var addrs = new List<IPAddress>();
            if (IPAddress.TryParse(host, out var ip))
                addrs.Add(ip);
            else if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase))
                addrs.Add(IPAddress.Loopback);
            else
                Msg.Fatal($"config variable inet_interfaces: host not found: {host}");
            foreach (var addr in addrs)
            {
                var bytes = addr.GetAddressBytes();
                var found = local.FindIndex(l => l.Address.AsSpan().SequenceEqual(bytes));
                if (found < 0)
                    Msg.Fatal($"parameter inet_interfaces: no local interface found for {addr}");
                if (!result.Exists(r => r.Address.AsSpan().SequenceEqual(bytes)))
                    result.Add(local[found]);
            }
        }
        return result;
    }
}
