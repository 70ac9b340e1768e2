// NAME
//	DbCommonTests - query/result template expansion of database tables
using System.Collections.Generic;
using System.Text;
using Postfix.Global.Dict;
using Shouldly;
using Xunit;

namespace Postfix.Global.Tests;

[Collection("Msg")]
public sealed class DbCommonTests
{
    private sealed class Nothing : Dict.Dict
    {
        public Nothing()
            : base("test", "t.cf", DictOpenFlags.ReadOnly, DictFlags.None)
        {
        }

        public override string? Lookup(string key) => null;
    }

    public static TheoryData<string, string, string?> Queries => new()
    {
        { "SELECT x FROM t WHERE a='%s'", "user@example.com", "SELECT x FROM t WHERE a='user@example.com'" },
        { "%u|%d", "user@example.com", "user|example.com" },
        { "%u|%d", "user", null },
        { "%u", "@example.com", null },
        { "%u", "plain", "plain" },
        { "%1.%2.%3", "u@a.b.example.com", "com.example.b" },
        { "%3", "u@example.com", null },
        { "%D-%U-%S", "u@x.org", "x.org-u-u@x.org" },
        { "100%% %s", "k", "100% k" },
        { "%s", "o'brien", "o''brien" },
    };

    [Theory]
    [MemberData(nameof(Queries))]
    public void QueryExpansion(string format, string key, string? want)
    {
        var ctx = new DbCommon(new Nothing());
        ctx.Parse(format, true);
        var sb = new StringBuilder();
        var ok = ctx.Expand(format, key, null, sb, SqliteDict.QuoteSql);
        (ok ? sb.ToString() : null).ShouldBe(want);
    }

    public static TheoryData<string, string, string, string?> Results => new()
    {
        { "%s", "dest@example.net", "k@x", "dest@example.net" },
        { "%u", "dest@example.net", "k@x", "dest" },
        { "%d", "dest@example.net", "k@x", "example.net" },
        { "%d", "nodomain", "k@x", null },
        { "%s@%D", "local", "k@x.org", "local@x.org" },
        { "%S:%s", "v", "key", "key:v" },
    };

    [Theory]
    [MemberData(nameof(Results))]
    public void ResultExpansion(string format, string value, string key, string? want)
    {
        var ctx = new DbCommon(new Nothing());
        ctx.Parse("%s", true);
        ctx.Parse(format, false);
        var sb = new StringBuilder();
        (ctx.Expand(format, value, key, sb, null) ? sb.ToString() : null).ShouldBe(want);
    }

    [Fact]
    public void ResultsAreCommaJoined()
    {
        var ctx = new DbCommon(new Nothing());
        ctx.Parse("%s", false);
        var sb = new StringBuilder();
        ctx.Expand("%s", "a", "k", sb, null);
        ctx.Expand("%s", "b", "k", sb, null);
        sb.ToString().ShouldBe("a,b");
    }

    [Theory]
    [InlineData("example.com, !bad.example.com", "u@example.com", true)]
    [InlineData("example.com", "u@EXAMPLE.COM", true)]
    [InlineData("example.com", "u@other.com", false)]
    [InlineData("example.com", "nodomain", false)]
    [InlineData("example.com", "@example.com", false)]
    [InlineData("!example.com, example.com", "u@example.com", false)]
    public void DomainFilter(string list, string key, bool want)
    {
        var ctx = new DbCommon(new Nothing());
        ctx.ParseDomain(CfgParser.FromValues("/t.cf", new Dictionary<string, string> { ["domain"] = list }));
        ctx.CheckDomain(key).ShouldBe(want);
    }

    [Fact]
    public void LegacyQueryIsBuilt()
    {
        var parser = CfgParser.FromValues("/t.cf", new Dictionary<string, string>
        {
            ["table"] = "virtual",
            ["select_field"] = "dest",
            ["where_field"] = "addr",
            ["additional_conditions"] = "AND active = 1",
        });
        DbCommon.SqlBuildQuery(parser).ShouldBe("SELECT dest FROM virtual WHERE addr='%s' AND active = 1");
    }
}
