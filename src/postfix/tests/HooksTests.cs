// NAME
//	HooksTests - postfix hooks (master.cf reading, the hook finder) and
//	postfix explain address (the daemons' code, traced)
using System;
using System.IO;
using System.Linq;
using Postfix.Commands.Control.Explain;
using Postfix.Commands.Control.Hooks;
using Postfix.Global.Config;
using Shouldly;
using Xunit;

namespace Postfix.Commands.Control.Tests;

public sealed class HooksTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("pfxhooks.").FullName;

    public void Dispose() => Directory.Delete(dir, true);

    private (MailConf, System.Collections.Generic.List<MasterService>) Config(string main, string master)
    {
        File.WriteAllText(Path.Combine(dir, "main.cf"), main);
        File.SetLastWriteTimeUtc(Path.Combine(dir, "main.cf"), System.DateTime.UtcNow.AddMinutes(-1)); // cool: a fresh main.cf is re-read after 300 ms pauses
        File.WriteAllText(Path.Combine(dir, "master.cf"), master);
        return (MailConf.Read(dir), MasterServices.Read(Path.Combine(dir, "master.cf")));
    }

    [Fact]
    public void ReadsMasterCfOverridesWithBraces()
    {
        var (_, services) = Config("", """
            # comment
            submission inet n - y - - smtpd
              -o syslog_name=postfix/submission
              -o { smtpd_client_restrictions = permit_sasl_authenticated, reject }
            policy unix - n n - 0 spawn user=nobody argv=/usr/bin/policyd --x
            """);
        services.Count.ShouldBe(2);
        var sub = services[0];
        sub.Label.ShouldBe("submission/inet");
        sub.Command.ShouldBe("smtpd");
        sub.Override("smtpd_client_restrictions").ShouldBe("permit_sasl_authenticated, reject");
        sub.Override("syslog_name").ShouldBe("postfix/submission");
        services[1].Argv().ShouldBe("/usr/bin/policyd --x");
        services[1].Attribute("user").ShouldBe("nobody");
    }

    [Fact]
    public void FindsPolicyMilterFilterAndPipe()
    {
        var (conf, services) = Config("""
            smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination,
                check_policy_service unix:private/policy, reject_rbl_client zen.example.org
            smtpd_milters = inet:127.0.0.1:8891, { unix:/run/m.sock, default_action=accept }
            content_filter = amavis:[127.0.0.1]:10024
            header_checks = regexp:/etc/postfix/header_checks
            """, """
            smtp inet n - y - - smtpd
            submission inet n - y - - smtpd -o smtpd_milters=
            amavis unix - - n - 2 smtp
            policy unix - n n - 0 spawn user=nobody argv=/usr/bin/policyd
            maildrop unix - n n - - pipe flags=DRhu user=vmail argv=/usr/bin/maildrop -d ${recipient}
            cleanup unix n - y - 0 cleanup
            """);
        var hooks = new HookFinder(conf, services).Find();
        var policy = hooks.Single(h => h.Protocol == "policy delegation");
        policy.Endpoint.ShouldBe("unix:private/policy");
        policy.Stage.ShouldBe("smtpd RCPT");
        policy.Detail!.ShouldContain("/usr/bin/policyd");
        hooks.ShouldContain(h => h.Protocol.StartsWith("DNSBL") && h.Endpoint == "zen.example.org");
        var milters = hooks.Where(h => h.Protocol == "milter").ToList();
        milters.Select(m => m.Endpoint).ShouldBe(["inet:127.0.0.1:8891", "unix:/run/m.sock"]);
        milters[1].Detail.ShouldBe("default_action=accept");
        // submission clears smtpd_milters: the main.cf milters apply to smtp only.
        milters[0].Services.ShouldBe(["smtp/inet"]);
        var filter = hooks.Single(h => h.Parameter == "content_filter");
        (filter.Protocol, filter.Endpoint).ShouldBe(("after-queue content filter over SMTP", "[127.0.0.1]:10024"));
        hooks.ShouldContain(h => h.Protocol == "pipe command" && h.Endpoint == "/usr/bin/maildrop -d ${recipient}");
        hooks.ShouldContain(h => h.Parameter == "header_checks" && h.Protocol == "header checks, regexp");
    }

    [Fact]
    public void DefaultsAreNotHooks()
    {
        var (conf, services) = Config("myhostname = a.example\n", "smtp inet n - y - - smtpd\n");
        new HookFinder(conf, services).Find().ShouldBeEmpty();
    }

    [Fact]
    public void FollowsRestrictionClasses()
    {
        var (conf, services) = Config("""
            smtpd_restriction_classes = greylist, unused
            greylist = check_policy_service inet:127.0.0.1:10023
            unused = check_policy_service inet:127.0.0.1:10040
            smtpd_recipient_restrictions = check_recipient_access hash:/x, greylist
            """, "smtp inet n - y - - smtpd\n");
        var hooks = new HookFinder(conf, services).Find();
        hooks.Single(h => h.Endpoint == "inet:127.0.0.1:10023").Stage.ShouldBe("smtpd RCPT");
        hooks.Single(h => h.Endpoint == "inet:127.0.0.1:10040").Stage.ShouldBe("smtpd restriction class");
    }

    [Fact]
    public void ExplainsAddressWithDaemonCode()
    {
        File.WriteAllText(Path.Combine(dir, "virtual"), "info@alias.example alice@example.com, bob@remote.example\n");
        File.WriteAllText(Path.Combine(dir, "transport"), "remote.example smtp:[mx.remote.example]\n");
        var (conf, services) = Config($"""
            myhostname = mx.example.com
            mydomain = example.com
            mydestination = $myhostname, example.com
            virtual_alias_domains = alias.example
            virtual_alias_maps = texthash:{dir}/virtual
            transport_maps = texthash:{dir}/transport
            """, "local unix - n n - - local\nsmtp unix - - y - - smtp\n");
        var x = new AddressExplainer(conf, services).Explain("info@alias.example", null);
        x.Paths.Select(p => (p.Recipient, p.Transport, p.Nexthop)).ShouldBe(
            [("alice@example.com", "local", "mx.example.com"), ("bob@remote.example", "smtp", "[mx.remote.example]")]);
        var virt = x.Steps.Single(s => s.Name.StartsWith("virtual_alias_maps"));
        virt.Lookups.First().ShouldBe(new Lookup("virtual_alias_maps", $"texthash:{dir}/virtual", "info@alias.example", "alice@example.com, bob@remote.example"));
        x.Paths[1].Steps[1].Note!.ShouldContain("transport_maps");
        x.Paths[1].Steps[2].Result.ShouldBe("smtp(8) via smtp/unix to [mx.remote.example]");
    }
    [Fact]
    public void DotDrawsTheContentFilterReinjectionPath()
    {
        var (conf, services) = Config("content_filter = amavis:[127.0.0.1]:10024\n", """
            smtp inet n - y - - smtpd
            amavis unix - - n - 2 smtp
            127.0.0.1:10025 inet n - n - - smtpd -o content_filter= -o local_recipient_maps=
            scan unix - n n - - pipe user=filter argv=/usr/bin/scan -f ${sender} -- /usr/sbin/sendmail -i
            submission inet n - y - - smtpd -o content_filter=scan:
            """);
        var o = new StringWriter();
        HookReport.Dot(o, dir, new HookFinder(conf, services).Find(), services, conf.Eval("content_filter"));
        var dot = o.ToString();
        // svc1 = amavis/unix, svc2 = the re-injection smtpd, svc3 = the pipe filter.
        dot.ShouldContain("  filter0 [shape=box, style=\"rounded,filled\", fillcolor=lightblue, label=\"content filter\\n[127.0.0.1]:10024\"];\n");
        dot.ShouldContain("  svc1 -> filter0 [color=blue, label=\"content_filter (main.cf)\"];\n");
        dot.ShouldContain("  filter0 -> svc2 [color=blue, style=bold, label=\"re-injection\"];\n");
        dot.ShouldContain("  svc3 -> filter1 [color=blue, label=\"content_filter (submission/inet)\"];\n");
        dot.ShouldContain("  filter1 -> sendmail [color=blue, style=bold, label=\"re-injection (sendmail)\"];\n");
        dot.ShouldNotContain("filter1 -> svc2");
    }
}
