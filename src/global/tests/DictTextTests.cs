// NAME
//	DictTextTests - bytes survive the trip through table strings
using Postfix.Global.Dict;
using Shouldly;
using Xunit;

namespace Postfix.Global.Tests;

public sealed class DictTextTests
{
    public static TheoryData<byte[]> Samples => new()
    {
        new byte[] { (byte)'a', (byte)'b' },
        new byte[] { 0xc3, 0x84, (byte)'x' },          // valid UTF-8
        new byte[] { 0xe9, (byte)'t', 0xe9 },          // Latin-1
        new byte[] { 0xc3, (byte)'x', 0xc3, 0x84 },    // broken UTF-8
        new byte[] { 0xf0, 0x9f, 0x98, 0x80 },         // outside the BMP
    };

    [Theory]
    [MemberData(nameof(Samples))]
    public void EncodeReturnsTheDecodedBytes(byte[] bytes)
    {
        DictText.Encode(DictText.Decode(bytes)).ShouldBe(bytes);
    }

    [Fact]
    public void Latin1TextIsNotValidUtf8()
    {
        DictText.IsValidUtf8(DictText.Decode(new byte[] { 0xe9 })).ShouldBeFalse();
        DictText.IsValidUtf8(DictText.Decode(new byte[] { 0xc3, 0xa9 })).ShouldBeTrue();
    }

    [Theory]
    [InlineData("ABC", "abc")]
    [InlineData("ÄBC", "Äbc")]
    [InlineData("mIxEd@Example.COM", "mixed@example.com")]
    public void FoldLowersAsciiOnly(string input, string want)
    {
        DictText.Fold(input).ShouldBe(want);
    }
}
