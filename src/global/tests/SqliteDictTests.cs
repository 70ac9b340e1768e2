// NAME
//	SqliteDictTests - sqlite: lookups against a scratch database
using System;
using System.IO;
using System.Text;
using Postfix.Global.Dict;
using Shouldly;
using Xunit;

namespace Postfix.Global.Tests;

[Collection("Msg")]
public sealed unsafe class SqliteDictTests : IDisposable
{
    private readonly DirectoryInfo dir = Directory.CreateTempSubdirectory("sqlite-test");

    public SqliteDictTests()
    {
        var db = Path.Combine(dir.FullName, "t.db");
        Exec(db, "CREATE TABLE virt(addr TEXT, dest TEXT)");
        Exec(db, "INSERT INTO virt VALUES ('a@example.com','b@example.net'),('a@example.com','c@example.net'),"
            + "('o''brien@example.com','quoted'),('null@example.com',NULL),('dom@example.org','x@y.z')");
    }

    public void Dispose() => dir.Delete(true);

    private static void Exec(string db, string sql)
    {
        var path = Encoding.UTF8.GetBytes(db + "\0");
        var text = Encoding.UTF8.GetBytes(sql + "\0");
        fixed (byte* p = path)
        fixed (byte* s = text)
        {
            SqliteNative.Open(p, out var h).ShouldBe(SqliteNative.Ok);
            SqliteNative.Prepare(h, s, -1, out var stmt, out _).ShouldBe(SqliteNative.Ok);
            SqliteNative.Step(stmt).ShouldBe(SqliteNative.Done);
            SqliteNative.Finalize(stmt);
            SqliteNative.Close(h);
        }
    }

    private Dict.Dict Open(string settings)
    {
        var cf = Path.Combine(dir.FullName, "t.cf");
        File.WriteAllText(cf, $"dbpath = {Path.Combine(dir.FullName, "t.db")}\n" + settings);
        return SqliteDict.Open(cf, DictOpenFlags.ReadOnly, DictFlags.FoldFix);
    }

    [Theory]
    [InlineData("a@example.com", "b@example.net,c@example.net")]
    [InlineData("A@Example.COM", "b@example.net,c@example.net")]
    [InlineData("o'brien@example.com", "quoted")]
    [InlineData("nobody@example.com", null)]
    [InlineData("null@example.com", null)]
    public void QueryResults(string key, string? want)
    {
        using var dict = Open("query = SELECT dest FROM virt WHERE addr='%s'\n");
        dict.Lookup(key).ShouldBe(want);
        dict.Error.ShouldBe(DictError.None);
    }

    [Fact]
    public void ResultFormatAndDomain()
    {
        using var dict = Open("query = SELECT dest FROM virt WHERE addr='%s'\nresult_format = <%u> at %d\ndomain = example.org\n");
        dict.Lookup("dom@example.org").ShouldBe("<x> at y.z");
        dict.Lookup("a@example.com").ShouldBeNull();
    }

    [Fact]
    public void ExpansionLimitIsATemporaryError()
    {
        var saved = Postfix.Util.Msg.Err;
        try
        {
            var err = new StringWriter();
            Postfix.Util.Msg.Err = err;
            using var dict = Open("query = SELECT dest FROM virt WHERE addr='%s'\nexpansion_limit = 1\n");
            dict.Lookup("a@example.com").ShouldBeNull();
            dict.Error.ShouldBe(DictError.Retry);
            err.ToString().ShouldContain("Expansion limit exceeded for key 'a@example.com'");
        }
        finally
        {
            Postfix.Util.Msg.Err = saved;
        }
    }

    [Fact]
    public void LegacySettingsBuildTheQuery()
    {
        using var dict = Open("table = virt\nselect_field = dest\nwhere_field = addr\nadditional_conditions = AND dest LIKE 'b%%'\n");
        dict.Lookup("a@example.com").ShouldBe("b@example.net");
    }
}
