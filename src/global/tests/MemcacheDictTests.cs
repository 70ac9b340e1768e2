// NAME
//	MemcacheDictTests - memcache: client against an in-process server
using System;
using System.Collections.Concurrent;
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
public sealed class MemcacheDictTests : IDisposable
{
    private readonly TcpListener listener = new(IPAddress.Loopback, 0);
    private readonly ConcurrentDictionary<string, string> store = new();
    private readonly DirectoryInfo dir = Directory.CreateTempSubdirectory("memcache-test");

    public MemcacheDictTests()
    {
        listener.Start();
        new Thread(Serve) { IsBackground = true }.Start();
        store["k1"] = "v1";
        store["pfx-user@example.com"] = "formatted";
    }

    private int Port => ((IPEndPoint)listener.LocalEndpoint).Port;

    // Serve - a tiny memcached: get, set, delete.
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
                        var f = line.Split(' ');
                        string reply;
                        switch (f[0])
                        {
                            case "get":
                                reply = store.TryGetValue(f[1], out var v) ? $"VALUE {f[1]} 0 {v.Length}\r\n{v}\r\nEND" : "END";
                                break;
                            case "set":
                                var buf = new char[int.Parse(f[4])];
                                r.ReadBlock(buf, 0, buf.Length);
                                r.ReadLine();
                                store[f[1]] = new string(buf);
                                reply = "STORED";
                                break;
                            case "delete":
                                reply = store.TryRemove(f[1], out _) ? "DELETED" : "NOT_FOUND";
                                break;
                            default:
                                reply = "ERROR";
                                break;
                        }
                        s.Write(Encoding.Latin1.GetBytes(reply + "\r\n"));
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

    public void Dispose()
    {
        listener.Stop();
        dir.Delete(true);
    }

    private Dict.Dict Open(string settings, DictOpenFlags flags = DictOpenFlags.ReadOnly)
    {
        var cf = Path.Combine(dir.FullName, "mc.cf");
        File.WriteAllText(cf, $"memcache = inet:127.0.0.1:{Port}\n" + settings);
        return MemcacheDict.Open(cf, flags, DictFlags.FoldFix);
    }

    [Fact]
    public void GetFromCache()
    {
        using var dict = Open("");
        dict.Lookup("k1").ShouldBe("v1");
        dict.Lookup("K1").ShouldBe("v1");
        dict.Lookup("k2").ShouldBeNull();
        dict.Error.ShouldBe(DictError.None);
    }

    [Fact]
    public void KeyFormat()
    {
        using var dict = Open("key_format = pfx-%s\n");
        dict.Lookup("user@example.com").ShouldBe("formatted");
    }

    [Fact]
    public void KeysWithSpaceAreSkipped()
    {
        using var dict = Open("");
        dict.Lookup("a b").ShouldBeNull();
        dict.Error.ShouldBe(DictError.None);
    }

    [Fact]
    public void BackupHitIsCached()
    {
        using var dict = Open("backup = inline:{fromdb=dbvalue}\n");
        dict.Lookup("fromdb").ShouldBe("dbvalue");
        store["fromdb"].ShouldBe("dbvalue");
    }

    [Fact]
    public void UpdateAndDelete()
    {
        using var dict = Open("", DictOpenFlags.ReadWrite);
        dict.Update("newkey", "newvalue").ShouldBe(DictStatus.Success);
        store["newkey"].ShouldBe("newvalue");
        dict.Delete("newkey").ShouldBe(DictStatus.Success);
        dict.Delete("newkey").ShouldBe(DictStatus.Fail);
    }

    [Fact]
    public void NoServerIsATemporaryError()
    {
        var saved = Postfix.Util.Msg.Err;
        try
        {
            var err = new StringWriter();
            Postfix.Util.Msg.Err = err;
            var cf = Path.Combine(dir.FullName, "none.cf");
            File.WriteAllText(cf, "memcache = inet:127.0.0.1:1\n");
            using var dict = MemcacheDict.Open(cf, DictOpenFlags.ReadOnly, DictFlags.None);
            dict.Lookup("k").ShouldBeNull();
            dict.Error.ShouldBe(DictError.Retry);
            dict.ErrorText.ShouldBe("Connection refused");
            err.ToString().ShouldBe("postfix: warning: connect to 127.0.0.1:1: Connection refused\n".Replace("postfix", Postfix.Util.Msg.Tag, StringComparison.Ordinal));
        }
        finally
        {
            Postfix.Util.Msg.Err = saved;
        }
    }
}
