// NAME
//	VerifyCacheTests - the query/update protocol and the cache entries
using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using Postfix.Daemons.Verify;
using Postfix.Global.Attr;
using Postfix.Global.Dict;
using Shouldly;
using Xunit;

namespace Postfix.Daemons.Verify.Tests;

public class VerifyCacheTests
{
    private long clock = 1_000_000;
    private readonly List<(string Sender, string Rcpt)> probes = [];
    private readonly Dict map = DictHt.Open("verify", DictOpenFlags.Create | DictOpenFlags.ReadWrite, DictFlags.DupReplace);
    private readonly VerifySettings settings = new();

    private VerifyCache Cache() => new(map, settings, () => clock, (s, r) => probes.Add((s, r)));

    // Ask - one request; the reply's attributes as "name=value" strings.
    private List<string> Ask(VerifyCache cache, Action<AttrWriter> print)
    {
        var stream = new Duplex(AttrWriter.ToBytes(AttrEncoding.Zero, print));
        cache.Serve(new AttrStream(stream, "test"));
        var parts = Encoding.Latin1.GetString(stream.Output.ToArray()).Split('\0');
        var list = new List<string>();
        for (var i = 0; i + 1 < parts.Length && parts[i].Length > 0; i += 2)
            list.Add(parts[i] + "=" + parts[i + 1]);
        return list;
    }

    private List<string> Query(VerifyCache c, string addr) => Ask(c, w => w.Str("request", "query").Str("address", addr));

    private List<string> Update(VerifyCache c, string addr, int status, string why) =>
        Ask(c, w => w.Str("request", "update").Str("address", addr).Int("recipient_status", status).Str("reason", why));

    [Fact]
    public void CleanupDropsExpiredAndBadEntriesAndKeepsProbesInFlight()
    {
        clock = 100_000_000;
        var c = Cache();
        map.Update("fresh@ok", VerifyCache.MakeEntry(VerifyCache.StatOk, clock, clock, "ok"));
        map.Update("old@ok", VerifyCache.MakeEntry(VerifyCache.StatOk, 1, 1, "ok"));
        map.Update("oldneg@err", VerifyCache.MakeEntry(VerifyCache.StatBounce, 1, 1, "no"));
        map.Update("probing@ok", VerifyCache.MakeEntry(VerifyCache.StatTodo, clock - 10, 1, "in progress"));
        map.Update("junk@ok", "junk");
        c.Cleanup();
        map.Lookup("fresh@ok").ShouldNotBeNull();
        map.Lookup("probing@ok").ShouldNotBeNull();
        map.Lookup("old@ok").ShouldBeNull();
        map.Lookup("oldneg@err").ShouldBeNull();
        map.Lookup("junk@ok").ShouldBeNull();
        map.Lookup(VerifyCache.LastCleanupKey).ShouldBe("100000000");
    }

    [Fact]
    public void CleanupStepsLeaveRequestsServedAndDeleteBehind()
    {
        clock = 100_000_000;
        var c = Cache();
        map.Update("old@ok", VerifyCache.MakeEntry(VerifyCache.StatOk, 1, 1, "ok"));
        c.CleanupStep().ShouldBeTrue();
        c.CleanupRunning.ShouldBeTrue();
        // The dropped entry is still stored but no longer found.
        map.Lookup("old@ok").ShouldNotBeNull();
        Query(c, "old@ok").ShouldContain("recipient_status=3");
        probes.Count.ShouldBe(1);
        // The probe's update cancelled the delete behind.
        c.CleanupStep().ShouldBeFalse();
        c.CleanupRunning.ShouldBeFalse();
        map.Lookup("old@ok").ShouldNotBeNull();
        map.Lookup(VerifyCache.LastCleanupKey).ShouldBe("100000000");
    }

    [Fact]
    public void CleanupDeletesBehindWhenTheScanMovesOn()
    {
        clock = 100_000_000;
        var c = Cache();
        map.Update("old@ok", VerifyCache.MakeEntry(VerifyCache.StatOk, 1, 1, "ok"));
        map.Update(VerifyCache.LastCleanupKey, "5");
        c.CleanupStep().ShouldBeTrue();
        map.Lookup("old@ok").ShouldNotBeNull();
        c.CleanupStep().ShouldBeFalse();
        map.Lookup("old@ok").ShouldBeNull();
    }

