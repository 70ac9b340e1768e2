// NAME
//	SmtpDane - DANE (RFC 7672) for the SMTP client
// POSTFIX
//	src/smtp/smtp_tls_policy.c (dane_init, dane_incompat),
//	src/tls/tls_dane.c (tls_dane_resolve, parse_tlsa_rr)
// DESCRIPTION
//	Init() turns the "dane" and "dane-only" levels into what the
//	destination supports: TLSA records under _PORT._tcp.HOST that the
//	resolver marked authentic (the AD bit, trusted only with "options
//	trust-ad" in resolv.conf, as glibc does), for a host whose address
//	lookup was authentic too. Without them "dane" falls back to "may"
//	("encrypt" when the records are all unusable) and "dane-only"
//	defers ("non DNSSEC destination", "no TLSA records found", "TLSA
//	records unusable", "TLSA lookup error for HOST:PORT"). Verify()
//	matches the server certificate: usage 3 (DANE-EE) against the leaf,
//	without name checks; usage 2 (DANE-TA) against a certificate of the
//	chain the server sent, the leaf then has to chain to it and carry
//	the TLSA base name (or the MX name). Selectors 0 (certificate) and 1
//	(public key), matching types 0 (full), 1 (SHA-256), 2 (SHA-512).
//	Usages 0 and 1 (PKIX) are unusable, as in the reference.
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Threading;
using Postfix.Global.Dns;
using Postfix.Util;

namespace Postfix.Daemons.Smtp;

// SmtpDaneContext - the server being tried: its name, port, and the
// next-hop domain when the name came from an MX lookup.
internal sealed record SmtpDaneContext(string Host, int Port, string? MxDomain);

internal sealed record TlsaRecord(byte Usage, byte Selector, byte Mtype, byte[] Data);

internal sealed class SmtpDane
{
    public string BaseDomain { get; init; } = "";
    public List<TlsaRecord> Records { get; } = new();

    // Usable - the records the session can use (Enable()).
    public List<TlsaRecord> Usable { get; } = new();
    public List<string> MatchNames { get; } = new();

    private const int NonDaneConfig = 0;
    private const int NonDaneDest = 1;
    private const int DaneCantAuth = 2;

    // Incompatible - dane_incompat().
    private static void Incompatible(SmtpTlsPolicy policy, int kind, string text)
    {
        if (policy.Level == TlsLevel.Dane)
        {
            policy.Level = kind == DaneCantAuth ? TlsLevel.Encrypt : TlsLevel.May;
            if (kind == NonDaneConfig)
                Msg.Warn(text);
            else if (Msg.Verbose > 0)
                Msg.Info(text);
            return;
        }
        if (kind == NonDaneConfig)
        {
            Msg.Warn(text);
            policy.WhyText = "client TLS configuration problem";
        }
        else
        {
            policy.WhyText = text;
        }
        policy.WhyStatus = "4.7.5";
        policy.Level = TlsLevel.Invalid;
    }

    // Init - dane_init().
    public static void Init(SmtpTlsPolicy policy, SmtpTlsConfig config, string dest, SmtpDaneContext? context)
    {
        var name = TlsLevel.Name(policy.Level);
        if (context == null || context.Port == 0)
        {
            Msg.Warn($"{dest}: the \"dane\" security level is invalid for delivery via unix-domain sockets");
            policy.Level = TlsLevel.Invalid;
            return;
        }
        if (!config.DnsSupportLevel.Equals("dnssec", StringComparison.OrdinalIgnoreCase) || !config.LookupDns)
        {
            Incompatible(policy, NonDaneConfig, $"{dest}: {name} configured with dnssec lookups disabled");
            return;
        }
        if (!config.Lmtp && config.IgnoreMxLookupError)
        {
            Incompatible(policy, NonDaneConfig, $"{dest}: {name} configured with MX lookup errors ignored");
            return;
        }
        var insecurePolicy = TlsLevel.Parse(config.DaneInsecureMxPolicy);
        var mxInsecure = false;
        if (context.MxDomain != null)
        {
            var mx = Query(context.MxDomain, DnsType.MX, out _);
            mxInsecure = mx == null || !mx.Value.Secure;
        }
        if (mxInsecure && (policy.Level == TlsLevel.DaneOnly || insecurePolicy <= TlsLevel.May))
        {
            Incompatible(policy, NonDaneDest, "non DNSSEC destination");
            return;
        }
        var dane = Resolve(context.Host, context.Port, config.ForceInsecureHostTlsa, out var status);
        if (status == Status.Error)
        {
            policy.Level = TlsLevel.Invalid;
            policy.WhyStatus = "4.7.5";
            policy.WhyText = $"TLSA lookup error for {context.Host}:{context.Port}";
            return;
        }
        if (status == Status.NotFound)
        {
            Incompatible(policy, NonDaneDest, "no TLSA records found");
            return;
        }
        if (dane!.Records.Count == 0)
        {
            Incompatible(policy, DaneCantAuth, "TLSA records unusable");
            return;
        }
        if (mxInsecure)
        {
            if (insecurePolicy == TlsLevel.Encrypt)
            {
                Incompatible(policy, DaneCantAuth, "Verification not possible, MX RRset is insecure");
                return;
            }
            policy.Level = TlsLevel.HalfDane;
        }
        dane.MatchNames.Add(dane.BaseDomain);
        // With an MX lookup also the next-hop domain (the reference adds
        // the MX RRset's names).
        if (context.MxDomain != null && !dane.MatchNames.Contains(context.MxDomain, StringComparer.OrdinalIgnoreCase))
            dane.MatchNames.Add(context.MxDomain);
        policy.Match = new List<string>(dane.MatchNames);
        policy.Dane = dane;
    }

