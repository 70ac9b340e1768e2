// NAME
//	SmtpTlsPolicy, SmtpTlsConfig, TlsLevel - per-destination TLS policy
//	of the SMTP/LMTP client
// POSTFIX
//	src/smtp/smtp_tls_policy.c, src/tls/tls_level.c, src/tls/tls_dane.c
//	(tls_dane_add_fpt_digests), src/tls/tls_certkey.c (the client
//	certificate), src/tls/tls_protocols.c
// DESCRIPTION
//	SmtpTlsConfig holds the smtp_tls_* (lmtp_tls_*) parameters; Init()
//	runs before the process drops privileges, so the client key and
//	the CA files can be root-only. SmtpTlsPolicy.Lookup() is
//	policy_create(): the global level, overridden by the first
//	smtp_tls_policy_maps entry for the next hop (parent domains one by
//	one for a plain domain), with its match=, ciphers=, protocols=,
//	exclude=, servername= and tafile= attributes, then the main.cf
//	defaults for whatever the entry left out. A bad entry gives the
//	level Invalid, a warning and "4.7.5 client TLS configuration
//	problem".
using System;
using System.Collections.Generic;
using System.IO;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Postfix.Global.Config;
using Postfix.Global.Dict;
using Postfix.Util;

namespace Postfix.Daemons.Smtp;

internal static class TlsLevel
{
    public const int Invalid = -2;
    public const int NotFound = -1;
    public const int None = 0;
    public const int May = 1;
    public const int Encrypt = 2;
    public const int HalfDane = 3;
    public const int Dane = 4;
    public const int DaneOnly = 5;
    public const int Fingerprint = 6;
    public const int Verify = 7;
    public const int Secure = 8;

    private static readonly string[] Names =
        { "none", "may", "encrypt", "half-dane", "dane", "dane-only", "fingerprint", "verify", "secure" };

    // Parse - tls_level_lookup(); Invalid for an unknown name ("half-dane"
    // is internal only).
    public static int Parse(string name)
    {
        var i = Array.IndexOf(Names, name.ToLowerInvariant());
        return i < 0 || i == HalfDane ? Invalid : i;
    }

    public static string Name(int level) => level is >= None and <= Secure ? Names[level] : "unknown";

    public static bool Required(int level) => level > May;
    public static bool MustMatch(int level) => level > Encrypt;
    public static bool NeverSecured(int level) => level == HalfDane;
    public static bool MustPkix(int level) => level >= Verify;
    public static bool DaneBased(int level) => level is >= HalfDane and <= DaneOnly;
}

internal sealed class SmtpTlsConfig
{
    private static readonly char[] CommaSpace = { ',', ' ', '\t', '\r', '\n' };

    public string Prefix { get; init; } = "smtp";
    public int LogLevel { get; init; }
    public string Protocols { get; init; } = ">=TLSv1";
    public string MandatoryProtocols { get; init; } = ">=TLSv1";
    public string Ciphers { get; init; } = "medium";
    public string MandatoryCiphers { get; init; } = "medium";
    public string ExcludeCiphers { get; init; } = "";
    public string MandatoryExcludeCiphers { get; init; } = "";

    // GradeLists - tls_high_cipherlist, tls_medium_cipherlist,
    // tls_low_cipherlist, tls_export_cipherlist, tls_null_cipherlist.
    public string[] GradeLists { get; init; } =
    {
        "aNULL:-aNULL:HIGH:@STRENGTH", "aNULL:-aNULL:HIGH:MEDIUM:+RC4:@STRENGTH",
        "aNULL:-aNULL:HIGH:MEDIUM:LOW:+RC4:@STRENGTH", "aNULL:-aNULL:HIGH:MEDIUM:LOW:EXPORT:+RC4:@STRENGTH", "eNULL:!aNULL",
    };
    public string VerifyCertMatch { get; init; } = "hostname";
    public string SecureCertMatch { get; init; } = "nexthop, dot-nexthop";
    public string FingerprintCertMatch { get; init; } = "";
    public string FingerprintDigest { get; init; } = "sha256";
    public string ServerName { get; init; } = "";
    public string TrustAnchorFile { get; init; } = "";
    public string DnsSupportLevel { get; init; } = "";
    public string DaneInsecureMxPolicy { get; init; } = "may";
    public bool ForceInsecureHostTlsa { get; init; }
    public int VerifyDepth { get; init; } = 9;
    public bool Lmtp { get; init; }
    public bool LookupDns { get; init; } = true;
    public bool IgnoreMxLookupError { get; init; }
    public bool NoteStartTlsOffer { get; init; }

