// NAME
//	AttrReaderTests - attr_scan semantics, partial input, malformed input
// DESCRIPTION
//	Warning texts and results follow attr_scan0.c, attr_scan_plain.c and
//	attr_scan64.c. Every encoding is fed whole, in every split of two
//	chunks (resuming with the reader state), one byte per sequence
//	segment, and cut short at every byte.
using System;
using System.Buffers;
using System.Collections.Generic;
using System.IO;
using System.Text;
using Postfix.Global.Attr;
using Postfix.Util;
using Shouldly;
using Xunit;

namespace Postfix.Global.Tests;

[Collection("Msg")]
public sealed class AttrReaderTests
{
    private static readonly AttrSpec[] AllTypes =
    [
        AttrSpec.StrEq("protocol", "test"),
        AttrSpec.Int("number"),
        AttrSpec.Long("long_number"),
        AttrSpec.Str("string"),
        AttrSpec.Data("data"),
        AttrSpec.Hash(),
    ];

    private static byte[] AllTypesInput(AttrEncoding e) => AttrWriter.ToBytes(e, w => w
        .Str("protocol", "test")
        .Int("number", 4711)
        .Long("long_number", 1234567890123)
        .Str("string", "whoopee")
        .Data("data", new byte[] { 0, 1, 2, 0xff })
        .Hash(new[] { new KeyValuePair<string, string>("k1", "v1"), new KeyValuePair<string, string>("k2", "") }));

    private static void CheckAllTypes(AttrValue[] v, Dictionary<string, string> hash)
    {
        v[1].Int.ShouldBe(4711);
        v[2].Long.ShouldBe(1234567890123);
        v[3].Str.ShouldBe("whoopee");
        v[4].Data.ShouldBe(new byte[] { 0, 1, 2, 0xff });
        hash.Count.ShouldBe(2);
        hash["k1"].ShouldBe("v1");
        hash["k2"].ShouldBe("");
    }

    // Warnings - run body with Msg captured; the warning lines.
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

    private static (int Result, string Warnings, AttrValue[] Values) Scan(AttrEncoding e, string input, AttrSpec[] spec,
        AttrFlags flags, Dictionary<string, string>? hash = null, AttrInputEnd end = AttrInputEnd.Eof)
    {
        var values = new AttrValue[spec.Length];
        var result = 0;
        var w = Warnings(() =>
        {
            var r = new AttrReader(Encoding.Latin1.GetBytes(input), new AttrReaderState(e), end, "input");
            r.Scan(spec, values, flags, out result, hash);
        });
        return (result, w, values);
    }

    public static TheoryData<AttrEncoding> Encodings => new() { AttrEncoding.Zero, AttrEncoding.Plain, AttrEncoding.Base64 };

    [Theory]
    [MemberData(nameof(Encodings))]
    public void AllTypesRoundTrip(AttrEncoding e)
    {
        var values = new AttrValue[AllTypes.Length];
        var hash = new Dictionary<string, string>();
        var input = AllTypesInput(e);
        var w = Warnings(() =>
        {
            AttrReader.ScanAll(input, e, AllTypes, values, AttrFlags.Strict, out var consumed, hash).ShouldBe(6);
            consumed.ShouldBe(input.Length);
        });
        w.ShouldBeEmpty();
        CheckAllTypes(values, hash);
    }

    [Theory]
    [MemberData(nameof(Encodings))]
    public void EverySplitPointResumes(AttrEncoding e)
    {
        var input = AllTypesInput(e);
        for (var split = 0; split <= input.Length; split++)
        {
            var values = new AttrValue[AllTypes.Length];
            var hash = new Dictionary<string, string>();
            var r1 = new AttrReader(input.AsSpan(0, split), new AttrReaderState(e), AttrInputEnd.More);
            var status = r1.Scan(AllTypes, values, AttrFlags.Strict, out var result, hash);
            if (split < input.Length)
            {
                status.ShouldBe(AttrScanStatus.NeedMoreData, $"split {split}");
                var used = (int)r1.Consumed;
                var r2 = new AttrReader(input.AsSpan(used), r1.State, AttrInputEnd.Eof);
                r2.Scan(AllTypes, values, AttrFlags.Strict, out result, hash).ShouldBe(AttrScanStatus.Done);
                (used + r2.Consumed).ShouldBe(input.Length);
            }
            else
            {
                status.ShouldBe(AttrScanStatus.Done);
            }
            result.ShouldBe(6, $"split {split}");
            CheckAllTypes(values, hash);
        }
    }

