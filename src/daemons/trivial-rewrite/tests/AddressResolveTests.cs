// NAME
//	AddressResolveTests - the resolve and verify rules of trivial-rewrite
//	(expected values taken from the reference's replies)
using System;
using System.Collections.Generic;
using System.IO;
using Postfix.Global.Config;
using Shouldly;
using Xunit;

namespace Postfix.Daemons.TrivialRewrite.Tests;

public sealed class AddressResolveTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("resolve").FullName;

    public void Dispose() => Directory.Delete(dir, true);

    private AddressResolve Make(string mainCf)
    {
        var path = Path.Combine(dir, "main.cf");
        File.WriteAllText(path, "myhostname = host.example.com\nmydomain = example.com\ncompatibility_level = 3.6\n"
            + mainCf.Replace("DIR", dir, StringComparison.Ordinal));
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddMinutes(-1));
        var conf = MailConf.Read(dir);
        var local = new ResolveLocal(conf, [[127, 0, 0, 1]], [[10, 9, 8, 7]]);
        return new AddressResolve(conf, new AddressRewrite(conf), local);
    }

    private string Table(string name, string text)
    {
        File.WriteAllText(Path.Combine(dir, name), text);
        File.SetLastWriteTimeUtc(Path.Combine(dir, name), DateTime.UtcNow.AddMinutes(-1)); // cool: a fresh table is re-read after 300 ms pauses
        return Path.Combine(dir, name);
    }

    private static string Show(ResolveResult r) => $"{r.Transport} {r.Nexthop} {r.Recipient} {r.Flags}";

    [Theory]
    [InlineData("joe", "local host.example.com joe@host.example.com 256")]
    [InlineData("joe@localhost.", "local host.example.com joe@localhost 256")]
    [InlineData("joe@remote.example", "smtp remote.example joe@remote.example 4096")]
    [InlineData("joe@remote.example..", "CHANNEL NOT UPDATED NEXTHOP NOT UPDATED joe@remote.example.. 4100")]
    [InlineData("user%remote.example@localhost", "smtp remote.example user@remote.example 4096")]
    [InlineData("remote!user@localhost", "smtp remote user@remote 4096")]
    [InlineData("a!b!c@host.example.com", "smtp a b!c@a 4098")]
    [InlineData("\"a!b\"@localhost", "smtp a b@a 4096")]
    [InlineData("", "local host.example.com MAILER-DAEMON@host.example.com 256")]
    [InlineData("@localhost", "local host.example.com MAILER-DAEMON@localhost 256")]
    [InlineData("joe@", "CHANNEL NOT UPDATED NEXTHOP NOT UPDATED joe@ 4100")]
    [InlineData("joe@[127.0.0.1]", "local host.example.com joe@[127.0.0.1] 256")]
    [InlineData("joe@[10.9.8.7]", "local host.example.com joe@[10.9.8.7] 256")]
    [InlineData("joe@[10.1.2.3]", "smtp [10.1.2.3] joe@[10.1.2.3] 4096")]
    [InlineData("joe@[1.2.3]", "CHANNEL NOT UPDATED NEXTHOP NOT UPDATED joe@[1.2.3] 4100")]
    [InlineData("joe@1.2.3.4", "CHANNEL NOT UPDATED NEXTHOP NOT UPDATED joe@1.2.3.4 4100")]
    [InlineData("-joe", "local host.example.com -joe@host.example.com 260")]
    [InlineData("@a,@b:joe@remote.example", "smtp remote.example @a, @b:joe@remote.example 4098")]
    public void Defaults(string address, string expected)
    {
        var r = Make("");
        Show(r.Resolve(r.Regular, "", address)).ShouldBe(expected);
    }

    [Fact]
    public void AddressClasses()
    {
        var r = Make("virtual_alias_domains = alias.example\nvirtual_mailbox_domains = vmbox.example\n"
            + "relay_domains = relay.example\nrelayhost = [gw.example]:2525\n");
        Show(r.Resolve(r.Regular, "", "joe@alias.example")).ShouldBe("error 5.1.1 User unknown in virtual alias table joe@alias.example 512");
        Show(r.Resolve(r.Regular, "", "joe@vmbox.example")).ShouldBe("virtual vmbox.example joe@vmbox.example 1024");
        Show(r.Resolve(r.Regular, "", "joe@sub.relay.example")).ShouldBe("relay [gw.example]:2525 joe@sub.relay.example 2048");
        Show(r.Resolve(r.Regular, "", "joe@remote.example")).ShouldBe("smtp [gw.example]:2525 joe@remote.example 4096");
    }

    [Fact]
    public void VerifyPersonality()
    {
        var r = Make("relayhost = [gw.example]:2525\naddress_verify_relayhost = [verify-gw.example]\n"
            + "address_verify_default_transport = vsmtp\naddress_verify_local_transport = vlocal:vhost\n");
        Show(r.Resolve(r.Verify, "", "joe")).ShouldBe("vlocal vhost joe@host.example.com 256");
        Show(r.Resolve(r.Verify, "", "joe@remote.example")).ShouldBe("vsmtp [verify-gw.example] joe@remote.example 4096");
        Show(r.Resolve(r.Regular, "", "joe@remote.example")).ShouldBe("smtp [gw.example]:2525 joe@remote.example 4096");
    }

    [Fact]
    public void TransportMaps()
    {
        var t = Table("transport", "remote.example smtp:[mx.remote.example]:2525\njoe+ext@other.example local:extension\n"
            + "joe@other.example pipe:\nother.example :[other-hop.example]\n.other.example relay:[sub-hop.example]\n"
            + "retry.example retry:\nerr.example error:5.7.1 go away\nbob@err.example error:\ncolon.example :\n");
        var r = Make($"transport_maps = texthash:{t}\nrecipient_delimiter = +\n");
        var expected = new Dictionary<string, string>
        {
            ["joe@remote.example"] = "smtp [mx.remote.example]:2525 joe@remote.example 4096",
            ["joe+ext@other.example"] = "local extension joe+ext@other.example 4096",
            ["joe@other.example"] = "pipe other.example joe@other.example 4096",
            ["x@other.example"] = "smtp [other-hop.example] x@other.example 4096",
            ["joe@x.sub.other.example"] = "relay [sub-hop.example] joe@x.sub.other.example 4096",
            ["joe@retry.example"] = "retry Address is undeliverable joe@retry.example 4096",
            ["joe@err.example"] = "error 5.7.1 go away joe@err.example 4096",
            ["bob@err.example"] = "error Address is undeliverable bob@err.example 4096",
            ["joe@colon.example"] = "smtp colon.example joe@colon.example 4096",
        };
        foreach (var (address, result) in expected)
            Show(r.Resolve(r.Regular, "", address)).ShouldBe(result, address);
    }

    [Fact]
    public void WildcardAndParentStyle()
    {
        var t = Table("wild", "*\tsmtp:[wild.example]\nexample.org\tsmtp:\n");
        var r = Make($"transport_maps = texthash:{t}\nparent_domain_matches_subdomains = transport_maps\n");
        Show(r.Resolve(r.Regular, "", "joe@a.example.org")).ShouldBe("smtp a.example.org joe@a.example.org 4096");
        Show(r.Resolve(r.Regular, "", "joe@elsewhere.example")).ShouldBe("smtp [wild.example] joe@elsewhere.example 4096");
    }

    [Fact]
    public void SenderDependentMaps()
    {
        var relay = Table("sndrelay", "joe@sender.example [relay-for-joe.example]:587\n@sender2.example DUNNO\n<> [null-relay]\n");
        var xport = Table("snddef", "joe@sender.example special:[via-special]\n<> nullxport\n");
        var r = Make($"sender_dependent_relayhost_maps = texthash:{relay}\nsender_dependent_default_transport_maps = texthash:{xport}\n"
            + "relayhost = gw.example\n");
        Show(r.Resolve(r.Regular, "joe@sender.example", "x@remote.example")).ShouldBe("special [via-special] x@remote.example 4096");
        Show(r.Resolve(r.Regular, "bob@sender2.example", "x@remote.example")).ShouldBe("smtp gw.example x@remote.example 4096");
        Show(r.Resolve(r.Regular, "", "x@remote.example")).ShouldBe("nullxport [null-relay] x@remote.example 4096");
        Show(r.Resolve(r.Regular, "other@elsewhere", "x@remote.example")).ShouldBe("smtp gw.example x@remote.example 4096");
    }

    [Fact]
    public void RelocatedAndSwitches()
    {
        var t = Table("relocated", "joe@remote.example\tnew place\n");
        var r = Make($"relocated_maps = texthash:{t}\nswap_bangpath = no\nallow_percent_hack = no\n"
            + "resolve_numeric_domain = yes\nallow_min_user = yes\n");
        Show(r.Resolve(r.Regular, "", "joe@remote.example")).ShouldBe("error 5.1.6 User has moved to new place joe@remote.example 4096");
        Show(r.Resolve(r.Regular, "", "joe@1.2.3.4")).ShouldBe("smtp [1.2.3.4] joe@[1.2.3.4] 4096");
        Show(r.Resolve(r.Regular, "", "joe@127.0.0.1")).ShouldBe("local host.example.com joe@[127.0.0.1] 256");
        Show(r.Resolve(r.Regular, "", "-joe")).ShouldBe("local host.example.com -joe@host.example.com 256");
    }

    [Fact]
    public void NullTransportFails()
    {
        var r = Make("default_transport = :nohost\n");
        r.Resolve(r.Regular, "", "joe@remote.example").Flags.ShouldBe(8 | 4096);
    }

    [Theory]
    [InlineData("1.2.3.4", true)]
    [InlineData("0.1.2.3", false)]
    [InlineData("1.2.3", false)]
    [InlineData("::1", true)]
    [InlineData("1:2:3:4:5:6:7:8:9", false)]
    [InlineData("::ffff:1.2.3.4", true)]
    public void HostAddresses(string addr, bool valid) => HostSyntax.ValidHostAddr(addr).ShouldBe(valid);

    [Theory]
    [InlineData("example.com", true)]
    [InlineData("-bad.example", false)]
    [InlineData("a..b", false)]
    [InlineData("1.2.3.4", false)]
    [InlineData("bad_host!", false)]
    public void Hostnames(string name, bool valid) => HostSyntax.ValidHostname(name).ShouldBe(valid);

    [Fact]
    public void TableRegistryNames()
    {
        TableNames.FlagsStr(Postfix.Global.Dict.DictFlags.Lock | Postfix.Global.Dict.DictFlags.NoRegsub
            | Postfix.Global.Dict.DictFlags.FoldFix | Postfix.Global.Dict.DictFlags.Utf8Request)
            .ShouldBe("lock|no_regsub|fold_fix|utf8_request");
        TableNames.Register("lmdb:/x/transport", Postfix.Global.Dict.DictFlags.Lock | Postfix.Global.Dict.DictFlags.Utf8Request);
        TableNames.Display("lmdb:/x/transport").ShouldBe("lmdb:/x/transport(0,lock|utf8_request)");
        TableNames.Display("lmdb:/unknown").ShouldBe("lmdb:/unknown");
    }
}
