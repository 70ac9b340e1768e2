// NAME
//	PostconfMasterTests - master.cf parsing, checks and -M/-F/-P output
// DESCRIPTION
//	Expected texts come from the reference's own tests (postconf/test*.ref)
//	and from runs of Postfix 3.7.11.
using System;
using System.Collections.Generic;
using System.IO;
using Postfix.Util;
using Shouldly;
using Xunit;

namespace Postfix.Commands.Postconf.Tests;

[Collection("PostconfStatic")]
public sealed class PostconfMasterTests : IDisposable
{
    private readonly string dir;
    private readonly StringWriter err = new() { NewLine = "\n" };
    private readonly TextWriter savedErr;
    private readonly string savedConfigDir;

    public PostconfMasterTests()
    {
        dir = Directory.CreateTempSubdirectory("pcm-test").FullName;
        savedErr = Msg.Err;
        Msg.Err = err;
        savedConfigDir = Postconf.ConfigDir;
        Postconf.ConfigDir = dir;
        Postconf.MainConf.Clear();
        Postconf.MasterTable = new List<MasterEntry>();
    }

    public void Dispose()
    {
        Msg.Err = savedErr;
        Postconf.ConfigDir = savedConfigDir;
        Postconf.MasterTable = new List<MasterEntry>();
        Directory.Delete(dir, true);
    }

    private void WriteMaster(params string[] lines) =>
        File.WriteAllText(Path.Combine(dir, "master.cf"), string.Join("\n", lines) + "\n");

    private static string Show(Action<TextWriter> show)
    {
        var sw = new StringWriter { NewLine = "\n" };
        show(sw);
        return sw.ToString();
    }

    private static MasterEntry Parse(string text)
    {
        var entry = new MasterEntry();
        Postconf.ParseMasterEntry(entry, text).ShouldBeNull();
        return entry;
    }

    public static TheoryData<string, string[]> NormalizedArgs => new()
    {
        { "foo unix - n n - 0 other", new[] { "other" } },
        { "foo unix - n n - 0 other -voaaa=bbb", new[] { "other", "-v", "-o", "aaa=bbb" } },
        { "foo unix - n n - 0 other -o { a = b c } { x y } z", new[] { "other", "-o", "a=b c", "x y", "z" } },
        { "foo unix - n n - 0 other -o -- -o a=b", new[] { "other", "-o", "--", "-o", "a=b" } },
        { "foo unix - n n - 0 other -v -- -o a=b", new[] { "other", "-v", "--", "-o", "a=b" } },
        { "foo unix - n n - 0 other -o", new[] { "other", "-o" } },
    };

    [Theory]
    [MemberData(nameof(NormalizedArgs))]
    public void DaemonArgumentsAreNormalized(string text, string[] command)
    {
        var entry = Parse(text);
        entry.Argv.GetRange(MasterField.Command, entry.Argv.Count - MasterField.Command).ShouldBe(command);
    }

    [Fact]
    public void ShortEntryIsABadFieldCount()
    {
        Postconf.ParseMasterEntry(new MasterEntry(), "foo unix - n n - 0").ShouldBe("bad field count");
    }

    [Theory]
    [InlineData("bar xxxx - n n - 0 other", "invalid type field \"xxxx\" in \"bar xxxx - n n - 0 other\"")]
    [InlineData("bar inet X n n - 0 other", "invalid private field \"X\" in \"bar inet X n n - 0 other\"")]
    [InlineData("bar inet - X n - 0 other", "invalid unprivileged field \"X\" in \"bar inet - X n - 0 other\"")]
    [InlineData("bar inet - n X - 0 other", "invalid chroot field \"X\" in \"bar inet - n X - 0 other\"")]
    [InlineData("bar inet - n n X? 0 other", "invalid wakeup field \"X?\" in \"bar inet - n n X? 0 other\"")]
    [InlineData("bar inet - n n - X other", "invalid process_limit field \"X\" in \"bar inet - n n - X other\"")]
    public void InvalidFieldIsFatal(string text, string message)
    {
        Should.Throw<FatalException>(() => Postconf.ParseMasterEntry(new MasterEntry(), text));
        err.ToString().ShouldBe($"{Msg.Tag}: fatal: {message}\n");
    }

