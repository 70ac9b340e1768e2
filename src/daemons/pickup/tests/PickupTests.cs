// NAME
//	PickupTests - maildrop files through pickup into our cleanup
// DESCRIPTION
//	A temporary queue directory (the process's working directory during
//	a test, as for the daemons) with maildrop/ and incoming/; pickup
//	talks to a CleanupService over a UNIX-domain socket.
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net.Sockets;
using System.Text;
using System.Threading.Tasks;
using Postfix.Daemons.Cleanup;
using Postfix.Global.Queue;
using Postfix.Util;
using Shouldly;
using Xunit;

namespace Postfix.Daemons.Pickup.Tests;

internal sealed class Qualify : IAddressRewriter
{
    public string Rewrite(string context, string address) =>
        address.Length == 0 || address.Contains('@') ? address : address + "@example.com";
}

public sealed class PickupTests : IDisposable
{
    private readonly string dir;
    private readonly string oldCwd = Directory.GetCurrentDirectory();

    public PickupTests()
    {
        dir = Path.Combine(Path.GetTempPath(), "pickup-test-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(Path.Combine(dir, "maildrop"));
        Directory.CreateDirectory(Path.Combine(dir, "incoming"));
        Directory.SetCurrentDirectory(dir);
    }

    public void Dispose()
    {
        Directory.SetCurrentDirectory(oldCwd);
        Directory.Delete(dir, true);
    }

    private static byte[] Records(params (char Type, string Text)[] recs)
    {
        var ms = new MemoryStream();
        var w = new RecordWriter(ms);
        foreach (var (t, text) in recs)
            w.Put(t, text);
        return ms.ToArray();
    }

    private static void Drop(string name, byte[] data, int mode = 0x1c0)
    {
        File.WriteAllBytes("maildrop/" + name, data);
        Sys.Chmod("maildrop/" + name, mode);
    }

    // RunPickup - one scan with a cleanup server on a socket; the log.
    private static List<string> RunPickup()
    {
        var cfg = new CleanupConfig { MyHostname = "h.example.com", MessageLimit = 0 };
        var cleanup = new CleanupService(cfg, new Qualify());
        var sock = Path.Combine(Directory.GetCurrentDirectory(), "cleanup.sock");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(sock));
        listener.Listen(5);
        var server = Task.Run(() =>
        {
            try
            {
                while (true)
                {
                    using var c = listener.Accept();
                    using var s = new NetworkStream(c);
                    cleanup.Serve(s, "test");
                }
            }
            catch (SocketException)
            {
                // listener closed: done
            }
            catch (ObjectDisposedException)
            {
            }
        });
        var log = new List<string>();
        void Sink(string level, string text)
        {
            lock (log)
                log.Add(level + "|" + text);
        }
        Msg.Sinks.Add(Sink);
        try
        {
            var pcfg = new PickupConfig { MyHostname = "h.example.com", OwnerUid = 12345, MailDate = t => "DATE" };
            var pickup = new PickupService(pcfg, () =>
            {
                var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                s.Connect(new UnixDomainSocketEndPoint(sock));
                return new NetworkStream(s, true);
            });
            pickup.Scan();
        }
        finally
        {
            Msg.Sinks.Remove(Sink);
            listener.Close();
            server.Wait(5000);
        }
        return log;
    }

    private static List<(char, string)> Incoming()
    {
        var files = Directory.GetFiles("incoming");
        files.Length.ShouldBe(1);
        var data = File.ReadAllBytes(files[0]);
        var reader = new RecordReader(data, files[0]);
        var list = new List<(char, string)>();
        int t;
        while ((t = reader.ReadRaw(out var r, 0, RecordFlags.None)) > 0)
            list.Add(((char)t, Encoding.Latin1.GetString(r)));
        return list;
    }

    [Fact]
    public void GoodFileIsQueuedAndRemoved()
    {
        Drop("ABCDEF1234", Records(('T', "1700000000 5"), ('A', "rewrite_context=local"), ('S', "alice"), ('R', "bob"),
            ('M', ""), ('N', "Subject: hi"), ('N', ""), ('N', "body"), ('X', ""), ('E', "")));
        var log = RunPickup();
        File.Exists("maildrop/ABCDEF1234").ShouldBeFalse();
        var recs = Incoming();
        recs.ShouldContain(('S', "alice@example.com"));
        recs.ShouldContain(('N', $"Received: by h.example.com (Postfix, from userid {Sys.GetUid()})"));
        recs.ShouldContain(x => x.Item1 == 'N' && x.Item2.StartsWith("\tid ") && x.Item2.EndsWith("; DATE"));
        log.ShouldContain(x => x.StartsWith("info|") && x.EndsWith($": uid={Sys.GetUid()} from=<alice>"));
        (File.GetUnixFileMode(Directory.GetFiles("incoming")[0]) & UnixFileMode.UserExecute).ShouldNotBe((UnixFileMode)0);
    }

    [Fact]
    public void TimeRecordAddedWhenMissing()
    {
        Drop("ABCDEF1235", Records(('S', "alice"), ('R', "bob"), ('M', ""), ('N', "x"), ('X', ""), ('E', "")));
        RunPickup();
        Incoming().ShouldContain(x => x.Item1 == 'T');
    }

    [Fact]
    public void MalformedFileIsRemovedWithWarning()
    {
        Drop("ABCDEF1236", Records(('S', "alice"), ('N', "text in the envelope")));
        var log = RunPickup();
        File.Exists("maildrop/ABCDEF1236").ShouldBeFalse();
        log.ShouldContain($"warning|uid={Sys.GetUid()}: unexpected or malformed record type 78");
        Directory.GetFiles("incoming").ShouldBeEmpty();
    }

    [Fact]
    public void FileNotReadyIsLeftAlone()
    {
        Drop("ABCDEF1237", Records(('S', "alice")), mode: 0x180);
        Drop("not-a-queue-id", Records(('S', "alice")));
        RunPickup();
        File.Exists("maildrop/ABCDEF1237").ShouldBeTrue();
        File.Exists("maildrop/not-a-queue-id").ShouldBeTrue();
    }

    [Fact]
    public void NoRecipientIsRemoved()
    {
        Drop("ABCDEF1238", Records(('T', "1700000000 0"), ('S', "alice"), ('M', ""), ('N', "x"), ('X', ""), ('E', "")));
        RunPickup();
        File.Exists("maildrop/ABCDEF1238").ShouldBeFalse();
        Directory.GetFiles("incoming").ShouldBeEmpty();
    }

    [Fact]
    public void TranspMask()
    {
        PickupConfig.TranspMaskOf("x", "no_header_body_checks, no_milters").ShouldBe(PickupConfig.TranspHeaderBody | PickupConfig.TranspMilter);
    }
}
