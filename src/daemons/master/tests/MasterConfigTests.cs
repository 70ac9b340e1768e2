// NAME
//	MasterConfigTests - master.cf entries as the master runs them
using System;
using System.IO;
using System.Linq;
using Postfix.Global.Config;
using Postfix.Server;
using Postfix.Util;
using Shouldly;
using Xunit;

namespace Postfix.Daemons.Master.Tests;

public sealed class MasterConfigTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("mastercf").FullName;

    public void Dispose() => Directory.Delete(dir, true);

    private MasterConfig Config(string masterCf, string mainCf = "", bool detached = true)
    {
        File.WriteAllText(Path.Combine(dir, "main.cf"), "daemon_directory = /usr/libexec/postfix\n" + mainCf);
        File.SetLastWriteTimeUtc(Path.Combine(dir, "main.cf"), System.DateTime.UtcNow.AddMinutes(-1)); // cool: a fresh main.cf is re-read after 300 ms pauses
        File.WriteAllText(Path.Combine(dir, "master.cf"), masterCf);
        return new MasterConfig(MailConf.Read(dir), detached);
    }

    private static string Fatal(Action a) => Should.Throw<FatalException>(a).Message;

    [Fact]
    public void UnixServiceGetsDefaultsAndArguments()
    {
        var s = Config("cleanup unix n - n - 0 cleanup\n").Read().Single();
        s.Type.ShouldBe(ServiceType.Unix);
        s.Name.ShouldBe("public/cleanup");
        s.MaxProc.ShouldBe(0);
        s.Path.ShouldBe("/usr/libexec/postfix/cleanup");
        s.Args.ShouldBe(["cleanup", "-z", "-t", "unix", "-u"]);
        s.LocalOnly.ShouldBeTrue();
    }

    [Fact]
    public void ServiceNameDifferentFromCommandIsPassed()
    {
        var s = Config("retry unix - - n - - error -o x=y {-o} {a b}\n").Read().Single();
        s.Name.ShouldBe("private/retry");
        s.MaxProc.ShouldBe(100);
        s.Args.ShouldBe(["error", "-n", "retry", "-t", "unix", "-u", "-o", "x=y", "-o", "a b"]);
    }

    [Fact]
    public void WakeupConditionalAndSolitary()
    {
        var s = Config("pickup fifo n - y 60? 1 pickup\n", detached: false).Read().Single();
        s.WakeupTime.ShouldBe(60);
        s.ConditionalWakeup.ShouldBeTrue();
        s.Args.ShouldBe(["pickup", "-l", "-t", "fifo", "-d", "-u", "-c"]);
    }

    [Fact]
    public void ChrootDefaultFollowsCompatibilityLevel()
    {
        Config("a unix - - - - - x\n", "compatibility_level = 0\n").Read().Single().Args.ShouldContain("-c");
        Config("a unix - - - - - x\n", "compatibility_level = 3.6\n").Read().Single().Args.ShouldNotContain("-c");
    }

    [Fact]
    public void InetServiceOnLoopbackAddress()
    {
        var s = Config("127.0.0.1:2525 inet n - n - 5 smtpd\n").Read().Single();
        s.Name.ShouldBe("[127.0.0.1]:2525");
        s.InetPort.ShouldBe(2525);
        s.LocalOnly.ShouldBeTrue();
        s.Args.ShouldNotContain("stress=");
    }

    [Fact]
    public void PublicInetServiceGetsStressArgument()
    {
        var s = Config("2525 inet n - n - 5 smtpd\n", "inet_interfaces = all\ninet_protocols = ipv4\n").Read().Single();
        s.LocalOnly.ShouldBeFalse();
        s.Args.ShouldBe(["smtpd", "-n", "2525", "-t", "inet", "-u", "-o", "stress="]);
    }

    [Fact]
    public void DisabledServicesAreSkipped()
    {
        var list = Config("a unix - - n - - x\nb inet n - n - - y\nc fifo n - n - - z\n",
            "master_service_disable = inet a/unix\n").Read();
        list.Select(s => s.ExtName).ShouldBe(["c"]);
    }

    [Fact]
    public void ContinuationLinesAndComments()
    {
        var list = Config("# comment\na unix - - n - -\n  x -o y=z\n\nb unix - - n - - w\n").Read();
        list.Count.ShouldBe(2);
        list[0].Args.ShouldBe(["x", "-n", "a", "-t", "unix", "-u", "-o", "y=z"]);
    }

    [Theory]
    [InlineData("foo bar\n", "master.cf: line 1: bad transport type: bar")]
    [InlineData("foo unix -\n", "master.cf: line 1: missing \"unprivileged\" field")]
    [InlineData("foo unix x - n - - e\n", "master.cf: line 1: field \"private\": bad value: \"x\"")]
    [InlineData("\nfoo unix - - n x - e\n", "master.cf: line 2: field \"wakeup_time\": bad value: \"x\"")]
    [InlineData("1.2.3.4:25 inet y - n - - smtpd\n", "master.cf: line 1: inet service cannot be private")]
    [InlineData("foo unix - - n - -\n", "master.cf: line 1: missing \"command\" field")]
    [InlineData("foo unix - - n - - cmd {a\n", "master.cf: line 1: missing '}' in \"{a\"")]
    public void BadEntriesAreFatal(string masterCf, string expected)
    {
        var text = Fatal(() => Config(masterCf).Read());
        text.ShouldEndWith(expected);
    }

    [Fact]
    public void StatusMessageRoundTrip()
    {
        Span<byte> buf = stackalloc byte[MasterChannel.StatusSize];
        MasterChannel.Encode(buf, 4242, 0x1234, MasterChannel.StatusAvailable);
        MasterChannel.Decode(buf).ShouldBe((4242, 0x1234u, 1));
    }
}
