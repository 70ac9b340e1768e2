// NAME
//	MilterTests - the milter client: packets, lists, settings, protocol
// DESCRIPTION
//	Pure parts (packet encoding, reply checks, list and override
//	parsing, macro defaults) and a conversation with a scripted milter
//	on a loopback socket: negotiation, macros, replies, edits, skip.
using System;
using System.Collections.Generic;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Linq;
using System.Threading;
using Shouldly;
using Xunit;

namespace Postfix.Milter.Tests;

public class MilterTests
{
    [Fact]
    public void PacketHasLengthCommandAndData()
    {
        var p = new Milter8.Packet().Str("host").Octet((byte)'4').NShort(25).Str("1.2.3.4").Encode((byte)'C');
        var expect = new List<byte> { 0, 0, 0, 17, (byte)'C' };
        expect.AddRange("host\0"u8.ToArray());
        expect.Add((byte)'4');
        expect.AddRange(new byte[] { 0, 25 });
        expect.AddRange("1.2.3.4\0"u8.ToArray());
        p.ShouldBe(expect.ToArray());
    }

    [Fact]
    public void LongIsNetworkOrder()
    {
        new Milter8.Packet().Long(0x01020304).Encode((byte)'O').ShouldBe(new byte[] { 0, 0, 0, 5, (byte)'O', 1, 2, 3, 4 });
    }

    [Theory]
    [InlineData("550 5.7.1 no", true)]
    [InlineData("451 4.7.1 later", true)]
    [InlineData("550-5.7.1 multi", true)]
    [InlineData("250 ok", false)]
    [InlineData("550 4.7.1 mismatch", false)]
    [InlineData("55x", false)]
    [InlineData("550", false)]
    public void ReplyCodeIsChecked(string reply, bool ok) => Milter8.ReplyCodeOk(reply).ShouldBe(ok);

    [Theory]
    [InlineData("100%% sure", "100% sure")]
    [InlineData("a % b", "a  b")]
    [InlineData("plain", "plain")]
    public void PercentSignsAreUndone(string input, string expect) => Milter8.UnPercent(input).ShouldBe(expect);

    [Theory]
    [InlineData("Subject: x", 7)]
    [InlineData("X-Tag : y", 5)]
    [InlineData(" folded", 0)]
    [InlineData("no colon", 0)]
    [InlineData("", 0)]
    public void IsHeaderFindsTheLabel(string line, int len) => HeaderText.IsHeader(line).ShouldBe(len);

    [Fact]
    public void ListKeepsBracedGroupsWhole()
    {
        var m = Milters.New("inet:a:1, { inet:b:2, connect_timeout=5s, default_action=accept } unix:/x",
            30, 30, 300, "6", "tempfail", null, null);
        m.List.Count.ShouldBe(3);
        m.List[0].Name.ShouldBe("inet:a:1");
        m.List[1].Name.ShouldBe("inet:b:2");
        m.List[1].ConnTimeout.ShouldBe(5);
        m.List[1].DefAction.ShouldBe("accept");
        m.List[0].DefAction.ShouldBe("tempfail");
        m.List[2].Name.ShouldBe("unix:/x");
    }

    [Fact]
    public void MacroDefaultsTakeBothForms()
    {
        var t = Milters.MacroDefaultsCreate("auth_type=none, { {rcpt_host} = relay.example }, j=x")!;
        t["{auth_type}"].ShouldBe("none");
        t["{rcpt_host}"].ShouldBe("relay.example");
        t["{j}"].ShouldBe("x");
    }

    [Fact]
    public void MacroLookupUsesCallbackThenDefaults()
    {
        var m = Milters.New(null, 0, 0, 0, null, null, null, new Dictionary<string, string> { ["{x}"] = "dx" });
        m.MacroLookup = n => n switch { "{j}" => "host", "{i}" => "QID", _ => null };
        m.MacroLookupList("j {i} x y").ShouldBe(new[] { "j", "host", "{i}", "QID", "x", "dx" });
    }

    [Fact]
    public void MacroListsPrintInReferenceOrder()
    {
        var mm = new MilterMacros { Conn = "c", Helo = "h", Mail = "m", Rcpt = "r", Data = "d", Eoh = "eh", Eod = "ed", Unk = "u" };
        var bytes = Postfix.Global.Attr.AttrWriter.ToBytes(Postfix.Global.Attr.AttrEncoding.Zero, w => mm.Print(w));
        Encoding.ASCII.GetString(bytes).ShouldBe(
            "conn_macros\0c\0helo_macros\0h\0mail_macros\0m\0rcpt_macros\0r\0data_macros\0d\0eoh_macros\0eh\0eod_macros\0ed\0unk_macros\0u\0\0");
    }

