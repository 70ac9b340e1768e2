// NAME
//	DnsLookup - look up DNS records, with the reference's outcomes
// POSTFIX
//	src/dns/dns_lookup.c
// DESCRIPTION
//	Lookup() is dns_lookup_x(): it refuses numeric and malformed names
//	(DnsStatus.NotFound), queries with the search options asked,
//	follows CNAME chains up to 10 deep, and returns the records of the
//	type asked (all types for ANY) with the owner name of the last one
//	(fqdn). The "why" texts, and the DnsStatus for each failure, are
//	the reference's: NXDOMAIN and NODATA are NotFound, SERVFAIL and a
//	timeout are Retry, other reply codes Fail, an unparsable or bad
//	reply Retry or Inval, a null MX NullMx. On NotFound the SOA record
//	from the authority section is returned when keepSoa is set (the
//	negative-caching TTL, as DNS_REQ_FLAG_NCACHE_TTL).
//
//	LookupList() is dns_lookup_l()/dns_lookup_v(): several types in
//	turn (e.g. A then AAAA), all found records together; with
//	StopOnFirst, the first type that has records.
//
//	The resolver configuration is read once per process from
//	ResolvConf.Load(); Resolver may be replaced (tests do).
using System;
using System.Collections.Generic;
using System.Net;
using System.Text;
using Postfix.Global.Bounce;
using Postfix.Util;

namespace Postfix.Global.Dns;

public static class DnsLookup
{
    private static DnsResolver? resolver;
    private const int MaxCnameDepth = 10;

    public static DnsResolver Resolver
    {
        get => resolver ??= new DnsResolver(ResolvConf.Load());
        set => resolver = value;
    }

    // Reset - read the resolver configuration again on next use.
    public static void Reset() => resolver = null;

    public static DnsStatus Lookup(string name, int type, DnsFlags flags, out List<DnsRecord> records, out string why) =>
        Lookup(name, type, flags, out records, out _, out why, out _, false);

    public static DnsStatus Lookup(string name, int type, DnsFlags flags, out List<DnsRecord> records,
        out string fqdn, out string why, out int rcode, bool keepSoa = false)
    {
        records = new List<DnsRecord>();
        fqdn = "";
        why = "";
        rcode = DnsRcode.NoError;
        if (IsHostAddress(name) || (name != "." && !ValidWildcardHostname(name)))
        {
            why = $"Name service error for {name}: invalid host or domain name";
            rcode = DnsRcode.NxDomain;
            return DnsStatus.NotFound;
        }
        var origName = name;
        for (var count = 0; count < MaxCnameDepth; count++)
        {
            var reply = Resolver.Search(name, type, flags, out var herror);
            rcode = reply?.Rcode ?? DnsRcode.NoError;
            if (herror != DnsHError.None)
            {
                why = $"Host or domain name not found. Name service error for name={name} type={DnsType.Name(type)}: {DnsErrors.StrError(herror)}";
                var status = herror switch
                {
                    DnsHError.NoRecovery => DnsStatus.Fail,
                    DnsHError.HostNotFound or DnsHError.NoData => DnsStatus.NotFound,
                    _ => DnsStatus.Retry,
                };
                if (status == DnsStatus.NotFound && keepSoa && reply != null && reply.AuthorityCount > 0)
                {
                    try
                    {
                        var (_, authority) = reply.Records();
                        GetAnswer(origName, reply, authority, DnsType.SOA, records, out _, out _);
                    }
                    catch (DnsFormatException)
                    {
                        records.Clear();
                    }
                }
                return status;
            }
            DnsStatus answer;
            string cname;
            try
            {
                var (answers, _) = reply!.Records();
                answer = GetAnswer(origName, reply, answers, type, records, out cname, out var last);
                if (last.Length > 0)
                    fqdn = last;
            }
            catch (DnsFormatException)
            {
                answer = DnsStatus.Retry;
                cname = "";
                records.Clear();
            }
            switch (answer)
            {
                case DnsStatus.Ok:
                    if (DnsReplyFilter.Maps != null)
                    {
                        if (!DnsReplyFilter.Execute(records))
                        {
                            why = $"Error looking up name={name} type={DnsType.Name(type)}: Invalid DNS reply filter syntax";
                            records.Clear();
                            return DnsStatus.Retry;
                        }
                        if (records.Count == 0)
                        {
                            why = $"Error looking up name={name} type={DnsType.Name(type)}: DNS reply filter drops all results";
                            return DnsStatus.Policy;
                        }
                    }
                    return DnsStatus.Ok;
                case DnsStatus.NullMx:
                    why = $"Domain {name} does not accept mail (nullMX)";
                    return DnsStatus.NullMx;
                case Recurse:
                    if (Msg.Verbose > 0)
                        Msg.Info($"dns_lookup: {name} aliased to {cname}");
                    name = cname;
                    continue;
                default:
                    why = $"Name service error for name={name} type={DnsType.Name(type)}: Malformed or unexpected name server reply";
                    return answer;
            }
        }
        why = $"Name server loop for {name}";
        Msg.Warn($"dns_lookup: Name server loop for {name}");
        return DnsStatus.NotFound;
    }

