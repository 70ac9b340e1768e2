// NAME
//	SmtpTlsTests - unit tests of the client TLS policy, certificate
//	checks and DANE matching
using System;
using System.Collections.Generic;
using System.IO;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Threading.Tasks;
using Postfix.Global.Dict;
using Postfix.Util;
using Shouldly;
using Xunit;

namespace Postfix.Daemons.Smtp.Tests;

[Collection("Msg")]
public sealed class SmtpTlsTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("smtptls").FullName;
    private readonly List<string> log = new();
    private readonly Action<string, string> sink;

    public SmtpTlsTests()
    {
        sink = (level, text) => log.Add(level == "info" ? text : $"{level}: {text}");
        Msg.Sinks.Add(sink);
        Msg.StderrEnabled = false;
    }

    public void Dispose()
    {
        Msg.Sinks.Remove(sink);
        Directory.Delete(dir, true);
    }

    private Maps Table(string text)
    {
        var path = Path.Combine(dir, "policy");
        File.WriteAllText(path, text);
        return Maps.Create("smtp_tls_policy_maps", $"texthash:{path}", DictFlags.Lock);
    }

    private static SmtpTlsConfig Config() => new() { MandatoryProtocols = ">=TLSv1", Protocols = ">=TLSv1" };

    [Fact]
    public void PolicyAttributesAreParsed()
    {
        var maps = Table("[h.example]:25 verify match=a.example:.b.example protocols=TLSv1.3 ciphers=high exclude=AES256 servername=sni.example\n");
        var p = SmtpTlsPolicy.Lookup(maps, "[h.example]:25", "h.example", "none", Config());
        p.Level.ShouldBe(TlsLevel.Verify);
        p.Match.ShouldBe(new[] { "a.example", ".b.example" });
        p.Protocols.ShouldBe("TLSv1.3");
        p.Grade.ShouldBe("high");
        p.Exclusions.ShouldBe("AES256 aNULL");
        p.Sni.ShouldBe("sni.example");
    }

    [Fact]
    public void ParentDomainsAreTriedAndDefaultsFilled()
    {
        var maps = Table(".example.com encrypt\n");
        var config = new SmtpTlsConfig { MandatoryProtocols = "TLSv1.2", MandatoryCiphers = "high", ExcludeCiphers = "RC4" };
        var p = SmtpTlsPolicy.Lookup(maps, "mx.example.com", "mx.example.com", "may", config);
        p.Level.ShouldBe(TlsLevel.Encrypt);
        p.Protocols.ShouldBe("TLSv1.2");
        p.Grade.ShouldBe("high");
        p.Exclusions.ShouldBe("RC4 eNULL");
        SmtpTlsPolicy.Lookup(maps, "other.org", "other.org", "may", config).Level.ShouldBe(TlsLevel.May);
    }

    [Theory]
    [InlineData("encrypt match=x.example", "attribute \"match\" invalid at security level \"encrypt\"")]
    [InlineData("verify protocols=a protocols=b", "attribute \"protocols\" is specified multiple times")]
    [InlineData("verify frob=1", "invalid attribute name: \"frob\"")]
    [InlineData("verify frob", "malformed attribute/value pair \"frob\": missing '=' after attribute name")]
    [InlineData("bogus", "invalid security level \"bogus\"")]
    [InlineData("encrypt servername=bad_name!", "\"servername=bad_name!\" specifies an invalid hostname")]
    [InlineData("fingerprint", "nexthop domain d.example: configured at fingerprint security level, but with no fingerprints to match.")]
    public void BadEntriesAreInvalid(string entry, string warning)
    {
        var maps = Table($"d.example {entry}\n");
        var p = SmtpTlsPolicy.Lookup(maps, "d.example", "d.example", "none", Config());
        p.Level.ShouldBe(TlsLevel.Invalid);
        p.WhyText.ShouldBe("client TLS configuration problem");
        string.Join("\n", log).ShouldContain(warning);
    }

    [Fact]
    public void FingerprintsAllowColonsAndSkipJunk()
    {
        var p = new SmtpTlsPolicy();
        p.AddFingerprints("AB:cd:01|zz|0102", new[] { '|' });
        p.Fingerprints!.Count.ShouldBe(2);
        p.Fingerprints[0].ShouldBe(new byte[] { 0xab, 0xcd, 0x01 });
        log.ShouldContain("warning: malformed fingerprint value: zz");
    }

    [Theory]
#pragma warning disable SYSLIB0039, CA5397
    [InlineData(">=TLSv1", SslProtocols.Tls | SslProtocols.Tls11 | SslProtocols.Tls12 | SslProtocols.Tls13)]
    [InlineData(">=TLSv1.2", SslProtocols.Tls12 | SslProtocols.Tls13)]
    [InlineData("TLSv1.2", SslProtocols.Tls12)]
    [InlineData("!TLSv1.3, !TLSv1, !TLSv1.1", SslProtocols.Tls12)]
    [InlineData("<=TLSv1.2", SslProtocols.Tls | SslProtocols.Tls11 | SslProtocols.Tls12)]
    [InlineData(">=TLSv1.3", SslProtocols.Tls13)]
    [InlineData("TLSv1, TLSv1.1", SslProtocols.Tls | SslProtocols.Tls11)]
    [InlineData("SSLv3", SslProtocols.None)]
