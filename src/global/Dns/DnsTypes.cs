// NAME
//	DnsType, DnsStatus, DnsRecord - DNS record types, lookup outcomes
//	and resource records
// POSTFIX
//	src/dns/dns.h, src/dns/dns_rr.c, src/dns/dns_strtype.c,
//	src/dns/dns_strerror.c
// DESCRIPTION
//	DnsStatus has the values of the reference's DNS_OK .. DNS_NOTFOUND,
//	so callers can keep its "status < 0" style tests. DnsRecord is one
//	resource record as dns_get_rr() keeps it: the name that was asked
//	(Qname), the owner name in the reply (Rname), the type, TTL, MX
//	preference and the decoded data.
using System;
using System.Collections.Generic;
using System.Net;
using System.Text;

namespace Postfix.Global.Dns;

public static class DnsType
{
    public const int A = 1;
    public const int NS = 2;
    public const int CNAME = 5;
    public const int SOA = 6;
    public const int PTR = 12;
    public const int MX = 15;
    public const int TXT = 16;
    public const int AAAA = 28;
    public const int ANY = 255;

    private static readonly Dictionary<int, string> Names = new()
    {
        [A] = "A", [NS] = "NS", [CNAME] = "CNAME", [SOA] = "SOA", [PTR] = "PTR", [MX] = "MX",
        [TXT] = "TXT", [AAAA] = "AAAA", [ANY] = "ANY", [3] = "MD", [4] = "MF", [7] = "MB", [8] = "MG",
        [9] = "MR", [10] = "NULL", [11] = "WKS", [13] = "HINFO", [14] = "MINFO", [39] = "DNAME", [52] = "TLSA",
    };

    // Name - dns_strtype(): "MX", or "Unknown type 1234".
    public static string Name(int type) => Names.TryGetValue(type, out var n) ? n : $"Unknown type {type}";

    // Parse - dns_type(): the number for a name such as "mx", or 0.
    public static int Parse(string name)
    {
        foreach (var (k, v) in Names)
            if (string.Equals(v, name, StringComparison.OrdinalIgnoreCase))
                return k;
        return 0;
    }
}

// DnsStatus - the dns_lookup() result codes (same numbers as dns.h).
public enum DnsStatus
{
    Ok = 0,
    Policy = -1,
    Retry = -2,
    Inval = -3,
    Fail = -4,
    NullMx = -5,
    NotFound = -6,
}

// DnsHError - the resolver's h_errno values, as dns_strerror() knows them.
public enum DnsHError
{
    None = 0,
    HostNotFound = 1,
    TryAgain = 2,
    NoRecovery = 3,
    NoData = 4,
}

public static class DnsRcode
{
    public const int NoError = 0;
    public const int FormErr = 1;
    public const int ServFail = 2;
    public const int NxDomain = 3;
    public const int NotImp = 4;
    public const int Refused = 5;
}

public static class DnsErrors
{
    // StrError - dns_strerror().
    public static string StrError(DnsHError error) => error switch
    {
        DnsHError.HostNotFound => "Host not found",
        DnsHError.TryAgain => "Host not found, try again",
        DnsHError.NoRecovery => "Non-recoverable error",
        DnsHError.NoData => "Host found but no data record of requested type",
        _ => $"Unknown error {(int)error}",
    };
}

public sealed class DnsRecord
{
    public DnsRecord(string qname, string rname, int type, int ttl, int pref, byte[] data, string? text)
    {
        Qname = qname;
        Rname = rname;
        Type = type;
        Ttl = ttl;
        Pref = pref;
        Data = data;
        Text = text;
    }

    public string Qname { get; }
    public string Rname { get; }
    public int Type { get; }
    public int Class => 1;
    public int Ttl { get; }

    // Pref - the MX preference (0 for other types); settable as the
    // reference's smtp code rewrites it for the A/AAAA fallback.
    public int Pref { get; set; }

    // Data - the record data: 4 or 16 address bytes, or the text below.
    public byte[] Data { get; }

    // Text - the host name (CNAME, NS, PTR, MX) or the TXT string.
    public string? Text { get; }

    // Address - the IP address of an A or AAAA record.
    public IPAddress? Address => Type is DnsType.A or DnsType.AAAA ? new IPAddress(Data) : null;

    // ToString - dns_strrecord() style: "name. ttl IN MX pref host."
    public override string ToString()
    {
        var sb = new StringBuilder();
        sb.Append(Rname).Append(". ").Append(Ttl).Append(" IN ").Append(DnsType.Name(Type)).Append(' ');
        switch (Type)
        {
            case DnsType.A:
            case DnsType.AAAA:
                sb.Append(Address);
                break;
            case DnsType.MX:
                sb.Append(Pref).Append(' ').Append(Text).Append('.');
                break;
            case DnsType.TXT:
                sb.Append(Text);
                break;
            case DnsType.SOA:
                sb.Append("serial/refresh/retry/expire/ncache ttl");
                break;
            default:
                sb.Append(Text).Append('.');
                break;
        }
        return sb.ToString();
    }
}
