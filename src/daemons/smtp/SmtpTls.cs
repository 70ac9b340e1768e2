// NAME
//	SmtpTls - the STARTTLS handshake of the SMTP/LMTP client
// POSTFIX
//	src/smtp/smtp_proto.c (smtp_start_tls), src/tls/tls_client.c
//	(tls_client_start, add_namechecks, tls_auth_enable),
//	src/tls/tls_verify.c (tls_log_verify_error), src/tls/tls_misc.c
//	(tls_log_summary, tls_proto_mask_lims)
// DESCRIPTION
//	Start() runs the handshake over SslStream with the policy's
//	protocols, SNI name, cipher exclusions and client certificate.
//	Like the reference it finishes the handshake whatever the server
//	certificate is, and then judges it: trusted when the chain leads to
//	smtp_tls_CAfile/CApath (or the trust anchors), matched when also
//	the names (match list: hostname, nexthop, dot-nexthop, names and
//	.domains) agree, or, at the fingerprint level, when a digest of the
//	certificate or its public key is listed; DANE levels use the TLSA
//	records. The caller defers with "Server certificate not verified"
//	when a level that must match did not. Logged (smtp_tls_loglevel 1):
//	the verification failure at the levels that must match, and the
//	summary "Untrusted|Trusted|Verified TLS connection established to
//	HOST[ADDR]:PORT: PROTOCOL with cipher NAME (BITS/BITS bits)"; the
//	key-exchange and signature details are filled in from what .NET
//	knows (the group is not exposed: X25519, OpenSSL's first choice,
//	is assumed). Cipher grades and exclusions are evaluated by the
//	system OpenSSL (SmtpCiphers); a failed handshake is logged as
//	"SSL_connect error to HOST[ADDR]:PORT: ..." (HandshakeError).
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Postfix.Util;

namespace Postfix.Daemons.Smtp;

internal sealed class SmtpTlsResult
{
    public SslStream? Stream { get; init; }
    public bool Matched { get; init; }
    public int Level { get; init; }
}

internal static class SmtpTls
{
    // Parse - the level number of a smtp_tls_security_level value.
    public static int Parse(string level) => SmtpTlsPolicy.GlobalLevel(level);

    public static bool Required(int level) => TlsLevel.Required(level);

    private static readonly char[] ProtoDelims = { ',', ' ', '\t', '\r', '\n', ':' };

    private static readonly string[] ProtocolNames = { "SSLv2", "SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3" };

    // ProtocolMask - tls_proto_mask_lims(): the protocols among TLSv1
    // to TLSv1.3 that the list leaves (SSLv2 and SSLv3 are never
    // offered), null for an invalid list.
    internal static SslProtocols? ProtocolMask(string list)
    {
        var floor = 0;
        var ceiling = ProtocolNames.Length - 1;
        var include = new HashSet<int>();
        var exclude = new HashSet<int>();
        foreach (var tok in list.Split(ProtoDelims, StringSplitOptions.RemoveEmptyEntries))
        {
            if (tok.StartsWith(">=", StringComparison.Ordinal) || tok.StartsWith("<=", StringComparison.Ordinal))
            {
                var name = tok[2..];
                var i = Array.IndexOf(ProtocolNames, name);
                if (i < 2 && name.Length > 0)
                    return null;
                if (name.Length == 0)
                    continue;
                if (tok[0] == '>')
                    floor = i;
                else
                    ceiling = i;
            }
            else if (tok[0] == '!')
            {
                var i = Array.IndexOf(ProtocolNames, tok[1..]);
                if (i < 0)
                    return null;
                exclude.Add(i);
            }
            else
            {
                var i = Array.IndexOf(ProtocolNames, tok);
                if (i < 0)
                    return null;
                include.Add(i);
            }
        }
        bool Allowed(int i) => i >= floor && i <= ceiling && !exclude.Contains(i) && (include.Count == 0 || include.Contains(i));
        var mask = SslProtocols.None;
        // TLSv1 and TLSv1.1 are asked for when the list leaves them, as
        // the reference does; the system library has the last word.
#pragma warning disable SYSLIB0039, CA5397
        if (Allowed(2))
            mask |= SslProtocols.Tls;
        if (Allowed(3))
            mask |= SslProtocols.Tls11;
#pragma warning restore SYSLIB0039, CA5397
        if (Allowed(4))
            mask |= SslProtocols.Tls12;
        if (Allowed(5))
            mask |= SslProtocols.Tls13;
        return mask;
    }

