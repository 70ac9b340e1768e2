// NAME
//	PcreDictTests - pcre: table flags, substitution and warnings
using Postfix.Global.Dict;
using Shouldly;
using Xunit;

namespace Postfix.Global.Tests;

[Collection("Msg")]
public sealed class PcreDictTests
{
    private const string Table =
        "/^ab$/ default-insensitive\n" +
        "/^Cd$/i case-sensitive\n" +
        "/^e.f$/s no-dotall\n" +
        "/^(g+?)(.*)$/ lazy=$1 rest=$2\n" +
        "/^(h+?)(.*)$/U greedy=$1 rest=$2\n" +
        "/^x y$/x extended\n" +
        "IF /^if/\n" +
        "/z/ if-z\n" +
        "ENDIF\n" +
        "/^(\\d+)%$/ num=$1\n";

    public static TheoryData<string, string?> Lookups => new()
    {
        { "AB", "default-insensitive" },
        { "Cd", "case-sensitive" },
        { "cd", null },
        { "e\nf", null },
        { "exf", "no-dotall" },
        { "gggx", "lazy=g rest=ggx" },
        { "hhhx", "greedy=hhh rest=x" },
        { "xy", "extended" },
        { "ifz", "if-z" },
        { "z", null },
        { "100%", "num=100" },
    };

    [Theory]
    [MemberData(nameof(Lookups))]
    public void LookupReturnsFirstMatch(string key, string? want)
    {
        var (dict, _) = RegexpDictTests.Open(Table, PcreDict.Open);
        dict.Lookup(key).ShouldBe(want);
    }

    public static TheoryData<string, string> Warnings => new()
    {
        { "/[/ z\n", "pcre map T, line 1: error in regex at offset 1: missing terminating ] for character class" },
        { "/(a)/ $0\n", "pcre map T, line 1: out of range replacement index \"0\"" },
        { "/a/X x\n", "pcre map T, line 1: ignoring obsolete regexp option \"X\"" },
        { "/b/!/c/ bc\n", "pcre map T, line 1: unknown regexp option \"!\": skipping this rule" },
        { "/a\n", "pcre map T, line 1: no closing regexp delimiter \"/\": ignoring this rule" },
        { "/(a)/ $2\n", "pcre map T, line 1: out of range replacement index \"2\": skipping this rule" },
    };

    [Theory]
    [MemberData(nameof(Warnings))]
    public void BadRulesWarn(string text, string want)
    {
        var (_, said) = RegexpDictTests.Open(text, PcreDict.Open);
        said.ShouldContain("test: warning: " + want + "\n");
    }
}