    [Fact]
    public void CleanupDelayFollowsTheLastRun()
    {
        var c = Cache();
        c.CleanupDelay(3600).ShouldBe(0);
        map.Update(VerifyCache.LastCleanupKey, (clock - 600).ToString(System.Globalization.CultureInfo.InvariantCulture));
        c.CleanupDelay(3600).ShouldBe(3000);
        map.Update(VerifyCache.LastCleanupKey, (clock - 7200).ToString(System.Globalization.CultureInfo.InvariantCulture));
        c.CleanupDelay(3600).ShouldBe(0);
        map.Update(VerifyCache.LastCleanupKey, (clock + 7200).ToString(System.Globalization.CultureInfo.InvariantCulture));
        c.CleanupDelay(3600).ShouldBe(3600);
    }

    [Fact]
    public void UnknownAddressIsProbedOnce()
    {
        var c = Cache();
        Query(c, "joe@example.com").ShouldBe(["status=0", "recipient_status=3", "reason=Address verification in progress"]);
        probes.ShouldBe([("double-bounce", "joe@example.com")]);
        map.Lookup("joe@example.com").ShouldBe("3:1000000:0:Address verification in progress");
        clock += 10;
        Query(c, "joe@example.com").ShouldBe(["status=0", "recipient_status=3", "reason=Address verification in progress"]);
        probes.Count.ShouldBe(1);
    }

    [Fact]
    public void UpdateThenQueryReturnsTheResult()
    {
        var c = Cache();
        Update(c, "joe@[ipv6:::1]", VerifyCache.StatOk, "delivered").ShouldBe(["status=0"]);
        map.Lookup("joe@[ipv6___1]").ShouldBe("0:0:1000000:delivered");
        Query(c, "joe@[ipv6:::1]").ShouldBe(["status=0", "recipient_status=0", "reason=delivered"]);
        probes.ShouldBeEmpty();
    }

    [Fact]
    public void FailedProbeDoesNotClobberAGoodResult()
    {
        var c = Cache();
        Update(c, "a@b", VerifyCache.StatOk, "ok");
        clock += 5;
        Update(c, "a@b", VerifyCache.StatBounce, "gone").ShouldBe(["status=0"]);
        map.Lookup("a@b").ShouldBe("0:0:1000000:ok");
    }

    [Fact]
    public void PositiveResultIsRefreshedAfterTheRefreshTime()
    {
        var c = Cache();
        Update(c, "a@b", VerifyCache.StatOk, "ok");
        clock += settings.PositiveRefresh + 1;
        Query(c, "a@b").ShouldBe(["status=0", "recipient_status=0", "reason=ok"]);
        probes.Count.ShouldBe(1);
        map.Lookup("a@b").ShouldBe($"0:{clock}:1000000:ok");
    }

    [Fact]
    public void ExpiredNegativeEntryBecomesTodo()
    {
        var c = Cache();
        Update(c, "a@b", VerifyCache.StatBounce, "no such user");
        clock += settings.NegativeExpire + 1;
        Query(c, "a@b").ShouldBe(["status=0", "recipient_status=3", "reason=Address verification in progress"]);
        probes.Count.ShouldBe(1);
    }

    [Fact]
    public void BadStatusAndBadRequest()
    {
        var c = Cache();
        Update(c, "a@b", 7, "x").ShouldBe(["status=4294967294"]);
        Ask(c, w => w.Str("request", "frobnicate")).ShouldBe(["status=4294967294"]);
    }

    [Fact]
    public void MalformedEntryIsReprobed()
    {
        var c = Cache();
        map.Update("a@b", "garbage");
        Query(c, "a@b").ShouldBe(["status=0", "recipient_status=3", "reason=Address verification in progress"]);
        probes.Count.ShouldBe(1);
    }

    [Fact]
    public void EntryFormat()
    {
        VerifyCache.ParseEntry("2:5:6:text: with colon", out var st, out var p, out var u, out var t).ShouldBeTrue();
        (st, p, u, t).ShouldBe((2, 5L, 6L, "text: with colon"));
        VerifyCache.ParseEntry("0:0:0:x", out _, out _, out _, out _).ShouldBeFalse();
        VerifyCache.ParseEntry("9:1:1:x", out _, out _, out _, out _).ShouldBeFalse();
    }

    [Fact]
    public void SenderAddressWithTimeStamp()
    {
        settings.Sender = "probe@example.com";
        settings.SenderTtl = 3600;
        clock = 31 * 3600 * 5;
        // 155 hours in base 31 is "50".
        Cache().SenderAddress(clock).ShouldBe("probe50@example.com");
        settings.Sender = "<>";
        Cache().SenderAddress(clock).ShouldBe("");
    }
}

internal sealed class Duplex(byte[] request) : Stream
{
    private readonly MemoryStream input = new(request);

    public MemoryStream Output { get; } = new();

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => 0; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override int Read(byte[] buffer, int offset, int count) => input.Read(buffer, offset, count);
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => Output.Write(buffer, offset, count);
}