    // CipherPolicy - the default suites less the exclusions (tokens of
    // OpenSSL cipher names: AES256, CHACHA20, ECDHE, kRSA, SHA1 ...);
    // null when nothing is excluded.
    internal static CipherSuitesPolicy? CipherPolicy(string exclusions)
    {
        var tokens = exclusions.Split(ProtoDelims, StringSplitOptions.RemoveEmptyEntries)
            .Where(t => t is not ("aNULL" or "eNULL" or "NULL" or "EXPORT" or "LOW" or "RC4" or "DES" or "3DES" or "MD5"))
            .ToList();
        if (tokens.Count == 0)
            return null;
        var suites = DefaultSuites.Where(s => !tokens.Any(t => Excluded(s, t))).ToList();
        return new CipherSuitesPolicy(suites);
    }

    private static readonly TlsCipherSuite[] DefaultSuites =
    {
        TlsCipherSuite.TLS_AES_256_GCM_SHA384, TlsCipherSuite.TLS_CHACHA20_POLY1305_SHA256, TlsCipherSuite.TLS_AES_128_GCM_SHA256,
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        TlsCipherSuite.TLS_DHE_RSA_WITH_AES_256_GCM_SHA384, TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, TlsCipherSuite.TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        TlsCipherSuite.TLS_DHE_RSA_WITH_AES_128_GCM_SHA256, TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384, TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256, TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA, TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, TlsCipherSuite.TLS_RSA_WITH_AES_256_GCM_SHA384,
        TlsCipherSuite.TLS_RSA_WITH_AES_128_GCM_SHA256, TlsCipherSuite.TLS_RSA_WITH_AES_256_CBC_SHA256,
        TlsCipherSuite.TLS_RSA_WITH_AES_128_CBC_SHA256, TlsCipherSuite.TLS_RSA_WITH_AES_256_CBC_SHA,
        TlsCipherSuite.TLS_RSA_WITH_AES_128_CBC_SHA,
    };

    private static bool Excluded(TlsCipherSuite suite, string token)
    {
        var openssl = OpenSslName(suite);
        if (token.Equals(openssl, StringComparison.OrdinalIgnoreCase) || token.Equals(suite.ToString(), StringComparison.OrdinalIgnoreCase))
            return true;
        var parts = openssl.Split('-');
        var tls13 = suite.ToString().IndexOf("_WITH_", StringComparison.Ordinal) < 0;
        return token switch
        {
            "kRSA" or "aRSA" when token == "kRSA" => !tls13 && suite.ToString().StartsWith("TLS_RSA_", StringComparison.Ordinal),
            "aRSA" => suite.ToString().Contains("_RSA_", StringComparison.Ordinal),
            "aECDSA" or "ECDSA" => suite.ToString().Contains("ECDSA", StringComparison.Ordinal),
            "kEECDH" or "EECDH" or "kECDHE" or "ECDHE" => suite.ToString().Contains("ECDHE", StringComparison.Ordinal),
            "kEDH" or "EDH" or "kDHE" or "DHE" => suite.ToString().StartsWith("TLS_DHE_", StringComparison.Ordinal),
            "AESGCM" => suite.ToString().Contains("GCM", StringComparison.Ordinal),
            "AES" => suite.ToString().Contains("AES", StringComparison.Ordinal),
            "SHA1" or "SHA" => suite.ToString().EndsWith("_SHA", StringComparison.Ordinal),
            _ => parts.Contains(token, StringComparer.OrdinalIgnoreCase),
        };
    }

