// NAME
//	CfgParserTests - settings files of database client tables
using System;
using System.Collections.Generic;
using System.IO;
using Postfix.Global.Dict;
using Postfix.Util;
using Shouldly;
using Xunit;

namespace Postfix.Global.Tests;

[Collection("Msg")]
public sealed class CfgParserTests : IDisposable
{
    private readonly DirectoryInfo dir = Directory.CreateTempSubdirectory("cfg-test");

    public void Dispose() => dir.Delete(true);

    private (CfgParser? Parser, string Said) Load(string text)
    {
        var path = Path.Combine(dir.FullName, "t.cf");
        File.WriteAllText(path, text);
        var saved = Msg.Err;
        var err = new StringWriter();
        try
        {
            Msg.Err = err;
            return (CfgParser.Alloc(path, out _), err.ToString().Replace(path, "T", StringComparison.Ordinal));
        }
        finally
        {
            Msg.Err = saved;
        }
    }

    [Fact]
    public void ReadsNameValueLines()
    {
        var (p, _) = Load("# comment\nhosts = a b\n  c\nuser=u\nempty =\nnum = 42\nflag = YES\n");
        p!.GetStr("hosts", "", 0, 0).ShouldBe("a b  c");
        p.GetStr("user", "", 0, 0).ShouldBe("u");
        p.GetStr("empty", null, 0, 0).ShouldBeNull();
        p.GetStr("missing", "dflt", 0, 0).ShouldBe("dflt");
        p.GetInt("num", 0, 0, 0).ShouldBe(42);
        p.GetInt("nonum", 7, 0, 0).ShouldBe(7);
        p.GetBool("flag", false).ShouldBeTrue();
    }

    [Fact]
    public void LaterEntriesOverride()
    {
        var (p, said) = Load("a = 1\na = 2\n");
        p!.GetStr("a", "", 0, 0).ShouldBe("2");
        said.ShouldContain("warning: T, line 2: overriding earlier entry: a=1");
    }

    [Fact]
    public void MissingFileGivesErrno()
    {
        CfgParser.Alloc("/nonexistent/x.cf", out var errno).ShouldBeNull();
        errno.ShouldBe(2);
    }

    [Theory]
    [InlineData("num = 4x\n", "num", "T: bad numerical configuration: num = 4x")]
    [InlineData("num = \n", "num", "T: bad numerical configuration: num = ")]
    [InlineData("flag = maybe\n", "flag", "T: bad boolean configuration: flag = maybe")]
    public void BadValuesAreFatal(string text, string name, string want)
    {
        var (p, _) = Load(text);
        var saved = Msg.Err;
        var err = new StringWriter();
        try
        {
            Msg.Err = err;
            if (name == "flag")
                Should.Throw<FatalException>(() => p!.GetBool(name, false));
            else
                Should.Throw<FatalException>(() => p!.GetInt(name, 0, 0, 0));
            err.ToString().Replace(Path.Combine(dir.FullName, "t.cf"), "T", StringComparison.Ordinal).ShouldContain(want);
        }
        finally
        {
            Msg.Err = saved;
        }
    }

    [Fact]
    public void PrefixNamesReadMainCf()
    {
        var saved = CfgParser.MainConf;
        try
        {
            var main = new Dictionary<string, string> { ["pg_hosts"] = "db1", ["pg_dbname"] = "mail" };
            CfgParser.MainConf = n => main.TryGetValue(n, out var v) ? v : null;
            var p = CfgParser.Alloc("pg", out _);
            p!.GetStr("hosts", "", 0, 0).ShouldBe("db1");
            p.GetStr("dbname", "", 1, 0).ShouldBe("mail");
            p.GetStr("user", "", 0, 0).ShouldBe("");
        }
        finally
        {
            CfgParser.MainConf = saved;
        }
    }
}