    // CaCertificates - smtp_tls_CAfile and smtp_tls_CApath (null: none set).
    public X509Certificate2Collection? CaCertificates { get; set; }

    // UseSystemRoots - tls_append_default_CA with a CAfile or CApath.
    public bool UseSystemRoots { get; set; }

    // ClientCertificate - smtp_tls_chain_files or smtp_tls_cert_file
    // and smtp_tls_key_file; ClientChain the other certificates.
    public X509Certificate2? ClientCertificate { get; set; }
    public X509Certificate2Collection ClientChain { get; } = new();

    // Usable - false when the certificate or CA setup failed: the
    // reference then has no TLS engine ("TLS is required, but our TLS
    // engine is unavailable", plain text for "may").
    public bool Usable { get; set; } = true;

    private static SmtpTlsConfig? current;

    public static SmtpTlsConfig Current => current ??= new SmtpTlsConfig();

    internal static void SetCurrent(SmtpTlsConfig config) => current = config;

    // Init - read the parameters and load the certificates.
    public static void Init(MailConf conf, string p)
    {
        string S(string name) => conf.Eval($"{p}_{name}");
        int.TryParse(S("tls_loglevel"), out var logLevel);
        int.TryParse(S("tls_scert_verifydepth"), out var depth);
        var config = new SmtpTlsConfig
        {
            Prefix = p,
            LogLevel = logLevel,
            Protocols = S("tls_protocols"),
            MandatoryProtocols = S("tls_mandatory_protocols"),
            Ciphers = S("tls_ciphers"),
            MandatoryCiphers = S("tls_mandatory_ciphers"),
            ExcludeCiphers = S("tls_exclude_ciphers"),
            MandatoryExcludeCiphers = S("tls_mandatory_exclude_ciphers"),
            GradeLists = new[]
            {
                conf.Eval("tls_high_cipherlist"), conf.Eval("tls_medium_cipherlist"), conf.Eval("tls_low_cipherlist"),
                conf.Eval("tls_export_cipherlist"), conf.Eval("tls_null_cipherlist"),
            },
            VerifyCertMatch = S("tls_verify_cert_match"),
            SecureCertMatch = S("tls_secure_cert_match"),
            FingerprintCertMatch = S("tls_fingerprint_cert_match"),
            FingerprintDigest = S("tls_fingerprint_digest"),
            ServerName = S("tls_servername"),
            TrustAnchorFile = S("tls_trust_anchor_file"),
            DnsSupportLevel = S("dns_support_level"),
            DaneInsecureMxPolicy = S("tls_dane_insecure_mx_policy"),
            ForceInsecureHostTlsa = conf.Bool($"{p}_tls_force_insecure_host_tlsa_lookup"),
            VerifyDepth = depth > 0 ? depth : 9,
            Lmtp = p == "lmtp",
            LookupDns = S("host_lookup").Contains("dns", StringComparison.OrdinalIgnoreCase),
            IgnoreMxLookupError = conf.Bool("ignore_mx_lookup_error"),
            NoteStartTlsOffer = conf.Bool($"{p}_tls_note_starttls_offer"),
        };
        config.LoadCertificates(S("tls_CAfile"), S("tls_CApath"), conf.Bool("tls_append_default_CA"),
            S("tls_chain_files"), S("tls_cert_file"), S("tls_key_file"));
        current = config;
    }

