using System.IO;
using Postfix.Global.Config;
using Postfix.Util;
using Shouldly;
using Xunit;

namespace Postfix.Commands.Sendmail.Tests;

public class SendmailArgsTests
{
    private static MailConf Conf()
    {
        var dir = Directory.CreateTempSubdirectory("smargs").FullName;
        File.WriteAllText(Path.Combine(dir, "main.cf"), "");
        File.SetLastWriteTimeUtc(Path.Combine(dir, "main.cf"), System.DateTime.UtcNow.AddMinutes(-1)); // cool: a fresh main.cf is re-read after 300 ms pauses
        return MailConf.Read(dir);
    }

    private static SendmailArgs Parse(string name, params string[] args)
    {
        Msg.Verbose = 0;
        return SendmailArgs.Parse(args, name, Conf());
    }

    [Fact]
    public void DefaultIsEnqueue()
    {
        var a = Parse("sendmail", "-f", "a@b", "-F", "Name", "-t", "-i", "x@y");
        a.Mode.ShouldBe(SendmailMode.Enqueue);
        a.Request.Sender.ShouldBe("a@b");
        a.Request.FullName.ShouldBe("Name");
        (a.Request.Flags & SendmailFlags.ExtractRcpt).ShouldNotBe(0);
        (a.Request.Flags & SendmailFlags.ArchaicEof).ShouldBe(0);
        a.Operands.ShouldBe(["x@y"]);
    }

    [Fact]
    public void ProgramNamePicksTheMode()
    {
        Parse("mailq").Mode.ShouldBe(SendmailMode.MailQ);
        Parse("newaliases").Mode.ShouldBe(SendmailMode.NewAlias);
        Parse("newaliases", "-bp").Mode.ShouldBe(SendmailMode.MailQ);
    }

    [Fact]
    public void BareQFlushes()
    {
        Parse("sendmail", "-q").Mode.ShouldBe(SendmailMode.FlushQ);
        Parse("sendmail", "-q30m").QueueTime.ShouldBe("30m");
        Parse("sendmail", "-qRsite").SiteToFlush.ShouldBe("site");
    }

    [Fact]
    public void OldVerpFormsAreRewritten()
    {
        var err = new StringWriter();
        var saved = Msg.Err;
        Msg.Err = err;
        try
        {
            var a = Parse("sendmail", "-V", "+=", "x@y");
            a.Request.VerpDelims.ShouldBe("+=");
            a.Operands.ShouldBe(["+=", "x@y"]);
            Parse("sendmail", "-V-=", "x@y").Request.VerpDelims.ShouldBe("-=");
        }
        finally
        {
            Msg.Err = saved;
        }
        err.ToString().ShouldContain("option -V is deprecated with Postfix 2.3; specify -XV instead");
    }

    [Fact]
    public void SingleVerboseMeansRecord()
    {
        var a = Parse("sendmail", "-v", "x@y");
        (a.Request.Flags & SendmailFlags.Record).ShouldNotBe(0);
        Msg.Verbose.ShouldBe(0);
    }

    [Fact]
    public void ConflictsAreFatal()
    {
        var saved = Msg.Err;
        Msg.Err = new StringWriter();
        try
        {
            Should.Throw<FatalException>(() => Parse("sendmail", "-t", "-bp")).Message.ShouldBe("-t can be used only in delivery mode");
            Should.Throw<FatalException>(() => Parse("sendmail", "-n")).Message.ShouldBe("-n option not supported");
            Should.Throw<FatalException>(() => Parse("sendmail", "-bz")).Message.ShouldBe("unsupported: -bz");
            Should.Throw<FatalException>(() => Parse("sendmail", "-bv", "-N", "success", "x")).Message.ShouldBe("-N option cannot be used with -bv");
        }
        finally
        {
            Msg.Err = saved;
        }
    }

    [Theory]
    [InlineData("/etc/postfix/main.cf", "main.cf", "/etc/postfix")]
    [InlineData("/etc/postfix/", "postfix", "/etc")]
    [InlineData("main.cf", "main.cf", ".")]
    [InlineData("/main.cf", "main.cf", "/")]
    public void PathParts(string path, string basename, string dirname)
    {
        SendmailArgs.SaneBasename(path).ShouldBe(basename);
        SendmailArgs.SaneDirname(path).ShouldBe(dirname);
    }
}
