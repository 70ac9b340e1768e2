// NAME
//	SmtpdTlsLayer - STARTTLS and TLS wrapper mode for smtpd
// POSTFIX
//	src/smtpd/smtpd.c (starttls_cmd, smtpd_start_tls, tls_reset, the
//	Received: header TLS comment), src/tls/tls_server.c, tls_misc.c
//	(tls_log_summary)
// DESCRIPTION
//	The process loads the server certificate once (smtpd_tls_chain_files
//	or smtpd_tls_cert_file/smtpd_tls_key_file); a session turns TLS on
//	with .NET's SslStream under the SMTP stream, after STARTTLS or right
//	after connect in wrapper mode. The negotiated protocol and cipher
//	are reported with OpenSSL's names, as the reference logs them and
//	writes them into the Received: header. One certificate context per
//	process lets clients resume sessions; whether a handshake did is read
//	from the stream's OpenSSL handle (a resumed session is not a new one
//	for smtpd_client_new_tls_session_rate_limit).
// The reference's protocol names, digests (md5/sha1 fingerprints are a
// configuration choice) and opportunistic TLS (any client certificate is
// accepted and only marked trusted or not) are deliberate.
#pragma warning disable CA5397, CA5359, CA5351, CA5350
using System;
using System.Collections.Generic;
using System.IO;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Postfix.Daemons.SmtpdCheck;
using Postfix.Global.Config;
using Postfix.Util;

namespace Postfix.Daemons.Smtpd;

// SmtpdTlsContext - the process's server side TLS set-up.
internal sealed class SmtpdTlsContext
{
    public X509Certificate2 Certificate = null!;
    public SslProtocols Protocols;
    public bool AskClientCert;
    public int LogLevel;
    public string FingerprintDigest = "sha256";
    public int StartTlsTimeout;

    // One certificate context for the process: .NET then keeps one
    // OpenSSL server context, whose session cache and ticket keys let
    // clients resume their sessions.
    private SslStreamCertificateContext? certificateContext;

    public SslStreamCertificateContext CertificateContext =>
        System.Threading.LazyInitializer.EnsureInitialized(ref certificateContext,
            () => SslStreamCertificateContext.Create(Certificate, null, offline: true));

    // Load - TLS_SERVER_INIT(): null (with the reference's warning) when
    // there is no usable certificate.
    public static SmtpdTlsContext? Load(MailConf conf, bool enforceTls)
    {
        var askCcert = conf.Bool("smtpd_tls_ask_ccert") || (enforceTls && conf.Bool("smtpd_tls_req_ccert"));
        var certFile = conf.Eval("smtpd_tls_cert_file");
        var noCertOk = string.Equals(certFile, "none", StringComparison.OrdinalIgnoreCase);
        if (noCertOk)
            certFile = "";
        var chain = conf.Eval("smtpd_tls_chain_files");
        var haveCert = certFile.Length > 0 || conf.Eval("smtpd_tls_eccert_file").Length > 0
            || conf.Eval("smtpd_tls_dcert_file").Length > 0;
        if (chain.Length > 0)
        {
            if (!haveCert)
                haveCert = true;
            else
                Msg.Warn("Both smtpd_tls_chain_files and one or more of the legacy  smtpd_tls_cert_file, smtpd_tls_eccert_file or smtpd_tls_dcert_file are non-empty; the legacy  parameters will be ignored");
        }
        if (!haveCert && askCcert)
            Msg.Warn("Need a server cert to request client certs");
        if (!enforceTls && conf.Bool("smtpd_tls_req_ccert"))
            Msg.Warn("Can't require client certs unless TLS is required");
        if (!haveCert)
        {
            Msg.Warn("No server certs available. TLS won't be enabled");
            return null;
        }
        X509Certificate2 cert;
        try
        {
            if (chain.Length > 0)
            {
                var files = chain.Split([',', ' ', '\t', '\r', '\n'], StringSplitOptions.RemoveEmptyEntries);
                var pem = new StringBuilder();
                foreach (var f in files)
                    pem.Append(File.ReadAllText(f)).Append('\n');
                cert = X509Certificate2.CreateFromPem(pem.ToString(), pem.ToString());
            }
            else
            {
                var keyFile = conf.Eval("smtpd_tls_key_file");
                if (keyFile.Length == 0)
                    keyFile = certFile;
                cert = X509Certificate2.CreateFromPemFile(certFile, keyFile);
            }
        }
        catch (Exception e) when (e is IOException or CryptographicException or UnauthorizedAccessException or ArgumentException)
        {
            Msg.Warn($"cannot load certificate and key: {e.Message}");
            Msg.Warn("TLS library problem: could not load the server certificate");
            return null;
        }
        var ctx = new SmtpdTlsContext
        {
            Certificate = cert,
            AskClientCert = askCcert,
            LogLevel = LogLevelOf(conf.Eval("smtpd_tls_loglevel")),
            FingerprintDigest = conf.Eval("smtpd_tls_fingerprint_digest").ToLowerInvariant(),
            StartTlsTimeout = SmtpdConfig.Time(conf, "smtpd_starttls_timeout"),
            Protocols = ParseProtocols(conf.Eval(enforceTls ? "smtpd_tls_mandatory_protocols" : "smtpd_tls_protocols")),
        };
        return ctx;
    }

