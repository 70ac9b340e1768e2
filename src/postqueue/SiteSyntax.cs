// NAME
//	SiteSyntax - is "[address]" a valid mail host literal?
// POSTFIX
//	src/global/valid_mailhost_addr.c, src/util/valid_hostname.c
// DESCRIPTION
//	ValidMailhostLiteral() is valid_mailhost_literal() without its
//	warnings: "[", a dotted-quad IPv4 address or "IPv6:" and an IPv6
//	address, "]" and nothing after it.
using System;
using System.Net;
using System.Net.Sockets;

namespace Postfix.Commands.Postqueue;

internal static class SiteSyntax
{
    public static bool ValidMailhostLiteral(string addr)
    {
        if (!addr.StartsWith('['))
            return false;
        var last = addr.IndexOf(']', StringComparison.Ordinal);
        if (last < 0 || last != addr.Length - 1)
            return false;
        var inner = addr[1..last];
        if (inner.Length >= 64)
            return false;
        if (inner.StartsWith("IPv6:", StringComparison.OrdinalIgnoreCase))
            return ValidIpv6(inner[5..]);
        return ValidIpv4(inner);
    }

    // ValidIpv4 - valid_ipv4_hostaddr(): four decimal octets, no more.
    public static bool ValidIpv4(string s)
    {
        var parts = s.Split('.');
        if (parts.Length != 4)
            return false;
        foreach (var p in parts)
        {
            if (p.Length == 0 || p.Length > 3)
                return false;
            foreach (var ch in p)
            {
                if (ch < '0' || ch > '9')
                    return false;
            }
            if (int.Parse(p, System.Globalization.CultureInfo.InvariantCulture) > 255)
                return false;
        }
        return true;
    }

    public static bool ValidIpv6(string s) =>
        s.Contains(':', StringComparison.Ordinal) && !s.Contains('%', StringComparison.Ordinal)
        && IPAddress.TryParse(s, out var a) && a.AddressFamily == AddressFamily.InterNetworkV6;
}
