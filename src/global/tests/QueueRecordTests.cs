// NAME
//	QueueRecordTests - record encoding, reading, pointers, line splitting
using System;
using System.IO;
using System.Text;
using Postfix.Global.Queue;
using Postfix.Util;
using Shouldly;
using Xunit;

namespace Postfix.Global.Tests;

public sealed class QueueRecordTests
{
    private static byte[] Write(Action<RecordWriter> body)
    {
        var ms = new MemoryStream();
        body(new RecordWriter(ms));
        return ms.ToArray();
    }

    public static TheoryData<int, byte[]> LengthBytes => new()
    {
        { 0, new byte[] { 0x00 } },
        { 1, new byte[] { 0x01 } },
        { 127, new byte[] { 0x7f } },
        { 128, new byte[] { 0x80, 0x01 } },
        { 300, new byte[] { 0xac, 0x02 } },
        { 16384, new byte[] { 0x80, 0x80, 0x01 } },
    };

    [Theory]
    [MemberData(nameof(LengthBytes))]
    public void LengthIsSevenBitGroupsLowFirst(int length, byte[] want)
    {
        var bytes = Write(w => w.Put('N', new byte[length]));
        bytes[0].ShouldBe((byte)'N');
        bytes.AsSpan(1, want.Length).ToArray().ShouldBe(want);
        bytes.Length.ShouldBe((int)RecordWriter.SpaceNeeded(length));
    }

    [Fact]
    public void MaildropRecordsAsPostdropWritesThem()
    {
        // The first bytes of a file made by the reference sendmail/postdrop.
        var bytes = Write(w =>
        {
            w.PutTime(1795243510, 940743);
            w.PutAttr("rewrite_context", "local");
            w.Put(RecordType.Full, "root");
        });
        Encoding.ASCII.GetString(bytes).ShouldBe("T\x11" + "1795243510 940743A\x15rewrite_context=localF\x04root");
    }

    [Fact]
    public void ReaderReturnsEachRecordThenEof()
    {
        var bytes = Write(w =>
        {
            w.Put('S', "a@example.com");
            w.Put('M', "");
            w.Put('N', new byte[200]);
        });
        var r = new RecordReader(bytes, "f");
        r.Read(out var d).ShouldBe('S');
        Encoding.ASCII.GetString(d).ShouldBe("a@example.com");
        r.Read(out d).ShouldBe('M');
        d.Length.ShouldBe(0);
        r.Read(out d).ShouldBe('N');
        d.Length.ShouldBe(200);
        r.Read(out _).ShouldBe(RecordType.Eof);
    }

    [Fact]
    public void EveryTruncationIsAnErrorWithPostfixWarning()
    {
        var bytes = Write(w => w.Put('N', new byte[300]));
        for (var cut = 1; cut < bytes.Length; cut++)
        {
            var err = new StringWriter();
            Msg.Err = err;
            try
            {
                var r = new RecordReader(bytes.AsSpan(0, cut), "q");
                r.Read(out _).ShouldBe(RecordType.Error);
            }
            finally
            {
                Msg.Err = Console.Error;
            }
            err.ToString().ShouldContain(cut < 3 ? "q: unexpected EOF reading length, record type 78" : "q: unexpected EOF in data, record type 78 length 300");
        }
    }

    [Fact]
    public void TooManyLengthBytesIsAnError()
    {
        var err = new StringWriter();
        Msg.Err = err;
        try
        {
            var r = new RecordReader(new byte[] { (byte)'N', 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 }, "q");
            r.Read(out _).ShouldBe(RecordType.Error);
            // A fifth group that reaches the sign bit: a negative length.
            r = new RecordReader(new byte[] { (byte)'N', 0xff, 0xff, 0xff, 0xff, 0x0f }, "q");
            r.Read(out _).ShouldBe(RecordType.Error);
        }
        finally
        {
            Msg.Err = Console.Error;
        }
        err.ToString().ShouldContain("q: too many length bits, record type 78");
        err.ToString().ShouldContain("q: illegal length -1, record type 78");
    }

    [Fact]
    public void PointersAreFollowedAndPaddingSkipped()
    {
        var ms = new MemoryStream();
        var w = new RecordWriter(ms);
        w.Put('S', "s");
        var ptrAt = w.Position;
        w.PutPointer(0);
        var back = w.Position;
        w.Pad(RecordType.Dtxt, 10);
        w.Put('E', "");
        var heap = w.Position;
        w.Put('R', "heap");
        w.PutPointer(back);
        w.UpdatePointer(ptrAt, heap);
        var bytes = ms.ToArray();

        var r = new RecordReader(bytes, "f");
        r.Read(out _).ShouldBe('S');
        r.Read(out var d).ShouldBe('R');
        Encoding.ASCII.GetString(d).ShouldBe("heap");
        r.Read(out _).ShouldBe('E');
        r.Read(out _).ShouldBe(RecordType.Eof);

        var raw = new RecordReader(bytes, "f");
        raw.ReadRaw(out _, 0, RecordFlags.None).ShouldBe('S');
        raw.ReadRaw(out d, 0, RecordFlags.None).ShouldBe('p');
        Encoding.ASCII.GetString(d).ShouldBe(heap.ToString(System.Globalization.CultureInfo.InvariantCulture).PadLeft(15));
        raw.ReadRaw(out d, 0, RecordFlags.None).ShouldBe('w');
        d.Length.ShouldBe(8);
        Encoding.ASCII.GetString(d).ShouldBe("       0");
    }

