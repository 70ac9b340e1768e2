// NAME
//	PostconfMainTests - main.cf display, expansion, classes and warnings
using Shouldly;
using Xunit;

namespace Postfix.Commands.Postconf.Tests;

public sealed class PostconfMainTests
{
    [Fact]
    public void NonDefaultListingIsSortedAndNormalized()
    {
        using var pc = new PostconfRunner("mydomain   =   example.com\nmyhostname = mail.$mydomain\nrelayhost =\n   [smtp.example.com]:587\n");
        var (status, stdout, _) = pc.Run("-n");
        status.ShouldBe(0);
        stdout.ShouldBe("config_directory = DIR\nmydomain = example.com\nmyhostname = mail.$mydomain\nrelayhost = [smtp.example.com]:587\n");
    }

    [Fact]
    public void ExpansionIsRecursive()
    {
        using var pc = new PostconfRunner("mydomain = example.com\nmyhostname = mail.$mydomain\n");
        pc.Run("-x", "myorigin").Out.ShouldBe("myorigin = mail.example.com\n");
    }

    [Fact]
    public void ConditionalAndRelationalDefaultsFollowCompatibilityLevel()
    {
        using var pc = new PostconfRunner("compatibility_level = 3.6\n");
        pc.Run("-xh", "mynetworks_style", "smtputf8_enable", "relay_domains").Out.ShouldBe("host\nyes\n\n");
        using var old = new PostconfRunner("compatibility_level = 0\nmydestination = a.example\n");
        old.Run("-xh", "mynetworks_style", "smtputf8_enable", "relay_domains").Out.ShouldBe("subnet\nno\na.example\n");
    }

    [Fact]
    public void RawParametersAreNotExpanded()
    {
        using var pc = new PostconfRunner("mailbox_command = /bin/deliver $recipient\n");
        pc.Run("-x", "mailbox_command").Out.ShouldBe("mailbox_command = /bin/deliver $recipient\n");
    }

    [Fact]
    public void UnknownNameIsAWarningNotAnError()
    {
        using var pc = new PostconfRunner("");
        var (status, stdout, stderr) = pc.Run("nosuchparam", "mail_version");
        status.ShouldBe(0);
        stdout.ShouldBe("mail_version = 3.7.11\n");
        stderr.ShouldBe("postconf: warning: nosuchparam: unknown parameter\n");
    }

    [Fact]
    public void UnusedAndUndefinedParametersAreReported()
    {
        using var pc = new PostconfRunner("foo = bar\nrelayhost = $nosuch\n");
        var (_, _, stderr) = pc.Run("-n");
        stderr.ShouldContain("postconf: warning: DIR/main.cf: unused parameter: foo=bar\n");
        stderr.ShouldContain("postconf: warning: DIR/main.cf: undefined parameter: nosuch\n");
    }

    [Fact]
    public void UserParameterReferencedElsewhereIsValid()
    {
        using var pc = new PostconfRunner("my_list = a, b\nsmtpd_client_restrictions = $my_list\nsmtpd_restriction_classes = cls\ncls = permit\n");
        var (_, stdout, stderr) = pc.Run("-n");
        stderr.ShouldBe("");
        stdout.ShouldContain("my_list = a, b\n");
        pc.Run("-C", "user", "-n").Out.ShouldBe("cls = permit\nmy_list = a, b\n");
    }

    [Fact]
    public void ReadOnlyAssignmentIsDropped()
    {
        using var pc = new PostconfRunner("process_name = x\n");
        var (_, stdout, stderr) = pc.Run("-n");
        stderr.ShouldContain("read-only parameter assignment: process_name=x");
        stdout.ShouldNotContain("process_name");
    }

    [Fact]
    public void ServiceParametersComeFromMasterCf()
    {
        using var pc = new PostconfRunner("", "relay unix - - n - - smtp\nmailman unix - n n - - pipe flags=FRX user=list argv=/x\n");
        var stdout = pc.Run("-d", "relay_destination_concurrency_limit", "mailman_time_limit", "local_destination_concurrency_limit").Out;
        stdout.ShouldBe("relay_destination_concurrency_limit = $default_destination_concurrency_limit\nmailman_time_limit = $command_time_limit\nlocal_destination_concurrency_limit = 2\n");
        pc.Run("-d", "-C", "service").Out.ShouldContain("mailman_recipient_limit = $default_recipient_limit\n");
    }

    [Fact]
    public void FoldingBreaksLongLinesAtEightyColumns()
    {
        var words = string.Join(' ', System.Linq.Enumerable.Repeat("word", 30));
        using var pc = new PostconfRunner("smtpd_banner = " + words + "\n");
        var stdout = pc.Run("-f", "smtpd_banner").Out;
        foreach (var line in stdout.TrimEnd('\n').Split('\n'))
            line.Length.ShouldBeLessThanOrEqualTo(80);
        stdout.ShouldContain("\n    word");
    }

    [Theory]
    [InlineData(new[] { "-d", "-n" }, "postconf: fatal: specify one of -d -n\n")]
    [InlineData(new[] { "-M", "-n" }, "postconf: fatal: with option -M, do not specify -n\n")]
    [InlineData(new[] { "-C", "bogus" }, "postconf: fatal: unknown -C option value \"bogus\" in \"bogus\"\n")]
    [InlineData(new[] { "-e" }, "postconf: fatal: -e requires name=value argument\n")]
    public void BadOptionCombinationsAreFatal(string[] args, string message)
    {
        using var pc = new PostconfRunner("");
        var (status, _, stderr) = pc.Run(args);
        status.ShouldBe(1);
        stderr.ShouldBe(message);
    }

    [Fact]
    public void MissingMainCfIsFatal()
    {
        using var pc = new PostconfRunner("");
        System.IO.File.Delete(System.IO.Path.Combine(pc.Dir, "main.cf"));
        var (status, _, stderr) = pc.Run("-n");
        status.ShouldBe(1);
        stderr.ShouldBe("postconf: fatal: open DIR/main.cf: No such file or directory\n");
    }

    [Fact]
    public void OverridesApplyForThisRunOnly()
    {
        using var pc = new PostconfRunner("myhostname = a.example\n");
        pc.Run("-o", "myhostname=b.example", "-h", "myhostname").Out.ShouldBe("b.example\n");
        pc.Run("-h", "myhostname").Out.ShouldBe("a.example\n");
    }
}
