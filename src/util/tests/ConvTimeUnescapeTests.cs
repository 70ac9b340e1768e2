// NAME
//	ConvTimeUnescapeTests - conv_time() and unescape() as the reference reads them
using Postfix.Util;
using Shouldly;
using Xunit;

namespace Postfix.Util.Tests;

public sealed class ConvTimeUnescapeTests
{
    [Theory]
    [InlineData("10", 's', 10)]
    [InlineData("10", 'm', 600)]
    [InlineData("2h", 's', 7200)]
    [InlineData("1w", 's', 604800)]
    [InlineData(" +3d", 's', 3 * 86400)]
    [InlineData("5sec", 'h', 5)]
    [InlineData("m", 's', 0)]
    public void ConvTimeAccepts(string text, char unit, int want)
    {
        ConvTime.TryParse(text, unit, out var seconds).ShouldBeTrue();
        seconds.ShouldBe(want);
    }

    [Theory]
    [InlineData("")]
    [InlineData("-1")]
    [InlineData("5y")]
    [InlineData("4000000000")]
    [InlineData("100000w")]
    public void ConvTimeRejects(string text)
    {
        ConvTime.TryParse(text, 's', out _).ShouldBeFalse();
    }

    [Theory]
    [InlineData(@"plain", "plain")]
    [InlineData(@"\t\40x", "\t x")]
    [InlineData(@"\101\0619", "A19")]
    [InlineData(@"\q\\", "q\\")]
    [InlineData(@"\777", "\u00ff")]
    [InlineData(@"end\", "end")]
    public void UnescapeDecodes(string text, string want)
    {
        Unescape.Decode(text).ShouldBe(want);
    }
}
