// NAME
//	DnsLookupTests - the stub resolver and dns_lookup outcomes against
//	an in-process server
using System.Linq;
using Postfix.Global.Dns;
using Shouldly;
using Xunit;

namespace Postfix.Global.Tests;

[Collection("dns")]
public sealed class DnsLookupTests : System.IDisposable
{
    private readonly DnsFakeServer server = new();

    public DnsLookupTests()
    {
        DnsLookup.Resolver = new DnsResolver(server.Conf());
        server.AddA("mail.example.com", "192.0.2.1");
        server.AddA("mail.example.com", "192.0.2.2");
        server.AddAaaa("mail.example.com", "2001:db8::1");
        server.AddMx("example.com", 10, "mail.example.com");
        server.AddMx("example.com", 20, "backup.example.com");
        server.AddCname("alias.example.com", "mail.example.com");
        server.AddTxt("example.com", "v=spf1 -all");
        server.Add("nullmx.example", DnsType.MX, new byte[] { 0, 0, 0 });
        server.Add("1.2.0.192.in-addr.arpa", DnsType.PTR, DnsFakeServer.Name("mail.example.com"));
        server.Add("example.com", DnsType.NS, DnsFakeServer.Name("ns1.example.com"));
        server.Rcodes["broken.example"] = DnsRcode.ServFail;
        server.Rcodes["refused.example"] = DnsRcode.Refused;
        server.Silent["slow.example"] = true;
    }

    public void Dispose()
    {
        DnsLookup.Reset();
        server.Dispose();
    }

    [Fact]
    public void AddressRecords()
    {
        DnsLookup.Lookup("mail.example.com", DnsType.A, DnsFlags.None, out var rr, out var why).ShouldBe(DnsStatus.Ok);
        rr.Select(r => r.Address!.ToString()).ShouldBe(new[] { "192.0.2.1", "192.0.2.2" });
        DnsLookup.Lookup("mail.example.com", DnsType.AAAA, DnsFlags.None, out rr, out why).ShouldBe(DnsStatus.Ok);
        rr.Single().Address!.ToString().ShouldBe("2001:db8::1");
    }

    [Fact]
    public void MxRecordsWithPreference()
    {
        DnsLookup.Lookup("example.com", DnsType.MX, DnsFlags.None, out var rr, out _).ShouldBe(DnsStatus.Ok);
        rr.Select(r => (r.Pref, r.Text)).ShouldBe(new[] { (10, (string?)"mail.example.com"), (20, (string?)"backup.example.com") });
        rr[0].Qname.ShouldBe("example.com");
    }

    [Fact]
    public void CnameIsFollowed()
    {
        DnsLookup.Lookup("alias.example.com", DnsType.A, DnsFlags.None, out var rr, out var fqdn, out _, out _).ShouldBe(DnsStatus.Ok);
        rr.Count.ShouldBe(2);
        rr[0].Rname.ShouldBe("mail.example.com");
        rr[0].Qname.ShouldBe("alias.example.com");
        fqdn.ShouldBe("mail.example.com");
    }

    [Fact]
    public void TxtPtrNs()
    {
        DnsLookup.Lookup("example.com", DnsType.TXT, DnsFlags.None, out var rr, out _).ShouldBe(DnsStatus.Ok);
        rr.Single().Text.ShouldBe("v=spf1 -all");
        DnsLookup.Lookup("1.2.0.192.in-addr.arpa", DnsType.PTR, DnsFlags.None, out rr, out _).ShouldBe(DnsStatus.Ok);
        rr.Single().Text.ShouldBe("mail.example.com");
        DnsLookup.Lookup("example.com", DnsType.NS, DnsFlags.None, out rr, out _).ShouldBe(DnsStatus.Ok);
        rr.Single().Text.ShouldBe("ns1.example.com");
    }

    [Fact]
    public void NxdomainAndNodataAreNotFound()
    {
        DnsLookup.Lookup("nosuch.example.com", DnsType.A, DnsFlags.None, out _, out _, out var why, out var rcode).ShouldBe(DnsStatus.NotFound);
        why.ShouldBe("Host or domain name not found. Name service error for name=nosuch.example.com type=A: Host not found");
        rcode.ShouldBe(DnsRcode.NxDomain);
        DnsLookup.Lookup("example.com", DnsType.AAAA, DnsFlags.None, out _, out why).ShouldBe(DnsStatus.NotFound);
        why.ShouldBe("Host or domain name not found. Name service error for name=example.com type=AAAA: Host found but no data record of requested type");
    }

