// NAME
//	PostscreenTests - DNSBL site syntax, score arithmetic, cache records,
//	the dnsblog protocol
using System;
using System.IO;
using System.Net;
using Postfix.Daemons.Dnsblog;
using Postfix.Global.Attr;
using Postfix.Util;
using Shouldly;
using Xunit;

namespace Postfix.Daemons.Postscreen.Tests;

public class DnsblScoreTests
{
    private static byte[] Ip(string a) => IPAddress.Parse(a).GetAddressBytes();

    [Theory]
    [InlineData("127.0.0.2", "127.0.0.2", true)]
    [InlineData("127.0.0.[2..11]", "127.0.0.11", true)]
    [InlineData("127.0.0.[2..11]", "127.0.0.12", false)]
    [InlineData("127.0.0.[2;4;6..8]", "127.0.0.7", true)]
    [InlineData("127.0.0.[2;4;6..8]", "127.0.0.5", false)]
    [InlineData("127.0.[0..1].4", "127.0.1.4", true)]
    public void FilterMatches(string pattern, string addr, bool want)
    {
        IpFilter.Parse(pattern, out _)!.Match(Ip(addr)).ShouldBe(want);
    }

    [Theory]
    [InlineData("127.0.0")]
    [InlineData("127.0.0.[5..2]")]
    [InlineData("127.0.0.256")]
    [InlineData("127.0.0.x")]
    public void BadFiltersAreRefused(string pattern)
    {
        IpFilter.Parse(pattern, out var why).ShouldBeNull();
        why.ShouldNotBeEmpty();
    }

    [Fact]
    public void WeightsAndFiltersAddUp()
    {
        var sites = DnsblSites.Parse("zen.example*2, zen.example=127.0.0.[10..11]*3 allow.example*-5, bl.example");
        sites.Domains.Count.ShouldBe(3);
        var zen = sites.Domains[0];
        zen.Sites.Count.ShouldBe(2);
        zen.Sites[0].Weight.ShouldBe(3); // newest first
        var score = new DnsblScore();
        score.Add(zen, "127.0.0.10", 300);
        score.Total.ShouldBe(5);
        score.Name.ShouldBe("zen.example");
        score.Add(sites.Domains[2], "127.0.0.2", 100);
        score.Total.ShouldBe(6);
        score.Name.ShouldBe("zen.example");
        score.Ttl(60, 3600).ShouldBe(100);
        score.Add(sites.Domains[1], "127.0.0.2", 50);
        score.Total.ShouldBe(1);
    }

    [Fact]
    public void FilterMissesDoNotCount()
    {
        var sites = DnsblSites.Parse("zen.example=127.0.0.4*3");
        var score = new DnsblScore();
        score.Add(sites.Domains[0], "127.0.0.2 127.0.0.3", 300);
        score.Total.ShouldBe(0);
        score.Name.ShouldBeNull();
    }

    [Fact]
    public void TtlIsClippedAndFollowsTheVerdict()
    {
        var sites = DnsblSites.Parse("a.example, b.example");
        var score = new DnsblScore();
        score.Add(sites.Domains[0], "", 30);
        score.Add(sites.Domains[1], "", 7200);
        score.Total.ShouldBe(0);
        score.Ttl(60, 3600).ShouldBe(60);
        var listed = new DnsblScore();
        listed.Add(sites.Domains[0], "127.0.0.2", 9000);
        listed.Ttl(60, 3600).ShouldBe(3600);
        new DnsblScore().Ttl(60, 3600).ShouldBe(60);
    }

    [Fact]
    public void ReplyMapGivesThePublicName()
    {
        var sites = DnsblSites.Parse("secret.example", d => d == "secret.example" ? "public.example" : null);
        var score = new DnsblScore();
        score.Add(sites.Domains[0], "127.0.0.2", 10);
        score.Name.ShouldBe("public.example");
    }

    [Theory]
    [InlineData("zen.example*x")]
    [InlineData("zen.example=127.0.0*2")]
    [InlineData("bad..example")]
    public void BadSitesAreFatal(string text)
    {
        Should.Throw<FatalException>(() => DnsblSites.Parse(text));
    }
}

public class CacheRecordTests
{
    private static readonly bool[] PregreetAndDnsbl = [true, true, false, false, false];

    [Fact]
    public void NewClientHasAllTestsToDo()
    {
        var t = new PscTestTimes();
        var flags = t.Todo(1, PregreetAndDnsbl);
        (flags & PscFlags.New).ShouldNotBe(0u);
        (flags & PscFlags.Todo(PscFlags.Pregreet)).ShouldNotBe(0u);
        (flags & PscFlags.Todo(PscFlags.Dnsbl)).ShouldNotBe(0u);
        (flags & PscFlags.Todo(PscFlags.Pipelining)).ShouldBe(0u);
    }

    [Fact]
    public void PrintMarksDisabledTests()
    {
        var t = new PscTestTimes();
        t.Expire[0] = 1_800_000_000;
        t.Expire[1] = 1_700_000_000;
        t.Print(PregreetAndDnsbl).ShouldBe("1800000000;1700000000;1;1;1");
    }

