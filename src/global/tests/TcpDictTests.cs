// NAME
//	TcpDictTests - tcp: client against an in-process loopback server
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
public sealed class TcpDictTests : IDisposable
{
    private readonly TcpListener listener = new(IPAddress.Loopback, 0);
    private readonly Thread thread;

    public TcpDictTests()
    {
        listener.Start();
        thread = new Thread(Serve) { IsBackground = true };
        thread.Start();
    }

    private int Port => ((IPEndPoint)listener.LocalEndpoint).Port;

    // Serve - answer "get KEY" by table: found, soft, bad, six, close, long, else 500.
    private void Serve()
    {
        try
        {
            for (;;)
            {
                var client = listener.AcceptTcpClient();
                new Thread(() =>
                {
                    using var c = client;
                    var s = c.GetStream();
                    var r = new StreamReader(s, Encoding.Latin1);
                    string? line;
                    while ((line = r.ReadLine()) != null)
                    {
                        var key = line[4..];
                        var reply = key switch
                        {
                            "found" => "200 value%20with%20space%25",
                            "soft" => "400 try%20later",
                            "bad" => "20x oops",
                            "six" => "600 what",
                            "badhex" => "200 a%zz",
                            "long" => "200 " + new string('x', 5000),
                            "close" => null,
                            _ when key.StartsWith("echo", StringComparison.Ordinal) => "200 " + key,
                            _ => "500 not%20found",
                        };
                        if (reply == null)
                            return;
                        var b = Encoding.Latin1.GetBytes(reply + "\n");
                        s.Write(b);
                    }
                }) { IsBackground = true }.Start();
            }
        }
        catch (SocketException)
        {
            // listener stopped
        }
        catch (InvalidOperationException)
        {
            // listener stopped
        }
    }

    public void Dispose() => listener.Stop();

    private (string? Value, DictError Error, string Said) Query(string key)
    {
        var saved = Postfix.Util.Msg.Err;
        var savedSleep = TcpDict.Sleep;
        try
        {
            var err = new StringWriter();
            Postfix.Util.Msg.Err = err;
            TcpDict.Sleep = _ => { };
            using var dict = TcpDict.Open($"127.0.0.1:{Port}", DictOpenFlags.ReadOnly, DictFlags.None);
            var v = dict.Lookup(key);
            return (v, dict.Error, err.ToString());
        }
        finally
        {
            Postfix.Util.Msg.Err = saved;
            TcpDict.Sleep = savedSleep;
        }
    }

    [Theory]
    [InlineData("found", "value with space%", DictError.None)]
    [InlineData("nothing", null, DictError.None)]
    [InlineData("echo a b%c", "echo a b%c", DictError.None)]
    [InlineData("soft", null, DictError.Retry)]
    [InlineData("bad", null, DictError.Retry)]
    [InlineData("six", null, DictError.Retry)]
    [InlineData("badhex", null, DictError.Retry)]
    public void Replies(string key, string? want, DictError error)
    {
        var (v, e, _) = Query(key);
        v.ShouldBe(want);
        e.ShouldBe(error);
    }

    [Theory]
    [InlineData("bad", "read TCP map reply from 127.0.0.1:PORT: malformed reply: 20x oops")]
    [InlineData("six", "read TCP map reply from 127.0.0.1:PORT: bad status code: 600 what")]
    [InlineData("close", "read TCP map reply from 127.0.0.1:PORT: unexpected EOF (Operation now in progress)")]
    [InlineData("long", "read TCP map reply from 127.0.0.1:PORT: text longer than 4096")]
    public void Warnings(string key, string want)
    {
        Query(key).Said.ShouldContain(want.Replace("PORT", Port.ToString(), StringComparison.Ordinal));
    }

    [Fact]
    public void KeysAreHexQuoted()
    {
        using var dict = (TcpDict)TcpDict.Open("127.0.0.1:1", DictOpenFlags.ReadOnly, DictFlags.None);
        dict.HexQuote("a b%c\u00e9").ShouldBe("a%20b%25c%C3%A9");
        TcpDict.HexUnquote("a%20b%2"u8).ShouldBeNull();
        Encoding.UTF8.GetString(TcpDict.HexUnquote("a%20b%2fc"u8)!).ShouldBe("a b/c");
    }

    [Fact]
    public void RefusedConnectionsAreRetriedTenTimes()
    {
        var saved = Postfix.Util.Msg.Err;
        var savedSleep = TcpDict.Sleep;
        try
        {
            var err = new StringWriter();
            Postfix.Util.Msg.Err = err;
            var sleeps = 0;
            TcpDict.Sleep = _ => sleeps++;
            using var dict = TcpDict.Open("127.0.0.1:1", DictOpenFlags.ReadOnly, DictFlags.None);
            dict.Lookup("x").ShouldBeNull();
            dict.Error.ShouldBe(DictError.Retry);
            dict.ErrorText.ShouldBe("Connection refused");
            sleeps.ShouldBe(9);
            err.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Length.ShouldBe(10);
        }
        finally
        {
            Postfix.Util.Msg.Err = saved;
            TcpDict.Sleep = savedSleep;
        }
    }
}
