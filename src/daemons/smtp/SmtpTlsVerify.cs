// NAME
//	SmtpTlsVerify - judge the server certificate of a TLS session
// POSTFIX
//	src/tls/tls_verify.c (tls_log_verify_error), src/tls/tls_client.c
//	(add_namechecks, verify_extract_name), src/tls/tls_dane.c,
//	src/tls/tls_fprint.c
// DESCRIPTION
//	Check() gives whether the certificate is trusted under the policy
//	(chain to the CA list or the trust anchors, and the match names; at
//	the fingerprint level a listed digest; at the DANE levels a TLSA
//	record) and, when not, the reference's "certificate verification
//	failed for ..." text for its first OpenSSL error. It may lower a
//	DANE level whose records turn out unusable.
using System;
using System.Collections.Generic;
using System.Linq;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Postfix.Daemons.Smtp;

internal readonly record struct SmtpTlsVerdict(bool Trusted, string? Error, int Level);

internal static class SmtpTlsVerify
{
    public static SmtpTlsVerdict Check(X509Certificate2 peer, X509Certificate2Collection extra, SmtpTlsPolicy policy,
        SmtpTlsConfig config, string host, string nexthop, string namAddr, int level)
    {
        string Fail(string text) => $"server certificate verification failed for {namAddr}: {text}";
        if (level == TlsLevel.Fingerprint)
        {
            var alg = config.DigestAlgorithm() ?? HashAlgorithmName.SHA256;
            var certDigest = SmtpTlsConfig.Digest(alg, peer.RawData);
            var keyDigest = SmtpTlsConfig.Digest(alg, peer.PublicKey.ExportSubjectPublicKeyInfo());
            var usable = policy.Fingerprints?.Where(f => f.Length == certDigest.Length).ToList() ?? new List<byte[]>();
            var ok = usable.Any(f => f.AsSpan().SequenceEqual(certDigest) || f.AsSpan().SequenceEqual(keyDigest));
            return new SmtpTlsVerdict(ok, ok ? null
                : Fail(usable.Count == 0 ? "num=1:unspecified certificate verification error" : "num=65:no matching DANE TLSA records"), level);
        }
        if (level == TlsLevel.DaneOnly && policy.Dane != null && policy.Dane.Usable.Count == 0)
            return new SmtpTlsVerdict(false, Fail("num=1:unspecified certificate verification error"), level);
        if (TlsLevel.DaneBased(level) && policy.Dane != null && policy.Dane.Usable.Count > 0)
        {
            var (ok, error) = policy.Dane.Verify(peer, extra, host, namAddr, config);
            return new SmtpTlsVerdict(ok, ok ? null : error, level);
        }
        // PKIX: the chain, then the names.
        var chainError = ChainError(peer, extra, policy, config, namAddr);
        if (chainError != null)
            return new SmtpTlsVerdict(false, chainError, level);
        // (Name checks stay after DANE fell back to "encrypt".)
        if ((TlsLevel.MustMatch(level) || policy.Dane != null) && policy.Match != null)
        {
            var names = MatchNames(policy.Match, host, nexthop);
            if (names.Count == 0)
            {
                Postfix.Util.Msg.Warn($"{namAddr}: could not configure peer name checks");
                return new SmtpTlsVerdict(false, null, level);
            }
            if (!names.Any(n => NameMatches(peer, n)))
                return new SmtpTlsVerdict(false, Fail("num=62:hostname mismatch"), level);
        }
        return new SmtpTlsVerdict(true, null, level);
    }