    [Fact]
    public void WakeupAndLimitForms()
    {
        Parse("a unix - n n -? 0 other");
        Parse("a unix - n n 10? 100 other");
        Parse("a unix-dgram y y y 0 - other");
        err.ToString().ShouldBeEmpty();
    }

    [Fact]
    public void ServiceAndProcessNameAreReadOnlyParameters()
    {
        var entry = Parse("relay unix - - n - - /usr/lib/postfix/smtp");
        entry.NameSpace.ShouldBe("relay/unix");
        entry.RoParams["process_name"].ShouldBe("smtp");
        entry.RoParams["service_name"].ShouldBe("relay");
        entry.ValidNames.ShouldBeNull();
    }

    [Fact]
    public void ReadMasterJoinsContinuationsAndKeepsLineNumbers()
    {
        WriteMaster("# comment", "foo unix - n n - 0 other", "", "bar inet - n n 0 0 other", "  -o a=b", "baz unix - n n 0 0 other");
        Postconf.ReadMaster(true);
        Postconf.MasterTable.Count.ShouldBe(3);
        Postconf.MasterTable[1].LineNumber.ShouldBe(4);
        Postconf.MasterTable[1].Argv.ShouldBe(new[] { "bar", "inet", "-", "n", "n", "0", "0", "other", "-o", "a=b" });
    }

    [Fact]
    public void MissingMasterIsAWarningOrFatal()
    {
        Postconf.ReadMaster(false);
        err.ToString().ShouldBe($"{Msg.Tag}: warning: open {dir}/master.cf: No such file or directory\n");
        Should.Throw<FatalException>(() => Postconf.ReadMaster(true));
    }

    [Fact]
    public void BadEntryNamesFileAndLine()
    {
        WriteMaster("foo unix - n n - 0 other", "bar unix", "  - n");
        Should.Throw<FatalException>(() => Postconf.ReadMaster(true));
        err.ToString().ShouldBe($"{Msg.Tag}: fatal: file {dir}/master.cf: line 2: bad field count\n");
    }

    // The reference's test59: braces, their warnings, and -Mf layout.
    [Fact]
    public void BracesAreRemovedAndPutBack()
    {
        WriteMaster("foo unix - n n - 0 other", "bar inet - n n 0 0 other", " -o name1=value1",
            " -o { name2 = value2a value2b }", " { arg1a arg1b }", " { arg2a arg2b }x", " { arg3a arg3b ",
            "baz unix - n n 0 0 other");
        Postconf.ReadMaster(true);
        err.ToString().ShouldBe(
            $"{Msg.Tag}: warning: master.cf: syntax error after '}}' in \"{{ arg2a arg2b }}x\"\n"
            + $"{Msg.Tag}: warning: master.cf: missing '}}' in \"{{ arg3a arg3b \"\n");
        Show(fp => Postconf.ShowMasterEntries(fp, Mode.FoldLine, Array.Empty<string>())).ShouldBe(
            "foo        unix  -       n       n       -       0       other\n"
            + "bar        inet  -       n       n       0       0       other\n"
            + "    -o name1=value1\n"
            + "    -o {name2=value2a value2b}\n"
            + "    arg1a arg1b {arg2a arg2b} {arg3a arg3b}\n"
            + "baz        unix  -       n       n       0       0       other\n");
    }

    [Fact]
    public void UnfoldedEntryStaysOnOneLine()
    {
        WriteMaster("foo inet - n n - 0 spawn", " -o always_bcc=$bar -o");
        Postconf.ReadMaster(true);
        Show(fp => Postconf.ShowMasterEntries(fp, Mode.None, Array.Empty<string>()))
            .ShouldBe("foo        inet  -       n       n       -       0       spawn -o always_bcc=$bar -o\n");
    }