#pragma warning restore SYSLIB0039, CA5397
    public void ProtocolLists(string list, SslProtocols expected) => SmtpTls.ProtocolMask(list).ShouldBe(expected);

    [Fact]
    public void BadProtocolListIsNull() => SmtpTls.ProtocolMask("TLSv9").ShouldBeNull();

    [Theory]
    [InlineData(TlsCipherSuite.TLS_AES_256_GCM_SHA384, "TLS_AES_256_GCM_SHA384")]
    [InlineData(TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, "ECDHE-RSA-AES256-GCM-SHA384")]
    [InlineData(TlsCipherSuite.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, "ECDHE-RSA-CHACHA20-POLY1305")]
    [InlineData(TlsCipherSuite.TLS_RSA_WITH_AES_128_CBC_SHA, "AES128-SHA")]
    [InlineData(TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, "ECDHE-ECDSA-AES128-SHA256")]
    public void OpenSslNames(TlsCipherSuite suite, string name) => SmtpTls.OpenSslName(suite).ShouldBe(name);

    private static X509Certificate2 MakeCert(string cn, string[] sans, X509Certificate2? issuer = null, bool ca = false)
    {
        using var key = RSA.Create(2048);
        var req = new CertificateRequest($"CN={cn}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        if (sans.Length > 0)
        {
            var b = new SubjectAlternativeNameBuilder();
            foreach (var s in sans)
                b.AddDnsName(s);
            req.CertificateExtensions.Add(b.Build());
        }
        if (ca)
            req.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        var now = DateTimeOffset.UtcNow;
        X509Certificate2 cert;
        if (issuer == null)
        {
            cert = req.CreateSelfSigned(now.AddDays(-2), now.AddDays(2));
        }
        else
        {
            var serial = new byte[8];
            RandomNumberGenerator.Fill(serial);
            using var signed = req.Create(issuer, now.AddDays(-1), now.AddDays(1), serial);
            cert = signed.CopyWithPrivateKey(key);
        }
        // A certificate with an exportable key SslStream can use.
        return X509CertificateLoader.LoadPkcs12(cert.Export(X509ContentType.Pfx), null);
    }

    [Fact]
    public void NamesMatchLikeOpenSsl()
    {
        var cert = MakeCert("mx.example.com", new[] { "mx.example.com", "*.w.example.com" });
        SmtpTlsVerify.NameMatches(cert, "mx.example.com").ShouldBeTrue();
        SmtpTlsVerify.NameMatches(cert, "MX.Example.COM").ShouldBeTrue();
        SmtpTlsVerify.NameMatches(cert, ".example.com").ShouldBeTrue();
        SmtpTlsVerify.NameMatches(cert, "a.w.example.com").ShouldBeTrue();
        SmtpTlsVerify.NameMatches(cert, "a.b.w.example.com").ShouldBeFalse();
        SmtpTlsVerify.NameMatches(cert, "example.com").ShouldBeFalse();
        SmtpTlsVerify.MatchNames(new List<string> { "hostname", "nexthop", "dot-nexthop", "x.org" }, "h.org", "n.org")
            .ShouldBe(new[] { "h.org", "n.org", ".n.org", "x.org" });
        SmtpTlsVerify.OneLine(new X500DistinguishedName("CN=Root, O=Test, C=XX")).ShouldBe("/C=XX/O=Test/CN=Root");
    }

    [Fact]
    public void DaneRecordsMatch()
    {
        var cert = MakeCert("d.example", Array.Empty<string>());
        var spki = SHA256.HashData(cert.PublicKey.ExportSubjectPublicKeyInfo());
        SmtpDane.Matches(new TlsaRecord(3, 1, 1, spki), cert).ShouldBeTrue();
        SmtpDane.Matches(new TlsaRecord(3, 0, 2, SHA512.HashData(cert.RawData)), cert).ShouldBeTrue();
        SmtpDane.Matches(new TlsaRecord(3, 0, 0, cert.RawData), cert).ShouldBeTrue();
        SmtpDane.Matches(new TlsaRecord(3, 1, 1, new byte[32]), cert).ShouldBeFalse();
        SmtpDane.IsUsable(new TlsaRecord(1, 0, 1, spki)).ShouldBeFalse();
        SmtpDane.IsUsable(new TlsaRecord(3, 1, 1, new byte[3])).ShouldBeFalse();
        SmtpDane.IsUsable(new TlsaRecord(2, 0, 1, spki)).ShouldBeTrue();
        var dane = new SmtpDane();
        dane.Records.Add(new TlsaRecord(3, 1, 1, new byte[] { 0 }));
        dane.Records.Add(new TlsaRecord(3, 1, 1, spki));
        dane.Enable("h[1.2.3.4]:25").ShouldBe(1);
        log.ShouldContain("warning: h[1.2.3.4]:25: unusable TLSA RR: 3 1 1 00");
    }

    [Fact]
    public void DaneWithoutDnssecFallsBack()
    {
        var maps = Table("[d.example]:25 dane\n[e.example]:25 dane-only\n");
        var config = new SmtpTlsConfig { DnsSupportLevel = "enabled" };
        var ctx = new SmtpDaneContext("d.example", 25, null);
        SmtpTlsPolicy.Lookup(maps, "[d.example]:25", "d.example", "none", config, ctx).Level.ShouldBe(TlsLevel.May);
        log.ShouldContain("warning: [d.example]:25: dane configured with dnssec lookups disabled");
        SmtpTlsPolicy.Lookup(maps, "[e.example]:25", "e.example", "none", config, ctx).Level.ShouldBe(TlsLevel.Invalid);
    }

    // Handshake - our client against an SslStream server on loopback
    // (the server takes any client certificate: it only notes one came).
#pragma warning disable CA5359
    private (SmtpTlsResult Result, bool ClientCertSeen) Handshake(SmtpTlsPolicy policy, SmtpTlsConfig config, X509Certificate2 serverCert,
        X509Certificate2Collection? serverChain = null)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var clientCertSeen = false;
        var server = Task.Run(() =>
        {
            using var conn = listener.AcceptTcpClient();
            using var ssl = new SslStream(conn.GetStream(), false);
            var ctx = SslStreamCertificateContext.Create(serverCert, serverChain ?? new X509Certificate2Collection(), offline: true);
            ssl.AuthenticateAsServer(new SslServerAuthenticationOptions
            {
                ServerCertificateContext = ctx,
                ClientCertificateRequired = true,
                RemoteCertificateValidationCallback = (_, c, _, _) => { clientCertSeen = c != null; return true; },
            });
            ssl.ReadByte();
        });
        using var client = new TcpClient();
        client.Connect(IPAddress.Loopback, port);
        var result = SmtpTls.Start(client.GetStream(), policy, config, "mx.example.com", "example.com",
            $"mx.example.com[127.0.0.1]:{port}", 10, out _);
        result.Stream?.Dispose();
        client.Close();
        server.Wait(10000);
        return (result, clientCertSeen);
    }