    // A scripted milter: answers OPTNEG with flags, then each command with
    // the next scripted reply packets; records what it received.
    private sealed class FakeMilter : IDisposable
    {
        private readonly TcpListener listener = new(IPAddress.Loopback, 0);
        private readonly Thread thread;
        public readonly List<string> Seen = new();
        public Func<char, byte[][]> Reply = _ => [Pkt('c')];
        public uint Flags;

        public FakeMilter()
        {
            listener.Start();
            thread = new Thread(Serve) { IsBackground = true };
            thread.Start();
        }

        public int Port => ((IPEndPoint)listener.LocalEndpoint).Port;

        public static byte[] Pkt(char cmd, byte[]? data = null)
        {
            data ??= [];
            var p = new byte[5 + data.Length];
            var len = 1 + data.Length;
            p[0] = (byte)(len >> 24);
            p[1] = (byte)(len >> 16);
            p[2] = (byte)(len >> 8);
            p[3] = (byte)len;
            p[4] = (byte)cmd;
            data.CopyTo(p, 5);
            return p;
        }

        private void Serve()
        {
            try
            {
                using var c = listener.AcceptTcpClient();
                var s = c.GetStream();
                var hdr = new byte[4];
                for (; ; )
                {
                    s.ReadExactly(hdr);
                    var len = hdr[0] << 24 | hdr[1] << 16 | hdr[2] << 8 | hdr[3];
                    var data = new byte[len];
                    s.ReadExactly(data);
                    var cmd = (char)data[0];
                    lock (Seen)
                        Seen.Add(cmd + ":" + Encoding.Latin1.GetString(data, 1, len - 1).Replace('\0', '|'));
                    if (cmd == 'O')
                    {
                        var body = new byte[12];
                        body[3] = 6;
                        body[6] = 1;
                        body[7] = 0xff;
                        body[8] = (byte)(Flags >> 24);
                        body[9] = (byte)(Flags >> 16);
                        body[10] = (byte)(Flags >> 8);
                        body[11] = (byte)Flags;
                        s.Write(Pkt('O', body));
                        continue;
                    }
                    if (cmd is 'D' or 'A')
                        continue;
                    if (cmd is 'Q')
                        return;
                    foreach (var r in Reply(cmd))
                        s.Write(r);
                }
            }
            catch (Exception e) when (e is IOException or SocketException or EndOfStreamException)
            {
            }
        }

        public void Dispose() => listener.Stop();
    }

    private sealed class RecordingEditor : IMilterEditor
    {
        public readonly List<string> Calls = new();

        public string? AddHeader(string name, string space, string value) => Log($"add {name}:{space}{value}");
        public string? UpdateHeader(int index, string name, string space, string value) => Log($"upd {index} {name}:{space}{value}");
        public string? InsertHeader(int index, string name, string space, string value) => Log($"ins {index} {name}:{space}{value}");
        public string? DeleteHeader(int index, string name) => Log($"del {index} {name}");
        public string? ChangeFrom(string sender, string esmtpArgs) => Log($"from {sender} [{esmtpArgs}]");
        public string? AddRcpt(string recipient, string esmtpArgs) => Log($"rcpt+ {recipient} [{esmtpArgs}]");
        public string? DeleteRcpt(string recipient) => Log($"rcpt- {recipient}");

        public string? ReplaceBody(MilterBodyCmd cmd, int recordType, byte[]? line) =>
            Log(cmd == MilterBodyCmd.Line ? $"body {cmd} {(char)recordType} {Encoding.Latin1.GetString(line!)}" : $"body {cmd}");

        private string? Log(string s)
        {
            Calls.Add(s);
            return null;
        }
    }

    // A queue file with a message: a size record, M, headers, blank line, body, X.
    private static (byte[] File, long DataOffset) QueueFile(params string[] lines)
    {
        var ms = new MemoryStream();
        var w = new Postfix.Global.Queue.RecordWriter(ms);
        w.Put('M', "");
        var data = ms.Position;
        foreach (var l in lines)
            w.Put('N', Encoding.Latin1.GetBytes(l));
        w.Put('X', "");
        w.Put('E', "");
        return (ms.ToArray(), data);
    }

