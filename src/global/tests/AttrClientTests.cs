// NAME
//	AttrClientTests - AttrClient, RewriteClient, ResolveClient against
//	in-process servers that replay trivial-rewrite's conversation
// DESCRIPTION
//	The server side speaks the bytes seen from Postfix 3.7.11's
//	trivial-rewrite (strace): the protocol announcement on accept, then
//	one reply per request.
using System;
using System.Collections.Generic;
using System.IO;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using Postfix.Global.Attr;
using Postfix.Util;
using Shouldly;
using Xunit;

namespace Postfix.Global.Tests;

[Collection("Msg")]
public sealed class AttrClientTests : IDisposable
{
    private readonly DirectoryInfo dir = Directory.CreateTempSubdirectory("attr-client");
    private readonly Socket listener = new(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
    private readonly List<string> requests = new();
    private int connections;
    private int closed;

    public AttrClientTests()
    {
        Directory.CreateDirectory(Path.Combine(dir.FullName, "private"));
        listener.Bind(new UnixDomainSocketEndPoint(Path.Combine(dir.FullName, "private", "rewrite")));
        listener.Listen(5);
    }

    public void Dispose()
    {
        listener.Dispose();
        dir.Delete(true);
    }

    // Serve - accept connections; announce; answer each request with reply(request).
    private void Serve(string announce, Func<string, string> reply, int maxRequestsPerConnection = int.MaxValue)
    {
        new Thread(() =>
        {
            try
            {
                for (; ; )
                {
                    var s = listener.Accept();
                    Interlocked.Increment(ref connections);
                    s.Send(Encoding.Latin1.GetBytes(announce));
                    var buf = new byte[4096];
                    var have = new StringBuilder();
                    for (var n = 0; n < maxRequestsPerConnection;)
                    {
                        var k = s.Receive(buf);
                        if (k == 0)
                            break;
                        have.Append(Encoding.Latin1.GetString(buf, 0, k));
                        // A request ends with an empty name: three name/value pairs and NUL.
                        var text = have.ToString();
                        if (CountNuls(text) < 7)
                            continue;
                        lock (requests)
                            requests.Add(text);
                        have.Clear();
                        s.Send(Encoding.Latin1.GetBytes(reply(text)));
                        n++;
                    }
                    s.Dispose();
                    Interlocked.Increment(ref closed);
                }
            }
            catch (SocketException)
            {
            }
            catch (ObjectDisposedException)
            {
            }
        }) { IsBackground = true }.Start();
    }

    private static int CountNuls(string s)
    {
        var n = 0;
        foreach (var c in s)
            n += c == '\0' ? 1 : 0;
        return n;
    }

    private static string Warnings(Action body)
    {
        var saved = Msg.Err;
        var savedTag = Msg.Tag;
        var err = new StringWriter { NewLine = "\n" };
        try
        {
            Msg.Err = err;
            Msg.Tag = "test";
            body();
        }
        finally
        {
            Msg.Err = saved;
            Msg.Tag = savedTag;
        }
        return err.ToString();
    }

    private const string Announce = "protocol\0trivial_rewrite_protocol\0\0";

    [Fact]
    public void RewriteConversation()
    {
        Serve(Announce, req => "flags\0" + "0\0address\0joe@host.example.com\0\0");
        using var c = new RewriteClient(dir.FullName) { TryLimit = 1 };
        string? result = null;
        Warnings(() => result = c.Rewrite("local", "joe")).ShouldBeEmpty();
        result.ShouldBe("joe@host.example.com");
        requests.ShouldBe(["request\0rewrite\0rule\0local\0address\0joe\0\0"]);

        // A repeated question is answered from the cache.
        c.Rewrite("local", "joe").ShouldBe("joe@host.example.com");
        requests.Count.ShouldBe(1);
    }

    [Fact]
    public void RewriteCacheKeepsTheLastFourQuestions()
    {
        // cleanup asks for sender, recipient, then both again (From:, To:)
        Serve(Announce, req => "flags\0" + "0\0address\0" + req.Split('\0')[5] + "@x\0\0");
        using var c = new RewriteClient(dir.FullName) { TryLimit = 1 };
        foreach (var a in new[] { "a", "b", "a", "b", "c", "d", "a" })
            c.Rewrite("local", a).ShouldBe(a + "@x");
        requests.Count.ShouldBe(4);
        // the rule is part of the question; a fifth address pushes out the oldest
        c.Rewrite("remote", "a").ShouldBe("a@x");
        c.Rewrite("local", "a").ShouldBe("a@x");
        requests.Count.ShouldBe(6);
    }

    [Fact]
    public void ResolveConversation()
    {
        Serve(Announce, req => "flags\0" + "0\0transport\0local\0nexthop\0host.example.com\0recipient\0u@localhost\0flags\0" + "256\0\0");
        using var c = new ResolveClient(dir.FullName) { TryLimit = 1 };
        ResolveReply? r = null;
        Warnings(() => r = c.Resolve("joe", "u@localhost")).ShouldBeEmpty();
        r.ShouldBe(new ResolveReply("local", "host.example.com", "u@localhost", MailProto.ResolveClassLocal));
        requests.ShouldBe(["request\0resolve\0sender\0joe\0address\0u@localhost\0\0"]);
    }

    [Fact]
    public void ServerRequestedDisconnectReconnects()
    {
        Serve(Announce, req => "flags\0" + "1\0address\0" + req.Split('\0')[5] + "\0\0", maxRequestsPerConnection: 1);
        using var c = new RewriteClient(dir.FullName) { TryLimit = 1 };
        Warnings(() =>
        {
            c.Rewrite("local", "a").ShouldBe("a");
            c.Rewrite("local", "b").ShouldBe("b");
        }).ShouldBeEmpty();
        connections.ShouldBe(2);
    }

    [Fact]
    public void IdleDisconnectIsRecoveredBeforeTheRequest()
    {
        // The server answers one request, then hangs up: the client sees
        // the connection readable (EOF) and reconnects without a warning.
        Serve(Announce, req => "flags\0" + "0\0address\0" + req.Split('\0')[5] + "\0\0", maxRequestsPerConnection: 1);
        using var c = new RewriteClient(dir.FullName) { TryLimit = 1 };
        Warnings(() =>
        {
            c.Rewrite("local", "a").ShouldBe("a");
            SpinWait.SpinUntil(() => Volatile.Read(ref closed) == 1, 10_000).ShouldBeTrue();
            c.Rewrite("local", "b").ShouldBe("b");
        }).ShouldBeEmpty();
        connections.ShouldBe(2);
    }

    [Fact]
    public void WrongProtocolIsAFailure()
    {
        Serve("protocol\0mail_queue_list_protocol\0\0", req => "");
        using var c = new RewriteClient(dir.FullName) { TryLimit = 1, TryDelay = TimeSpan.Zero };
        var w = Warnings(() => c.Rewrite("local", "joe").ShouldBeNull());
        w.ShouldStartWith("test: warning: unexpected protocol mail_queue_list_protocol from private/rewrite socket (expected: trivial_rewrite_protocol)\n");
    }

    [Fact]
    public void NoServerIsAFailure()
    {
        listener.Dispose();
        File.Delete(Path.Combine(dir.FullName, "private", "rewrite"));
        using var c = new AttrClient(Path.Combine(dir.FullName, "private", "rewrite")) { TryLimit = 2, TryDelay = TimeSpan.Zero };
        var values = new AttrValue[1];
        var w = Warnings(() => c.Request(x => x.Str("request", "x"), [AttrSpec.Int("status")], values).ShouldBe(-1));
        w.ShouldContain("connect to " + Path.Combine(dir.FullName, "private", "rewrite") + ": No such file or directory\n");
        w.ShouldContain(": warning: problem talking to server " + Path.Combine(dir.FullName, "private", "rewrite") + ": No such file or directory\n");
    }

    [Fact]
    public void SubsystemConnectRetriesThenFails()
    {
        var path = Path.Combine(dir.FullName, "private", "nothere");
        using var c = new AttrClient(path) { Subsystem = "private/nothere", ConnectDelay = TimeSpan.Zero };
        var w = Warnings(() => Should.Throw<FatalException>(() => c.Connect()));
        w.ShouldStartWith("test: warning: connect #1 to subsystem private/nothere: No such file or directory\n");
        w.ShouldContain("test: warning: connect #10 to subsystem private/nothere: No such file or directory\n");
        w.ShouldEndWith("test: fatal: connect #11 to subsystem private/nothere: No such file or directory\n");
    }

    [Fact]
    public void RequestRetriesOnceOnANewConnection()
    {
        // The first connection dies without a reply; the second answers.
        var first = true;
        new Thread(() =>
        {
            try
            {
                for (; ; )
                {
                    using var s = listener.Accept();
                    Interlocked.Increment(ref connections);
                    var buf = new byte[4096];
                    s.Receive(buf);
                    if (first)
                    {
                        first = false;
                        continue;
                    }
                    s.Send(Encoding.Latin1.GetBytes("status\0" + "0\0\0"));
                    while (s.Receive(buf) > 0)
                    {
                    }
                }
            }
            catch (SocketException)
            {
            }
            catch (ObjectDisposedException)
            {
            }
        }) { IsBackground = true }.Start();
        using var c = new AttrClient(Path.Combine(dir.FullName, "private", "rewrite")) { TryLimit = 2, TryDelay = TimeSpan.Zero };
        var values = new AttrValue[1];
        Warnings(() => c.Request(x => x.Str("request", "x"), [AttrSpec.Int("status")], values).ShouldBe(1)).ShouldBeEmpty();
        connections.ShouldBe(2);
    }

    [Fact]
    public void GenericRequestWithHash()
    {
        Serve("", req => "status\0" + "0\0{\0a\0" + "1\0}\0\0");
        using var c = new AttrClient(Path.Combine(dir.FullName, "private", "rewrite")) { TryLimit = 1 };
        var values = new AttrValue[2];
        var hash = new Dictionary<string, string>();
        var n = c.Request(w => w.Str("request", "x").Str("b", "c").Str("d", "e"), [AttrSpec.Int("status"), AttrSpec.Hash()], values,
            AttrFlags.Strict, hash);
        n.ShouldBe(2);
        hash["a"].ShouldBe("1");
    }
}
