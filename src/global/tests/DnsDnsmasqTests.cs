// NAME
//	DnsDnsmasqTests - the resolver against a real server (dnsmasq)
// DESCRIPTION
//	Starts dnsmasq (Debian dnsmasq-base; installed with apt-get when
//	missing and we are root) on 127.0.0.53 with an unprivileged port,
//	no upstream servers and no /etc/hosts, serving a few MX, A and TXT
//	records; the resolver reads a resolv.conf written for the test via
//	the POSTFIX_RESOLV_CONF override. dnsmasq is stopped by its pid.
using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using Postfix.Global.Dns;
using Shouldly;
using Xunit;

namespace Postfix.Global.Tests;

[Collection("dns")]
public sealed class DnsDnsmasqTests : IDisposable
{
    private const string Dnsmasq = "/usr/sbin/dnsmasq";
    private readonly Process process;
    private readonly string dir;
    private readonly int port;

    public DnsDnsmasqTests()
    {
        if (!File.Exists(Dnsmasq))
            Install();
        File.Exists(Dnsmasq).ShouldBeTrue("dnsmasq-base is needed (tools/install-deps.sh)");
        dir = Path.Combine(Path.GetTempPath(), "dnsmasq-test-" + Environment.ProcessId + "-" + Guid.NewGuid().ToString("N")[..6]);
        Directory.CreateDirectory(dir);
        port = FreeUdpPort();
        var psi = new ProcessStartInfo(Dnsmasq)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        foreach (var a in new[]
        {
            "--keep-in-foreground", "--no-resolv", "--no-hosts", "--conf-file=/dev/null", "--bind-interfaces",
            "--listen-address=127.0.0.53", $"--port={port}", $"--pid-file={dir}/pid", "--user=" + Environment.UserName,
            "--mx-host=example.test,mail.example.test,10", "--mx-host=example.test,backup.example.test,20",
            "--host-record=mail.example.test,127.0.0.1,::1", "--host-record=backup.example.test,127.0.0.2",
            "--txt-record=example.test,v=spf1 -all", "--cname=www.example.test,mail.example.test",
            "--ptr-record=1.0.0.127.in-addr.arpa,mail.example.test", "--address=/blocked.test/", "--local=/example.test/",
        })
            psi.ArgumentList.Add(a);
        process = Process.Start(psi)!;
        var conf = Path.Combine(dir, "resolv.conf");
        File.WriteAllText(conf, $"nameserver 127.0.0.53#{port}\noptions timeout:1 attempts:2\n");
        DnsLookup.Resolver = new DnsResolver(ResolvConf.Load(conf));
        for (var i = 0; i < 50; i++)
        {
            if (DnsLookup.Lookup("mail.example.test", DnsType.A, DnsFlags.None, out _, out _) == DnsStatus.Ok)
                break;
            if (process.HasExited)
                throw new InvalidOperationException("dnsmasq: " + process.StandardError.ReadToEnd());
            Thread.Sleep(100);
        }
    }

    private static void Install()
    {
        if (Environment.UserName != "root")
            return;
        var psi = new ProcessStartInfo("apt-get", "install -y -q dnsmasq-base") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.Environment["DEBIAN_FRONTEND"] = "noninteractive";
        using var p = Process.Start(psi)!;
        p.StandardOutput.ReadToEnd();
        p.WaitForExit();
    }

    private static int FreeUdpPort()
    {
        using var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        s.Bind(new IPEndPoint(IPAddress.Parse("127.0.0.53"), 0));
        return ((IPEndPoint)s.LocalEndPoint!).Port;
    }

    public void Dispose()
    {
        DnsLookup.Reset();
        try
        {
            Process.GetProcessById(process.Id).Kill();
            process.WaitForExit(5000);
        }
        catch (Exception)
        {
            // Already gone.
        }
        Directory.Delete(dir, true);
    }

    [Fact]
    public void MxInPreferenceOrderAndAddresses()
    {
        DnsLookup.Lookup("example.test", DnsType.MX, DnsFlags.None, out var rr, out _).ShouldBe(DnsStatus.Ok);
        rr.OrderBy(r => r.Pref).Select(r => (r.Pref, r.Text)).ShouldBe(new[] { (10, (string?)"mail.example.test"), (20, (string?)"backup.example.test") });
        DnsLookup.Lookup("mail.example.test", DnsType.A, DnsFlags.None, out rr, out _).ShouldBe(DnsStatus.Ok);
        rr.Single().Address!.ToString().ShouldBe("127.0.0.1");
        DnsLookup.Lookup("mail.example.test", DnsType.AAAA, DnsFlags.None, out rr, out _).ShouldBe(DnsStatus.Ok);
        rr.Single().Address!.ToString().ShouldBe("::1");
    }

    [Fact]
    public void TxtCnamePtr()
    {
        DnsLookup.Lookup("example.test", DnsType.TXT, DnsFlags.None, out var rr, out _).ShouldBe(DnsStatus.Ok);
        rr.Single().Text.ShouldBe("v=spf1 -all");
        DnsLookup.Lookup("www.example.test", DnsType.A, DnsFlags.None, out rr, out var fqdn, out _, out _).ShouldBe(DnsStatus.Ok);
        rr.Single().Address!.ToString().ShouldBe("127.0.0.1");
        fqdn.ShouldBe("mail.example.test");
        DnsLookup.Lookup("1.0.0.127.in-addr.arpa", DnsType.PTR, DnsFlags.None, out rr, out _).ShouldBe(DnsStatus.Ok);
        rr.Single().Text.ShouldBe("mail.example.test");
    }

    [Fact]
    public void NotFoundAndNoData()
    {
        DnsLookup.Lookup("backup.example.test", DnsType.AAAA, DnsFlags.None, out _, out var why).ShouldBe(DnsStatus.NotFound);
        why.ShouldBe("Host or domain name not found. Name service error for name=backup.example.test type=AAAA: Host found but no data record of requested type");
        DnsLookup.Lookup("x.blocked.test", DnsType.A, DnsFlags.None, out _, out why).ShouldBe(DnsStatus.NotFound);
        why.ShouldBe("Host or domain name not found. Name service error for name=x.blocked.test type=A: Host not found");
        DnsLookup.Lookup("nosuch.example.test", DnsType.MX, DnsFlags.None, out _, out why).ShouldBe(DnsStatus.NotFound);
        why.ShouldBe("Host or domain name not found. Name service error for name=nosuch.example.test type=MX: Host not found");
    }

    [Fact]
    public void NoUpstreamIsNotFoundOrRetry()
    {
        // dnsmasq without upstream servers refuses other names: a non-recoverable error.
        var status = DnsLookup.Lookup("elsewhere.invalid", DnsType.A, DnsFlags.None, out _, out var why);
        status.ShouldBeOneOf(DnsStatus.Fail, DnsStatus.NotFound, DnsStatus.Retry);
        why.ShouldStartWith("Host or domain name not found. Name service error for name=elsewhere.invalid type=A: ");
    }
}