    [Fact]
    public void PointerOnAPipeFails()
    {
        var bytes = Write(w => w.PutPointer(3));
        var err = new StringWriter();
        Msg.Err = err;
        try
        {
            var r = new RecordReader(bytes, "stdin", seekable: false);
            r.Read(out _).ShouldBe(RecordType.Error);
            r.Tell().ShouldBe(-1);
        }
        finally
        {
            Msg.Err = Console.Error;
        }
        err.ToString().ShouldContain("stdin: seek error after pointer record: Illegal seek");
    }

    [Fact]
    public void TryParseAtEverySplitPoint()
    {
        var bytes = Write(w =>
        {
            w.Put('S', "a@example.com");
            w.Put('N', new byte[300]);
            w.Put('E', "");
        });
        for (var split = 0; split <= bytes.Length; split++)
        {
            // Feed the stream in two pieces, as two socket reads would.
            var buffer = bytes.AsSpan(0, split).ToArray();
            var types = new StringBuilder();
            var pos = 0;
            var fed = split;
            for (;;)
            {
                var status = RecordReader.TryParse(buffer.AsSpan(pos), 0, out var type, out var data, out var used);
                if (status == System.Buffers.OperationStatus.Done)
                {
                    types.Append((char)type).Append(data.Length).Append(' ');
                    pos += used;
                    continue;
                }
                status.ShouldBe(System.Buffers.OperationStatus.NeedMoreData);
                if (fed == bytes.Length)
                    break;
                buffer = bytes;
                fed = bytes.Length;
            }
            types.ToString().ShouldBe("S13 N300 E0 ");
            pos.ShouldBe(bytes.Length);
        }
    }

    [Fact]
    public void TryParseRejectsOversizedRecords()
    {
        var bytes = Write(w => w.Put('N', new byte[300]));
        RecordReader.TryParse(bytes, 100, out _, out _, out _).ShouldBe(System.Buffers.OperationStatus.InvalidData);
        RecordReader.TryParse(new byte[] { (byte)'N', 0xff, 0xff, 0xff, 0xff, 0xff }, 0, out _, out _, out _)
            .ShouldBe(System.Buffers.OperationStatus.InvalidData);
    }

    [Theory]
    [InlineData("", 0)]
    [InlineData("0", 0)]
    [InlineData("123", 123)]
    [InlineData("12x", -1)]
    [InlineData("-1", -1)]
    [InlineData("99999999999999999999", -1)]
    public void OffCvtIsDigitsOnly(string text, long want)
    {
        RecordReader.OffCvt(Encoding.ASCII.GetBytes(text)).ShouldBe(want);
    }

    public static TheoryData<string, int, string> StreamLfCases => new()
    {
        { "", 4, "" },
        { "\n", 4, "N()" },
        { "abc\n", 4, "N(abc)" },
        { "abcd\n", 4, "L(abcd)N()" },
        { "abcdefghij\nk\n", 4, "L(abcd)L(efgh)N(ij)N(k)" },
        { "no newline", 4, "L(no n)L(ewli)L(ne)" },
        { "a\n\nb", 4, "N(a)N()L(b)" },
    };

    [Theory]
    [MemberData(nameof(StreamLfCases))]
    public void StreamLfSplitsLongLines(string text, int limit, string want)
    {
        var bytes = Write(w => w.PutStreamLf(Encoding.ASCII.GetBytes(text), limit));
        var r = new RecordReader(bytes, "f");
        var sb = new StringBuilder();
        int t;
        while ((t = r.Read(out var d)) > 0)
            sb.Append((char)t).Append('(').Append(Encoding.ASCII.GetString(d)).Append(')');
        sb.ToString().ShouldBe(want);
    }

    [Fact]
    public void SizeRecordIsFixedWidthAndUpdatesInPlace()
    {
        var ms = new MemoryStream();
        var w = new RecordWriter(ms);
        w.Put(RecordType.Size, new SizeRecord(0, 0, 0, 0, 0, 0).Format());
        w.Put('T', "1 2");
        var end = w.Position;
        w.UpdateSize(0, new SizeRecord(261, 318, 2, 0, 261, 0));
        w.Position.ShouldBe(end);
        var bytes = ms.ToArray();
        bytes.Length.ShouldBe((int)end);
        var r = new RecordReader(bytes, "f");
        r.Read(out var d).ShouldBe('C');
        Encoding.ASCII.GetString(d).ShouldBe("            261             318               2               0             261               0");
        d.Length.ShouldBe(SizeRecord.Length);
        SizeRecord.TryParse(d, out var size).ShouldBe(6);
        size.ShouldBe(new SizeRecord(261, 318, 2, 0, 261, 0));
    }

    [Fact]
    public void PutTypeRewritesOneByte()
    {
        var ms = new MemoryStream();
        var w = new RecordWriter(ms);
        w.Put('R', "r@example.com");
        w.PutType(RecordType.Done, 0);
        ms.ToArray()[0].ShouldBe((byte)'D');
    }

    [Theory]
    [InlineData('C', "message_size")]
    [InlineData('L', "content_filter")]
    [InlineData('N', "regular_text")]
    [InlineData('p', "pointer_record")]
    [InlineData('Z', "unknown_record_type")]
    [InlineData(0, "unknown_record_type")]
    public void NamesAsPostcatPrintsThem(int type, string want)
    {
        RecordType.Name(type).ShouldBe(want);
    }

    [Fact]
    public void SegmentSetsMatchLikeStrchr()
    {
        RecordType.InSet(RecordType.Envelope, 'T').ShouldBeTrue();
        RecordType.InSet(RecordType.Envelope, 'N').ShouldBeFalse();
        RecordType.InSet(RecordType.Envelope, 0).ShouldBeTrue();
        RecordType.InSet(RecordType.Content, 'w').ShouldBeTrue();
    }
}
