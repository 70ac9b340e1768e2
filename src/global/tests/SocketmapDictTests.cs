// NAME
//	SocketmapDictTests - socketmap: client against in-process servers
using System;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using Postfix.Global.Dict;
using Shouldly;
using Xunit;

namespace Postfix.Global.Tests;

[Collection("Msg")]
public sealed class SocketmapDictTests : IDisposable
{
    private readonly Socket inet = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    private readonly Socket unix = new(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
    private readonly DirectoryInfo dir = Directory.CreateTempSubdirectory("sockmap-test");

    public SocketmapDictTests()
    {
        inet.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        inet.Listen(5);
        unix.Bind(new UnixDomainSocketEndPoint(SockPath));
        unix.Listen(5);
        foreach (var l in new[] { inet, unix })
            new Thread(() => Serve(l)) { IsBackground = true }.Start();
    }

    private string SockPath => Path.Combine(dir.FullName, "s");

    private int Port => ((IPEndPoint)inet.LocalEndPoint!).Port;

    private static void Serve(Socket listener)
    {
        try
        {
            for (;;)
            {
                var c = listener.Accept();
                new Thread(() =>
                {
                    using var s = new NetworkStream(c, true);
                    while (SocketmapNetstring.Read(s, 100000, out var req) == SocketmapNetstring.Ok)
                    {
                        var text = Encoding.UTF8.GetString(req);
                        var sp = text.IndexOf(' ', StringComparison.Ordinal);
                        var map = text[..sp];
                        var key = text[(sp + 1)..];
                        var reply = key switch
                        {
                            "found" => "OK the value",
                            "temp" => "TEMP server busy",
                            "perm" => "PERM no such map",
                            "tmo" => "TIMEOUT  slow",
                            "nf" => "NOTFOUND ",
                            "weird" => "HUH what\u0001now",
                            "close" => null,
                            "bad" => "",
                            _ => $"OK {map}/{key}",
                        };
                        if (reply == null)
                            return;
                        if (key == "bad")
                        {
                            s.Write("xx:"u8);
                            return;
                        }
                        s.Write(SocketmapNetstring.Encode(Encoding.UTF8.GetBytes(reply)));
                    }
                }) { IsBackground = true }.Start();
            }
        }
        catch (SocketException)
        {
            // listener closed
        }
        catch (ObjectDisposedException)
        {
            // listener closed
        }
    }

    public void Dispose()
    {
        inet.Dispose();
        unix.Dispose();
        dir.Delete(true);
    }

    private (string? Value, DictError Error, string Said) Query(string map, string key)
    {
        var saved = Postfix.Util.Msg.Err;
        try
        {
            var err = new StringWriter();
            Postfix.Util.Msg.Err = err;
            using var dict = SocketmapDict.Open(map, DictOpenFlags.ReadOnly, DictFlags.None);
            var v = dict.Lookup(key);
            return (v, dict.Error, err.ToString());
        }
        finally
        {
            Postfix.Util.Msg.Err = saved;
        }
    }

    [Theory]
    [InlineData("found", "the value", DictError.None, "")]
    [InlineData("other", "mymap/other", DictError.None, "")]
    [InlineData("nf", null, DictError.None, "")]
    [InlineData("temp", null, DictError.Retry, "socketmap server temporary error: server busy")]
    [InlineData("tmo", null, DictError.Retry, "socketmap server timeout error: slow")]
    [InlineData("perm", null, DictError.Config, "socketmap server permanent error: no such map")]
    [InlineData("weird", null, DictError.Retry, "socketmap server unknown error: what?now")]
    [InlineData("close", null, DictError.Retry, "lookup error: unexpected disconnect")]
    [InlineData("bad", null, DictError.Retry, "lookup error: input format error")]
    public void InetReplies(string key, string? want, DictError error, string said)
    {
        var (v, e, s) = Query($"inet:127.0.0.1:{Port}:mymap", key);
        v.ShouldBe(want);
        e.ShouldBe(error);
        s.ShouldContain(said);
    }

    [Fact]
    public void UnixDomainServer()
    {
        Query($"unix:{SockPath}:m2", "x y").Value.ShouldBe("m2/x y");
    }

    [Fact]
    public void MissingSocketIsATemporaryError()
    {
        var (v, e, s) = Query($"unix:{SockPath}-none:m", "k");
        v.ShouldBeNull();
        e.ShouldBe(DictError.Retry);
        s.ShouldContain($"connect to {SockPath}-none: No such file or directory");
    }

    [Fact]
    public void NetstringFraming()
    {
        Encoding.ASCII.GetString(SocketmapNetstring.Encode("hello"u8)).ShouldBe("5:hello,");
        using var ms = new MemoryStream("3:abc,"u8.ToArray());
        SocketmapNetstring.Read(ms, 10, out var data).ShouldBe(SocketmapNetstring.Ok);
        Encoding.ASCII.GetString(data).ShouldBe("abc");
        using var big = new MemoryStream("30:abc,"u8.ToArray());
        SocketmapNetstring.Read(big, 10, out _).ShouldBe(SocketmapNetstring.ErrSize);
        using var bad = new MemoryStream("3:abc;"u8.ToArray());
        SocketmapNetstring.Read(bad, 10, out _).ShouldBe(SocketmapNetstring.ErrFormat);
    }
}