    [Theory]
    [MemberData(nameof(Encodings))]
    public void OneByteSegments(AttrEncoding e)
    {
        var input = AllTypesInput(e);
        var seq = Segments(input, 1);
        var values = new AttrValue[AllTypes.Length];
        var hash = new Dictionary<string, string>();
        var r = new AttrReader(seq, new AttrReaderState(e), AttrInputEnd.Eof);
        r.Scan(AllTypes, values, AttrFlags.Strict, out var result, hash).ShouldBe(AttrScanStatus.Done);
        result.ShouldBe(6);
        r.Consumed.ShouldBe(input.Length);
        CheckAllTypes(values, hash);
    }

    [Theory]
    [MemberData(nameof(Encodings))]
    public void SequenceSplitAtEveryPointResumes(AttrEncoding e)
    {
        var input = AllTypesInput(e);
        for (var split = 1; split < input.Length; split++)
        {
            // First call sees a two-segment prefix, the second the rest.
            var values = new AttrValue[AllTypes.Length];
            var hash = new Dictionary<string, string>();
            var prefix = Segments(input.AsSpan(0, split).ToArray(), Math.Max(1, split / 2));
            var r1 = new AttrReader(prefix, new AttrReaderState(e), AttrInputEnd.More);
            r1.Scan(AllTypes, values, AttrFlags.Strict, out _, hash).ShouldBe(AttrScanStatus.NeedMoreData);
            var rest = Segments(input.AsSpan((int)r1.Consumed).ToArray(), 3);
            var r2 = new AttrReader(rest, r1.State, AttrInputEnd.Eof);
            r2.Scan(AllTypes, values, AttrFlags.Strict, out var result, hash).ShouldBe(AttrScanStatus.Done);
            result.ShouldBe(6, $"split {split}");
            CheckAllTypes(values, hash);
        }
    }

    [Theory]
    [MemberData(nameof(Encodings))]
    public void EveryTruncationFails(AttrEncoding e)
    {
        var input = AllTypesInput(e);
        for (var cut = 1; cut < input.Length; cut++)
        {
            var values = new AttrValue[AllTypes.Length];
            var hash = new Dictionary<string, string>();
            var result = 0;
            var w = Warnings(() =>
            {
                var r = new AttrReader(input.AsSpan(0, cut), new AttrReaderState(e), AttrInputEnd.Eof);
                r.Scan(AllTypes, values, AttrFlags.Strict, out result, hash).ShouldBe(AttrScanStatus.Done);
            });
            result.ShouldBe(-1, $"cut {cut}");
            w.ShouldContain("end-of-input", Case.Sensitive, $"cut {cut}");
        }
    }

    [Fact]
    public void EmptyInputIsNoList()
    {
        var (result, w, _) = Scan(AttrEncoding.Zero, "", AllTypes, AttrFlags.Strict, new());
        result.ShouldBe(0);
        w.ShouldBeEmpty();
        var r = new AttrReader(ReadOnlySpan<byte>.Empty, default, AttrInputEnd.More);
        r.Scan(AllTypes, new AttrValue[AllTypes.Length], AttrFlags.Strict, out _, new Dictionary<string, string>())
            .ShouldBe(AttrScanStatus.NeedMoreData);
    }

    private static readonly AttrSpec[] RewriteReply = [AttrSpec.Int("flags"), AttrSpec.Str("address")];

    [Fact]
    public void TrivialRewriteReplyCapture()
    {
        var (result, w, v) = Scan(AttrEncoding.Zero, "flags\0" + "0\0address\0joe@host.example.com\0\0", RewriteReply, AttrFlags.Strict);
        result.ShouldBe(2);
        w.ShouldBeEmpty();
        v[0].Int.ShouldBe(0);
        v[1].Str.ShouldBe("joe@host.example.com");
    }