    private const DnsStatus Recurse = (DnsStatus)(-7);

    // GetAnswer - dns_get_answer(): the records of the type asked, or Recurse with the CNAME target.
    private static DnsStatus GetAnswer(string origName, DnsMessage reply, List<DnsRawRecord> section, int type,
        List<DnsRecord> records, out string cname, out string lastName)
    {
        cname = "";
        lastName = "";
        var found = 0;
        var cnameFound = false;
        var notFound = DnsStatus.NotFound;
        foreach (var rr in section)
        {
            if (rr.Class != 1)
            {
                Msg.Warn($"dns_get_fixed: bad class: {rr.Class}");
                records.Clear();
                return DnsStatus.Retry;
            }
            if (!(origName == "." && rr.Name.Length == 0) && !ValidRrName(rr.Name, "resource name", rr.Type, reply))
            {
                records.Clear();
                return DnsStatus.Inval;
            }
            lastName = rr.Name;
            if (rr.Type == type || type == DnsType.ANY)
            {
                if (!IsSupported(rr.Type))
                {
                    found++;
                    continue;
                }
                var status = GetRecord(origName, reply, rr, out var record);
                if (status == DnsStatus.Ok)
                {
                    found++;
                    records.Add(record!);
                }
                else if (status == DnsStatus.NullMx)
                {
                    records.Clear();
                    return status;
                }
                else if (notFound != DnsStatus.Retry)
                {
                    notFound = status;
                }
            }
            else if (rr.Type == DnsType.CNAME)
            {
                cnameFound = true;
                var pos = rr.DataOffset;
                cname = DnsWire.ReadName(reply.Span, ref pos);
                if (!ValidRrName(cname, "resource data", rr.Type, reply))
                {
                    records.Clear();
                    return DnsStatus.Inval;
                }
            }
        }
        if (found > 0)
            return DnsStatus.Ok;
        if (cnameFound)
            return Recurse;
        return notFound;
    }

    private static bool IsSupported(int type) =>
        type is DnsType.A or DnsType.AAAA or DnsType.CNAME or DnsType.NS or DnsType.PTR or DnsType.MX or DnsType.TXT or DnsType.SOA
            or 7 or 8 or 9 or 39;

    // GetRecord - dns_get_rr().
    private static DnsStatus GetRecord(string origName, DnsMessage reply, DnsRawRecord rr, out DnsRecord? record)
    {
        record = null;
        var span = reply.Span;
        var pos = rr.DataOffset;
        switch (rr.Type)
        {
            case DnsType.A:
            case DnsType.AAAA:
                var want = rr.Type == DnsType.A ? 4 : 16;
                if (rr.DataLength != want)
                {
                    Msg.Warn($"extract_answer: bad address length: {rr.DataLength}");
                    return DnsStatus.Retry;
                }
                record = new DnsRecord(origName, rr.Name, rr.Type, rr.Ttl, 0, span.Slice(pos, want).ToArray(), null);
                return DnsStatus.Ok;
            case DnsType.MX:
            {
                if (rr.DataLength < 3)
                    return DnsStatus.Retry;
                var pref = (span[pos] << 8) | span[pos + 1];
                pos += 2;
                var host = DnsWire.ReadName(span, ref pos);
                if (host.Length == 0)
                    return DnsStatus.NullMx;
                if (!ValidRrName(host, "resource data", rr.Type, reply))
                    return DnsStatus.Inval;
                record = new DnsRecord(origName, rr.Name, rr.Type, rr.Ttl, pref, Encoding.UTF8.GetBytes(host), host);
                return DnsStatus.Ok;
            }
            case DnsType.TXT:
            {
                // Like the reference: the first character-string, unprintables as spaces.
                if (rr.DataLength < 1)
                    return DnsStatus.Retry;
                var len = Math.Min(span[pos], rr.DataLength - 1);
                var sb = new StringBuilder(len);
                foreach (var b in span.Slice(pos + 1, len))
                    sb.Append(b is >= 0x20 and < 0x7f ? (char)b : ' ');
                var text = sb.ToString();
                record = new DnsRecord(origName, rr.Name, rr.Type, rr.Ttl, 0, Encoding.ASCII.GetBytes(text), text);
                return DnsStatus.Ok;
            }
            case DnsType.SOA:
            {
                DnsWire.ReadName(span, ref pos);
                DnsWire.ReadName(span, ref pos);
                if (reply.Length - pos < 20)
                {
                    Msg.Warn($"extract_answer: bad SOA length: {rr.DataLength}");
                    return DnsStatus.Retry;
                }
                record = new DnsRecord(origName, rr.Name, rr.Type, rr.Ttl, 0, span.Slice(pos, 20).ToArray(), null);
                return DnsStatus.Ok;
            }
            default:
            {
                var host = DnsWire.ReadName(span, ref pos);
                if (!ValidRrName(host, "resource data", rr.Type, reply))
                    return DnsStatus.Inval;
                record = new DnsRecord(origName, rr.Name, rr.Type, rr.Ttl, 0, Encoding.UTF8.GetBytes(host), host);
                return DnsStatus.Ok;
            }
        }
    }