    // OpenSslName - the OpenSSL spelling of a suite (TLS 1.3 names are the same).
    internal static string OpenSslName(TlsCipherSuite suite)
    {
        var iana = suite.ToString();
        var with = iana.IndexOf("_WITH_", StringComparison.Ordinal);
        if (with < 0)
            return iana;
        var kx = iana[4..with];
        var rest = iana[(with + 6)..];
        var sb = new StringBuilder();
        switch (kx)
        {
            case "RSA":
                break;
            case "ECDHE_RSA":
                sb.Append("ECDHE-RSA-");
                break;
            case "ECDHE_ECDSA":
                sb.Append("ECDHE-ECDSA-");
                break;
            case "DHE_RSA":
                sb.Append("DHE-RSA-");
                break;
            default:
                sb.Append(kx.Replace('_', '-')).Append('-');
                break;
        }
        rest = rest.Replace("AES_256_", "AES256-", StringComparison.Ordinal).Replace("AES_128_", "AES128-", StringComparison.Ordinal)
            .Replace("CHACHA20_POLY1305_SHA256", "CHACHA20-POLY1305", StringComparison.Ordinal);
        rest = rest.Replace("CBC_", "", StringComparison.Ordinal).Replace('_', '-');
        sb.Append(rest);
        return sb.ToString();
    }

    private static int CipherBits(TlsCipherSuite suite)
    {
        var name = suite.ToString();
        return name.Contains("AES_128", StringComparison.Ordinal) ? 128 : 256;
    }

    // Start - the handshake and the certificate checks; null Stream
    // with reason when the handshake failed.
    public static SmtpTlsResult Start(Stream inner, SmtpTlsPolicy policy, SmtpTlsConfig config, string host, string nexthop,
        string namAddrPort, int timeoutSeconds, out string reason)
    {
        reason = "Cannot start TLS: handshake failure";
        var level = policy.Level;
        var logUntrusted = TlsLevel.MustMatch(level);
        if (!config.Usable)
            return new SmtpTlsResult { Level = level };
        var protocols = ProtocolMask(policy.Protocols ?? "");
        if (protocols == null)
        {
            Msg.Warn($"{namAddrPort}: Invalid TLS protocol list \"{policy.Protocols}\": aborting TLS session");
            return new SmtpTlsResult { Level = level };
        }
        // The cipher grade and exclusions, as OpenSSL selects them.
        CipherSuitesPolicy? ciphers = null;
        if (policy.Grade != null)
        {
            var cipherList = SmtpCiphers.CipherList(policy.Grade, policy.Exclusions ?? "", config, namAddrPort);
            if (cipherList == null)
                return new SmtpTlsResult { Level = level };
            var suites = SmtpCiphers.Select(cipherList, namAddrPort, policy.Grade);
            if (suites != null && !SmtpCiphers.HasTls12Suites(suites))
                return new SmtpTlsResult { Level = level };
            if (Msg.Verbose > 0 || config.LogLevel >= 2)
                Msg.Info($"{namAddrPort}: TLS cipher list \"{cipherList}\"");
            ciphers = suites != null ? new CipherSuitesPolicy(suites) : CipherPolicy(policy.Exclusions ?? "");
        }
        else
        {
            ciphers = CipherPolicy(policy.Exclusions ?? "");
        }
        if (protocols == SslProtocols.None)
        {
            // What OpenSSL says when no protocol is left to offer.
            Msg.Info($"SSL_connect error to {namAddrPort}: -1");
            Msg.Warn("TLS library problem: error:0A0000BF:SSL routines::no protocols available:");
            return new SmtpTlsResult { Level = level };
        }
        if (level == TlsLevel.Fingerprint)
            _ = SmtpTlsVerify.UsableFingerprints(policy, config, namAddrPort);
        if (TlsLevel.DaneBased(level) && policy.Dane != null && policy.Dane.Enable(namAddrPort) == 0)
        {
            if (level == TlsLevel.DaneOnly)
            {
                Msg.Warn($"{namAddrPort}: all TLSA records unusable");
            }
            else
            {
                Msg.Warn($"{namAddrPort}: all TLSA records unusable, fallback to unauthenticated TLS");
                level = TlsLevel.Encrypt;
            }
        }
        string? sni = null;
        if (TlsLevel.DaneBased(level) && policy.Dane != null)
            sni = policy.Dane.BaseDomain;
        else if (!string.IsNullOrEmpty(policy.Sni))
            sni = policy.Sni == "hostname" ? host : policy.Sni == "nexthop" ? nexthop : policy.Sni;
        X509Certificate2? peer = null;
        X509Certificate2Collection? peerChain = null;
        // The certificate is judged after the handshake (SmtpTlsVerify), as
        // the reference does: the session must complete for the deferral
        // and the QUIT to go over it.
#pragma warning disable CA5359
        var ssl = new SslStream(inner, leaveInnerStreamOpen: true, (_, cert, chain, _) =>
        {
            if (cert != null)
                peer = new X509Certificate2(cert);
            if (chain != null)
            {
                peerChain = new X509Certificate2Collection();
                foreach (var c in chain.ChainPolicy.ExtraStore)
                    peerChain.Add(c);
            }
            return true;
        });
#pragma warning restore CA5359
        try
        {
            var options = new SslClientAuthenticationOptions
            {
                TargetHost = sni ?? "",
                EnabledSslProtocols = protocols.Value,
                CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            };
            if (ciphers != null)
                options.CipherSuitesPolicy = ciphers;
            if (config.ClientCertificate != null)
            {
                options.ClientCertificateContext = SslStreamCertificateContext.Create(config.ClientCertificate,
                    config.ClientChain, offline: true);
            }
            var task = ssl.AuthenticateAsClientAsync(options);
            if (!task.Wait(Math.Max(1, timeoutSeconds) * 1000))
            {
                Msg.Info($"SSL_connect error to {namAddrPort}: Connection timed out");
                ssl.Dispose();
                return new SmtpTlsResult { Level = level };
            }
        }
        catch (Exception e) when (e is AggregateException or IOException or AuthenticationException or PlatformNotSupportedException
            or CryptographicException or InvalidOperationException)
        {
            LogHandshakeError(e, namAddrPort);
            ssl.Dispose();
            return new SmtpTlsResult { Level = level };
        }
        var trusted = false;
        var matched = false;
        var secured = false;
        string? error = null;
        if (peer != null)
        {
            var verdict = SmtpTlsVerify.Check(peer, peerChain ?? new X509Certificate2Collection(), policy, config, host, nexthop,
                namAddrPort, level);
            trusted = verdict.Trusted;
            error = verdict.Error;
            level = verdict.Level;
            if (trusted && TlsLevel.MustMatch(level))
            {
                matched = true;
                secured = !TlsLevel.NeverSecured(level);
            }
            if (config.LogLevel >= 2)
                Msg.Info($"{namAddrPort}: subject_CN={SmtpTlsVerify.CommonName(peer.SubjectName)}, "
                    + $"issuer_CN={SmtpTlsVerify.CommonName(peer.IssuerName)}, "
                    + $"fingerprint={SmtpTlsVerify.Fingerprint(peer.RawData, config)}, "
                    + $"pkey_fingerprint={SmtpTlsVerify.Fingerprint(peer.PublicKey.ExportSubjectPublicKeyInfo(), config)}");
            if (!matched && logUntrusted && error != null)
                Msg.Info(error);
        }
        if (config.LogLevel >= 1)
            Msg.Info(Summary(peer, secured, trusted, namAddrPort, ssl));
        return new SmtpTlsResult { Stream = ssl, Matched = matched, Level = level };
    }

