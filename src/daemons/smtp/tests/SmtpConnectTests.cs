// NAME
//	SmtpConnectTests - unit tests of the server list (address family
//	balance) and of the handshake error report
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using System.Security.Authentication;
using Shouldly;
using Xunit;

namespace Postfix.Daemons.Smtp.Tests;

public sealed class SmtpConnectTests
{
    private static List<SmtpTarget> Targets(string spec) =>
        spec.Split(' ').Select((a, i) => new SmtpTarget($"h{i}", IPAddress.Parse(a), 10)).ToList();

    private static string Addrs(List<SmtpTarget> list) => string.Join(" ", list.Select(t => t.Address.ToString()));

    [Fact]
    public void BalanceKeepsBothFamiliesWithinTheLimit()
    {
        // Region R3: few IPv4 addresses, all kept.
        Addrs(SmtpConnect.BalanceInetProtocols(Targets("::1 ::2 ::3 10.0.0.1"), 2)).ShouldBe("::1 10.0.0.1");
        // Region R1: few IPv6 addresses, all kept.
        Addrs(SmtpConnect.BalanceInetProtocols(Targets("10.0.0.1 10.0.0.2 10.0.0.3 ::1"), 3)).ShouldBe("10.0.0.1 10.0.0.2 ::1");
        // Region R2: half each, the odd one to the family of the first.
        Addrs(SmtpConnect.BalanceInetProtocols(Targets("::1 10.0.0.1 ::2 10.0.0.2 ::3 10.0.0.3"), 3))
            .ShouldBe("::1 10.0.0.1 ::2");
        Addrs(SmtpConnect.BalanceInetProtocols(Targets("10.0.0.1 ::1 ::2 10.0.0.2 ::3 10.0.0.3"), 3))
            .ShouldBe("10.0.0.1 ::1 10.0.0.2");
    }

    [Fact]
    public void BalanceLeavesShortOrSingleFamilyListsAlone()
    {
        Addrs(SmtpConnect.BalanceInetProtocols(Targets("::1 ::2 ::3"), 2)).ShouldBe("::1 ::2 ::3");
        Addrs(SmtpConnect.BalanceInetProtocols(Targets("::1 10.0.0.1"), 2)).ShouldBe("::1 10.0.0.1");
        // The list limit caps the address limit.
        Addrs(SmtpConnect.BalanceInetProtocols(Targets("::1 ::2 10.0.0.1"), 5, 2)).ShouldBe("::1 10.0.0.1");
    }

    [Fact]
    public void CipherGradesAreEvaluatedByOpenSsl()
    {
        var config = new SmtpTlsConfig();
        SmtpCiphers.CipherList("high", "AES256 ,SHA1", config, "h[a]:25").ShouldBe("aNULL:-aNULL:HIGH:@STRENGTH:!AES256:!SHA1");
        SmtpCiphers.CipherList("bogus", "", config, "h[a]:25").ShouldBeNull();
        SmtpCiphers.CipherList("medium", "+RC4", config, "h[a]:25").ShouldBeNull();
        var high = SmtpCiphers.Select("aNULL:-aNULL:HIGH:@STRENGTH:!aNULL", "h[a]:25", "high");
        if (high == null)
            return; // no libssl.so.3 here
        // TLS 1.3 first (not governed by the string), then the strongest.
        high[0].ShouldBe(System.Net.Security.TlsCipherSuite.TLS_AES_256_GCM_SHA384);
        high.ShouldContain(System.Net.Security.TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384);
        high.ShouldNotContain(System.Net.Security.TlsCipherSuite.TLS_DH_anon_WITH_AES_256_GCM_SHA384);
        var noAes256 = SmtpCiphers.Select("HIGH:!AES256", "h[a]:25", "high")!;
        noAes256.ShouldContain(System.Net.Security.TlsCipherSuite.TLS_AES_256_GCM_SHA384);
        noAes256.ShouldNotContain(System.Net.Security.TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384);
        var none = SmtpCiphers.Select("HIGH:!ALL", "h[a]:25", "high")!;
        SmtpCiphers.HasTls12Suites(none).ShouldBeFalse();
    }

    [Fact]
    public void HandshakeErrorFindsTheLibraryOrSystemError()
    {
        var lib = new AuthenticationException("Authentication failed, see inner exception.",
            new IOException("SSL Handshake failed with OpenSSL error - SSL_ERROR_SSL.",
                new InvalidOperationException("error:0A00010B:SSL routines::wrong version number")));
        SmtpTls.HandshakeError(lib).ShouldBe((SmtpTls.HandshakeErrorKind.Library, "error:0A00010B:SSL routines::wrong version number"));
        var sys = new AggregateException(new IOException("Unable to read data",
            new System.Net.Sockets.SocketException((int)System.Net.Sockets.SocketError.ConnectionReset)));
        SmtpTls.HandshakeError(sys).Item1.ShouldBe(SmtpTls.HandshakeErrorKind.System);
        var eof = new IOException("Received an unexpected EOF or 0 bytes from the transport stream.");
        SmtpTls.HandshakeError(eof).Item1.ShouldBe(SmtpTls.HandshakeErrorKind.Lost);
        SmtpTls.HandshakeError(new AuthenticationException("net_auth_eof", new IOException("net_io_eof"))).Item1
            .ShouldBe(SmtpTls.HandshakeErrorKind.Lost);
        var frame = new AuthenticationException("Authentication failed, see inner exception.",
            new IOException("Cannot determine the frame size or a corrupted frame was received."));
        SmtpTls.HandshakeError(frame).ShouldBe((SmtpTls.HandshakeErrorKind.Library,
            "Cannot determine the frame size or a corrupted frame was received."));
    }
}