    [Fact]
    public void ServicePatternsSelectAndUnmatchedAreReported()
    {
        WriteMaster("foo unix - n n - 0 other", "bar inet - n n - 0 other", "baz unix - n n - 0 other");
        Postconf.ReadMaster(true);
        Show(fp => Postconf.ShowMasterEntries(fp, Mode.None, new[] { "*/unix", "bogus/xx" })).ShouldBe(
            "foo        unix  -       n       n       -       0       other\n"
            + "baz        unix  -       n       n       -       0       other\n");
        err.ToString().ShouldBe($"{Msg.Tag}: warning: unmatched request: \"bogus/xx\"\n");
    }

    [Fact]
    public void FieldsAreShownWithNamesOrValuesOnly()
    {
        WriteMaster("foo unix - n n - 0 other", " -o always_bcc=bar");
        Postconf.ReadMaster(true);
        Show(fp => Postconf.ShowMasterFields(fp, Mode.None, new[] { "foo/unix/command", "foo/*/chroot" }))
            .ShouldBe("foo/unix/command = other -o always_bcc=bar\nfoo/unix/chroot = n\n");
        Show(fp => Postconf.ShowMasterFields(fp, Mode.HideName, new[] { "foo/unix/wakeup" })).ShouldBe("-\n");
        Show(fp => Postconf.ShowMasterFields(fp, Mode.HideValue, new[] { "foo/unix/command" })).ShouldBe("foo/unix/command\n");
    }

    [Fact]
    public void BadFieldNameIsFatal()
    {
        WriteMaster("foo unix - n n - 0 other");
        Postconf.ReadMaster(true);
        Should.Throw<FatalException>(() => Postconf.ShowMasterFields(TextWriter.Null, Mode.None, new[] { "foo/unix/bogus" }));
        err.ToString().ShouldBe($"{Msg.Tag}: fatal: invalid service attribute name: \"bogus\"\n");
    }

    [Fact]
    public void ParametersAreSortedPerEntry()
    {
        var entry = Parse("foo unix - n n - 0 other -o zz=1 -o aa=2");
        entry.AllParams["zz"] = "1";
        entry.AllParams["aa"] = "2";
        Postconf.MasterTable.Add(entry);
        Postconf.MasterTable.Add(Parse("bar unix - n n - 0 other"));
        Show(fp => Postconf.ShowMasterParams(fp, Mode.None, Array.Empty<string>()))
            .ShouldBe("foo/unix/aa = 2\nfoo/unix/zz = 1\n");
        Show(fp => Postconf.ShowMasterParams(fp, Mode.HideValue, new[] { "foo/unix/zz" })).ShouldBe("foo/unix/zz\n");
        // An entry without -o settings matches no parameter pattern, not even "*".
        Show(fp => Postconf.ShowMasterParams(fp, Mode.None, new[] { "bar/unix/*" })).ShouldBeEmpty();
        err.ToString().ShouldBe($"{Msg.Tag}: warning: unmatched request: \"bar/unix/*\"\n");
    }

    public static TheoryData<string, int, int, string[]?> ServicePatterns => new()
    {
        { "smtp", 1, 2, new[] { "smtp", "*" } },
        { "smtp/inet", 1, 2, new[] { "smtp", "inet" } },
        { "*/inet", 1, 3, new[] { "*", "inet", "*" } },
        { "smtp//inet", 1, 2, new[] { "smtp", "inet" } },
        { "/smtp", 1, 2, null },
        { "a/b/c", 1, 2, null },
        { "smtp", 2, 2, null },
        { "sm*", 1, 2, null },
    };

    [Theory]
    [MemberData(nameof(ServicePatterns))]
    public void ServicePatternParsing(string pattern, int min, int max, string[]? want)
    {
        Postconf.ParseServicePattern(pattern, min, max).ShouldBe(want);
    }
}
