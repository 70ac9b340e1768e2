// NAME
//	PostconfEditTests - main.cf and master.cf edits (-e -X -# -Me -Fe -Pe ...)
// DESCRIPTION
//	Expected files come from the reference's own tests (postconf/test4x,
//	test5x) and from runs of Postfix 3.7.11 on the same input.
using System;
using System.IO;
using Postfix.Util;
using Shouldly;
using Xunit;

namespace Postfix.Commands.Postconf.Tests;

[Collection("PostconfStatic")]
public sealed class PostconfEditTests : IDisposable
{
    private readonly string dir;
    private readonly StringWriter err = new() { NewLine = "\n" };
    private readonly TextWriter savedErr;
    private readonly string savedConfigDir;

    private const string Main1 =
        "# comment\n"
        + "myhostname = host.example.com\n"
        + "\n"
        + "mydestination = $myhostname,\n"
        + "    localhost,\n"
        + "# inner comment\n"
        + "    example.com\n"
        + "relayhost =\n";

    private const string Master3 =
        "foo unix - n n - 0 other\n"
        + "bar unix - n n - 0 other\n"
        + "baz unix - n n - 0 other\n";

    public PostconfEditTests()
    {
        dir = Directory.CreateTempSubdirectory("pce-test").FullName;
        savedErr = Msg.Err;
        Msg.Err = err;
        savedConfigDir = Postconf.ConfigDir;
        Postconf.ConfigDir = dir;
        Environment.SetEnvironmentVariable("NORANDOMIZE", "1");
    }

    public void Dispose()
    {
        Msg.Err = savedErr;
        Postconf.ConfigDir = savedConfigDir;
        Directory.Delete(dir, true);
    }

    private string MainPath => Path.Combine(dir, "main.cf");

    private string MasterPath => Path.Combine(dir, "master.cf");

    private string EditMain(string input, Mode mode, params string[] args)
    {
        File.WriteAllText(MainPath, input);
        Postconf.EditMain(mode, args);
        return File.ReadAllText(MainPath);
    }

    private string EditMaster(string input, Mode mode, params string[] args)
    {
        File.WriteAllText(MasterPath, input);
        Postconf.EditMaster(mode, args);
        return File.ReadAllText(MasterPath);
    }

    [Fact]
    public void ExistingNameIsReplacedInPlaceWithoutItsContinuation()
    {
        EditMain(Main1, Mode.EditConf, "mydestination=x").ShouldBe(
            "# comment\nmyhostname = host.example.com\n\nmydestination = x\n# inner comment\nrelayhost =\n");
    }

    [Fact]
    public void NewNamesAreAppendedInHashOrder()
    {
        // Postfix 3.7.11 with NORANDOMIZE=1 appends a..e in this order.
        EditMain("", Mode.EditConf, "a=1", "b=2", "c=3", "d=4", "e=5")
            .ShouldBe("d = 4\ne = 5\nb = 2\nc = 3\na = 1\n");
    }

    [Fact]
    public void NewNameFollowsALastLineWithoutNewline()
    {
        EditMain("a = 1", Mode.EditConf, "b=2").ShouldBe("a = 1b = 2\n");
    }

    [Fact]
    public void ExcludeRemovesEntryAndContinuation()
    {
        EditMain(Main1, Mode.EditExcl, "mydestination", "nosuch").ShouldBe(
            "# comment\nmyhostname = host.example.com\n\n# inner comment\nrelayhost =\n");
    }

    [Fact]
    public void CommentOutKeepsTheText()
    {
        EditMain(Main1, Mode.CommentOut, "mydestination").ShouldBe(
            "# comment\nmyhostname = host.example.com\n\n#mydestination = $myhostname,\n#    localhost,\n"
            + "# inner comment\n#    example.com\nrelayhost =\n");
    }

    [Fact]
    public void DuplicatesAreReported()
    {
        EditMain("a = 1\na = 2\n", Mode.EditConf, "a=x", "a=y").ShouldBe("a = y\na = y\n");
        err.ToString().ShouldBe(
            $"{Msg.Tag}: warning: ignoring earlier request: 'a = x'\n"
            + $"{Msg.Tag}: warning: {dir}/main.cf: multiple entries for \"a\"\n");
    }

    [Fact]
    public void EditedFileIsMode644AndNoTempFileRemains()
    {
        EditMain(Main1, Mode.EditConf, "relayhost=r");
        if (!OperatingSystem.IsWindows())
            File.GetUnixFileMode(MainPath).ShouldBe((UnixFileMode)Convert.ToInt32("644", 8));
        File.Exists(MainPath + ".tmp").ShouldBeFalse();
    }

    [Theory]
    [InlineData((int)(Mode.EditConf), "a", "missing '=' after attribute name: \"a\"")]
    [InlineData((int)(Mode.EditConf), "#a=1", "-e, -X, or -# accepts no comment input")]
    [InlineData((int)(Mode.EditConf), "a=1\nb=2", "-e, -X, or -# accepts no multi-line input")]
    [InlineData((int)(Mode.EditExcl), "a=1", "-X or -# requires parameter names without value")]
    [InlineData((int)(Mode.CommentOut), " ", "-X or -# requires non-blank parameter names")]
    public void BadMainRequestsAreFatalAndChangeNothing(int mode, string arg, string message)
    {
        File.WriteAllText(MainPath, Main1);
        Should.Throw<FatalException>(() => Postconf.EditMain((Mode)mode, new[] { arg }));
        err.ToString().ShouldBe($"{Msg.Tag}: fatal: {message}\n");
        File.ReadAllText(MainPath).ShouldBe(Main1);
    }