    internal void LoadCertificates(string caFile, string caPath, bool appendDefault, string chainFiles, string certFile, string keyFile)
    {
        if (caFile.Length > 0 || caPath.Length > 0)
        {
            var cas = new X509Certificate2Collection();
            try
            {
                if (caFile.Length > 0)
                    cas.ImportFromPemFile(caFile);
                if (caPath.Length > 0 && Directory.Exists(caPath))
                    foreach (var file in Directory.GetFiles(caPath))
                        try
                        {
                            cas.ImportFromPemFile(file);
                        }
                        catch (CryptographicException)
                        {
                        }
                CaCertificates = cas;
                UseSystemRoots = appendDefault;
            }
            catch (Exception e) when (e is IOException or CryptographicException or UnauthorizedAccessException)
            {
                var what = caFile.Length > 0 ? $"CAfile=\"{caFile}\"" : "";
                if (caPath.Length > 0)
                    what += (what.Length > 0 ? ", " : "") + $"CApath=\"{caPath}\"";
                Msg.Info($"cannot load Certification Authority data, {what}: disabling TLS support");
                Usable = false;
            }
        }
        try
        {
            if (chainFiles.Length > 0)
            {
                foreach (var file in chainFiles.Split(CommaSpace, StringSplitOptions.RemoveEmptyEntries))
                    LoadChainFile(file);
            }
            else if (certFile.Length > 0)
            {
                var key = keyFile.Length > 0 ? keyFile : certFile;
                ClientCertificate = X509Certificate2.CreateFromPemFile(certFile, key);
                var all = new X509Certificate2Collection();
                all.ImportFromPemFile(certFile);
                foreach (var c in all)
                    if (c.Thumbprint != ClientCertificate.Thumbprint)
                        ClientChain.Add(c);
            }
        }
        catch (Exception e) when (e is IOException or CryptographicException or UnauthorizedAccessException or ArgumentException)
        {
            var file = chainFiles.Length > 0 ? chainFiles : certFile;
            Msg.Warn($"cannot get RSA certificate from file \"{file}\": disabling TLS support");
            ClientCertificate = null;
            Usable = false;
        }
    }

    // LoadChainFile - one smtp_tls_chain_files file: a key followed by
    // its certificate and the chain; the first key/certificate pair is
    // presented.
    private void LoadChainFile(string file)
    {
        var pem = File.ReadAllText(file);
        if (ClientCertificate == null)
            ClientCertificate = X509Certificate2.CreateFromPem(pem, pem);
        var all = new X509Certificate2Collection();
        all.ImportFromPem(pem);
        foreach (var c in all)
            if (c.Thumbprint != ClientCertificate.Thumbprint)
                ClientChain.Add(c);
    }

    // Digest - the smtp_tls_fingerprint_digest algorithm (null: unknown).
    public HashAlgorithmName? DigestAlgorithm() => FingerprintDigest.ToLowerInvariant() switch
    {
        "md5" => HashAlgorithmName.MD5,
        "sha1" => HashAlgorithmName.SHA1,
        "sha256" => HashAlgorithmName.SHA256,
        "sha384" => HashAlgorithmName.SHA384,
        "sha512" => HashAlgorithmName.SHA512,
        _ => null,
    };

    // The weak digests are the administrator's choice (fingerprints made
    // with them are matched, not trusted for anything else).
#pragma warning disable CA5350, CA5351
    public static byte[] Digest(HashAlgorithmName alg, byte[] data)
    {
        if (alg == HashAlgorithmName.MD5)
            return MD5.HashData(data);
        if (alg == HashAlgorithmName.SHA1)
            return SHA1.HashData(data);
        if (alg == HashAlgorithmName.SHA384)
            return SHA384.HashData(data);
        if (alg == HashAlgorithmName.SHA512)
            return SHA512.HashData(data);
        return SHA256.HashData(data);
    }
#pragma warning restore CA5350, CA5351
}

internal sealed class SmtpTlsPolicy
{
    private static readonly char[] CommaSpace = { ',', ' ', '\t', '\r', '\n' };
    private static readonly char[] Bar = { '|' };
    private static readonly char[] CommaSpaceColon = { ',', ' ', '\t', '\r', '\n', ':' };
    private static readonly char[] NotInHostname = { '[', ']', ':', '/' };