    // LogHandshakeError - what tls_client_start() logs when the
    // handshake fails: the library's error (an OpenSSL error string that
    // .NET passes on, without OpenSSL's source location), a system
    // error, or a lost connection.
    internal static void LogHandshakeError(Exception e, string namAddrPort)
    {
        if (Msg.Verbose > 0)
            Msg.Info($"{namAddrPort}: TLS handshake: {e}");
        var (kind, text) = HandshakeError(e);
        switch (kind)
        {
            case HandshakeErrorKind.Library:
                Msg.Info($"SSL_connect error to {namAddrPort}: -1");
                Msg.Warn($"TLS library problem: {text}:");
                break;
            case HandshakeErrorKind.System:
                Msg.Info($"SSL_connect error to {namAddrPort}: {text}");
                break;
            default:
                Msg.Info($"SSL_connect error to {namAddrPort}: lost connection");
                break;
        }
    }

    private static readonly char[] LineEnds = { '\r', '\n' };

    internal enum HandshakeErrorKind
    {
        Lost,
        System,
        Library,
    }

    // HandshakeError - what went wrong in a failed handshake: an OpenSSL
    // error string ("error:HEX:LIB:FUNC:REASON") or another complaint
    // about what the peer sent (.NET checks the TLS records itself before
    // OpenSSL sees them), a socket error, or end of file.
    internal static (HandshakeErrorKind, string) HandshakeError(Exception e)
    {
        var queue = new Stack<Exception>();
        queue.Push(e);
        Exception? innermost = null;
        var socketError = "";
        var eof = false;
        while (queue.Count > 0)
        {
            var x = queue.Pop();
            if (x is AggregateException agg)
            {
                foreach (var inner in agg.InnerExceptions)
                    queue.Push(inner);
                continue;
            }
            var at = x.Message.IndexOf("error:", StringComparison.Ordinal);
            if (at >= 0 && x.Message.Length > at + 14 && Uri.IsHexDigit(x.Message[at + 6]))
            {
                var text = x.Message[at..].Trim();
                var nl = text.IndexOfAny(LineEnds);
                return (HandshakeErrorKind.Library, nl >= 0 ? text[..nl] : text);
            }
            if (x is System.Net.Sockets.SocketException se && socketError.Length == 0)
                socketError = Sys.StrError(se.ErrorCode);
            // The texts, or under NativeAOT the resource keys (net_io_eof,
            // net_auth_eof) of .NET's end-of-file complaints.
            if (x.Message.Contains("eof", StringComparison.OrdinalIgnoreCase) || x.Message.Contains("0 bytes", StringComparison.Ordinal)
                || x.Message.Contains("closed the transport stream", StringComparison.Ordinal))
                eof = true;
            if (x.InnerException != null)
                queue.Push(x.InnerException);
            else
                innermost ??= x;
        }
        if (socketError.Length > 0)
            return (HandshakeErrorKind.System, socketError);
        if (eof || innermost == null)
            return (HandshakeErrorKind.Lost, "");
        return (HandshakeErrorKind.Library, innermost.Message.Trim());
    }