    // ValidRrName - valid_rr_name(): numeric names pass with a warning.
    private static bool ValidRrName(string name, string location, int type, DnsMessage reply)
    {
        string? gripe = null;
        var result = true;
        if (IsHostAddress(name))
            gripe = "numeric domain name";
        else if (!ValidWildcardHostname(name, true))
        {
            gripe = "malformed domain name";
            result = false;
        }
        if (gripe != null)
        {
            string qname;
            try
            {
                qname = reply.Questions(out _) is { Count: > 0 } q ? q[0].Name : "*unparsable*";
            }
            catch (DnsFormatException)
            {
                qname = "*unparsable*";
            }
            Msg.Warn($"{gripe} in {location} of {DnsType.Name(type)} record for {qname}: {(name.Length > 100 ? name[..100] : name)}");
        }
        return result;
    }

    // IsHostAddress - valid_hostaddr() without gripes: an IPv4 dotted quad or IPv6 address.
    public static bool IsHostAddress(string name)
    {
        if (name.Contains(':'))
            return IPAddress.TryParse(name, out var a6) && a6.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6;
        var parts = name.Split('.');
        if (parts.Length != 4)
            return false;
        foreach (var p in parts)
        {
            if (p.Length is 0 or > 3)
                return false;
            foreach (var c in p)
                if (c is < '0' or > '9')
                    return false;
            if (int.Parse(p) > 255)
                return false;
        }
        return true;
    }

    // ValidWildcardHostname - valid_hostname() with DO_WILDCARD: a leading "*." is allowed.
    public static bool ValidWildcardHostname(string name, bool gripe = false)
    {
        if (name.StartsWith("*.", StringComparison.Ordinal))
            name = name[2..];
        return MailParamsCheck.ValidHostname(name, gripe);
    }

    // LookupList - dns_lookup_l()/dns_lookup_v(): several types in turn.
    public static DnsStatus LookupList(string name, DnsFlags flags, IEnumerable<int> types, bool stopOnFirst,
        out List<DnsRecord> records, out string why)
    {
        records = new List<DnsRecord>();
        why = "";
        var status = DnsStatus.NotFound;
        var hard = DnsStatus.Ok;
        string hardWhy = "";
        foreach (var type in types)
        {
            var s = Lookup(name, type, flags, out var found, out _, out var w, out _);
            if (s == DnsStatus.Ok)
            {
                records.AddRange(found);
                status = DnsStatus.Ok;
                if (stopOnFirst)
                    break;
            }
            else if (s is DnsStatus.Inval or DnsStatus.Policy or DnsStatus.NullMx)
            {
                // These replace an earlier "not found", not an earlier error.
                if (hard == DnsStatus.Ok)
                {
                    hard = s;
                    hardWhy = w;
                }
            }
            else if (s == DnsStatus.NotFound)
            {
                if (hard == DnsStatus.Ok && status != DnsStatus.Ok)
                    why = w;
            }
            else
            {
                hard = s;
                hardWhy = w;
            }
        }
        if (status == DnsStatus.Ok)
            return DnsStatus.Ok;
        if (hard != DnsStatus.Ok)
        {
            why = hardWhy;
            return hard;
        }
        return DnsStatus.NotFound;
    }
}