    public int Level { get; set; } = TlsLevel.None;
    public string? Protocols { get; set; }
    public string? Grade { get; set; }
    public string? Exclusions { get; set; }
    public string? Sni { get; set; }
    public List<string>? Match { get; set; }

    // Fingerprints - fingerprint digests (match= at level fingerprint, or
    // smtp_tls_fingerprint_cert_match); each matches the certificate or
    // its public key.
    public List<byte[]>? Fingerprints { get; set; }

    // TrustAnchors - tafile= or smtp_tls_trust_anchor_file: certificates
    // and public keys that replace the CA list at verify/secure.
    public List<X509Certificate2>? TrustAnchorCerts { get; set; }
    public List<byte[]>? TrustAnchorKeys { get; set; }

    // Dane - the TLSA records at the dane levels.
    public SmtpDane? Dane { get; set; }

    // WhyStatus, WhyText - the deferral for an Invalid level.
    public string WhyStatus { get; set; } = "4.7.5";
    public string WhyText { get; set; } = "client TLS configuration problem";

    // Global - the policy with only main.cf settings.
    public static SmtpTlsPolicy Global(string level, SmtpTlsConfig config)
    {
        var policy = new SmtpTlsPolicy { Level = GlobalLevel(level) };
        policy.Complete(config, "", null);
        return policy;
    }

    public static int GlobalLevel(string level)
    {
        var l = TlsLevel.Parse(level.Length > 0 ? level : "none");
        return l == TlsLevel.Invalid ? TlsLevel.None : l;
    }

    // ForSession - the policy for one server of the next hop dest (as
    // written in the request or smtp_fallback_relay).
    public static SmtpTlsPolicy ForSession(SmtpSettings settings, SmtpSessionInfo info, string dest, bool unix)
    {
        var config = SmtpTlsConfig.Current;
        var parsed = SmtpDestination.Parse(dest, settings.Lmtp, settings.Lmtp ? settings.LmtpTcpPort : settings.DefaultService, out _);
        var nexthop = unix || parsed == null ? settings.MyHostname : parsed.Host;
        string? mxDomain = null;
        if (parsed != null && !parsed.NoMx && settings.LookupDns && !Postfix.Global.Dns.DnsLookup.IsHostAddress(parsed.Host))
            mxDomain = parsed.Host;
        var policy = Lookup(settings.TlsPolicyMaps, dest, info.Host, settings.TlsSecurityLevel, config,
            new SmtpDaneContext(info.Host, unix ? 0 : info.Port, mxDomain));
        policy.Nexthop = nexthop;
        if (unix && policy.Level == TlsLevel.May)
        {
            Msg.Warn("smtp_connect_local: opportunistic TLS encryption is not appropriate for unix-domain destinations.");
            policy.Level = TlsLevel.None;
        }
        return policy;
    }

    // Nexthop - the name "nexthop" and "dot-nexthop" stand for.
    public string Nexthop { get; set; } = "";

    // Lookup - policy_create() for the next hop dest, the server host.
    public static SmtpTlsPolicy Lookup(Maps? maps, string dest, string host, string globalLevel, SmtpTlsConfig config,
        SmtpDaneContext? dane = null)
    {
        var policy = new SmtpTlsPolicy { Level = GlobalLevel(globalLevel) };
        if (maps != null)
        {
            var site = policy.LookupSite(maps, dest);
            if (site == TlsLevel.Invalid)
            {
                policy.Level = TlsLevel.Invalid;
                return policy;
            }
            if (site != TlsLevel.NotFound)
                policy.Level = site;
        }
        policy.Complete(config, dest, dane);
        return policy;
    }

    private void MarkInvalid()
    {
        Level = TlsLevel.Invalid;
        WhyStatus = "4.7.5";
        WhyText = "client TLS configuration problem";
    }