    [Fact]
    public void ResolveReplyCarriesFlagsTwice()
    {
        AttrSpec[] spec = [AttrSpec.Int("flags"), AttrSpec.Str("transport"), AttrSpec.Str("nexthop"), AttrSpec.Str("recipient"), AttrSpec.Int("flags")];
        var (result, w, v) = Scan(AttrEncoding.Zero,
            "flags\0" + "0\0transport\0local\0nexthop\0host\0recipient\0u@localhost\0flags\0" + "256\0\0", spec, AttrFlags.Strict);
        result.ShouldBe(5);
        w.ShouldBeEmpty();
        v[1].Str.ShouldBe("local");
        v[4].Int.ShouldBe(256);
    }

    public static TheoryData<string, AttrEncoding, string, AttrFlags, int, string> Malformed => new()
    {
        { "missing", AttrEncoding.Zero, "flags\0" + "1\0\0", AttrFlags.Strict, 1,
            "test: warning: missing attribute address in input from input\n" },
        { "missing quiet", AttrEncoding.Zero, "flags\0" + "1\0\0", AttrFlags.None, 1, "" },
        { "unexpected", AttrEncoding.Zero, "flags\0" + "1\0junk\0x\0address\0a\0\0", AttrFlags.Strict, 1,
            "test: warning: unexpected attribute junk from input (expecting: address)\n" },
        { "skipped", AttrEncoding.Zero, "flags\0" + "1\0junk\0x\0address\0a\0\0", AttrFlags.Missing, 2, "" },
        { "extra at end", AttrEncoding.Zero, "flags\0" + "1\0address\0a\0more\0x\0\0", AttrFlags.Strict, 2,
            "test: warning: unexpected attribute more from input (expecting: (list terminator))\n" },
        { "extra at end skipped", AttrEncoding.Zero, "flags\0" + "1\0address\0a\0more\0x\0\0", AttrFlags.None, 2, "" },
        { "bad number", AttrEncoding.Zero, "flags\0" + "1x\0address\0a\0\0", AttrFlags.Strict, -1,
            "test: warning: malformed numerical data from input while reading input attribute value: 1x\n" },
        { "empty number", AttrEncoding.Zero, "flags\0\0address\0a\0\0", AttrFlags.Strict, -1,
            "test: warning: malformed numerical data from input while reading input attribute value: \n" },
        { "premature", AttrEncoding.Zero, "flags\0" + "1\0", AttrFlags.Strict, -1,
            "test: warning: premature end-of-input on input while reading input attribute name\n" },
        { "unexpected end", AttrEncoding.Zero, "flags\0" + "1\0addr", AttrFlags.Strict, -1,
            "test: warning: unexpected end-of-input from input while reading input attribute name\n" },
        { "unexpected end value", AttrEncoding.Zero, "flags\0" + "1\0address\0ab", AttrFlags.Strict, -1,
            "test: warning: unexpected end-of-input from input while reading input attribute value\n" },
        { "premature value", AttrEncoding.Zero, "flags\0" + "1\0address\0", AttrFlags.Strict, -1,
            "test: warning: premature end-of-input on input while reading input attribute value\n" },
        { "plain premature", AttrEncoding.Plain, "flags=1\naddr", AttrFlags.Strict, -1,
            "test: warning: premature end-of-input on input while reading input attribute name\n" },
        { "plain missing value", AttrEncoding.Plain, "flags\n\n", AttrFlags.Strict, -1,
            "test: warning: missing value for number attribute flags from input\n" },
        { "plain missing string value", AttrEncoding.Plain, "flags=1\naddress\n\n", AttrFlags.Strict, -1,
            "test: warning: missing value for string attribute address from input\n" },
        { "plain ok", AttrEncoding.Plain, "flags=1\naddress=a=b\n\n", AttrFlags.Strict, 2, "" },
        { "base64 multiple", AttrEncoding.Base64, "ZmxhZ3M=:MQ==:Mg==\n\n", AttrFlags.Strict, -1,
            "test: warning: multiple values for attribute flags from input\n" },
        { "base64 bad name", AttrEncoding.Base64, "ZmxhZ3M:MQ==\n\n", AttrFlags.Strict, -1,
            "test: warning: malformed base64 data from input: ZmxhZ3M\n" },
        { "base64 bad value", AttrEncoding.Base64, "ZmxhZ3M=:M*==\n\n", AttrFlags.Strict, -1,
            "test: warning: malformed base64 data from input: M*==\n" },
        { "base64 missing value", AttrEncoding.Base64, "ZmxhZ3M=\n\n", AttrFlags.Strict, -1,
            "test: warning: missing value for number attribute flags from input\n" },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void MalformedInput(string name, AttrEncoding e, string input, AttrFlags flags, int want, string warnings)
    {
        _ = name;
        var (result, w, _) = Scan(e, input, RewriteReply, flags);
        w.ShouldBe(warnings);
        result.ShouldBe(want);
    }

    [Fact]
    public void TimeoutIsReported()
    {
        var (result, w, _) = Scan(AttrEncoding.Plain, "flags=1\n", RewriteReply, AttrFlags.Strict, end: AttrInputEnd.Timeout);
        result.ShouldBe(-1);
        w.ShouldBe("test: warning: timeout on input while reading input attribute name\n");
    }

    [Fact]
    public void HandshakeMismatch()
    {
        AttrSpec[] spec = [AttrSpec.StrEq("protocol", "trivial_rewrite_protocol")];
        var (result, w, _) = Scan(AttrEncoding.Zero, "protocol\0showq\0\0", spec, AttrFlags.Strict);
        result.ShouldBe(-1);
        w.ShouldBe("test: warning: unexpected protocol showq from input (expected: trivial_rewrite_protocol)\n");
        Scan(AttrEncoding.Zero, "protocol\0trivial_rewrite_protocol\0\0", spec, AttrFlags.Strict).Result.ShouldBe(0);
    }

    [Fact]
    public void BadDataIsReported()
    {
        AttrSpec[] spec = [AttrSpec.Data("data")];
        var (result, w, _) = Scan(AttrEncoding.Zero, "data\0abc\0\0", spec, AttrFlags.Strict);
        result.ShouldBe(-1);
        w.ShouldBe("test: warning: malformed base64 data from input while reading input attribute value: abc\n");
    }

    [Fact]
    public void MoreStopsBeforeTheTerminator()
    {
        AttrSpec[] spec = [AttrSpec.Str("request")];
        var input = Encoding.Latin1.GetBytes("request\0rewrite\0rule\0local\0\0");
        var values = new AttrValue[1];
        var r = new AttrReader(input, default, AttrInputEnd.Eof);
        r.Scan(spec, values, AttrFlags.Strict | AttrFlags.More, out var result).ShouldBe(AttrScanStatus.Done);
        result.ShouldBe(1);
        values[0].Str.ShouldBe("rewrite");
        r.Consumed.ShouldBe(16);

        // The next scan on the same reader reads the rest of the list.
        AttrSpec[] rest = [AttrSpec.Str("rule")];
        var v2 = new AttrValue[1];
        r.Scan(rest, v2, AttrFlags.Strict, out result).ShouldBe(AttrScanStatus.Done);
        result.ShouldBe(1);
        v2[0].Str.ShouldBe("local");
        r.Consumed.ShouldBe(input.Length);
    }

    [Fact]
    public void FuncGroupCountsOnce()
    {
        AttrSpec[] spec = [AttrSpec.Int("a"), AttrSpec.Func(2), AttrSpec.Str("b"), AttrSpec.Str("c"), AttrSpec.Int("d")];
        var (result, w, v) = Scan(AttrEncoding.Zero, "a\0" + "1\0b\0x\0c\0y\0d\0" + "2\0\0", spec, AttrFlags.Strict);
        w.ShouldBeEmpty();
        result.ShouldBe(3);
        v[3].Str.ShouldBe("y");
        v[4].Int.ShouldBe(2);
    }

    [Fact]
    public void HashWithoutBracesTakesTheRest()
    {
        AttrSpec[] spec = [AttrSpec.Str("request"), AttrSpec.Hash()];
        var hash = new Dictionary<string, string>();
        var (result, w, _) = Scan(AttrEncoding.Zero, "request\0x\0a\0" + "1\0b\0" + "2\0\0", spec, AttrFlags.Strict, hash);
        w.ShouldBeEmpty();
        result.ShouldBe(3);
        hash.ShouldBe(new Dictionary<string, string> { ["a"] = "1", ["b"] = "2" });
    }

    [Fact]
    public void HashDuplicateAndPrintable()
    {
        AttrSpec[] spec = [AttrSpec.Hash()];
        var hash = new Dictionary<string, string>();
        var (result, w, _) = Scan(AttrEncoding.Zero, "a\0" + "1\0a\0" + "2\0\0", spec, AttrFlags.Strict, hash);
        result.ShouldBe(1);
        w.ShouldBe("test: warning: duplicate attribute a in input from input\n");

        hash.Clear();
        Scan(AttrEncoding.Zero, "a\0x\u0001\u00e9y\0\0", spec, AttrFlags.Printable, hash).Result.ShouldBe(1);
        hash["a"].ShouldBe("x??y");

        // With SMTPUTF8 enabled, UTF-8 characters survive.
        var saved = Msg.Utf8Enable;
        try
        {
            Msg.Utf8Enable = true;
            var v = new AttrValue[1];
            AttrReader.ScanAll(Encoding.UTF8.GetBytes("s\0x\u0001\u00e9y\0\0"), AttrEncoding.Zero, [AttrSpec.Str("s")], v,
                AttrFlags.Printable, out _).ShouldBe(1);
            v[0].Str.ShouldBe("x?\u00e9y");
        }
        finally
        {
            Msg.Utf8Enable = saved;
        }
    }

    [Fact]
    public void HashLimit()
    {
        var sb = new StringBuilder();
        for (var i = 0; i <= AttrReader.HashLimit; i++)
            sb.Append('k').Append(i).Append('\0').Append("v\0");
        sb.Append('\0');
        var hash = new Dictionary<string, string>();
        var (result, w, _) = Scan(AttrEncoding.Zero, sb.ToString(), [AttrSpec.Hash()], AttrFlags.None, hash);
        result.ShouldBe(AttrReader.HashLimit);
        w.ShouldBe("test: warning: attribute count exceeds limit 1024 in input from input\n");
    }

    [Theory]
    [MemberData(nameof(Encodings))]
    public void SkippingAllocatesNothing(AttrEncoding e)
    {
        var input = AttrWriter.ToBytes(e, w =>
        {
            for (var i = 0; i < 1000; i++)
                w.Str("skipped" + i, "some value of a skipped attribute");
            w.Int("flags", 7);
        });
        AttrSpec[] spec = [AttrSpec.Int("flags")];
        var values = new AttrValue[1];
        AttrReader.ScanAll(input, e, spec, values, AttrFlags.None, out _).ShouldBe(1);
        var before = GC.GetAllocatedBytesForCurrentThread();
        AttrReader.ScanAll(input, e, spec, values, AttrFlags.None, out _).ShouldBe(1);
        (GC.GetAllocatedBytesForCurrentThread() - before).ShouldBeLessThan(1000);
        values[0].Int.ShouldBe(7);
    }

    [Theory]
    [InlineData("007", 7u)]
    [InlineData(" 12", 12u)]
    [InlineData("+3", 3u)]
    [InlineData("-1", 4294967295u)]
    [InlineData("4294967296", 0u)]
    public void NumbersParseLikeSscanf(string text, uint want)
    {
        var (result, w, v) = Scan(AttrEncoding.Zero, "flags\0" + text + "\0address\0\0\0", RewriteReply, AttrFlags.Strict);
        w.ShouldBeEmpty();
        result.ShouldBe(2);
        ((uint)v[0].Int).ShouldBe(want);
    }

    [Fact]
    public void Base64DecodeStopsAtPadding()
    {
        var buf = new byte[16];
        Base64Code.TryDecode("YQ==YWJj"u8, buf, out var n).ShouldBeTrue();
        n.ShouldBe(1);
        Base64Code.TryDecode("YWJ"u8, buf, out _).ShouldBeFalse();
        Base64Code.TryDecode("Y!=="u8, buf, out _).ShouldBeFalse();
        Base64Code.TryDecode(""u8, buf, out n).ShouldBeTrue();
        n.ShouldBe(0);
    }

    // Segments - a sequence of chunks of n bytes.
    private static ReadOnlySequence<byte> Segments(byte[] data, int n)
    {
        if (data.Length == 0)
            return ReadOnlySequence<byte>.Empty;
        Segment? first = null;
        Segment? last = null;
        for (var i = 0; i < data.Length; i += n)
        {
            var chunk = data.AsMemory(i, Math.Min(n, data.Length - i));
            if (first == null)
                first = last = new Segment(chunk, 0);
            else
                last = last!.Append(chunk);
        }
        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long index)
        {
            Memory = memory;
            RunningIndex = index;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
