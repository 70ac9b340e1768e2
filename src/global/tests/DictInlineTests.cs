// NAME
//	DictInlineTests - inline:, static:, unionmap:, pipemap:, randmap:, fail:
using System.IO;
using Postfix.Global.Dict;
using Postfix.Util;
using Shouldly;
using Xunit;

namespace Postfix.Global.Tests;

[Collection("DictStatics")]
public sealed class DictInlineTests
{
    public static TheoryData<string, string, string?> Lookups => new()
    {
        { "inline:{a=1, b=2}", "a", "1" },
        { "inline:{a=1, b=2}", "B", "2" },
        { "inline:{a=1, { b = x y }}", "b", "x y" },
        { "inline:{a=1}", "c", null },
        { "static:fixed", "anything", "fixed" },
        { "static:{ with  space }", "x", "with  space" },
        { "unionmap:{inline:{a=1}, inline:{a=2}, static:3}", "a", "1,2,3" },
        { "unionmap:{inline:{a=1}, inline:{b=2}}", "c", null },
        { "pipemap:{inline:{a=b}, inline:{b=c}}", "a", "c" },
        { "pipemap:{inline:{a=b}, inline:{x=c}}", "a", null },
        { "randmap:{only}", "x", "only" },
        { "internal:x", "x", null },
    };

    [Theory]
    [MemberData(nameof(Lookups))]
    public void LookupAnswersAsPostfix(string spec, string key, string? want)
    {
        using var d = DictOpen.Open(spec, DictOpenFlags.ReadOnly, DictFlags.FoldFix);
        d.Lookup(key).ShouldBe(want);
        d.Error.ShouldBe(DictError.None);
    }

    [Fact]
    public void FailReportsApplicationError()
    {
        using var d = DictOpen.Open("fail:x", DictOpenFlags.ReadOnly, DictFlags.None);
        d.Lookup("k").ShouldBeNull();
        d.Error.ShouldBe(DictError.Retry);
        d.ErrorText.ShouldBe("Application error");
    }

    [Theory]
    [InlineData("inline:{a}", "missing '=' after attribute name: \"inline:{a}\"; need \"inline:{name=value...}\"")]
    [InlineData("inline:{}", "bad syntax: \"inline:{}\"; need \"inline:{name=value...}\"")]
    [InlineData("unionmap:{}", "bad syntax: \"unionmap:{}\"; need \"unionmap:{type:name...}\"")]
    [InlineData("nosuch:x", "unsupported dictionary type: nosuch")]
    public void BadSpecsAreFatal(string spec, string message)
    {
        DictSurrogate.AllowSurrogate = false;
        var err = new StringWriter();
        Msg.Err = err;
        Should.Throw<FatalException>(() => DictOpen.Open(spec, DictOpenFlags.ReadOnly, DictFlags.None));
        err.ToString().ShouldContain("fatal: " + message);
    }

    [Fact]
    public void TexthashReadsPostmapSyntax()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, "# c\nA 1\n\"q k\" 2\n  more\nb\n");
            File.SetLastWriteTimeUtc(path, System.DateTime.UtcNow.AddHours(-1));
            var err = new StringWriter();
            Msg.Err = err;
            using var d = DictOpen.Open("texthash:" + path, DictOpenFlags.ReadOnly, DictFlags.FoldFix | DictFlags.DupWarn);
            d.Lookup("a").ShouldBe("1");
            d.Lookup("\"q k\"").ShouldBe("2  more");
            err.ToString().ShouldContain("line 5: expected format: key whitespace value -- ignoring this line");
        }
        finally
        {
            File.Delete(path);
        }
    }
}