    // LookupSite - tls_policy_lookup(): the level of the first entry
    // found, NotFound or Invalid.
    private int LookupSite(Maps maps, string dest)
    {
        var name = dest;
        var hostname = name.Length > 0 && name.IndexOfAny(NotInHostname) < 0;
        while (true)
        {
            var level = LookupOne(maps, name, dest);
            if (level != TlsLevel.NotFound || !hostname)
                return level;
            var dot = name.IndexOf('.', 1);
            if (dot < 0)
                return TlsLevel.NotFound;
            name = name[dot..];
        }
    }

    private int LookupOne(Maps maps, string name, string dest)
    {
        var where = $"{maps.Title}, next-hop destination \"{name}\"";
        var value = maps.Find(name);
        if (value == null)
        {
            if (maps.Error != DictError.None)
            {
                Msg.Warn($"{where}: policy table lookup error");
                return TlsLevel.Invalid;
            }
            return TlsLevel.NotFound;
        }
        var words = value.Split(CommaSpace, StringSplitOptions.RemoveEmptyEntries);
        if (words.Length == 0)
        {
            Msg.Warn($"{where}: invalid empty policy");
            return TlsLevel.Invalid;
        }
        var level = TlsLevel.Parse(words[0]);
        if (level == TlsLevel.Invalid)
        {
            Msg.Warn($"{where}: invalid security level \"{words[0]}\"");
            return TlsLevel.Invalid;
        }
        if (level < TlsLevel.May)
        {
            for (var i = 1; i < words.Length; i++)
                Msg.Warn($"{where}: ignoring attribute \"{words[i]}\" with TLS disabled");
            return level;
        }
        for (var i = 1; i < words.Length; i++)
        {
            var tok = words[i];
            var eq = tok.IndexOf('=');
            if (eq < 0)
            {
                Msg.Warn($"{where}: malformed attribute/value pair \"{tok}\": missing '=' after attribute name");
                return TlsLevel.Invalid;
            }
            var attr = tok[..eq].Trim();
            var val = tok[(eq + 1)..].Trim();
            if (attr.Length == 0)
            {
                Msg.Warn($"{where}: malformed attribute/value pair \"{tok}\": missing attribute name");
                return TlsLevel.Invalid;
            }
            switch (attr.ToLowerInvariant())
            {
                case "ciphers":
                    if (val.Length == 0)
                    {
                        Msg.Warn($"{where}: attribute \"{attr}\" has empty value");
                        return TlsLevel.Invalid;
                    }
                    if (Grade != null)
                        return Multiple(where, attr);
                    Grade = val;
                    continue;
                case "protocols":
                    if (Protocols != null)
                        return Multiple(where, attr);
                    Protocols = val;
                    continue;
                case "servername":
                    if (Sni != null)
                        return Multiple(where, attr);
                    if (!ValidSni(val))
                    {
                        Msg.Warn($"{where}: \"{attr}={val}\" specifies an invalid hostname");
                        return TlsLevel.Invalid;
                    }
                    Sni = val;
                    continue;
                case "match":
                    if (val.Length == 0)
                    {
                        Msg.Warn($"{where}: attribute \"{attr}\" has empty value");
                        return TlsLevel.Invalid;
                    }
                    if (level == TlsLevel.Fingerprint)
                    {
                        AddFingerprints(val, Bar);
                    }
                    else if (level is TlsLevel.Verify or TlsLevel.Secure)
                    {
                        Match ??= new List<string>();
                        Match.AddRange(val.Split(':', StringSplitOptions.RemoveEmptyEntries));
                    }
                    else
                    {
                        Msg.Warn($"{where}: attribute \"{attr}\" invalid at security level \"{TlsLevel.Name(level)}\"");
                        return TlsLevel.Invalid;
                    }
                    continue;
                case "exclude":
                    if (Exclusions != null)
                        return Multiple(where, attr);
                    Exclusions = val;
                    continue;
                case "tafile":
                    if (!TlsLevel.MustPkix(level))
                    {
                        Msg.Warn($"{where}: attribute \"{attr}\" invalid at security level \"{TlsLevel.Name(level)}\"");
                        return TlsLevel.Invalid;
                    }
                    if (val.Length == 0)
                    {
                        Msg.Warn($"{where}: attribute \"{attr}\" has empty value");
                        return TlsLevel.Invalid;
                    }
                    if (!LoadTrustFile(val))
                        return TlsLevel.Invalid;
                    continue;
                case "connection_reuse":
                    if (!val.Equals("yes", StringComparison.OrdinalIgnoreCase) && !val.Equals("no", StringComparison.OrdinalIgnoreCase))
                    {
                        Msg.Warn($"{where}: attribute \"{attr}\" has bad value: \"{val}\"");
                        return TlsLevel.Invalid;
                    }
                    continue;
                default:
                    Msg.Warn($"{where}: invalid attribute name: \"{attr}\"");
                    return TlsLevel.Invalid;
            }
        }
        return level;
    }