    [Fact]
    public void MissingMainIsFatal()
    {
        Should.Throw<FatalException>(() => Postconf.EditMain(Mode.EditConf, new[] { "a=1" }));
        err.ToString().ShouldBe($"{Msg.Tag}: fatal: open {dir}/main.cf for reading: No such file or directory\n");
        File.Exists(MainPath + ".tmp").ShouldBeFalse();
    }

    // The reference's test41: parameters added, then replaced.
    [Fact]
    public void ParametersAreAddedThenReplaced()
    {
        var once = EditMaster(Master3, Mode.MasterParam | Mode.EditConf, "bar/unix/xxx=yyy", "bar/unix/aaa=bbb");
        once.ShouldBe("foo unix - n n - 0 other\n"
            + "bar        unix  -       n       n       -       0       other\n"
            + "    -o xxx=yyy\n    -o aaa=bbb\n"
            + "baz unix - n n - 0 other\n");
        EditMaster(once, Mode.MasterParam | Mode.EditConf, "bar/unix/xxx=YYY").ShouldContain("    -o xxx=YYY\n    -o aaa=bbb\n");
        EditMaster(once, Mode.MasterParam | Mode.EditExcl, "bar/unix/xxx").ShouldBe("foo unix - n n - 0 other\n"
            + "bar        unix  -       n       n       -       0       other\n"
            + "    -o aaa=bbb\n"
            + "baz unix - n n - 0 other\n");
    }

    // The reference's test43.
    [Fact]
    public void FieldsAreReplaced()
    {
        EditMaster(Master3, Mode.MasterFld | Mode.EditConf, "bar/unix/chroot=y", "bar/unix/command=aa -stuffobb=cc dd")
            .ShouldBe("foo unix - n n - 0 other\n"
                + "bar        unix  -       n       y       -       0       aa -stuff\n"
                + "    -o bb=cc\n    dd\n"
                + "baz unix - n n - 0 other\n");
    }

    // The reference's test44, and a service that is not there yet.
    [Fact]
    public void EntriesAreReplacedOrAppended()
    {
        EditMaster(Master3, Mode.MasterEntry | Mode.EditConf, "bar/unix=xx inet - n n - 0 aa -stuffobb=cc dd")
            .ShouldBe("foo unix - n n - 0 other\n"
                + "xx         inet  -       n       n       -       0       aa -stuff\n"
                + "    -o bb=cc\n    dd\n"
                + "baz unix - n n - 0 other\n");
        EditMaster(Master3, Mode.MasterEntry | Mode.EditConf, "new/unix=new unix - n n - - cmd")
            .ShouldBe(Master3 + "new        unix  -       n       n       -       -       cmd\n");
    }

    // The reference's test52 and test56.
    [Fact]
    public void EntriesAreRemovedOrCommentedOut()
    {
        const string input = "foo unix - n n - 0 other\nbar inet - n n 0 0 other\n -o first\n -o second\nbaz unix - n n 0 0 other\n";
        EditMaster(input, Mode.MasterEntry | Mode.EditExcl, "bar/inet", "foo/unix", "xxx/yyy")
            .ShouldBe("baz unix - n n 0 0 other\n");
        EditMaster(input, Mode.MasterEntry | Mode.CommentOut, "bar/inet", "xxx/yyy")
            .ShouldBe("foo unix - n n - 0 other\n#bar inet - n n 0 0 other\n# -o first\n# -o second\nbaz unix - n n 0 0 other\n");
        err.ToString().ShouldBeEmpty();
    }

    [Fact]
    public void UnmatchedFieldEditIsReported()
    {
        EditMaster(Master3, Mode.MasterParam | Mode.EditConf, "nosuch/unix/a=b").ShouldBe(Master3);
        err.ToString().ShouldBe($"{Msg.Tag}: warning: unmatched service_name/type: \"nosuch/unix/a=b\"\n");
    }

    [Fact]
    public void BadFieldValueLeavesMasterUntouched()
    {
        File.WriteAllText(MasterPath, Master3);
        Should.Throw<FatalException>(() => Postconf.EditMaster(Mode.MasterFld | Mode.EditConf, new[] { "bar/unix/chroot=x" }));
        err.ToString().ShouldBe($"{Msg.Tag}: fatal: invalid chroot field \"x\" in \"x\"\n");
        File.ReadAllText(MasterPath).ShouldBe(Master3);
    }

    [Theory]
    [InlineData((int)(Mode.MasterParam | Mode.EditConf), "bar/unix/a=b c", "-Pe does not accept whitespace in parameter value")]
    [InlineData((int)(Mode.MasterParam | Mode.EditConf), "bar/unix/*=b", "-Pe does not accept wild-card parameter name")]
    [InlineData((int)(Mode.MasterFld | Mode.EditConf), "bar/unix/*=b", "-Fe does not accept wild-card field name")]
    [InlineData((int)(Mode.MasterFld | Mode.EditConf), "bar/unix/chroot=y n", "-Fe does not accept whitespace in non-command field")]
    [InlineData((int)(Mode.MasterEntry | Mode.EditConf), "bar=x", "-Me, -MX or -M# requires service_name/type")]
    [InlineData((int)(Mode.MasterEntry | Mode.EditExcl), "bar/unix=x", "-X or -# requires names without value")]
    public void BadMasterRequestsAreFatal(int mode, string arg, string message)
    {
        File.WriteAllText(MasterPath, Master3);
        Should.Throw<FatalException>(() => Postconf.EditMaster((Mode)mode, new[] { arg }));
        err.ToString().ShouldBe($"{Msg.Tag}: fatal: {message}\n");
        File.ReadAllText(MasterPath).ShouldBe(Master3);
    }
}