    private enum Status { Ok, NotFound, Error }

    // Resolve - tls_dane_resolve(): the TLSA records of a server, null
    // with NotFound when the host or its records are not authentic. For
    // a host name that is a CNAME the records are looked for at the
    // target name first (when the address lookup was authentic), then
    // at the name itself (also when only the CNAME record is authentic).
    private static SmtpDane? Resolve(string host, int port, bool force, out Status status)
    {
        status = Status.NotFound;
        var a = Query(host, DnsType.A, out var aError, out var owner);
        if (a == null && aError && !force)
        {
            status = Status.Error;
            return null;
        }
        var rname = owner ?? host;
        var isCname = !string.Equals(rname, host, StringComparison.OrdinalIgnoreCase);
        var hostValid = a != null && a.Value.Secure;
        if (!force && !hostValid)
        {
            if (!isCname)
                return null;
            // qname_secure(): is the CNAME record itself authentic?
            var cname = Query(host, DnsType.CNAME, out var cnameError, out _);
            if (cname == null)
            {
                Msg.Warn($"DNSSEC status lookup error for {host}: "
                    + (cnameError ? $"Host or domain name not found. Name service error for name={host} type=CNAME: Host not found, try again"
                        : "no longer a CNAME"));
                status = Status.Error;
                return null;
            }
            if (!cname.Value.Secure)
                return null;
        }
        if (hostValid)
        {
            var atTarget = ResolveName(rname, port, out status);
            if (status != Status.NotFound || !isCname)
                return atTarget;
        }
        return ResolveName(host, port, out status);
    }

    // ResolveName - the TLSA records at one name (resolve_host()).
    private static SmtpDane? ResolveName(string host, int port, out Status status)
    {
        status = Status.NotFound;
        var qname = $"_{port}._tcp.{host}";
        var reply = Query(qname, 52, out var error, out _);
        if (reply == null)
        {
            if (error)
            {
                Msg.Warn($"DANE TLSA lookup problem: Host or domain name not found. Name service error for name={qname} type=TLSA: Host not found, try again");
                status = Status.Error;
            }
            return null;
        }
        if (!reply.Value.Secure || reply.Value.Records.Count == 0)
            return null;
        var dane = new SmtpDane { BaseDomain = host };
        foreach (var data in reply.Value.Records)
        {
            if (data.Length < 3)
                continue;
            // Only the usages are sorted out here (and the private-use
            // matching type); the rest when the session starts.
            var rec = new TlsaRecord(data[0], data[1], data[2], data[3..]);
            if (rec.Usage is 2 or 3 && rec.Mtype != 255)
                dane.Records.Add(rec);
        }
        status = Status.Ok;
        return dane;
    }

    // Enable - tls_dane_enable(): the usable records; the others are
    // logged (last first, as the reference's list is built).
    public int Enable(string namAddr)
    {
        Usable.Clear();
        for (var i = Records.Count - 1; i >= 0; i--)
        {
            var r = Records[i];
            if (IsUsable(r))
            {
                Usable.Add(r);
                continue;
            }
            Msg.Warn($"{namAddr}: unusable TLSA RR: {r.Usage} {r.Selector} {r.Mtype} {HexDump(r.Data)}");
        }
        return Usable.Count;
    }

    internal static string HexDump(byte[] data)
    {
        if (data.Length == 0)
            return "...";
        if (data.Length > 64)
            return Convert.ToHexString(data, 0, 32) + "..." + Convert.ToHexString(data, data.Length - 32, 32);
        return Convert.ToHexString(data);
    }