#pragma warning restore CA5359

    [Fact]
    public void VerifiedWithCaAndNameUntrustedWithout()
    {
        var ca = MakeCert("Test CA", Array.Empty<string>(), null, true);
        var leaf = MakeCert("mx.example.com", new[] { "mx.example.com" }, ca);
        var config = new SmtpTlsConfig { LogLevel = 1, CaCertificates = new X509Certificate2Collection(ca) };
        var verify = new SmtpTlsPolicy { Level = TlsLevel.Verify, Protocols = ">=TLSv1", Match = new List<string> { "hostname" } };
        var (ok, _) = Handshake(verify, config, leaf);
        ok.Stream.ShouldNotBeNull();
        ok.Matched.ShouldBeTrue();
        log.ShouldContain(l => l.StartsWith("Verified TLS connection established to mx.example.com[127.0.0.1]:", StringComparison.Ordinal));

        log.Clear();
        var wrong = new SmtpTlsPolicy { Level = TlsLevel.Verify, Protocols = ">=TLSv1", Match = new List<string> { "nexthop" } };
        var (bad, _) = Handshake(wrong, config, leaf);
        bad.Matched.ShouldBeFalse();
        log.ShouldContain(l => l.EndsWith(": num=62:hostname mismatch", StringComparison.Ordinal));
        log.ShouldContain(l => l.StartsWith("Untrusted TLS connection", StringComparison.Ordinal));

        log.Clear();
        var noCa = new SmtpTlsConfig { LogLevel = 1 };
        var (untrusted, _) = Handshake(verify, noCa, leaf);
        untrusted.Matched.ShouldBeFalse();
        log.ShouldContain(l => l.Contains(": untrusted issuer /CN=Test CA", StringComparison.Ordinal));
    }

    [Fact]
    public void FingerprintAndClientCertificate()
    {
        var self = MakeCert("self.example", Array.Empty<string>());
        var client = MakeCert("client.example", Array.Empty<string>());
        var config = new SmtpTlsConfig { LogLevel = 1, ClientCertificate = client };
        var fp = new SmtpTlsPolicy { Level = TlsLevel.Fingerprint, Protocols = ">=TLSv1" };
        fp.AddFingerprints(Convert.ToHexString(SHA256.HashData(self.RawData)), new[] { ',' });
        var (result, seen) = Handshake(fp, config, self);
        result.Matched.ShouldBeTrue();
        seen.ShouldBeTrue();

        log.Clear();
        var enc = new SmtpTlsPolicy { Level = TlsLevel.Encrypt, Protocols = ">=TLSv1" };
        var (r2, seen2) = Handshake(enc, new SmtpTlsConfig { LogLevel = 1 }, self);
        r2.Stream.ShouldNotBeNull();
        seen2.ShouldBeFalse();
        log.ShouldContain(l => l.StartsWith("Untrusted TLS connection established", StringComparison.Ordinal));
        log.ShouldNotContain(l => l.Contains("verification failed", StringComparison.Ordinal));
    }
}
