// NAME
//	AttrStreamTests - attribute lists over streams that deliver input in
//	dribbles, end early, or time out
using System;
using System.IO;
using System.Net.Sockets;
using System.Text;
using Postfix.Global.Attr;
using Postfix.Util;
using Shouldly;
using Xunit;

namespace Postfix.Global.Tests;

[Collection("Msg")]
public sealed class AttrStreamTests
{
    // Dribble - a read-only stream that returns at most n bytes per read,
    // then optionally fails as a timed-out socket read does.
    private sealed class Dribble : Stream
    {
        private readonly byte[] data;
        private readonly int n;
        private readonly bool timeoutAtEnd;
        private int pos;

        public Dribble(string text, int n, bool timeoutAtEnd = false)
        {
            data = Encoding.Latin1.GetBytes(text);
            this.n = n;
            this.timeoutAtEnd = timeoutAtEnd;
        }

        public MemoryStream Written { get; } = new();

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (pos == data.Length && timeoutAtEnd)
                throw new IOException("timed out", new SocketException((int)SocketError.TimedOut));
            var k = Math.Min(Math.Min(n, buffer.Length), data.Length - pos);
            data.AsSpan(pos, k).CopyTo(buffer);
            pos += k;
            return k;
        }

        public override void Write(byte[] buffer, int offset, int count) => Written.Write(buffer, offset, count);

        public override void Write(ReadOnlySpan<byte> buffer) => Written.Write(buffer);

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
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

    private static readonly AttrSpec[] Handshake = [AttrSpec.StrEq("protocol", "trivial_rewrite_protocol")];
    private static readonly AttrSpec[] Reply = [AttrSpec.Int("flags"), AttrSpec.Str("address")];

    private const string Conversation = "protocol\0trivial_rewrite_protocol\0\0" + "flags\0" + "0\0address\0joe@host.example.com\0\0";

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(7)]
    [InlineData(4096)]
    public void ListsArriveInPieces(int n)
    {
        var d = new Dribble(Conversation, n);
        using var s = new AttrStream(d, "private/rewrite socket");
        var v = new AttrValue[2];
        Warnings(() =>
        {
            s.Receive(Handshake, new AttrValue[1], AttrFlags.Strict).ShouldBe(0);
            s.Send(w => w.Str("request", "rewrite").Str("rule", "local").Str("address", "joe")).ShouldBeTrue();
            s.Receive(Reply, v, AttrFlags.Strict).ShouldBe(2);
            s.Receive(Reply, v, AttrFlags.Strict).ShouldBe(0);
        }).ShouldBeEmpty();
        v[1].Str.ShouldBe("joe@host.example.com");
        Encoding.Latin1.GetString(d.Written.ToArray()).ShouldBe("request\0rewrite\0rule\0local\0address\0joe\0\0");
    }

    [Fact]
    public void EarlyEndIsReportedWithThePath()
    {
        using var s = new AttrStream(new Dribble("flags\0" + "0\0addr", 3), "private/rewrite socket");
        Warnings(() => s.Receive(Reply, new AttrValue[2], AttrFlags.Strict).ShouldBe(-1))
            .ShouldBe("test: warning: unexpected end-of-input from private/rewrite socket while reading input attribute name\n");
    }

    [Fact]
    public void TimeoutIsReportedWithThePath()
    {
        using var s = new AttrStream(new Dribble("flags\0" + "0\0", 3, timeoutAtEnd: true), "private/rewrite socket");
        Warnings(() => s.Receive(Reply, new AttrValue[2], AttrFlags.Strict).ShouldBe(-1))
            .ShouldBe("test: warning: timeout on private/rewrite socket while reading input attribute name\n");
        s.LastErrno.ShouldBe(110);
    }

    private static readonly AttrSpec[] Message = [AttrSpec.Str("queue_name"), AttrSpec.Str("queue_id"), AttrSpec.Str("sender")];
    private static readonly AttrSpec[] Recipient = [AttrSpec.Str("recipient"), AttrSpec.Str("reason")];

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    [InlineData(4096)]
    public void ShowqListingWithScanMore(int n)
    {
        // showq: per message a list without terminator, its recipients
        // likewise, a terminator after each message, one at the end.
        var text = "protocol\0mail_queue_list_protocol\0\0"
            + "queue_name\0deferred\0queue_id\0ABC\0sender\0joe\0"
            + "recipient\0a@x\0reason\0later\0recipient\0b@x\0reason\0\0" + "\0"
            + "queue_name\0hold\0queue_id\0DEF\0sender\0\0" + "\0"
            + "\0";
        using var s = new AttrStream(new Dribble(text, n), "public/showq socket");
        var got = new StringBuilder();
        Warnings(() =>
        {
            s.Receive([AttrSpec.StrEq("protocol", "mail_queue_list_protocol")], new AttrValue[1], AttrFlags.Strict).ShouldBe(0);
            var m = new AttrValue[3];
            var r = new AttrValue[2];
            int status;
            while ((status = s.ScanMore()) > 0)
            {
                s.Receive(Message, m, AttrFlags.More | AttrFlags.Strict).ShouldBe(3);
                got.Append(m[0].Str).Append(' ').Append(m[1].Str).Append(' ').Append(m[2].Str).Append('\n');
                while ((status = s.ScanMore()) > 0)
                {
                    s.Receive(Recipient, r, AttrFlags.More | AttrFlags.Strict).ShouldBe(2);
                    got.Append('\t').Append(r[0].Str).Append(" (").Append(r[1].Str).Append(")\n");
                }
                status.ShouldBe(0);
            }
            status.ShouldBe(0);
            s.ScanMore().ShouldBe(-1);
        }).ShouldBeEmpty();
        got.ToString().ShouldBe("deferred ABC joe\n\ta@x (later)\n\tb@x ()\nhold DEF \n");
    }

    [Fact]
    public void PlainAndBase64Streams()
    {
        using var p = new AttrStream(new Dribble("flags=0\naddress=a@b\n\n", 2), "p", AttrEncoding.Plain);
        var v = new AttrValue[2];
        p.Receive(Reply, v, AttrFlags.Strict).ShouldBe(2);
        v[1].Str.ShouldBe("a@b");
        using var b = new AttrStream(new Dribble("ZmxhZ3M=:MA==\nYWRkcmVzcw==:YUBi\n\n", 2), "b", AttrEncoding.Base64);
        b.Receive(Reply, v, AttrFlags.Strict).ShouldBe(2);
        v[1].Str.ShouldBe("a@b");
    }
}
