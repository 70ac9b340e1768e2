// NAME
//	AnvilClientTests - AnvilClient against anvil's request handler over a socket
using System;
using System.IO;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using Postfix.Global.Attr;
using Shouldly;
using Xunit;

namespace Postfix.Daemons.Anvil.Tests;

public sealed class AnvilClientTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("anvil-test").FullName;
    private readonly AnvilTable table = new(60);
    private readonly Socket listener;
    private int accepted;
    private volatile bool hangUp;

    public AnvilClientTests()
    {
        // The stand-in server blocks a pool thread per connection: enough
        // threads at once, not one more per half second of starvation.
        ThreadPool.GetMinThreads(out var workers, out var io);
        ThreadPool.SetMinThreads(Math.Max(workers, 64), io);
        Directory.CreateDirectory(Path.Combine(dir, "private"));
        listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(Path.Combine(dir, "private/anvil")));
        listener.Listen(10);
        _ = Task.Run(AcceptLoop);
    }

    // A one-connection-at-a-time stand-in for the anvil server loop.
    private void AcceptLoop()
    {
        while (true)
        {
            Socket s;
            try
            {
                s = listener.Accept();
            }
            catch (Exception)
            {
                return;
            }
            Interlocked.Increment(ref accepted);
            _ = Task.Run(() => Serve(s));
        }
    }

    private void Serve(Socket sock)
    {
        var local = new AnvilTable.Local();
        using var s = new AttrStream(new NetworkStream(sock, ownsSocket: true), "anvil socket", AttrEncoding.Plain);
        s.Send(w => w.Str(MailProto.AttrProto, MailProto.ProtoAnvil));
        var spec = new[] { AttrSpec.Str(AnvilProto.AttrReq), AttrSpec.Str(AnvilProto.AttrIdent) };
        var v = new AttrValue[2];
        while (s.Receive(spec, v, AttrFlags.Strict) == 2)
        {
            lock (table)
            {
                if (!Anvil.Handle(local, s, table, v[0].Str, v[1].Str))
                    break;
            }
            if (hangUp)
                break;
        }
        lock (table)
            table.ServiceDone(local);
    }

    [Fact]
    public void RequestsRoundTrip()
    {
        using var c = new AnvilClient(dir);
        c.Connect("smtp", "127.0.0.1", out var count, out var rate).ShouldBeTrue();
        (count, rate).ShouldBe((1, 1));
        c.Mail("smtp", "127.0.0.1", out var msgs).ShouldBeTrue();
        msgs.ShouldBe(1);
        c.Rcpt("smtp", "127.0.0.1", out var rcpts).ShouldBeTrue();
        c.Rcpt("smtp", "127.0.0.1", out rcpts).ShouldBeTrue();
        rcpts.ShouldBe(2);
        c.NewTls("smtp", "127.0.0.1", out var ntls).ShouldBeTrue();
        ntls.ShouldBe(1);
        c.NewTlsStatus("smtp", "127.0.0.1", out ntls).ShouldBeTrue();
        ntls.ShouldBe(1);
        c.Auth("smtp", "127.0.0.1", out var auths).ShouldBeTrue();
        auths.ShouldBe(1);
        c.Lookup("smtp", "127.0.0.1", out var all).ShouldBeTrue();
        all.ShouldBe(new AnvilCounters(1, 1, 1, 2, 1, 1));
        c.Disconnect("smtp", "127.0.0.1").ShouldBeTrue();
        c.Lookup("smtp", "127.0.0.1", out all).ShouldBeTrue();
        all.Count.ShouldBe(0);
    }

    [Fact]
    public void IdentIsMadePrintable()
    {
        AnvilClient.Ident("smtp", "1.2.3.4").ShouldBe("smtp:1.2.3.4");
        AnvilClient.Ident("smtp", "a\nb").ShouldBe("smtp:a?b");
    }

    [Fact]
    public void ConcurrentSessionsAreCountedSeparately()
    {
        using var c = new AnvilClient(dir);
        c.Connect("smtp", "10.0.0.1", out var count, out _).ShouldBeTrue();
        count.ShouldBe(1);
        c.Connect("smtp", "10.0.0.1", out count, out var rate).ShouldBeTrue();
        (count, rate).ShouldBe((2, 2));
        c.Connect("smtp", "10.0.0.2", out count, out _).ShouldBeTrue();
        count.ShouldBe(1);
        c.Disconnect("smtp", "10.0.0.1").ShouldBeTrue();
        c.Lookup("smtp", "10.0.0.1", out var all).ShouldBeTrue();
        all.Count.ShouldBe(1);
        c.Disconnect("smtp", "10.0.0.1").ShouldBeTrue();
        c.Disconnect("smtp", "10.0.0.2").ShouldBeTrue();
        c.Lookup("smtp", "10.0.0.1", out all).ShouldBeTrue();
        all.Count.ShouldBe(0);
        c.Lookup("smtp", "10.0.0.2", out all).ShouldBeTrue();
        all.Count.ShouldBe(0);
        // Streams are reused once their session is over.
        c.Connect("smtp", "10.0.0.3", out _, out _).ShouldBeTrue();
        c.Channels.ShouldBe(3);
    }

    [Fact]
    public void ThreadsShareTheClient()
    {
        using var c = new AnvilClient(dir);
        var peak = 0;
        Parallel.For(0, 8, i =>
        {
            for (var n = 0; n < 10; n++)
            {
                c.Connect("smtp", "10.1.1.1", out var count, out _).ShouldBeTrue();
                InterlockedMax(ref peak, count);
                c.Rcpt("smtp", "10.0.0." + i, out _).ShouldBeTrue();
                c.Disconnect("smtp", "10.1.1.1").ShouldBeTrue();
            }
        });
        for (var i = 0; i < 8; i++)
        {
            c.Lookup("smtp", "10.0.0." + i, out var all).ShouldBeTrue();
            all.Rcpt.ShouldBe(10);
        }
        c.Lookup("smtp", "10.1.1.1", out var shared).ShouldBeTrue();
        shared.Count.ShouldBe(0);
        shared.Rate.ShouldBe(80);
        peak.ShouldBeLessThanOrEqualTo(8);
        // A session's stream, and one for a request while all others are busy.
        c.Channels.ShouldBeLessThanOrEqualTo(16);
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while ((seen = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, seen) != seen)
        {
        }
    }

    [Fact]
    public void ReconnectsAfterTheServerHungUp()
    {
        using var c = new AnvilClient(dir);
        hangUp = true;
        c.Connect("smtp", "1.1.1.1", out _, out _).ShouldBeTrue();
        Thread.Sleep(200);
        hangUp = false;
        // The server's end-of-connection dropped the count; the next
        // request reopens the stream.
        c.Lookup("smtp", "1.1.1.1", out var all).ShouldBeTrue();
        all.Count.ShouldBe(0);
        c.Mail("smtp", "1.1.1.1", out var msgs).ShouldBeTrue();
        msgs.ShouldBe(1);
        accepted.ShouldBeGreaterThanOrEqualTo(2);
    }

    [Fact]
    public void UnreachableServerFails()
    {
        var empty = Directory.CreateTempSubdirectory("anvil-none").FullName;
        try
        {
            using var c = new AnvilClient(empty) { TryDelay = TimeSpan.FromMilliseconds(10) };
            c.Connect("smtp", "1.1.1.1", out var count, out _).ShouldBeFalse();
            count.ShouldBe(0);
        }
        finally
        {
            Directory.Delete(empty, true);
        }
    }

    public void Dispose()
    {
        listener.Dispose();
        Directory.Delete(dir, true);
    }
}