    private static int LogLevelOf(string v) =>
        int.TryParse(v, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var n) ? n : 1;

    private static readonly (string Name, SslProtocols Bit)[] ProtocolNames =
    [
#pragma warning disable SYSLIB0039 // the reference still knows TLSv1 and TLSv1.1
        ("TLSv1", SslProtocols.Tls),
        ("TLSv1.1", SslProtocols.Tls11),
#pragma warning restore SYSLIB0039
        ("TLSv1.2", SslProtocols.Tls12),
        ("TLSv1.3", SslProtocols.Tls13),
    ];

    // ParseProtocols - ">=TLSv1", "!SSLv2, !SSLv3", "TLSv1.2 TLSv1.3".
    public static SslProtocols ParseProtocols(string spec)
    {
        var all = SslProtocols.Tls12 | SslProtocols.Tls13;
        var include = SslProtocols.None;
        var exclude = SslProtocols.None;
        int? min = null, max = null;
        foreach (var raw in spec.Split([',', ' ', ':', '\t'], StringSplitOptions.RemoveEmptyEntries))
        {
            var t = raw;
            if (t.StartsWith(">=", StringComparison.Ordinal))
            {
                min = Index(t[2..]);
                continue;
            }
            if (t.StartsWith("<=", StringComparison.Ordinal))
            {
                max = Index(t[2..]);
                continue;
            }
            var neg = t.StartsWith('!');
            if (neg)
                t = t[1..];
            var i = Index(t);
            if (i < 0)
                continue;
            if (neg)
                exclude |= ProtocolNames[i].Bit;
            else
                include |= ProtocolNames[i].Bit;
        }
        var result = include != SslProtocols.None ? include : all;
        for (var i = 0; i < ProtocolNames.Length; i++)
        {
            if ((min is { } lo && lo >= 0 && i < lo) || (max is { } hi && hi >= 0 && i > hi))
                result &= ~ProtocolNames[i].Bit;
        }
        result &= ~exclude;
        // The platform's OpenSSL refuses the old versions anyway.
        result &= SslProtocols.Tls12 | SslProtocols.Tls13;
        return result == SslProtocols.None ? SslProtocols.Tls12 | SslProtocols.Tls13 : result;
    }

    private static int Index(string name)
    {
        for (var i = 0; i < ProtocolNames.Length; i++)
        {
            if (string.Equals(ProtocolNames[i].Name, name, StringComparison.OrdinalIgnoreCase))
                return i;
        }
        return -1;
    }
}

internal sealed partial class SmtpdSession
{
    private X509Certificate2? peerCertificate;
    private bool peerTrusted;
    private string kexName = "", serverSigName = "", serverSigDigest = "";
    private bool tlsSessionReused;
    private int serverSigBits;

    private int StartTlsCmd(List<SmtpdToken> argv)
    {
        string? err;
        if (argv.Count != 1)
            return Refuse(MailErrorProtocol, "501 5.5.4 Syntax: STARTTLS");
        if (Milters != null && (err = Milters.OtherEvent()) != null)
        {
            if (err[0] == '5')
                return Refuse(MailErrorPolicy, err);
            if (err[0] == '4')
                return Refuse(MailErrorPolicy, "454 4.3.0 Try again later");
        }
        if (Tls != null)
            return Refuse(MailErrorProtocol, "554 5.5.1 Error: TLS already active");
        if (!Proc.UseTls || (EhloDiscardMask & EhloMask.StartTls) != 0)
            return Refuse(MailErrorProtocol, "502 5.5.1 Error: command not implemented");
        if (Proc.TlsContext == null)
            return Refuse(MailErrorSoftware, "454 4.7.0 TLS not available due to local problem");
        if (Config.NewTlsRateLimit > 0 && !StandAlone && !XclientAllowed && Proc.Anvil != null && !HoggerMatch()
            && Proc.Anvil.NewTlsStatus(Service, Addr, out var rate) && rate > Config.NewTlsRateLimit)
        {
            ErrorMask |= MailErrorPolicy;
            Msg.Warn($"Refusing STARTTLS request from {NamAddr} for service {Service}");
            Reply($"454 4.7.0 Error: too many new TLS sessions from {NamAddr}");
            return -1;
        }
        Reply("220 2.0.0 Ready to start TLS");
        Io.Flush();
        Io.DiscardInput();
        HeloReset();
        MailReset();
        RcptReset();
        StartTls();
        return 0;
    }