    private static Milters Connected(FakeMilter f, string protocol = "6")
    {
        var m = Milters.New($"inet:127.0.0.1:{f.Port}", 5, 5, 5, protocol, "tempfail",
            new MilterMacros { Conn = "j {client_addr}", Helo = "", Mail = "i", Rcpt = "", Data = "", Eoh = "", Eod = "i", Unk = "" }, null);
        m.MacroLookup = n => n switch { "{j}" => "mx.example", "{client_addr}" => "127.0.0.1", "{i}" => "ABC", _ => null };
        return m;
    }

    [Fact]
    public void ConversationSendsEventsAndMacros()
    {
        using var f = new FakeMilter();
        using var m = Connected(f);
        m.ConnectEvent("client.example", "127.0.0.1", "1234", 2).ShouldBeNull();
        m.HeloEvent("helo.example", true).ShouldBeNull();
        m.MailEvent(["<a@example.com>", "SIZE=10"]).ShouldBeNull();
        m.RcptEvent(["<b@example.net>"]).ShouldBeNull();
        m.DataEvent().ShouldBeNull();
        var (file, off) = QueueFile("Received: ours", "Subject: hi", "", "body");
        var ed = new RecordingEditor();
        m.Editor = ed;
        m.MessageEvent(file, "qf", off, ["Received: ours"]).ShouldBeNull();
        m.DisconnectEvent();
        Thread.Sleep(100);
        lock (f.Seen)
        {
            f.Seen[0].ShouldStartWith("O:");
            f.Seen.ShouldContain("D:Cj|mx.example|{client_addr}|127.0.0.1|");
            f.Seen.ShouldContain(s => s.StartsWith("C:client.example|4", StringComparison.Ordinal));
            f.Seen.ShouldContain("H:helo.example|");
            f.Seen.ShouldContain("M:<a@example.com>|SIZE=10|");
            f.Seen.ShouldContain("R:<b@example.net>|");
            f.Seen.ShouldContain("L:Subject|hi|");
            f.Seen.ShouldNotContain(s => s.Contains("ours", StringComparison.Ordinal));
            f.Seen.ShouldContain("B:body\r\n");
            f.Seen.ShouldContain("D:Ei|ABC|");
            f.Seen.ShouldContain("E:");
            f.Seen[^1].ShouldBe("Q:");
        }
    }

    [Fact]
    public void EndOfMessageEditsGoToTheEditor()
    {
        using var f = new FakeMilter();
        f.Reply = c => c != 'E' ? [FakeMilter.Pkt('c')] :
        [
            FakeMilter.Pkt('h', Encoding.Latin1.GetBytes("X-A\0v\0")),
            FakeMilter.Pkt('i', [0, 0, 0, 0, .. Encoding.Latin1.GetBytes("X-I\0top\0")]),
            FakeMilter.Pkt('m', [0, 0, 0, 2, .. Encoding.Latin1.GetBytes("X-T\0\0")]),
            FakeMilter.Pkt('m', [0, 0, 0, 0, .. Encoding.Latin1.GetBytes("Subject\0new\0")]),
            FakeMilter.Pkt('+', Encoding.Latin1.GetBytes("<c@x>\0")),
            FakeMilter.Pkt('2', Encoding.Latin1.GetBytes("<d@x>\0NOTIFY=NEVER\0")),
            FakeMilter.Pkt('-', Encoding.Latin1.GetBytes("<b@x>\0")),
            FakeMilter.Pkt('e', Encoding.Latin1.GetBytes("<s@x>\0")),
            FakeMilter.Pkt('b', Encoding.Latin1.GetBytes("one\r\ntwo")),
            FakeMilter.Pkt('p'),
            FakeMilter.Pkt('a'),
        ];
        using var m = Connected(f);
        m.ConnectEvent("localhost", "127.0.0.1", "0", 2).ShouldBeNull();
        var ed = new RecordingEditor();
        m.Editor = ed;
        var (file, off) = QueueFile("Subject: hi", "", "body");
        m.MessageEvent(file, "qf", off, []).ShouldBeNull();
        ed.Calls.ShouldBe(new[]
        {
            "add X-A: v", "ins 1 X-I: top", "del 2 X-T", "upd 1 Subject: new", "rcpt+ <c@x> []",
            "rcpt+ <d@x> [NOTIFY=NEVER]", "rcpt- <b@x>", "from <s@x> []", "body Start", "body Line N one",
            "body Line N two", "body End",
        });
    }

