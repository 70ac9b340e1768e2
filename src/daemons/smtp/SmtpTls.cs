// NAME
//	SmtpTls - STARTTLS for the SMTP/LMTP client
// POSTFIX
//	src/smtp/smtp_proto.c (smtp_start_tls), src/tls/tls_client.c,
//	src/tls/tls_misc.c (tls_log_summary)
// DESCRIPTION
//	Level() is the effective smtp_tls_security_level (the obsolete
//	smtp_enforce_tls/smtp_use_tls when it is empty). Start() wraps the
//	connection in an SslStream; the server certificate is checked only
//	for "verify" and "secure" (against the system trust store and the
//	server name). The summary line has the reference's shape:
//	"Anonymous|Untrusted|Trusted|Verified TLS connection established to
//	HOST[ADDR]:PORT: PROTOCOL with cipher NAME (BITS/BITS bits)"; the
//	key-exchange and signature details OpenSSL adds are not available.
using System;
using System.IO;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Postfix.Util;

namespace Postfix.Daemons.Smtp;

internal static class SmtpTls
{
    public const int None = 0;
    public const int May = 1;
    public const int Encrypt = 2;
    public const int Verify = 3;

    // Parse - the level number of a smtp_tls_security_level value.
    public static int Parse(string level) => level.ToLowerInvariant() switch
    {
        "may" or "dane" => May,
        "encrypt" => Encrypt,
        "fingerprint" or "verify" or "secure" or "dane-only" => Verify,
        _ => None,
    };

    public static bool Required(int level) => level >= Encrypt;

    // Start - the TLS handshake; null with a reason when it failed.
    public static SslStream? Start(Stream inner, string host, string namAddrPort, int level, int timeoutSeconds, out string reason)
    {
        reason = "";
        SslPolicyErrors errors = SslPolicyErrors.None;
        var present = false;
        var ssl = new SslStream(inner, leaveInnerStreamOpen: true, (_, cert, _, e) =>
        {
            present = cert != null;
            errors = e;
            return level < Verify || e == SslPolicyErrors.None;
        });
        try
        {
            var options = new SslClientAuthenticationOptions
            {
                TargetHost = host,
                EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            };
            var task = ssl.AuthenticateAsClientAsync(options);
            if (!task.Wait(Math.Max(1, timeoutSeconds) * 1000))
            {
                ssl.Dispose();
                reason = "Cannot start TLS: handshake failure";
                return null;
            }
        }
        catch (Exception e) when (e is AggregateException or IOException or AuthenticationException)
        {
            ssl.Dispose();
            if (level >= Verify && present && errors != SslPolicyErrors.None)
                reason = "Server certificate not verified";
            else
                reason = "Cannot start TLS: handshake failure";
            return null;
        }
        var trust = !present ? "Anonymous"
            : errors == SslPolicyErrors.None ? "Verified"
            : errors == SslPolicyErrors.RemoteCertificateNameMismatch ? "Trusted"
            : "Untrusted";
        var protocol = ssl.SslProtocol switch
        {
            SslProtocols.Tls13 => "TLSv1.3",
            SslProtocols.Tls12 => "TLSv1.2",
            var p => p.ToString(),
        };
        var cipher = ssl.NegotiatedCipherSuite.ToString();
        var bits = cipher.Contains("AES_128", StringComparison.Ordinal) ? 128 : 256;
        Msg.Info($"{trust} TLS connection established to {namAddrPort}: {protocol} with cipher {cipher} ({bits}/{bits} bits)");
        return ssl;
    }
}