    // UsableFingerprints - tls_dane_enable() for the synthetic records
    // of the fingerprint level: a digest of the wrong length is logged
    // (newest first, the public key form before the certificate form),
    // as is a list with nothing usable.
    internal static bool UsableFingerprints(SmtpTlsPolicy policy, SmtpTlsConfig config, string namAddr)
    {
        var size = SmtpTlsConfig.Digest(config.DigestAlgorithm() ?? HashAlgorithmName.SHA256, Array.Empty<byte>()).Length;
        var usable = 0;
        var list = policy.Fingerprints ?? new List<byte[]>();
        for (var i = list.Count - 1; i >= 0; i--)
        {
            if (list[i].Length == size)
            {
                usable++;
                continue;
            }
            var hex = Convert.ToHexString(list[i]);
            Postfix.Util.Msg.Warn($"{namAddr}: unusable TLSA RR: 3 1 255 {hex}");
            Postfix.Util.Msg.Warn($"{namAddr}: unusable TLSA RR: 3 0 255 {hex}");
        }
        if (usable == 0)
            Postfix.Util.Msg.Warn($"{namAddr}: all fingerprints unusable");
        return usable > 0;
    }

    // MatchNames - add_namechecks(): the reference names, a leading "."
    // for "any subdomain of".
    internal static List<string> MatchNames(List<string> match, string host, string nexthop)
    {
        var names = new List<string>();
        foreach (var m in match)
        {
            if (m.Equals("nexthop", StringComparison.OrdinalIgnoreCase))
                names.Add(nexthop);
            else if (m.Equals("dot-nexthop", StringComparison.OrdinalIgnoreCase))
                names.Add("." + nexthop);
            else if (m.Equals("hostname", StringComparison.OrdinalIgnoreCase))
                names.Add(host);
            else if (m == ".")
                continue;
            else
                names.Add(m);
        }
        return names;
    }

    // NameMatches - X509_check_host() without partial wildcards: the DNS
    // subjectAltNames, or the CN when there are none.
    internal static bool NameMatches(X509Certificate2 cert, string reference)
    {
        var subdomain = reference.StartsWith('.');
        var want = reference.TrimEnd('.').ToLowerInvariant();
        foreach (var name in CertNames(cert))
        {
            var have = name.ToLowerInvariant();
            if (subdomain)
            {
                if (have.Length > want.Length && have.EndsWith(want, StringComparison.Ordinal) && !have.StartsWith("*.", StringComparison.Ordinal))
                    return true;
                continue;
            }
            if (have == want)
                return true;
            if (have.StartsWith("*.", StringComparison.Ordinal) && have.Count(c => c == '.') >= 2)
            {
                var dot = want.IndexOf('.');
                if (dot > 0 && want[dot..] == have[1..])
                    return true;
            }
        }
        return false;
    }

    internal static List<string> CertNames(X509Certificate2 cert)
    {
        var names = new List<string>();
        foreach (var ext in cert.Extensions)
        {
            if (ext is X509SubjectAlternativeNameExtension san)
                names.AddRange(san.EnumerateDnsNames());
        }
        if (names.Count == 0)
        {
            var cn = cert.GetNameInfo(X509NameType.SimpleName, false);
            if (!string.IsNullOrEmpty(cn))
                names.Add(cn);
        }
        return names;
    }

