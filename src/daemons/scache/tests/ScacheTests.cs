// NAME
//	ScacheTests - the connection cache table, statistics and protocol
using System;
using System.Collections.Generic;
using System.Net.Sockets;
using System.Threading;
using Postfix.Global.Attr;
using Postfix.Util;
using Shouldly;
using Xunit;

namespace Postfix.Daemons.Scache.Tests;

public class ScacheTableTests
{
    private long now = 1_000_000;
    private readonly List<int> closed = new();

    private ScacheTable Table() => new(() => now, fd => closed.Add(fd));

    [Fact]
    public void EndpointLookupTakesTheOldestAndRemovesIt()
    {
        var t = Table();
        t.SaveEndp(2, "e", "p1", 11);
        t.SaveEndp(2, "e", "p2", 12);
        t.SessCount.ShouldBe(2);
        t.FindEndp("e", out var prop).ShouldBe(11);
        prop.ShouldBe("p1");
        t.FindEndp("e", out prop).ShouldBe(12);
        prop.ShouldBe("p2");
        t.FindEndp("e", out _).ShouldBe(-1);
        t.EndpCount.ShouldBe(0);
        t.SessCount.ShouldBe(0);
    }

    [Fact]
    public void DestinationLookupFollowsTheBindingToAConnection()
    {
        var t = Table();
        t.SaveDest(2, "d", "dp", "e1");
        t.SaveDest(2, "d", "dp", "e2");
        t.SaveDest(2, "d", "dp", "e1");   // refresh, not a second binding
        t.SaveEndp(2, "e2", "ep", 7);
        t.FindDest("d", out var dprop, out var eprop).ShouldBe(7);
        dprop.ShouldBe("dp");
        eprop.ShouldBe("ep");
        t.FindDest("d", out _, out _).ShouldBe(-1);
        t.DestCount.ShouldBe(1);
        t.FindDest("nosuch", out _, out _).ShouldBe(-1);
    }

    [Fact]
    public void ExpiredEntriesAreDroppedAndTheirConnectionsClosed()
    {
        var t = Table();
        t.SaveEndp(1, "e", "p", 21);
        t.SaveDest(3, "d", "dp", "e");
        t.NextExpiry().ShouldBe(now + 1000);
        now += 1000;
        t.ExpireDue();
        closed.ShouldBe(new[] { 21 });
        t.EndpCount.ShouldBe(0);
        t.DestCount.ShouldBe(1);
        now += 2000;
        t.ExpireDue();
        t.DestCount.ShouldBe(0);
        t.NextExpiry().ShouldBe(long.MaxValue);
    }
}

public class ScacheStatsTests
{
    [Fact]
    public void DumpLogsTheReferenceLinesAndResets()
    {
        var s = new ScacheStats { Start = new DateTime(2026, 11, 1, 9, 5, 7) };
        s.DestHits = 1;
        s.DestMiss = 2;
        s.EndpHits = 3;
        s.DestCount = 1;
        s.EndpCount = 2;
        s.SessCount = 3;
        var lines = new List<string>();
        s.Dump(lines.Add);
        lines.ShouldBe(new[]
        {
            "statistics: start interval Nov  1 09:05:07",
            "statistics: domain lookup hits=1 miss=2 success=33%",
            "statistics: address lookup hits=3 miss=0 success=100%",
            "statistics: max simultaneous domains=1 addresses=2 connection=3",
        });
        lines.Clear();
        s.Dump(lines.Add);
        lines.ShouldBeEmpty();
    }
}

public class ScacheProtocolTests
{
    // A server handler on one end of a socket pair, the client protocol
    // spoken by hand on the other, descriptors passed for real.
    [Fact]
    public void SaveAndFindPassDescriptors()
    {
        var table = Scache.NewTable();
        var stats = new ScacheStats();
        var (server, client) = Pair();
        var ss = new AttrStream(new NetworkStream(server), "server");
        var cs = new AttrStream(new NetworkStream(client), "client");
        var handler = new Scache.ScacheHandler(table, stats, 2, ss,
            () => Sys.ReceiveFd((int)server.Handle), fd => Sys.SendFd((int)server.Handle, fd));
        var (a, b) = Pair();
        var serverThread = new Thread(() =>
        {
            for (var i = 0; i < 3; i++)
            {
                var v = new AttrValue[1];
                if (ss.Receive([AttrSpec.Str("request")], v, AttrFlags.More | AttrFlags.Strict) != 1)
                    return;
                handler.Handle(v[0].Str);
            }
        });
        serverThread.Start();

        // save_endp, with the ttl above the limit.
        cs.Send(w => w.Str("request", "save_endp").Int("ttl", 100).Str("label", "L").Str("property", "P")).ShouldBeTrue();
        var r = new AttrValue[3];
        cs.Receive([AttrSpec.Str("dummy")], r, AttrFlags.Strict).ShouldBe(1);
        Sys.SendFd((int)client.Handle, (int)a.Handle).ShouldBe(0);
        cs.Receive([AttrSpec.Int("status")], r, AttrFlags.Strict).ShouldBe(1);
        r[0].Int.ShouldBe(0);

        // find_endp for a label that is not there.
        cs.Send(w => w.Str("request", "find_endp").Str("label", "other"));
        cs.Receive([AttrSpec.Int("status"), AttrSpec.Str("property")], r, AttrFlags.Strict).ShouldBe(2);
        r[0].Int.ShouldBe(2);

        // find_endp that hits: the descriptor comes back and still works.
        cs.Send(w => w.Str("request", "find_endp").Str("label", "L"));
        cs.Receive([AttrSpec.Int("status"), AttrSpec.Str("property")], r, AttrFlags.Strict).ShouldBe(2);
        r[0].Int.ShouldBe(0);
        r[1].Str.ShouldBe("P");
        cs.Send(w => w.Str("dummy", ""));
        var fd = Sys.ReceiveFd((int)client.Handle);
        fd.ShouldBeGreaterThanOrEqualTo(0);
        cs.Send(w => w.Str("dummy", ""));
        serverThread.Join(5000).ShouldBeTrue();
        using (var passed = new Socket(new SafeSocketHandle((IntPtr)fd, true)))
        {
            passed.Send("ping"u8.ToArray());
            var buf = new byte[4];
            b.Receive(buf).ShouldBe(4);
        }
        stats.EndpHits.ShouldBe(1);
        stats.EndpMiss.ShouldBe(1);
        stats.SessCount.ShouldBe(1);
        table.SessCount.ShouldBe(0);
        a.Dispose();
        b.Dispose();
    }

    private static (Socket, Socket) Pair()
    {
        var path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"scache-test-{Guid.NewGuid():N}");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(1);
        var c = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        c.Connect(new UnixDomainSocketEndPoint(path));
        var s = listener.Accept();
        System.IO.File.Delete(path);
        return (s, c);
    }
}

public class ScacheClientTests
{
    [Fact]
    public void ClientRequestsAreDisabledAfterTwoFailures()
    {
        var c = new ScacheClient("no-such-scache-service-for-tests", 1);
        c.FindEndp("x", out _).ShouldBe(-1);
        c.Disabled.ShouldBeTrue();
    }
}