    private static int Multiple(string where, string attr)
    {
        Msg.Warn($"{where}: attribute \"{attr}\" is specified multiple times");
        return TlsLevel.Invalid;
    }

    // ValidSni - valid_hostname() without the gripes.
    internal static bool ValidSni(string name)
    {
        if (name.Length == 0 || name.Length > 255)
            return false;
        foreach (var label in name.Split('.'))
        {
            if (label.Length == 0 || label.Length > 63 || label[0] == '-' || label[^1] == '-')
                return false;
            foreach (var c in label)
                if (!char.IsAsciiLetterOrDigit(c) && c != '-' && c != '_')
                    return false;
        }
        return true;
    }

    // AddFingerprints - tls_dane_add_fpt_digests(): hex digests with
    // optional colons; malformed ones are skipped with a warning.
    internal void AddFingerprints(string values, char[] delims)
    {
        foreach (var value in values.Split(delims, StringSplitOptions.RemoveEmptyEntries))
        {
            var hex = value.Replace(":", "", StringComparison.Ordinal);
            byte[]? raw = null;
            if (value.Length <= 3 * 64 && hex.Length % 2 == 0 && hex.Length > 0)
            {
                try
                {
                    raw = Convert.FromHexString(hex);
                }
                catch (FormatException)
                {
                }
            }
            if (raw == null)
            {
                Msg.Warn(value.Length > 3 * 64 ? $"malformed fingerprint value: {Trunc(value, 100)}..."
                    : $"malformed fingerprint value: {Trunc(value, 384)}");
                continue;
            }
            Fingerprints ??= new List<byte[]>();
            Fingerprints.Add(raw);
        }
    }

    private static string Trunc(string s, int n) => s.Length > n ? s[..n] : s;