    [Fact]
    public void ParseThenTodoByExpiry()
    {
        var t = PscTestTimes.Parse("1800000000;1700000000;1;1;1");
        var flags = t.Todo(1_750_000_000, PregreetAndDnsbl);
        flags.ShouldBe(PscFlags.Todo(PscFlags.Dnsbl));
        t.Todo(1_600_000_000, PregreetAndDnsbl).ShouldBe(0u);
    }

    [Fact]
    public void BadFieldsReadAsDisabled()
    {
        var t = PscTestTimes.Parse("12;x;;4");
        t.Expire.ShouldBe([12L, 1L, 1L, 4L, 1L]);
    }

    [Fact]
    public void FlagLayoutMatchesTheReference()
    {
        PscFlags.Fail(PscFlags.Pregreet).ShouldBe(1u << 8);
        PscFlags.Todo(PscFlags.Dnsbl).ShouldBe(1u << 14);
        PscFlags.TodoToPass(PscFlags.Todo(PscFlags.Dnsbl)).ShouldBe(PscFlags.Pass(PscFlags.Dnsbl));
    }

    [Fact]
    public void EscapeFollowsEscape3()
    {
        PscSession.Escape("EHLO x\r\n\\\u0001"u8).ShouldBe("EHLO x\\r\\n\\\\\\001");
    }
}

public class DnsblogTests
{
    [Theory]
    [InlineData("192.0.2.1", "zen.example", "1.2.0.192.zen.example")]
    [InlineData("2001:db8::1", "bl.example",
        "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl.example")]
    public void QueryNameIsReversed(string addr, string domain, string want)
    {
        Dnsblog.Dnsblog.QueryName(domain, addr).ShouldBe(want);
    }

    [Fact]
    public void RequestAndReplyWireFormat()
    {
        // The request postscreen sends, as attr_print0() writes it.
        var request = AttrWriter.ToBytes(AttrEncoding.Zero, w => w.Str("rbl_domain", "zen.example")
            .Str("client_address", "192.0.2.1").Int("label", 7));
        System.Text.Encoding.ASCII.GetString(request)
            .ShouldBe("rbl_domain\0zen.example\0client_address\0192.0.2.1\0label\07\0\0");
        var reply = AttrWriter.ToBytes(AttrEncoding.Zero, w => w.Str("rbl_domain", "zen.example")
            .Str("client_address", "192.0.2.1").Int("label", 7).Str("rbl_addr", "127.0.0.2 127.0.0.4").Int("ttl", 300));
        var s = new AttrStream(new MemoryStream(reply), "test");
        var v = new AttrValue[5];
        s.Receive([AttrSpec.Str("rbl_domain"), AttrSpec.Str("client_address"), AttrSpec.Int("label"),
            AttrSpec.Str("rbl_addr"), AttrSpec.Int("ttl")], v, AttrFlags.Strict).ShouldBe(5);
        v[3].Str.ShouldBe("127.0.0.2 127.0.0.4");
        v[4].Int.ShouldBe(300);
        var sites = DnsblSites.Parse("zen.example=127.0.0.4*2");
        var score = new DnsblScore();
        score.Add(sites.Domains[0], v[3].Str, v[4].Int);
        score.Total.ShouldBe(2);
    }
}

public class FdPassTests
{
    [Fact]
    public void DescriptorAndAttributesCrossTheChannel()
    {
        // A TCP connection on loopback stands for the SMTP client.
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        using var clientSide = new System.Net.Sockets.TcpClient();
        clientSide.Connect(IPAddress.Loopback, ((IPEndPoint)listener.LocalEndpoint).Port);
        using var accepted = listener.AcceptSocket();
        // The hand-off channel, as postscreen connects to private/smtpd.
        var path = Path.Combine(Path.GetTempPath(), $"psc-pass-{Environment.ProcessId}");
        File.Delete(path);
        using var passListen = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix,
            System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
        passListen.Bind(new System.Net.Sockets.UnixDomainSocketEndPoint(path));
        passListen.Listen(1);
        using var sender = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix,
            System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
        sender.Connect(new System.Net.Sockets.UnixDomainSocketEndPoint(path));
        using var receiver = passListen.Accept();
        Sys.SendFd((int)sender.Handle, (int)accepted.Handle).ShouldBe(0);
        sender.Send(AttrWriter.ToBytes(AttrEncoding.Zero, w => w.Str("client_address", "192.0.2.1").Str("client_port", "1234")));
        var fd = Sys.ReceiveFd((int)receiver.Handle);
        fd.ShouldBeGreaterThan(2);
        var table = new System.Collections.Generic.Dictionary<string, string>();
        var stream = new AttrStream(new System.Net.Sockets.NetworkStream(receiver, ownsSocket: false), "pass");
        stream.Receive([AttrSpec.Hash()], new AttrValue[1], AttrFlags.None, table).ShouldBeGreaterThanOrEqualTo(0);
        table["client_address"].ShouldBe("192.0.2.1");
        table["client_port"].ShouldBe("1234");
        // What the receiver writes on the passed descriptor reaches the client.
        using var passed = new System.Net.Sockets.Socket(new System.Net.Sockets.SafeSocketHandle(fd, ownsHandle: true));
        passed.Send("220 hello\r\n"u8.ToArray());
        var buf = new byte[64];
        var n = clientSide.GetStream().Read(buf);
        System.Text.Encoding.ASCII.GetString(buf, 0, n).ShouldBe("220 hello\r\n");
        File.Delete(path);
    }
}
