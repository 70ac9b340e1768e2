// NAME
//	RegexpDictTests - regexp: table parsing, matching and warnings
using System;
using System.IO;
using Postfix.Global.Dict;
using Postfix.Util;
using Shouldly;
using Xunit;

namespace Postfix.Global.Tests;

[Collection("Msg")]
public sealed class RegexpDictTests
{
    private const string Table =
        "/^(a)(b)?$/ g1=$1 g2=$2\n" +
        "/^ab$/i case-sensitive\n" +
        "/^x(y)z$/ ${1}$$\n" +
        "if /^if/\n" +
        "if !/no/\n" +
        "/./ if-yes\n" +
        "endif\n" +
        "/./ if-no\n" +
        "endif\n" +
        "/^a/!/c/ a-not-c\n" +
        "!/^q/ not-q\n";

    public static TheoryData<string, string?> Lookups => new()
    {
        { "ab", "g1=a g2=b" },
        { "a", "g1=a g2=" },
        { "AB", "g1=A g2=B" },
        { "xyz", "y$" },
        { "ifx", "if-yes" },
        { "ifno", "if-no" },
        { "abd", "a-not-c" },
        { "abc", "not-q" },
        { "q", null },
    };

    [Theory]
    [MemberData(nameof(Lookups))]
    public void LookupReturnsFirstMatch(string key, string? want)
    {
        var (dict, _) = Open(Table);
        dict.Lookup(key).ShouldBe(want);
        dict.Error.ShouldBe(DictError.None);
    }

    public static TheoryData<string, string> Warnings => new()
    {
        { "bad\n", "regexp map T, line 1: ignoring unrecognized request" },
        { "/x/q y\n", "regexp map T, line 1: unknown regexp option \"q\": skipping this rule" },
        { "endif\n", "regexp map T, line 1: ignoring ENDIF without matching IF" },
        { "/[/ z\n", "regexp map T, line 1: Invalid regular expression" },
        { "/(a)/ $0\n", "regexp map T, line 1: out-of-range replacement index \"0\"" },
        { "!/(a)/ $1\n", "regexp map T, line 1: $number found in negative match replacement text: skipping this rule" },
        { "/a/\n", "regexp map T, line 1: no replacement text: using empty string" },
        { "/(a)/ $2\n", "regexp map T, line 1: out of range replacement index \"2\": skipping this rule" },
        { "/a\n", "regexp map T, line 1: no closing regexp delimiter \"/\": skipping this rule" },
        { "if /a/\n", "regexp map T, line 1: IF has no matching ENDIF" },
        { "/(a)/ $x\n", "regexp map T, line 1: non-numeric replacement index \"x\"" },
    };

    [Theory]
    [MemberData(nameof(Warnings))]
    public void BadRulesWarn(string text, string want)
    {
        var (_, said) = Open(text);
        said.ShouldContain("test: warning: " + want + "\n");
    }

    [Fact]
    public void InlineTable()
    {
        var saved = Msg.Err;
        try
        {
            Msg.Err = new StringWriter();
            var dict = RegexpDict.Open("{{/a/ x}, {/b/ y}}", DictOpenFlags.ReadOnly, DictFlags.None);
            dict.Lookup("b").ShouldBe("y");
            dict.Lookup("c").ShouldBeNull();
        }
        finally
        {
            Msg.Err = saved;
        }
    }

    [Fact]
    public void MissingFileIsFatalInCommands()
    {
        var saved = Msg.Err;
        try
        {
            Msg.Err = new StringWriter();
            Should.Throw<FatalException>(() => RegexpDict.Open("/nonexistent/x", DictOpenFlags.ReadOnly, DictFlags.None));
            Msg.Err.ToString()!.ShouldContain("open /nonexistent/x: No such file or directory");
        }
        finally
        {
            Msg.Err = saved;
        }
    }

    // Open - the table from text, named "T" in messages; returns stderr.
    internal static (Dict.Dict Dict, string Said) Open(string text, Func<string, DictOpenFlags, DictFlags, Dict.Dict>? open = null)
    {
        var dir = Directory.CreateTempSubdirectory("regexp-test");
        var saved = Msg.Err;
        var savedTag = Msg.Tag;
        var err = new StringWriter();
        try
        {
            var path = Path.Combine(dir.FullName, "T");
            File.WriteAllText(path, text);
            Msg.Err = err;
            Msg.Tag = "test";
            var dict = (open ?? RegexpDict.Open)(path, DictOpenFlags.ReadOnly, DictFlags.None);
            return (dict, err.ToString().Replace(path, "T", StringComparison.Ordinal));
        }
        finally
        {
            Msg.Err = saved;
            Msg.Tag = savedTag;
            dir.Delete(true);
        }
    }
}
