// NAME
//	CompatLevelTests - compatibility_level syntax and comparisons
using Postfix.Global.Config;
using Postfix.Util;
using Shouldly;
using Xunit;

namespace Postfix.Global.Tests;

public sealed class CompatLevelTests
{
    [Theory]
    [InlineData("0", "0")]
    [InlineData("2", "2")]
    [InlineData("3.6", "3.6")]
    [InlineData("3.6.1", "3.6.1")]
    public void RoundTrips(string text, string want)
    {
        CompatLevel.ToString(CompatLevel.FromString(text, _ => { })).ShouldBe(want);
    }

    [Fact]
    public void RejectsGarbage()
    {
        string? said = null;
        CompatLevel.FromString("3.x", s => said = s).ShouldBe(-1);
        said.ShouldBe("malformed compatibility level syntax: \"3.x\"");
    }

    [Theory]
    [InlineData("${{0} <level {2} ? {subnet} : {host}}", "subnet")]
    [InlineData("${{3.6} <level {2} ? {subnet} : {host}}", "host")]
    [InlineData("${{3.10} >level {3.9} ? {a} : {b}}", "a")]
    public void LevelOperatorsCompareLevels(string pattern, string want)
    {
        CompatLevel.Register();
        MacExpand.Expand(pattern, MacExpand.FlagNone, (_, _) => null, out _).ShouldBe(want);
    }
}
