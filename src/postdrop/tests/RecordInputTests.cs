using System;
using System.IO;
using Postfix.Global.Queue;
using Postfix.Util;
using Shouldly;
using Xunit;

namespace Postfix.Commands.Postdrop.Tests;

public class RecordInputTests
{
    private static (int Type, string Text, string Err) Read(byte[] input, long max = 2048)
    {
        var saved = Msg.Err;
        var err = new StringWriter();
        Msg.Err = err;
        Msg.Tag = "postdrop";
        try
        {
            var r = new RecordInput(new MemoryStream(input), "stdin");
            var type = r.Next(max, out var data);
            return (type, System.Text.Encoding.Latin1.GetString(data), err.ToString());
        }
        finally
        {
            Msg.Err = saved;
        }
    }

    [Fact]
    public void OneRecord() => Read([(byte)'S', 3, (byte)'a', (byte)'@', (byte)'b']).ShouldBe(('S', "a@b", ""));

    [Fact]
    public void CleanEnd() => Read([]).Type.ShouldBe(RecordType.Eof);

    [Fact]
    public void TooLong()
    {
        var r = Read([(byte)'N', 0x80, 0x80, 0x01], 2048);
        r.Type.ShouldBe(RecordType.Error);
        r.Err.ShouldBe("postdrop: warning: stdin: illegal length 16384, record type 78\n");
    }

    [Fact]
    public void TruncatedData()
    {
        var r = Read([(byte)'N', 5, (byte)'a']);
        r.Type.ShouldBe(RecordType.Error);
        r.Err.ShouldBe("postdrop: warning: stdin: unexpected EOF in data, record type 78 length 5\n");
    }

    [Fact]
    public void TruncatedLength() =>
        Read([(byte)'R']).Err.ShouldBe("postdrop: warning: stdin: unexpected EOF reading length, record type 82\n");

    [Fact]
    public void TooManyLengthBits() =>
        Read([(byte)'R', 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]).Err.ShouldBe("postdrop: warning: stdin: too many length bits, record type 82\n");

    [Fact]
    public void LargeRecordAcrossReads()
    {
        var data = new byte[3 + 10000];
        data[0] = (byte)'N';
        data[1] = 0x90;
        data[2] = 0x4e;
        data.AsSpan(3).Fill((byte)'x');
        var r = Read(data, 0);
        r.Type.ShouldBe('N');
        r.Text.Length.ShouldBe(10000);
    }
}