    // Summary - tls_log_summary() for the client.
    private static string Summary(X509Certificate2? peer, bool secured, bool trusted, string namAddrPort, SslStream ssl)
    {
        var trust = peer == null ? "Anonymous" : secured ? "Verified" : trusted ? "Trusted" : "Untrusted";
#pragma warning disable SYSLIB0039, CA5397
        var protocol = ssl.SslProtocol switch
        {
            SslProtocols.Tls13 => "TLSv1.3",
            SslProtocols.Tls12 => "TLSv1.2",
            SslProtocols.Tls11 => "TLSv1.1",
            SslProtocols.Tls => "TLSv1",
            var p => p.ToString(),
        };
#pragma warning restore SYSLIB0039, CA5397
        var suite = ssl.NegotiatedCipherSuite;
        var bits = CipherBits(suite);
        var sb = new StringBuilder();
        sb.Append(trust).Append(" TLS connection established to ").Append(namAddrPort).Append(": ").Append(protocol)
            .Append(" with cipher ").Append(OpenSslName(suite)).Append(" (").Append(bits).Append('/').Append(bits).Append(" bits)");
        // The TLS 1.3 details (tls_get_signature_params()).
        if (ssl.SslProtocol != SslProtocols.Tls13)
            return sb.ToString();
        sb.Append(" key-exchange X25519");
        if (peer != null)
            AppendSignature(sb, "server", peer);
        if (ssl.LocalCertificate is { } mine)
        {
            using var local = new X509Certificate2(mine);
            AppendSignature(sb, "client", local);
        }
        return sb.ToString();
    }

    private static void AppendSignature(StringBuilder sb, string role, X509Certificate2 cert)
    {
        using var rsa = cert.GetRSAPublicKey();
        if (rsa != null)
        {
            sb.Append(' ').Append(role).Append("-signature RSA-PSS (").Append(rsa.KeySize).Append(" bits) ")
                .Append(role).Append("-digest SHA256");
            return;
        }
        using var ec = cert.GetECDsaPublicKey();
        if (ec != null)
        {
            var curve = ec.KeySize switch { 256 => "prime256v1", 384 => "secp384r1", 521 => "secp521r1", _ => "" };
            sb.Append(' ').Append(role).Append("-signature ECDSA (").Append(curve).Append(") ").Append(role).Append("-digest ")
                .Append(ec.KeySize switch { 384 => "SHA384", 521 => "SHA512", _ => "SHA256" });
        }
    }
}