    // StartTlsWrapper - TLS right after connect (smtpd_tls_wrappermode);
    // false when the session must end.
    private bool StartTlsWrapper()
    {
        if (Proc.TlsContext == null)
        {
            Msg.Warn($"Wrapper-mode request dropped from {NamAddr} for service {Service}. TLS context initialization failed. For details see earlier warnings in your logs.");
            return false;
        }
        if (Config.NewTlsRateLimit > 0 && !XclientAllowed && Proc.Anvil != null && !HoggerMatch()
            && Proc.Anvil.NewTlsStatus(Service, Addr, out var rate) && rate > Config.NewTlsRateLimit)
        {
            ErrorMask |= MailErrorPolicy;
            Msg.Warn($"Refusing TLS service request from {NamAddr} for service {Service}");
            return false;
        }
        StartTls();
        return true;
    }

    // StartTls - smtpd_start_tls(): the handshake; unwinds the session
    // when it fails.
    private void StartTls()
    {
        var ctx = Proc.TlsContext!;
        var requireCert = Proc.RequireClientCert;
        if (ctx.LogLevel >= 2)
            Msg.Info($"setting up TLS connection from {NamAddr}");
        var ssl = new SslStream(Io.Stream, leaveInnerStreamOpen: true, (sender, cert, chain, errors) =>
        {
            peerTrusted = cert != null && errors == SslPolicyErrors.None;
            return true;
        });
        var options = new SslServerAuthenticationOptions
        {
            ServerCertificateContext = ctx.CertificateContext,
            ClientCertificateRequired = ctx.AskClientCert,
            EnabledSslProtocols = ctx.Protocols,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        };
        var saved = Io.TimeoutSec;
        Io.TimeoutSec = ctx.StartTlsTimeout;
        try
        {
            ssl.AuthenticateAsServer(options);
        }
        catch (Exception e) when (e is IOException or AuthenticationException or System.Net.Sockets.SocketException)
        {
            if (SmtpdStream.IsTimeout(e))
                Msg.Info($"SSL_accept error from {NamAddr}: -1");
            else if (e is IOException && e.InnerException == null)
                Msg.Info($"SSL_accept error from {NamAddr}: lost connection");
            else
                Msg.Info($"SSL_accept error from {NamAddr}: -1");
            ssl.Dispose();
            Io.TimeoutSec = saved;
            throw new SmtpdJump(SmtpdJump.Eof);
        }
        Io.TimeoutSec = saved;
        Io.Stream = ssl;
        Io.DiscardInput();
        FillTlsState(ssl, ctx);
        if (ctx.LogLevel >= 1)
            Msg.Info(TlsSummary());
        // A resumed session is not a new one.
        if (Config.NewTlsRateLimit > 0 && !tlsSessionReused && !StandAlone && !XclientAllowed && Proc.Anvil != null && !HoggerMatch()
            && Proc.Anvil.NewTls(Service, Addr, out var rate) && rate > Config.NewTlsRateLimit)
        {
            ErrorMask |= MailErrorPolicy;
            Msg.Warn($"New TLS session rate limit exceeded: {rate} from {NamAddr} for service {Service}");
            Reply($"421 4.7.0 {Config.MyHostname} Error: too many new TLS sessions from {NamAddr}");
            throw new SmtpdJump(SmtpdJump.Quiet);
        }
        if (requireCert && !Tls!.PeerCertTrusted)
        {
            var present = Tls.PeerCertPresent;
            Msg.Info($"NOQUEUE: abort: TLS from {NamAddr}: {(present ? "Client certificate not trusted" : "No client certificate presented")}");
            if (!Proc.TlsWrapperMode)
                Query();
            Reply($"421 4.7.1 {Config.MyHostname} Error: {(present ? "Client certificate not trusted" : "No client certificate presented")}");
            ErrorMask |= MailErrorPolicy;
            return;
        }
        SaslAfterTls();
    }

