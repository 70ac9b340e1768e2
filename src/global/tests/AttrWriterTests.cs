// NAME
//	AttrWriterTests - byte-exact attribute lists in the three encodings
// DESCRIPTION
//	Expected bytes follow attr_print0.c, attr_print_plain.c and
//	attr_print64.c; the rewrite request is the one cleanup(8) of Postfix
//	3.7.11 was seen writing to private/rewrite (strace).
using System.Collections.Generic;
using System.Text;
using Postfix.Global.Attr;
using Shouldly;
using Xunit;

namespace Postfix.Global.Tests;

public sealed class AttrWriterTests
{
    private static string Bytes(AttrEncoding e, System.Action<AttrWriter> print, AttrFlags flags = AttrFlags.None) =>
        Encoding.Latin1.GetString(AttrWriter.ToBytes(e, print, flags));

    [Fact]
    public void RewriteRequestMatchesCleanupCapture()
    {
        Bytes(AttrEncoding.Zero, w => w.Str("request", "rewrite").Str("rule", "local").Str("address", "joe"))
            .ShouldBe("request\0rewrite\0rule\0local\0address\0joe\0\0");
    }

    [Fact]
    public void ResolveRequestShape()
    {
        Bytes(AttrEncoding.Zero, w => w.Str("request", "resolve").Str("sender", "").Str("address", "bob"))
            .ShouldBe("request\0resolve\0sender\0\0address\0bob\0\0");
    }

    public static TheoryData<string, AttrEncoding, string> Scalars => new()
    {
        { "zero int", AttrEncoding.Zero, "number\0" + "42\0" + "long_number\0" + "1234567890123\0" + "neg\0" + "4294967295\0" + "lneg\0" + "18446744073709551615\0\0" },
        { "plain int", AttrEncoding.Plain, "number=42\nlong_number=1234567890123\nneg=4294967295\nlneg=18446744073709551615\n\n" },
        { "base64 int", AttrEncoding.Base64, "bnVtYmVy:NDI=\nbG9uZ19udW1iZXI=:MTIzNDU2Nzg5MDEyMw==\nbmVn:NDI5NDk2NzI5NQ==\nbG5lZw==:MTg0NDY3NDQwNzM3MDk1NTE2MTU=\n\n" },
    };

    [Theory]
    [MemberData(nameof(Scalars))]
    public void NumbersAreUnsignedDecimal(string name, AttrEncoding e, string want)
    {
        _ = name;
        Bytes(e, w => w.Int("number", 42).Long("long_number", 1234567890123).Int("neg", -1).Long("lneg", -1)).ShouldBe(want);
    }

    public static TheoryData<string, AttrEncoding, string> Strings => new()
    {
        { "zero", AttrEncoding.Zero, "string\0hello world\0empty\0\0data\0AAH/YQ==\0\0" },
        { "plain", AttrEncoding.Plain, "string=hello world\nempty=\ndata=AAH/YQ==\n\n" },
        { "base64", AttrEncoding.Base64, "c3RyaW5n:aGVsbG8gd29ybGQ=\nZW1wdHk=:\nZGF0YQ==:AAH/YQ==\n\n" },
    };

    [Theory]
    [MemberData(nameof(Strings))]
    public void StringsAndData(string name, AttrEncoding e, string want)
    {
        _ = name;
        Bytes(e, w => w.Str("string", "hello world").Str("empty", "").Data("data", new byte[] { 0, 1, 0xff, (byte)'a' }))
            .ShouldBe(want);
    }

    [Fact]
    public void StringsStopAtNulAsStrlenDoes()
    {
        Bytes(AttrEncoding.Zero, w => w.Str("a", "x\0y")).ShouldBe("a\0x\0\0");
    }

    public static TheoryData<string, AttrEncoding, string> Hashes => new()
    {
        { "zero", AttrEncoding.Zero, "{\0k1\0v1\0k2\0v2\0}\0\0" },
        // attr_print_plain writes sizeof("{"): the NUL goes out too.
        { "plain", AttrEncoding.Plain, "{\0\nk1=v1\nk2=v2\n}\0\n\n" },
        { "base64", AttrEncoding.Base64, "ew==\nazE=:djE=\nazI=:djI=\nfQ==\n\n" },
    };

    [Theory]
    [MemberData(nameof(Hashes))]
    public void HashTablesAreBraced(string name, AttrEncoding e, string want)
    {
        _ = name;
        var table = new List<KeyValuePair<string, string>> { new("k1", "v1"), new("k2", "v2") };
        Bytes(e, w => w.Hash(table)).ShouldBe(want);
    }

    [Theory]
    [InlineData(AttrEncoding.Zero, "a\0" + "1\0b\0" + "2\0")]
    [InlineData(AttrEncoding.Plain, "a=1\nb=2\n")]
    public void MoreLeavesTheListOpen(AttrEncoding e, string want)
    {
        Bytes(e, w => w.Func(f => f.Int("a", 1)).Func(f => f.Int("b", 2)), AttrFlags.More).ShouldBe(want);
    }

    [Fact]
    public void EmptyListIsJustTheTerminator()
    {
        Bytes(AttrEncoding.Zero, _ => { }).ShouldBe("\0");
        Bytes(AttrEncoding.Plain, _ => { }).ShouldBe("\n");
        Bytes(AttrEncoding.Base64, _ => { }).ShouldBe("\n");
    }

    [Fact]
    public void ProtocolAnnouncementOfTrivialRewrite()
    {
        Bytes(AttrEncoding.Zero, w => w.Str(MailProto.AttrProto, MailProto.ProtoTrivial))
            .ShouldBe("protocol\0trivial_rewrite_protocol\0\0");
    }
}
