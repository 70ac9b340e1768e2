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

    public AnvilClientTests()
    {
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
    public void ThreadsShareOneConnection()
    {
        using var c = new AnvilClient(dir);
        Parallel.For(0, 8, i =>
        {
            for (var n = 0; n < 25; n++)
                c.Rcpt("smtp", "10.0.0." + i, out _).ShouldBeTrue();
        });
        for (var i = 0; i < 8; i++)
        {
            c.Lookup("smtp", "10.0.0." + i, out var all).ShouldBeTrue();
            all.Rcpt.ShouldBe(25);
        }
        accepted.ShouldBe(1);
    }

    [Fact]
    public void ReconnectsAfterTheServerHungUp()
    {
        using var c = new AnvilClient(dir);
        c.Connect("smtp", "1.1.1.1", out _, out _).ShouldBeTrue();
        // A dropped stream is reopened by the next request.
        c.Dispose();
        c.Mail("smtp", "1.1.1.1", out var msgs).ShouldBeTrue();
        msgs.ShouldBe(1);
        accepted.ShouldBe(2);
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