    // LoadTrustFile - tls_dane_load_trustfile(): PEM certificates and
    // public keys that become the trust anchors.
    internal bool LoadTrustFile(string file)
    {
        string pem;
        try
        {
            pem = File.ReadAllText(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Msg.Warn($"error opening trust anchor file: {file}: {e.Message}");
            return false;
        }
        var found = 0;
        foreach (var field in PemFields(pem))
        {
            if (field.Label == "CERTIFICATE" || field.Label == "TRUSTED CERTIFICATE")
            {
                try
                {
                    TrustAnchorCerts ??= new List<X509Certificate2>();
                    TrustAnchorCerts.Add(X509CertificateLoader.LoadCertificate(field.Data));
                    found++;
                }
                catch (CryptographicException)
                {
                    Msg.Warn($"error loading trust anchor certificate from: {file}");
                    return false;
                }
            }
            else if (field.Label == "PUBLIC KEY")
            {
                TrustAnchorKeys ??= new List<byte[]>();
                TrustAnchorKeys.Add(field.Data);
                found++;
            }
        }
        if (found == 0)
        {
            Msg.Warn($"no trust anchors found in: {file}");
            return false;
        }
        return true;
    }

    private static IEnumerable<(string Label, byte[] Data)> PemFields(string pem)
    {
        var pos = 0;
        while (true)
        {
            var begin = pem.IndexOf("-----BEGIN ", pos, StringComparison.Ordinal);
            if (begin < 0)
                yield break;
            var labelEnd = pem.IndexOf("-----", begin + 11, StringComparison.Ordinal);
            if (labelEnd < 0)
                yield break;
            var label = pem[(begin + 11)..labelEnd];
            var endMark = $"-----END {label}-----";
            var end = pem.IndexOf(endMark, labelEnd, StringComparison.Ordinal);
            if (end < 0)
                yield break;
            byte[]? data = null;
            try
            {
                data = Convert.FromBase64String(pem[(labelEnd + 5)..end].Replace("\n", "").Replace("\r", ""));
            }
            catch (FormatException)
            {
            }
            if (data != null)
                yield return (label, data);
            pos = end + endMark.Length;
        }
    }

    // Complete - the rest of policy_create(): DANE, the main.cf
    // protocols, SNI, ciphers and matching rules.
    private void Complete(SmtpTlsConfig config, string dest, SmtpDaneContext? daneContext)
    {
        if (TlsLevel.DaneBased(Level))
            SmtpDane.Init(this, config, dest, daneContext);
        if (Level == TlsLevel.Invalid)
            return;
        if (Level > TlsLevel.None && Protocols == null)
            Protocols = Level == TlsLevel.May ? config.Protocols : config.MandatoryProtocols;
        if (Level > TlsLevel.None && Sni == null)
        {
            if (config.ServerName.Length == 0 || ValidSni(config.ServerName) || config.ServerName is "hostname" or "nexthop")
            {
                Sni = config.ServerName;
            }
            else
            {
                Msg.Warn($"\"{config.Prefix}_tls_servername = {config.ServerName}\" specifies an invalid hostname");
                MarkInvalid();
                return;
            }
        }
        SetCipherGrade(config);
        switch (Level)
        {
            case TlsLevel.Fingerprint:
                if (Fingerprints == null)
                {
                    AddFingerprints(config.FingerprintCertMatch, CommaSpace);
                    if (Fingerprints == null)
                    {
                        Msg.Warn($"nexthop domain {dest}: configured at fingerprint security level, but with no fingerprints to match.");
                        MarkInvalid();
                        return;
                    }
                }
                break;
            case TlsLevel.Verify:
            case TlsLevel.Secure:
                Match ??= new List<string>((Level == TlsLevel.Verify ? config.VerifyCertMatch : config.SecureCertMatch)
                    .Split(CommaSpaceColon, StringSplitOptions.RemoveEmptyEntries));
                if (config.TrustAnchorFile.Length > 0 && TrustAnchorCerts == null && TrustAnchorKeys == null)
                {
                    foreach (var file in config.TrustAnchorFile.Split(CommaSpace, StringSplitOptions.RemoveEmptyEntries))
                        if (!LoadTrustFile(file))
                        {
                            MarkInvalid();
                            return;
                        }
                }
                break;
        }
    }

    // SetCipherGrade - set_cipher_grade(): the grade and the exclusions.
    private void SetCipherGrade(SmtpTlsConfig config)
    {
        var mandExclude = "";
        var alsoExclude = "";
        switch (Level)
        {
            case TlsLevel.Invalid:
            case TlsLevel.None:
                return;
            case TlsLevel.May:
                Grade ??= config.Ciphers;
                break;
            case TlsLevel.Encrypt:
                Grade ??= config.MandatoryCiphers;
                mandExclude = config.MandatoryExcludeCiphers;
                alsoExclude = "eNULL";
                break;
            default:
                Grade ??= config.MandatoryCiphers;
                mandExclude = config.MandatoryExcludeCiphers;
                alsoExclude = "aNULL";
                break;
        }
        if (Exclusions == null)
        {
            Exclusions = config.ExcludeCiphers;
            if (mandExclude.Length > 0)
                Exclusions += (Exclusions.Length > 0 ? " " : "") + mandExclude;
        }
        if (alsoExclude.Length > 0)
            Exclusions += (Exclusions.Length > 0 ? " " : "") + alsoExclude;
    }
}