    private void FillTlsState(SslStream ssl, SmtpdTlsContext ctx)
    {
        var proto = ssl.SslProtocol switch
        {
            SslProtocols.Tls13 => "TLSv1.3",
            SslProtocols.Tls12 => "TLSv1.2",
#pragma warning disable SYSLIB0039
            SslProtocols.Tls11 => "TLSv1.1",
            SslProtocols.Tls => "TLSv1",
#pragma warning restore SYSLIB0039
            _ => ssl.SslProtocol.ToString(),
        };
        var (cipher, bits) = OpenSslCipherName(ssl.NegotiatedCipherSuite.ToString());
        var tls = new SmtpdTls
        {
            Protocol = proto,
            CipherName = cipher,
            CipherUseBits = bits,
            CipherAlgBits = bits,
        };
        tlsSessionReused = TlsSessionReuse.Reused(ssl);
        kexName = serverSigName = serverSigDigest = "";
        serverSigBits = 0;
        // The reference reports key exchange and signature for TLS 1.3
        // only; a resumed session made no signature (no digest).
        if (proto == "TLSv1.3")
            FillTls13Details(ctx, tlsSessionReused);
        if (ssl.RemoteCertificate != null)
        {
            peerCertificate = new X509Certificate2(ssl.RemoteCertificate);
            tls.PeerCertPresent = true;
            tls.PeerCertTrusted = peerTrusted;
            tls.PeerCN = peerCertificate.GetNameInfo(X509NameType.SimpleName, false);
            tls.IssuerCN = peerCertificate.GetNameInfo(X509NameType.SimpleName, true);
            tls.PeerCertFingerprint = Fingerprint(peerCertificate.RawData, ctx.FingerprintDigest);
            tls.PeerPubkeyFingerprint = Fingerprint(peerCertificate.PublicKey.ExportSubjectPublicKeyInfo(), ctx.FingerprintDigest);
        }
        Tls = tls;
    }

    private static string Fingerprint(byte[] data, string digest)
    {
        byte[] hash = digest switch
        {
            "md5" => MD5.HashData(data),
            "sha1" => SHA1.HashData(data),
            "sha512" => SHA512.HashData(data),
            "sha384" => SHA384.HashData(data),
            _ => SHA256.HashData(data),
        };
        return string.Join(':', Array.ConvertAll(hash, b => b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture)));
    }

    // OpenSslCipherName - the OpenSSL name and bits of an IANA suite name.
    public static (string Name, int Bits) OpenSslCipherName(string iana)
    {
        var bits = iana.Contains("AES_128", StringComparison.Ordinal) ? 128 : 256;
        if (iana.StartsWith("TLS_AES_", StringComparison.Ordinal) || iana.StartsWith("TLS_CHACHA20", StringComparison.Ordinal))
            return (iana, bits);
        var name = iana;
        if (name.StartsWith("TLS_", StringComparison.Ordinal))
            name = name[4..];
        var withAt = name.IndexOf("_WITH_", StringComparison.Ordinal);
        if (withAt < 0)
            return (iana, bits);
        var kx = name[..withAt].Replace('_', '-');
        var enc = name[(withAt + 6)..];
        string encName;
        if (enc.StartsWith("CHACHA20_POLY1305", StringComparison.Ordinal))
            encName = "CHACHA20-POLY1305";
        else
            encName = enc.Replace("AES_128_", "AES128-").Replace("AES_256_", "AES256-").Replace('_', '-');
        var result = kx == "RSA" ? encName : kx + "-" + encName;
        return (result, bits);
    }

    // FillTls13Details - tls_get_signature_params() for TLS 1.3: the key
    // exchange and the server's signature key.
    private void FillTls13Details(SmtpdTlsContext ctx, bool reused)
    {
        kexName = "X25519";
        using (var rsa = ctx.Certificate.GetRSAPublicKey())
        {
            if (rsa != null)
            {
                serverSigName = "RSA-PSS";
                serverSigBits = rsa.KeySize;
                serverSigDigest = reused ? "" : "SHA256";
            }
        }
        using (var ec = ctx.Certificate.GetECDsaPublicKey())
        {
            if (ec != null)
            {
                serverSigName = "ECDSA";
                serverSigBits = 0;
                serverSigDigest = reused ? "" : "SHA256";
            }
        }
    }

    // TlsSummary - tls_log_summary().
    private string TlsSummary()
    {
        var t = Tls!;
        var sb = new StringBuilder();
        sb.Append(!t.PeerCertPresent ? "Anonymous" : t.PeerCertTrusted ? "Trusted" : "Untrusted");
        sb.Append(" TLS connection established from ").Append(NamAddr).Append(": ").Append(t.Protocol)
            .Append(" with cipher ").Append(t.CipherName).Append(" (").Append(t.CipherUseBits).Append('/')
            .Append(t.CipherAlgBits).Append(" bits)");
        if (kexName.Length > 0)
            sb.Append(" key-exchange ").Append(kexName);
        if (serverSigName.Length > 0)
        {
            sb.Append(" server-signature ").Append(serverSigName);
            if (serverSigName == "ECDSA")
                sb.Append(" (prime256v1)");
            else if (serverSigBits > 0)
                sb.Append(" (").Append(serverSigBits).Append(" bits)");
            if (serverSigDigest.Length > 0)
                sb.Append(" server-digest ").Append(serverSigDigest);
        }
        return sb.ToString();
    }

    // TlsReceivedLines - the Received: header's TLS comment.
    private IEnumerable<string> TlsReceivedLines()
    {
        var t = Tls!;
        var first = $"\t(using {t.Protocol} with cipher {t.CipherName} ({t.CipherUseBits}/{t.CipherAlgBits} bits)";
        var lines = new List<string>();
        if (kexName.Length > 0)
        {
            lines.Add(first);
            var second = "\t key-exchange " + kexName;
            if (serverSigName.Length > 0)
            {
                second += " server-signature " + serverSigName;
                if (serverSigName == "ECDSA")
                    second += " (prime256v1)";
                else if (serverSigBits > 0)
                    second += $" ({serverSigBits} bits)";
                if (serverSigDigest.Length > 0)
                    second += " server-digest " + serverSigDigest;
            }
            lines.Add(second + ")");
        }
        else
        {
            lines.Add(first + ")");
        }
        if (t.PeerCertPresent)
            lines.Add($"\t(Client CN \"{CommentSanitize(t.PeerCN)}\", Issuer \"{CommentSanitize(t.IssuerCN)}\" ({(t.PeerCertTrusted ? "verified OK" : "not verified")}))");
        else if (Proc.Config.Conf.Bool("smtpd_tls_ask_ccert"))
            lines.Add("\t(Client did not present a certificate)");
        else
            lines.Add("\t(No client certificate requested)");
        return lines;
    }

    // TlsReset - tls_reset(): shut TLS down at the end of the session.
    private void TlsReset()
    {
        if (Tls == null)
            return;
        if (Io.Stream is SslStream ssl)
        {
            try
            {
                Io.TryFlush();
                ssl.ShutdownAsync().Wait(1000);
            }
            catch (Exception e) when (e is IOException or AggregateException or ObjectDisposedException or InvalidOperationException)
            {
            }
        }
        Tls = null;
        peerCertificate?.Dispose();
        peerCertificate = null;
    }
}

