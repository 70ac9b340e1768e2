// NAME
//	FlushTests - site names to logfile names, time parameters, and the
//	fast_flush_domains list
using System;
using System.IO;
using Postfix.Daemons.TrivialRewrite;
using Postfix.Global.Config;
using Shouldly;
using Xunit;

namespace Postfix.Daemons.Flush.Tests;

public sealed class FlushTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("flush").FullName;

    public void Dispose() => Directory.Delete(dir, true);

    private MailConf Conf(string mainCf)
    {
        var path = Path.Combine(dir, "main.cf");
        File.WriteAllText(path, mainCf);
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddMinutes(-1));
        return MailConf.Read(dir);
    }

    [Theory]
    [InlineData("example.com", "example_com")]
    [InlineData("Example.COM", "example_com")]
    [InlineData("x-y.sub.example.org", "x_y_sub_example_org")]
    [InlineData("[10.1.2.3]", null)]
    [InlineData("exa_mple.com", "exa_mple_com")]
    [InlineData("bad..name", null)]
    public void SiteToPath(string site, string? path) => Flush.SiteToPath(site).ShouldBe(path);

    [Theory]
    [InlineData("fast_flush_refresh_time = 12h", "fast_flush_refresh_time", 'h', 43200)]
    [InlineData("fast_flush_refresh_time = 2", "fast_flush_refresh_time", 'h', 7200)]
    [InlineData("fast_flush_purge_time = 7d", "fast_flush_purge_time", 'd', 604800)]
    [InlineData("fast_flush_purge_time = 1s", "fast_flush_purge_time", 'd', 1)]
    [InlineData("fast_flush_purge_time = 2w", "fast_flush_purge_time", 'd', 1209600)]
    public void TimeParameters(string line, string name, char unit, int seconds) =>
        Flush.TimeParam(Conf(line + "\n"), name, unit).ShouldBe(seconds);

    [Fact]
    public void DomainListStyles()
    {
        var plain = DomainMatchList.DomainList("fast_flush_domains", "example.com, .dot.example, !no.example.org, example.org", false);
        plain.Match("example.com").ShouldBeTrue();
        plain.Match("sub.example.com").ShouldBeFalse();
        plain.Match("a.dot.example").ShouldBeTrue();
        plain.Match("dot.example").ShouldBeFalse();
        plain.Match("no.example.org").ShouldBeFalse();
        var parent = DomainMatchList.DomainList("fast_flush_domains", "example.com, !no.example.org, example.org", true);
        parent.Match("Sub.Example.COM").ShouldBeTrue();
        parent.Match("no.example.org").ShouldBeFalse();
        parent.Match("yes.example.org").ShouldBeTrue();
    }
}