    // IsUsable - what OpenSSL takes: usages 2 and 3, selectors 0 and 1,
    // matching types 0, 1, 2 with the right digest length.
    internal static bool IsUsable(TlsaRecord r)
    {
        if (r.Usage is not (2 or 3) || r.Selector > 1)
            return false;
        return r.Mtype switch
        {
            0 => r.Data.Length > 0,
            1 => r.Data.Length == 32,
            2 => r.Data.Length == 64,
            _ => false,
        };
    }

    private static int nextId = Environment.TickCount;

    // Query - one query with the AD bit asked for; the RDATA of the
    // answers of the type, and whether the reply was authentic. Null
    // when nothing was found (error says whether the lookup failed).
    private static (bool Secure, List<byte[]> Records)? Query(string name, int type, out bool error) =>
        Query(name, type, out error, out _);

    // Query - also the owner name of the first answer of the type (the
    // CNAME target when the name is an alias).
    private static (bool Secure, List<byte[]> Records)? Query(string name, int type, out bool error, out string? owner)
    {
        error = false;
        owner = null;
        byte[] query;
        try
        {
            query = DnsWire.BuildQuery((ushort)Interlocked.Increment(ref nextId), name, type);
        }
        catch (DnsFormatException)
        {
            return null;
        }
        query[3] |= 0x20;
        var reply = DnsLookup.Resolver.Send(query);
        if (reply == null || reply.Rcode is DnsRcode.ServFail)
        {
            error = true;
            return null;
        }
        if (reply.Rcode != DnsRcode.NoError)
            return null;
        var records = new List<byte[]>();
        try
        {
            var (answers, _) = reply.Records();
            foreach (var rr in answers)
                if (rr.Type == type && rr.Class == 1)
                {
                    owner ??= rr.Name.TrimEnd('.');
                    records.Add(reply.Span.Slice(rr.DataOffset, rr.DataLength).ToArray());
                }
        }
        catch (DnsFormatException)
        {
            error = true;
            return null;
        }
        if (records.Count == 0)
            return null;
        return (reply.AuthenticData && TrustAd(), records);
    }

    private static bool? trustAd;

    // TrustAd - "options trust-ad" in resolv.conf (or RES_OPTIONS).
    private static bool TrustAd()
    {
        if (trustAd != null)
            return trustAd.Value;
        var found = false;
        try
        {
            foreach (var line in File.ReadLines(ResolvConf.CurrentPath))
            {
                var words = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
                if (words.Length > 0 && words[0] == "options" && words.Contains("trust-ad"))
                    found = true;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
        if (Environment.GetEnvironmentVariable("RES_OPTIONS") is { } env && env.Split(' ').Contains("trust-ad"))
            found = true;
        trustAd = found;
        return found;
    }

    // Matches - one TLSA record against one certificate.
    internal static bool Matches(TlsaRecord r, X509Certificate2 cert)
    {
        var data = r.Selector == 0 ? cert.RawData : cert.PublicKey.ExportSubjectPublicKeyInfo();
        var digest = r.Mtype switch
        {
            1 => SHA256.HashData(data),
            2 => SHA512.HashData(data),
            _ => data,
        };
        return digest.AsSpan().SequenceEqual(r.Data);
    }

    // Verify - the DANE check of the server's certificate and chain.
    public (bool Ok, string Error) Verify(X509Certificate2 peer, X509Certificate2Collection extra, string host, string namAddr,
        SmtpTlsConfig config)
    {
        foreach (var r in Usable.Where(r => r.Usage == 3))
            if (Matches(r, peer))
                return (true, "");
        var ta = Usable.Where(r => r.Usage == 2).ToList();
        if (ta.Count > 0)
        {
            // The trust anchor: a certificate the server sent (or the leaf's
            // issuer by public key) matching a DANE-TA record.
            var candidates = extra.Cast<X509Certificate2>().ToList();
            var anchor = candidates.FirstOrDefault(c => ta.Any(r => Matches(r, c)));
            if (anchor != null)
            {
                using var chain = new X509Chain();
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.Add(anchor);
                foreach (var c in candidates)
                    chain.ChainPolicy.ExtraStore.Add(c);
                chain.ChainPolicy.VerificationFlags = X509VerificationFlags.IgnoreWrongUsage;
                var built = chain.Build(peer) || chain.ChainElements.Cast<X509ChainElement>().Skip(1)
                    .Any(e => e.Certificate.RawData.AsSpan().SequenceEqual(anchor.RawData));
                if (!built)
                    return (false, $"certificate verification failed for {namAddr}: untrusted issuer {SmtpTlsVerify.OneLine(peer.IssuerName)}");
                if (!MatchNames.Any(n => SmtpTlsVerify.NameMatches(peer, n)))
                    return (false, $"server certificate verification failed for {namAddr}: num=62:hostname mismatch");
                return (true, "");
            }
        }
        return (false, $"server certificate verification failed for {namAddr}: num=65:no matching DANE TLSA records");
    }
}
