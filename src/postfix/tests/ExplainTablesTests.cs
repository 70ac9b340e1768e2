// NAME
//	ExplainTablesTests - tables that cannot be opened: the surrogate
//	(commands, daemons, the explain observer) and postfix explain going on
//	past them with the daemons' temporary failure
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Postfix.Commands.Control.Explain;
using Postfix.Commands.Control.Hooks;
using Postfix.Global.Config;
using Postfix.Global.Dict;
using Postfix.Util;
using Shouldly;
using Xunit;

namespace Postfix.Commands.Control.Tests;

public sealed class ExplainTablesTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("pfxexplain.").FullName;
    private readonly StringWriter err = new();

    public ExplainTablesTests()
    {
        Msg.Err = err;
        DictSurrogate.Observer = null;
    }

    public void Dispose()
    {
        DictSurrogate.AllowSurrogate = false;
        DictSurrogate.Observer = null;
        Msg.Err = null!;
        ProgramHost.Out = null!;
        Directory.Delete(dir, true);
    }

    private (MailConf, List<MasterService>) Config(string main, string master)
    {
        File.WriteAllText(Path.Combine(dir, "main.cf"), main);
        File.SetLastWriteTimeUtc(Path.Combine(dir, "main.cf"), System.DateTime.UtcNow.AddMinutes(-1)); // cool: a fresh main.cf is re-read after 300 ms pauses
        File.WriteAllText(Path.Combine(dir, "master.cf"), master);
        return (MailConf.Read(dir), MasterServices.Read(Path.Combine(dir, "master.cf")));
    }

    [Fact]
    public void CommandsStopAtATableThatCannotBeOpened()
    {
        DictSurrogate.AllowSurrogate = false;
        Should.Throw<FatalException>(() => DictOpen.Open($"hash:{dir}/cmd", DictOpenFlags.ReadOnly, DictFlags.None));
        err.ToString().ShouldContain($"fatal: open database {dir}/cmd.lmdb: No such file or directory");
    }

    [Fact]
    public void DaemonsGetASurrogateWhoseLookupsFail()
    {
        DictSurrogate.AllowSurrogate = true;
        var d = DictOpen.Open($"hash:{dir}/daemon", DictOpenFlags.ReadOnly, DictFlags.None);
        err.ToString().ShouldContain($"error: open database {dir}/daemon.lmdb: No such file or directory");
        d.Lookup("key").ShouldBeNull();
        d.Error.ShouldBe(DictError.Retry);
        err.ToString().ShouldContain($"warning: hash:{dir}/daemon is unavailable. open database {dir}/daemon.lmdb: No such file or directory");
        // maps_find() stops at the failing table: the next one is not asked.
        var maps = new Maps("test_maps", [d, DictOpen.Open("static:found", DictOpenFlags.ReadOnly, DictFlags.None)]);
        maps.Find("key").ShouldBeNull();
        maps.Error.ShouldBe(DictError.Retry);
    }

    [Fact]
    public void UnsupportedTypeIsASurrogateToo()
    {
        DictSurrogate.AllowSurrogate = true;
        var seen = new List<(string, bool)>();
        DictSurrogate.Observer = (t, access) => seen.Add((AddressExplainer.Describe(t), access));
        var d = DictOpen.Open("nosuchtype:/etc/x.cf", DictOpenFlags.ReadOnly, DictFlags.None);
        d.Lookup("k").ShouldBeNull();
        d.Error.ShouldBe(DictError.Retry);
        seen.ShouldBe([("table nosuchtype:/etc/x.cf: unavailable: unsupported dictionary type: nosuchtype", false),
            ("table nosuchtype:/etc/x.cf: unavailable: unsupported dictionary type: nosuchtype", true)]);
        // With an observer the problem is reported to it, not logged.
        err.ToString().ShouldBe("");
    }

    [Fact]
    public void ExplainAddressReportsTheTableAtTheStepAndGoesOn()
    {
        DictSurrogate.AllowSurrogate = true;
        var (conf, services) = Config($"""
            myhostname = mx.example.com
            mydestination = $myhostname, example.com
            alias_maps = hash:{dir}/aliases
            """, "local unix - n n - - local\n");
        var x = new AddressExplainer(conf, services).Explain("postmaster@example.com", null);
        var line = $"table hash:{dir}/aliases: unavailable: open database {dir}/aliases.lmdb: No such file or directory";
        x.Unavailable.ShouldBe([line]);
        x.Paths.Single().Transport.ShouldBe("local");
        var delivery = x.Paths[0].Steps.Single(s => s.Name == "delivery agent");
        delivery.Unavailable.ShouldBe([line]);
        delivery.Note!.ShouldContain("local(8) would defer (4.3.0 alias database unavailable)");
        delivery.Lookups.Single().Error.ShouldNotBeNull();
        var o = new StringWriter();
        ExplainReport.Text(o, dir, x);
        o.ToString().ShouldContain("      " + line + "\n");
        o.ToString().ShouldContain("  postmaster@example.com -> local:mx.example.com (local)");
    }

    [Fact]
    public void ExplainAddressDefersWhenTheResolverTableFails()
    {
        DictSurrogate.AllowSurrogate = true;
        var (conf, services) = Config($"""
            mydestination = example.com
            virtual_alias_maps = texthash:{dir}/virtual
            """, "local unix - n n - - local\n");
        var x = new AddressExplainer(conf, services).Explain("user@elsewhere.example", null);
        x.Steps.Single(s => s.Name.StartsWith("virtual_alias_maps")).Note!
            .ShouldContain("would defer (451 4.3.0 Error: queue file write error)");
        x.Paths.Single().Class.ShouldBe(AddressExplainer.LookupFailure);
        x.Paths[0].Steps.Single().Note!.ShouldContain("4.3.0 address resolver failure");
    }

    [Fact]
    public void ExplainSmtpGivesTheTemporaryFailureAndAResult()
    {
        DictSurrogate.AllowSurrogate = true;
        var (conf, services) = Config($"""
            mydestination = example.com
            mynetworks = 127.0.0.0/8
            smtpd_recipient_restrictions = check_recipient_access hash:{dir}/access, reject_unauth_destination
            """, "smtp inet n - y - - smtpd\n");
        var o = new StringWriter();
        ProgramHost.Out = o;
        SmtpExplainer.Run(conf, services, null, "192.0.2.1", "x", "a@example.org", ["user@example.com"], null, false, false, "text")
            .ShouldBe(0);
        var text = o.ToString();
        text.ShouldContain($"      table hash:{dir}/access: unavailable: open database {dir}/access.lmdb: No such file or directory (temporary lookup error)\n");
        // smtpd_check.c: an access table that fails is a server configuration error.
        text.ShouldContain("  => 451 4.3.5 <user@example.com>: Recipient address rejected: Server configuration error\n");
        text.ShouldContain("result: would defer: every recipient got a temporary (4xx) reply\n");
    }

    [Fact]
    public void ExplainSmtpReportsAConfigurationSmtpdRefuses()
    {
        DictSurrogate.AllowSurrogate = true;
        var (conf, services) = Config("compatibility_level = 0\n", "smtp inet n - y - - smtpd\n");
        var o = new StringWriter();
        ProgramHost.Out = o;
        SmtpExplainer.Run(conf, services, null, "192.0.2.1", "x", "a@example.org", ["user@example.com"], null, false, false, "text")
            .ShouldBe(0);
        o.ToString().ShouldContain("result: smtpd would not start here: fatal: in parameter smtpd_relay_restrictions or smtpd_recipient_restrictions");
    }
}