    [Theory]
    [InlineData('r', "550 5.7.1 Command rejected")]
    [InlineData('t', "451 4.7.1 Service unavailable - try again later")]
    [InlineData('d', "D")]
    public void RcptRepliesMapToResults(char reply, string expect)
    {
        using var f = new FakeMilter();
        f.Reply = c => c == 'R' ? [FakeMilter.Pkt(reply)] : [FakeMilter.Pkt('c')];
        using var m = Connected(f);
        m.ConnectEvent("localhost", "127.0.0.1", "0", 2).ShouldBeNull();
        m.MailEvent(["<a@x>"]).ShouldBeNull();
        m.RcptEvent(["<b@x>"]).ShouldBe(expect);
    }

    [Fact]
    public void ReplyCodeAndQuarantineAndConnectReject()
    {
        using var f = new FakeMilter();
        f.Reply = c => c switch
        {
            'M' => [FakeMilter.Pkt('q', Encoding.Latin1.GetBytes("why\0")), FakeMilter.Pkt('c')],
            'R' => [FakeMilter.Pkt('y', Encoding.Latin1.GetBytes("554 5.7.0 100%% no\0"))],
            _ => [FakeMilter.Pkt('c')],
        };
        using var m = Connected(f);
        m.ConnectEvent("localhost", "127.0.0.1", "0", 2).ShouldBeNull();
        m.MailEvent(["<a@x>"]).ShouldBe("H");
        m.QuarantineReason.ShouldBe("why");
    }

    [Fact]
    public void ConnectRejectIsSticky()
    {
        using var f = new FakeMilter();
        f.Reply = c => c == 'C' ? [FakeMilter.Pkt('y', Encoding.Latin1.GetBytes("421 4.7.0 bye\0"))] : [FakeMilter.Pkt('c')];
        using var m = Connected(f);
        m.ConnectEvent("localhost", "127.0.0.1", "0", 2).ShouldBe("421 4.7.0 bye");
        m.HeloEvent("x", true).ShouldBe("421 4.7.0 bye");
        m.MailEvent(["<a@x>"]).ShouldBe("421 4.7.0 bye");
    }

    [Fact]
    public void UnreachableMilterUsesTheDefaultAction()
    {
        var port = new TcpListener(IPAddress.Loopback, 0);
        port.Start();
        var p = ((IPEndPoint)port.LocalEndpoint).Port;
        port.Stop();
        using var m = Milters.New($"inet:127.0.0.1:{p}, {{ inet:127.0.0.1:{p}, default_action=accept }}", 2, 2, 2, "6", "reject", null, null);
        m.ConnectEvent("localhost", "127.0.0.1", "0", 2).ShouldBe("550 5.5.0 Service unavailable");
        using var a = Milters.New($"{{ inet:127.0.0.1:{p}, default_action=accept }}", 2, 2, 2, "6", "reject", null, null);
        a.ConnectEvent("localhost", "127.0.0.1", "0", 2).ShouldBeNull();
        using var q = Milters.New($"inet:127.0.0.1:{p}", 2, 2, 2, "6", "quarantine", null, null);
        q.ConnectEvent("localhost", "127.0.0.1", "0", 2).ShouldBe("H");
    }

    [Fact]
    public void SkipStopsFurtherEventsOfThatType()
    {
        using var f = new FakeMilter();
        f.Reply = c => c == 'L' ? [FakeMilter.Pkt('s')] : [FakeMilter.Pkt('c')];
        using var m = Connected(f);
        m.ConnectEvent("localhost", "127.0.0.1", "0", 2).ShouldBeNull();
        var (file, off) = QueueFile("A: 1", "B: 2", "C: 3", "", "body");
        m.MessageEvent(file, "qf", off, []).ShouldBeNull();
        Thread.Sleep(50);
        lock (f.Seen)
            f.Seen.FindAll(s => s.StartsWith("L:", StringComparison.Ordinal)).Count.ShouldBe(1);
    }

    [Fact]
    public void NoHeaderReplyFlagSendsWithoutWaiting()
    {
        using var f = new FakeMilter { Flags = 1u << 7 };
        var replies = 0;
        f.Reply = c =>
        {
            if (c == 'L')
                return [];
            replies++;
            return [FakeMilter.Pkt('c')];
        };
        using var m = Connected(f);
        m.ConnectEvent("localhost", "127.0.0.1", "0", 2).ShouldBeNull();
        var (file, off) = QueueFile("A: 1", "B: 2", "", "body");
        m.MessageEvent(file, "qf", off, []).ShouldBeNull();
    }

    [Fact]
    public void BadProtocolIsAConfigurationError()
    {
        using var f = new FakeMilter();
        using var m = Connected(f, "7");
        m.ConnectEvent("localhost", "127.0.0.1", "0", 2).ShouldBe("451 4.3.5 Server configuration problem - try again later");
    }
}
