// NAME
//	CidrDictTests - cidr: table matching, if/endif and bad rules
using Postfix.Global.Dict;
using Shouldly;
using Xunit;

namespace Postfix.Global.Tests;

[Collection("Msg")]
public sealed class CidrDictTests
{
    private const string Table =
        "1.2.3.4 exact\n" +
        "1.2.3.0/24 net24\n" +
        "[1.2.4.0]/24 bracket\n" +
        "if 10.0.0.0/8\n" +
        "!10.1.0.0/16 ten-not-101\n" +
        "endif\n" +
        "2001:db8::/32 doc\n" +
        "::ffff:0:0/96 mapped\n" +
        "0.0.0.0/0 any4\n";

    public static TheoryData<string, string?> Lookups => new()
    {
        { "1.2.3.4", "exact" },
        { "1.2.3.5", "net24" },
        { "1.2.4.200", "bracket" },
        { "10.2.0.1", "ten-not-101" },
        { "10.1.0.1", "any4" },
        { "2001:DB8::1", "doc" },
        { "2001:db9::1", null },
        { "::ffff:1.2.3.4", "mapped" },
        { "01.2.3.4", null },
        { "1.2.3", null },
        { "foo", null },
    };

    [Theory]
    [MemberData(nameof(Lookups))]
    public void LookupReturnsFirstMatch(string key, string? want)
    {
        var (dict, said) = RegexpDictTests.Open(Table, CidrDict.Open);
        said.ShouldBeEmpty();
        dict.Lookup(key).ShouldBe(want);
    }

    public static TheoryData<string, string> Warnings => new()
    {
        { "1.2.3.0/33 x\n", "cidr map T, line 1: bad mask length in \"1.2.3.0/33\": skipping this rule" },
        { "1.2.3.1/24 x\n", "cidr map T, line 1: non-null host address bits in \"1.2.3.1/24\", perhaps you should use \"1.2.3.0/24\" instead: skipping this rule" },
        { "1.2.3.0/2x x\n", "cidr map T, line 1: bad mask value in \"1.2.3.0/2x\": skipping this rule" },
        { "300.1.1.1 x\n", "cidr map T, line 1: bad address pattern: \"300.1.1.1\": skipping this rule" },
        { "1.2.3.4\n", "cidr map T, line 1: no lookup result: skipping this rule" },
        { "[1.2.3.4 x\n", "cidr map T, line 1: missing ']' character after \"[1.2.3.4\": skipping this rule" },
        { "[1.2.3.4]x y\n", "cidr map T, line 1: garbage after \"[1.2.3.4]\": skipping this rule" },
        { "endif\n", "cidr map T, line 1: ENDIF without IF: skipping this rule" },
        { "if 1.2.3.4\n", "cidr map T, line 1: IF has no matching ENDIF" },
        { "2001:db8::1/32 x\n", "cidr map T, line 1: non-null host address bits in \"2001:db8::1/32\", perhaps you should use \"2001:db8::/32\" instead: skipping this rule" },
    };

    [Theory]
    [MemberData(nameof(Warnings))]
    public void BadRulesWarn(string text, string want)
    {
        var (_, said) = RegexpDictTests.Open(text, CidrDict.Open);
        said.ShouldContain("test: warning: " + want + "\n");
    }
}
