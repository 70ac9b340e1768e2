// NAME
//	MacExpandTests - $name expansion, conditionals and relational forms
using System.Collections.Generic;
using System.IO;
using Postfix.Util;
using Shouldly;
using Xunit;

namespace Postfix.Util.Tests;

public sealed class MacExpandTests
{
    private static readonly Dictionary<string, string> Vars = new()
    {
        ["name"] = "value",
        ["empty"] = "",
        ["nested"] = "[$name]",
        ["num"] = "12",
    };

    private static string? Find(string n, int mode) => Vars.TryGetValue(n, out var v) ? v : null;

    public static TheoryData<string, string, int, string> Cases => new()
    {
        { "plain", "text", MacExpand.FlagNone, "text" },
        { "dollar", "$name", MacExpand.FlagNone, "value" },
        { "braces", "${name}x", MacExpand.FlagNone, "valuex" },
        { "parens", "$(name)x", MacExpand.FlagNone, "valuex" },
        { "double dollar", "$$name", MacExpand.FlagNone, "$name" },
        { "no recursion", "$nested", MacExpand.FlagNone, "[$name]" },
        { "recursion", "$nested", MacExpand.FlagRecurse, "[value]" },
        { "if set", "${name?yes}", MacExpand.FlagNone, "yes" },
        { "if empty", "${empty?yes}", MacExpand.FlagNone, "" },
        { "if unset", "${unset:no}", MacExpand.FlagNone, "no" },
        { "ternary true", "${name?{a}:{b}}", MacExpand.FlagNone, "a" },
        { "ternary false", "${empty?{a}:{b}}", MacExpand.FlagNone, "b" },
        { "equal", "${{$name} == {value}?{eq}:{ne}}", MacExpand.FlagNone, "eq" },
        { "numeric less", "${{$num} < {9}?{lt}:{ge}}", MacExpand.FlagNone, "ge" },
        { "old style colon text", "${name??foo:{b}ar}", MacExpand.FlagNone, "?foo:{b}ar" },
        { "relational value", "${{a} != {b}}", MacExpand.FlagNone, "true" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void ExpandsLikePostfix(string name, string pattern, int flags, string want)
    {
        _ = name;
        var got = MacExpand.Expand(pattern, flags, Find, out var status);
        got.ShouldBe(want);
        (status & MacExpand.ParseError).ShouldBe(0);
    }

    [Fact]
    public void UndefinedNameSetsUndefFlag()
    {
        MacExpand.Expand("$nosuch", MacExpand.FlagNone, Find, out var status);
        (status & MacExpand.ParseUndef).ShouldNotBe(0);
    }

    [Fact]
    public void UnbalancedBraceWarns()
    {
        var err = new StringWriter();
        Msg.Err = err;
        MacExpand.Expand("${name", MacExpand.FlagNone, Find, out var status);
        (status & MacExpand.ParseError).ShouldNotBe(0);
        err.ToString().ShouldContain("truncated macro reference: \"${name\"");
    }
}
