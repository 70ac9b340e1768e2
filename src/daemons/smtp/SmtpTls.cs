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
//	It is logged with smtp_tls_loglevel 1 or more.
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

    private static readonly string[] Levels =
        { "none", "may", "encrypt", "dane", "dane-only", "fingerprint", "verify", "secure" };

    private static readonly char[] NotInHostname = { '[', ']', ':', '/' };

    private static readonly char[] CommaSpace = { ',', ' ', '\t', '\r', '\n' };

    // PolicyLevel - tls_policy_lookup(): the level that smtp_tls_policy_maps
    // gives the next-hop destination as written ("[host]:port" and the
    // like are looked up as they are, a domain and then its parent
    // domains ".example.com" one by one); the global level when nothing
    // matches, null (with a warning) for an unusable entry.
    public static string? PolicyLevel(Postfix.Global.Dict.Maps? maps, string dest, string globalLevel)
    {
        if (maps == null)
            return globalLevel;
        var name = dest;
        var hostname = name.Length > 0 && name.IndexOfAny(NotInHostname) < 0;
        while (true)
        {
            var where = $"{maps.Title}, next-hop destination \"{name}\"";
            var value = maps.Find(name);
            if (value != null)
            {
                var words = value.Split(CommaSpace, StringSplitOptions.RemoveEmptyEntries);
                if (words.Length == 0)
                {
                    Msg.Warn($"{where}: invalid empty policy");
                    return null;
                }
                var level = words[0].ToLowerInvariant();
                if (Array.IndexOf(Levels, level) < 0)
                {
                    Msg.Warn($"{where}: invalid security level \"{words[0]}\"");
                    return null;
                }
                if (level == "none")
                    for (var i = 1; i < words.Length; i++)
                        Msg.Warn($"{where}: ignoring attribute \"{words[i]}\" with TLS disabled");
                return level;
            }
            if (maps.Error != Postfix.Global.Dict.DictError.None)
            {
                Msg.Warn($"{where}: policy table lookup error");
                return null;
            }
            if (!hostname)
                return globalLevel;
            var dot = name.IndexOf('.', 1);
            if (dot < 0)
                return globalLevel;
            name = name[dot..];
        }
    }

    // Start - the TLS handshake; null with a reason when it failed.
    public static SslStream? Start(Stream inner, string host, string namAddrPort, int level, int timeoutSeconds, int logLevel,
        out string reason)
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
        if (logLevel >= 1)
            Msg.Info($"{trust} TLS connection established to {namAddrPort}: {protocol} with cipher {cipher} ({bits}/{bits} bits)");
        return ssl;
    }
}
