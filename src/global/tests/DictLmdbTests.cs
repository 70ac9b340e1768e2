// NAME
//	DictLmdbTests - lmdb (and hash/btree) tables and MkMap builds
using System;
using System.IO;
using Postfix.Global.Dict;
using Postfix.Util;
using Shouldly;
using Xunit;

namespace Postfix.Global.Tests;

[Collection("DictStatics")]
public sealed class DictLmdbTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("dictlmdb").FullName;

    public void Dispose() => Directory.Delete(dir, true);

    private const DictOpenFlags Create = DictOpenFlags.ReadWrite | DictOpenFlags.Create | DictOpenFlags.Truncate;

    private void Build(string type, string name, DictFlags flags, params (string Key, string Value)[] entries)
    {
        var mk = MkMap.Open(type, name, Create, flags);
        foreach (var (k, v) in entries)
            mk.AppendBytes(System.Text.Encoding.UTF8.GetBytes(k), System.Text.Encoding.UTF8.GetBytes(v));
        mk.Close();
    }

    [Fact]
    public void BuiltTableAnswersFoldedLookups()
    {
        var path = Path.Combine(dir, "t");
        Build("lmdb", path, DictFlags.DupWarn | DictFlags.FoldFix, ("Key", "1"), ("other", "2"));
        File.Exists(path + ".lmdb").ShouldBeTrue();
        using var d = DictOpen.Open("lmdb:" + path, DictOpenFlags.ReadOnly, DictFlags.FoldFix);
        d.Lookup("KEY").ShouldBe("1");
        d.Lookup("other").ShouldBe("2");
        d.Lookup("none").ShouldBeNull();
        d.Error.ShouldBe(DictError.None);
    }

    [Fact]
    public void EntriesCarryATrailingNulByDefault()
    {
        var path = Path.Combine(dir, "nul");
        Build("lmdb", path, DictFlags.DupWarn, ("k", "v"));
        using var d = (DictLmdb)DictOpen.Open("lmdb:" + path, DictOpenFlags.ReadOnly, DictFlags.Try0Null);
        d.Lookup("k").ShouldBeNull();   // stored as "k\0"
        using var e = DictOpen.Open("lmdb:" + path, DictOpenFlags.ReadOnly, DictFlags.None);
        e.Lookup("k").ShouldBe("v");
    }

    [Fact]
    public void SequenceWalksInKeyOrder()
    {
        var path = Path.Combine(dir, "seq");
        Build("lmdb", path, DictFlags.DupWarn, ("b", "2"), ("a", "1"), ("c", "3"));
        using var d = DictOpen.Open("lmdb:" + path, DictOpenFlags.ReadOnly, DictFlags.None);
        var keys = "";
        for (var f = DictSeq.First; d.Sequence(f, out var k, out var v) == DictStatus.Success; f = DictSeq.Next)
            keys += k + "=" + v + ";";
        keys.ShouldBe("a=1;b=2;c=3;");
    }

    [Fact]
    public void DeleteRemovesOnce()
    {
        var path = Path.Combine(dir, "del");
        Build("lmdb", path, DictFlags.DupWarn, ("a", "1"));
        using var d = DictOpen.Open("lmdb:" + path, DictOpenFlags.ReadWrite, DictFlags.None);
        d.Delete("a").ShouldBe(DictStatus.Success);
        d.Delete("a").ShouldBe(DictStatus.Fail);
    }

    [Fact]
    public void MapGrowsWhenFull()
    {
        var saved = DictLmdb.MapSize;
        DictLmdb.MapSize = 10240;
        try
        {
            var path = Path.Combine(dir, "grow");
            var mk = MkMap.Open("lmdb", path, Create, DictFlags.DupWarn);
            for (var i = 0; i < 20000; i++)
                mk.Append("key" + i, "value " + i);
            mk.Close();
            using var d = DictOpen.Open("lmdb:" + path, DictOpenFlags.ReadOnly, DictFlags.None);
            d.Lookup("key0").ShouldBe("value 0");
            d.Lookup("key19999").ShouldBe("value 19999");
        }
        finally
        {
            DictLmdb.MapSize = saved;
        }
    }

    [Fact]
    public void AbortedBuildKeepsTheOldTable()
    {
        var path = Path.Combine(dir, "keep");
        Build("lmdb", path, DictFlags.DupWarn, ("a", "old"));
        var mk = MkMap.Open("lmdb", path, Create, DictFlags.DupWarn);
        mk.Append("a", "new");
        mk.Abort();
        using var d = DictOpen.Open("lmdb:" + path, DictOpenFlags.ReadOnly, DictFlags.None);
        d.Lookup("a").ShouldBe("old");
        Directory.GetFiles(dir).ShouldBe(new[] { path + ".lmdb" });
    }

    [Fact]
    public void HashTablesLiveInLmdbFiles()
    {
        var path = Path.Combine(dir, "h");
        Build("hash", path, DictFlags.DupWarn, ("a", "1"));
        File.Exists(path + ".lmdb").ShouldBeTrue();
        File.Exists(path + ".db").ShouldBeFalse();
        using var d = DictOpen.Open("hash:" + path, DictOpenFlags.ReadOnly, DictFlags.None);
        d.Type.ShouldBe("hash");
        d.Lookup("a").ShouldBe("1");
        using var l = DictOpen.Open("lmdb:" + path, DictOpenFlags.ReadOnly, DictFlags.None);
        l.Lookup("a").ShouldBe("1");
    }

    [Fact]
    public void MissingFileIsFatalInCommands()
    {
        DictSurrogate.AllowSurrogate = false;
        var err = new StringWriter();
        Msg.Err = err;
        Should.Throw<FatalException>(() => DictOpen.Open("lmdb:" + Path.Combine(dir, "none"), DictOpenFlags.ReadOnly, DictFlags.None));
        err.ToString().ShouldContain($"open database {dir}/none.lmdb: No such file or directory");
    }
}