    // ChainError - the reference's text for the first chain error, null
    // when the chain leads to a trusted certificate.
    private static string? ChainError(X509Certificate2 peer, X509Certificate2Collection extra, SmtpTlsPolicy policy,
        SmtpTlsConfig config, string namAddr)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationFlags = X509VerificationFlags.IgnoreWrongUsage;
        foreach (var c in extra)
            chain.ChainPolicy.ExtraStore.Add(c);
        var anchors = new X509Certificate2Collection();
        var useTa = policy.TrustAnchorCerts != null || policy.TrustAnchorKeys != null;
        if (useTa)
        {
            if (policy.TrustAnchorCerts != null)
                anchors.AddRange(policy.TrustAnchorCerts.ToArray());
            if (policy.TrustAnchorKeys != null)
                foreach (var c in extra.Cast<X509Certificate2>().Append(peer))
                    if (policy.TrustAnchorKeys.Any(k => k.AsSpan().SequenceEqual(c.PublicKey.ExportSubjectPublicKeyInfo())))
                        anchors.Add(c);
        }
        else if (config.CaCertificates != null)
        {
            anchors.AddRange(config.CaCertificates);
        }
        if (!useTa && config.UseSystemRoots)
        {
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.System;
            foreach (var c in anchors)
                chain.ChainPolicy.ExtraStore.Add(c);
        }
        else
        {
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.AddRange(anchors);
        }
        // A trust anchor that is not self-signed ends the chain too.
        if (anchors.Cast<X509Certificate2>().Any(a => a.RawData.AsSpan().SequenceEqual(peer.RawData)))
            return null;
        var ok = chain.Build(peer);
        if (ok)
        {
            // OpenSSL accepts a chain that ends at any trusted certificate.
            return null;
        }
        var elements = chain.ChainElements.Cast<X509ChainElement>().ToList();
        if (anchors.Count > 0 && elements.Skip(1).Any(e => anchors.Cast<X509Certificate2>()
                .Any(a => a.RawData.AsSpan().SequenceEqual(e.Certificate.RawData)))
            && elements.All(e => e.ChainElementStatus.All(s => s.Status is X509ChainStatusFlags.NoError
                or X509ChainStatusFlags.UntrustedRoot or X509ChainStatusFlags.PartialChain)))
            return null;
        var top = elements.Count > 0 ? elements[^1].Certificate : peer;
        var topSelfSigned = top.SubjectName.RawData.AsSpan().SequenceEqual(top.IssuerName.RawData);
        string Fail(string text) => $"certificate verification failed for {namAddr}: {text}";
        // Chain building errors come first, as OpenSSL finds them.
        if (elements.Count <= 1 && topSelfSigned)
            return Fail("self-signed certificate");
        if (elements.Any(e => e.ChainElementStatus.Any(s => s.Status is X509ChainStatusFlags.UntrustedRoot
                or X509ChainStatusFlags.PartialChain)) || chain.ChainStatus.Any(s => s.Status is X509ChainStatusFlags.PartialChain
                or X509ChainStatusFlags.UntrustedRoot))
            return Fail($"untrusted issuer {OneLine(top.IssuerName)}");
        for (var i = elements.Count - 1; i >= 0; i--)
        {
            var purpose = i > 0 ? "CA" : "server";
            foreach (var s in elements[i].ChainElementStatus)
            {
                if (s.Status == X509ChainStatusFlags.NotTimeValid)
                    return elements[i].Certificate.NotBefore > DateTime.Now
                        ? $"{purpose} certificate verification failed for {namAddr}: certificate not yet valid"
                        : $"{purpose} certificate verification failed for {namAddr}: certificate has expired";
            }
        }
        return Fail("not trusted by local or TLSA policy");
    }

    private static readonly Dictionary<string, string> ShortNames = new()
    {
        ["2.5.4.6"] = "C", ["2.5.4.8"] = "ST", ["2.5.4.7"] = "L", ["2.5.4.10"] = "O", ["2.5.4.11"] = "OU",
        ["2.5.4.3"] = "CN", ["1.2.840.113549.1.9.1"] = "emailAddress", ["2.5.4.5"] = "serialNumber",
        ["0.9.2342.19200300.100.1.25"] = "DC",
    };

    // OneLine - X509_NAME_oneline(): "/C=XX/O=Org/CN=Name".
    internal static string OneLine(X500DistinguishedName name)
    {
        var sb = new StringBuilder();
        foreach (var rdn in name.EnumerateRelativeDistinguishedNames(reversed: false))
        {
            var oid = rdn.GetSingleElementType().Value ?? "";
            var label = ShortNames.TryGetValue(oid, out var s) ? s : oid;
            sb.Append('/').Append(label).Append('=').Append(rdn.GetSingleElementValue());
        }
        return sb.ToString();
    }

    internal static string CommonName(X500DistinguishedName name)
    {
        foreach (var rdn in name.EnumerateRelativeDistinguishedNames())
            if (rdn.GetSingleElementType().Value == "2.5.4.3")
                return rdn.GetSingleElementValue() ?? "";
        return "";
    }

    // Fingerprint - tls_fingerprint(): colon-separated upper-case hex.
    internal static string Fingerprint(byte[] data, SmtpTlsConfig config)
    {
        var digest = SmtpTlsConfig.Digest(config.DigestAlgorithm() ?? HashAlgorithmName.SHA256, data);
        return string.Join(":", digest.Select(b => b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture)));
    }
}