// TlsSessionReuse - whether a server handshake resumed a session
// (SSL_session_reused()). .NET keeps one OpenSSL context per server
// certificate in the process, so clients resume sessions (tickets and the
// session cache), but it does not say so: the answer comes from the
// stream's OpenSSL handle. Where that handle cannot be found (another
// runtime's layout) every session counts as new.
internal static class TlsSessionReuse
{
    [System.Runtime.InteropServices.DllImport("libssl.so.3", EntryPoint = "SSL_session_reused")]
    private static extern int SslSessionReused(IntPtr ssl);

    private static bool unavailable;

    private const System.Reflection.BindingFlags Private =
        System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance;

    [System.Diagnostics.CodeAnalysis.DynamicDependency("_securityContext", typeof(SslStream))]
    [System.Diagnostics.CodeAnalysis.DynamicDependency(System.Diagnostics.CodeAnalysis.DynamicallyAccessedMemberTypes.NonPublicFields,
        "System.Net.Security.SafeDeleteSslContext", "System.Net.Security")]
    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2075", Justification = "The fields are kept by DynamicDependency.")]
    public static bool Reused(SslStream ssl)
    {
        if (unavailable)
            return false;
        try
        {
            // The stream's security context is the OpenSSL handle itself
            // (newer runtimes) or holds it in _sslContext.
            var context = typeof(SslStream).GetField("_securityContext", Private)?.GetValue(ssl);
            if (context != null && context.GetType().Name != "SafeSslHandle")
                context = context.GetType().GetField("_sslContext", Private)?.GetValue(context);
            if (context is System.Runtime.InteropServices.SafeHandle handle
                && handle.GetType().Name == "SafeSslHandle" && !handle.IsInvalid)
            {
                var added = false;
                handle.DangerousAddRef(ref added);
                try
                {
                    return SslSessionReused(handle.DangerousGetHandle()) == 1;
                }
                finally
                {
                    if (added)
                        handle.DangerousRelease();
                }
            }
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or InvalidOperationException
                                      or NotSupportedException or MemberAccessException or ObjectDisposedException)
        {
        }
        unavailable = true;
        return false;
    }
}