    [Fact]
    public void ServfailAndTimeoutAreRetry()
    {
        DnsLookup.Lookup("broken.example", DnsType.MX, DnsFlags.None, out _, out var why).ShouldBe(DnsStatus.Retry);
        why.ShouldBe("Host or domain name not found. Name service error for name=broken.example type=MX: Host not found, try again");
        DnsLookup.Lookup("slow.example", DnsType.A, DnsFlags.None, out _, out why).ShouldBe(DnsStatus.Retry);
        why.ShouldEndWith("type=A: Host not found, try again");
        DnsLookup.Lookup("refused.example", DnsType.A, DnsFlags.None, out _, out why).ShouldBe(DnsStatus.Fail);
        why.ShouldEndWith("type=A: Non-recoverable error");
    }

    [Fact]
    public void InvalidNamesAreRefused()
    {
        DnsLookup.Lookup("192.0.2.1", DnsType.A, DnsFlags.None, out _, out var why).ShouldBe(DnsStatus.NotFound);
        why.ShouldBe("Name service error for 192.0.2.1: invalid host or domain name");
        DnsLookup.Lookup("bad..name", DnsType.A, DnsFlags.None, out _, out why).ShouldBe(DnsStatus.NotFound);
        why.ShouldBe("Name service error for bad..name: invalid host or domain name");
    }

    [Fact]
    public void NullMx()
    {
        DnsLookup.Lookup("nullmx.example", DnsType.MX, DnsFlags.None, out var rr, out var why).ShouldBe(DnsStatus.NullMx);
        rr.ShouldBeEmpty();
        why.ShouldBe("Domain nullmx.example does not accept mail (nullMX)");
    }

    [Fact]
    public void MalformedNameInReplyIsInval()
    {
        server.Add("badmx.example", DnsType.MX, new byte[] { 0, 5, 4, (byte)'a', (byte)'$', (byte)'b', (byte)'c', 0 });
        DnsLookup.Lookup("badmx.example", DnsType.MX, DnsFlags.None, out _, out var why).ShouldBe(DnsStatus.Inval);
        why.ShouldBe("Name service error for name=badmx.example type=MX: Malformed or unexpected name server reply");
    }

    [Fact]
    public void TruncatedUdpFallsBackToTcp()
    {
        server.TruncateUdp["mail.example.com"] = true;
        DnsLookup.Lookup("mail.example.com", DnsType.A, DnsFlags.None, out var rr, out _).ShouldBe(DnsStatus.Ok);
        rr.Count.ShouldBe(2);
        server.TcpQueries.ShouldBe(1);
    }

    [Fact]
    public void SearchListOnlyWhenAsked()
    {
        DnsLookup.Resolver = new DnsResolver(server.Conf(search: "example.com"));
        DnsLookup.Lookup("mail", DnsType.A, DnsFlags.None, out _, out _).ShouldBe(DnsStatus.NotFound);
        DnsLookup.Lookup("mail", DnsType.A, DnsFlags.DefNames, out var rr, out _).ShouldBe(DnsStatus.Ok);
        rr[0].Rname.ShouldBe("mail.example.com");
    }

    [Fact]
    public void LookupListCollectsTypes()
    {
        DnsLookup.LookupList("mail.example.com", DnsFlags.None, new[] { DnsType.A, DnsType.AAAA }, false, out var rr, out _).ShouldBe(DnsStatus.Ok);
        rr.Count.ShouldBe(3);
        DnsLookup.LookupList("mail.example.com", DnsFlags.None, new[] { DnsType.AAAA, DnsType.A }, true, out rr, out _).ShouldBe(DnsStatus.Ok);
        rr.Count.ShouldBe(1);
        DnsLookup.LookupList("nosuch.example.com", DnsFlags.None, new[] { DnsType.A, DnsType.AAAA }, false, out _, out var why).ShouldBe(DnsStatus.NotFound);
        why.ShouldContain("nosuch.example.com");
    }

    [Fact]
    public void ResolvConfParsing()
    {
        var c = ResolvConf.Parse("# c\nnameserver 10.0.0.1\nnameserver ::1#5353\nnameserver 10.0.0.3\nnameserver 10.0.0.4\ndomain a.example\nsearch b.example c.example.\noptions ndots:2 timeout:3 attempts:4\n");
        c.Nameservers.Select(e => e.ToString()).ShouldBe(new[] { "10.0.0.1:53", "[::1]:5353", "10.0.0.3:53" });
        c.Search.ShouldBe(new[] { "b.example", "c.example" });
        (c.Ndots, c.TimeoutSeconds, c.Attempts).ShouldBe((2, 3, 4));
        ResolvConf.Parse("").Nameservers.Single().ToString().ShouldBe("127.0.0.1:53");
    }

    [Fact]
    public void CompressedNamesAndLoops()
    {
        var msg = new byte[] { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, (byte)'f', (byte)'o', (byte)'o', 0, 3, (byte)'b', (byte)'a', (byte)'r', 0xC0, 12, 0xC0, 23 };
        var pos = 17;
        DnsWire.ReadName(msg, ref pos).ShouldBe("bar.foo");
        pos.ShouldBe(23);
        pos = 23;
        Should.Throw<DnsFormatException>(() => DnsWire.ReadName(msg, ref pos));
    }
}
