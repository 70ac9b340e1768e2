// NAME
//	DictChangedTests - an open table notices that its file was rebuilt
// DESCRIPTION
//	Daemons ask DictOpen.ChangedName() before taking new work and exit
//	when a table was replaced (postmap renames a new file into place), as
//	Postfix daemons do with dict_changed_name().
using System;
using System.IO;
using Postfix.Global.Dict;
using Shouldly;
using Xunit;

namespace Postfix.Global.Tests;

[Collection("DictStatics")]
public sealed class DictChangedTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("dictchanged").FullName;

    public void Dispose() => Directory.Delete(dir, true);

    private static void Build(string type, string name, string value)
    {
        var mk = MkMap.Open(type, name, DictOpenFlags.ReadWrite | DictOpenFlags.Create | DictOpenFlags.Truncate, DictFlags.DupWarn);
        mk.AppendBytes("k"u8.ToArray(), System.Text.Encoding.UTF8.GetBytes(value));
        mk.Close();
    }

    [Theory]
    [InlineData("lmdb")]
    [InlineData("hash")]
    public void RebuiltTableIsReportedAsChanged(string type)
    {
        var path = Path.Combine(dir, "t" + type);
        Build(type, path, "old");
        using var d = DictOpen.Open3(type, path, DictOpenFlags.ReadOnly, DictFlags.None);
        d.Lookup("k").ShouldBe("old");
        d.Changed().ShouldBeFalse();
        Build(type, path, "new");
        d.Changed().ShouldBeTrue();
        DictOpen.ChangedName().ShouldBe(type + ":" + path);
    }

    [Fact]
    public void PatternTablesAndUnchangedTablesDoNotAskForARestart()
    {
        var path = Path.Combine(dir, "keep");
        Build("lmdb", path, "v");
        using var d = DictOpen.Open("lmdb:" + path, DictOpenFlags.ReadOnly, DictFlags.None);
        using var s = DictOpen.Open("static:x", DictOpenFlags.ReadOnly, DictFlags.None);
        d.Changed().ShouldBeFalse();
        s.Changed().ShouldBeFalse();
    }
}
