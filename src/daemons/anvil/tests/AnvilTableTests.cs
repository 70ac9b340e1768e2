// NAME
//	AnvilTableTests - counters, rate windows, expiry and statistics of anvil(8)
using System.Collections.Generic;
using Shouldly;
using Xunit;

namespace Postfix.Daemons.Anvil.Tests;

public class AnvilTableTests
{
    private long now = 1_000_000;

    private AnvilTable NewTable(int unit = 60) => new(unit, () => now);

    [Fact]
    public void ConnectCountsConnectionsAndRate()
    {
        var t = NewTable();
        var a = new AnvilTable.Local();
        var b = new AnvilTable.Local();
        t.Connect(a, "smtp:127.0.0.1").ShouldBe((1, 1));
        t.Connect(b, "smtp:127.0.0.1").ShouldBe((2, 2));
        t.Disconnect(a, "smtp:127.0.0.1");
        t.Lookup("smtp:127.0.0.1").ShouldBe((1, 2, 0, 0, 0, 0));
        var c = new AnvilTable.Local();
        t.Connect(c, "smtp:127.0.0.1").ShouldBe((2, 3));
    }

    [Fact]
    public void SecondConnectOnOneLocalReleasesTheFirst()
    {
        var t = NewTable();
        var a = new AnvilTable.Local();
        t.Connect(a, "smtp:1.2.3.4");
        // Same local client, same remote: counted up then released again.
        t.Connect(a, "smtp:1.2.3.4").ShouldBe((1, 2));
        t.Connect(a, "smtp:5.6.7.8").ShouldBe((1, 1));
        t.Lookup("smtp:1.2.3.4").Count.ShouldBe(0);
    }

    [Fact]
    public void DisconnectFromAnotherLocalIsIgnored()
    {
        var t = NewTable();
        var a = new AnvilTable.Local();
        var b = new AnvilTable.Local();
        t.Connect(a, "smtp:1.2.3.4");
        t.Disconnect(b, "smtp:1.2.3.4");
        t.Lookup("smtp:1.2.3.4").Count.ShouldBe(1);
        t.ServiceDone(a);
        t.Lookup("smtp:1.2.3.4").Count.ShouldBe(0);
    }

    [Fact]
    public void RateWindowResetsAfterTheTimeUnit()
    {
        var t = NewTable(60);
        var a = new AnvilTable.Local();
        t.Connect(a, "smtp:x");
        t.Mail(a, "smtp:x").ShouldBe(1);
        t.Mail(a, "smtp:x").ShouldBe(2);
        t.Rcpt(a, "smtp:x").ShouldBe(1);
        now += 60;
        // start + unit < now is false at exactly one unit.
        t.Mail(a, "smtp:x").ShouldBe(3);
        now += 1;
        t.Mail(a, "smtp:x").ShouldBe(1);
        t.Lookup("smtp:x").ShouldBe((1, 0, 1, 0, 0, 0));
    }

    [Fact]
    public void LookupDropsStaleRates()
    {
        var t = NewTable(10);
        var a = new AnvilTable.Local();
        t.Connect(a, "smtp:x");
        t.Auth(a, "smtp:x").ShouldBe(1);
        t.NewTls(a, "smtp:x").ShouldBe(1);
        t.NewTlsStatus("smtp:x").ShouldBe(1);
        now += 11;
        t.NewTlsStatus("smtp:x").ShouldBe(0);
        t.Lookup("smtp:x").ShouldBe((1, 0, 0, 0, 0, 0));
        t.Lookup("smtp:unknown").ShouldBe((0, 0, 0, 0, 0, 0));
        t.NewTlsStatus("smtp:unknown").ShouldBe(0);
    }

    [Fact]
    public void EventsWithoutConnectCreateTheEntry()
    {
        var t = NewTable();
        var a = new AnvilTable.Local();
        t.Rcpt(a, "smtp:y").ShouldBe(1);
        t.Lookup("smtp:y").ShouldBe((1, 1, 0, 1, 0, 0));
    }

    [Fact]
    public void IdleEntriesExpireOneUnitAfterTheLastDisconnect()
    {
        var t = NewTable(60);
        var a = new AnvilTable.Local();
        t.Connect(a, "smtp:z");
        t.Disconnect(a, "smtp:z");
        t.NextExpiry().ShouldBe(now + 60);
        now += 59;
        t.ExpireDue().ShouldBe(0);
        t.Size.ShouldBe(1);
        now += 1;
        t.ExpireDue().ShouldBe(1);
        t.Size.ShouldBe(0);
        t.NextExpiry().ShouldBe(0);
    }

    [Fact]
    public void ReconnectCancelsExpiry()
    {
        var t = NewTable(60);
        var a = new AnvilTable.Local();
        t.Connect(a, "smtp:z");
        t.Disconnect(a, "smtp:z");
        t.Connect(a, "smtp:z").ShouldBe((1, 2));
        now += 120;
        t.ExpireDue().ShouldBe(0);
        t.NextExpiry().ShouldBe(0);
    }

    [Fact]
    public void StatusDumpReportsPeaksOnce()
    {
        now = System.DateTimeOffset.Parse("2026-11-21T15:07:05Z").ToUnixTimeSeconds();
        var t = NewTable(60);
        var a = new AnvilTable.Local();
        var b = new AnvilTable.Local();
        var c = new AnvilTable.Local();
        t.Connect(a, "smtp:127.0.0.1");
        t.Connect(b, "smtp:127.0.0.1");
        t.Connect(c, "smtp:127.0.0.2");
        t.Mail(a, "smtp:127.0.0.1");
        t.Rcpt(a, "smtp:127.0.0.1");
        t.Rcpt(a, "smtp:127.0.0.1");
        t.Auth(c, "smtp:127.0.0.2");
        t.NewTls(c, "smtp:127.0.0.2");
        var lines = new List<string>();
        t.StatusDump(lines.Add);
        var at = AnvilTable.CTime(now);
        lines.ShouldBe(new[]
        {
            $"statistics: max connection rate 2/60s for (smtp:127.0.0.1) at {at}",
            $"statistics: max connection count 2 for (smtp:127.0.0.1) at {at}",
            $"statistics: max message rate 1/60s for (smtp:127.0.0.1) at {at}",
            $"statistics: max recipient rate 2/60s for (smtp:127.0.0.1) at {at}",
            $"statistics: max newtls rate 1/60s for (smtp:127.0.0.2) at {at}",
            $"statistics: max auth rate 1/60s for (smtp:127.0.0.2) at {at}",
            $"statistics: max cache size 2 at {at}",
        });
        lines.Clear();
        t.StatusDump(lines.Add);
        lines.ShouldBeEmpty();
    }

    [Fact]
    public void CTimeLooksLikeCtime()
    {
        var s = AnvilTable.CTime(0);
        s.Length.ShouldBe(15);
        s.ShouldMatch(@"^[A-Z][a-z]{2} [ 123]\d \d\d:\d\d:\d\d$");
    }
}
