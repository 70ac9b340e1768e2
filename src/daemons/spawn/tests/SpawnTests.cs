// NAME
//	SpawnTests - spawn(8): attributes and running a command on descriptors
using System;
using System.IO;
using Postfix.Global.Config;
using Postfix.Util;
using Shouldly;
using Xunit;

namespace Postfix.Daemons.Spawn.Tests;

public class SpawnTests
{
    private static readonly MailConf Conf = MakeConf();

    private static MailConf MakeConf()
    {
        var dir = Directory.CreateTempSubdirectory("spawntest").FullName;
        File.WriteAllText(Path.Combine(dir, "main.cf"), "");
        File.SetLastWriteTimeUtc(Path.Combine(dir, "main.cf"), System.DateTime.UtcNow.AddMinutes(-1)); // cool: a fresh main.cf is re-read after 300 ms pauses
        return MailConf.Read(dir);
    }

    private static Sys.Passwd? Pw(string name) => name switch
    {
        "alice" => new Sys.Passwd("alice", 1001, 1001, "", "/", "/bin/sh"),
        "postfix" => new Sys.Passwd("postfix", 100, 101, "", "/", "/bin/false"),
        "root" => new Sys.Passwd("root", 0, 0, "", "/", "/bin/sh"),
        _ => null,
    };

    private static uint? Gr(string name) => name == "staff" ? 50u : name == "wheel" ? 0u : name == "pf" ? 101u : null;

    private static SpawnAttributes Parse(params string[] args) => SpawnAttributes.Parse(args, Conf, 7, Pw, Gr);

    private static string FatalOf(params string[] args) => Should.Throw<FatalException>(() => Parse(args)).Message;

    [Fact]
    public void Attributes()
    {
        var a = Parse("user=alice:staff", "argv=/bin/x", "user=ignored");
        (a.Uid, a.Gid, a.TimeLimit).ShouldBe((1001u, 50u, 7));
        a.Argv.ShouldBe(new[] { "/bin/x", "user=ignored" });
        Parse("USER=alice", "ARGV=y").Gid.ShouldBe(1001u);
    }

    [Fact]
    public void AttributeErrors()
    {
        FatalOf("user=bob", "argv=x").ShouldBe("unknown user name: bob");
        FatalOf("user=alice:none", "argv=x").ShouldBe("unknown group name: none");
        FatalOf("flags=x", "argv=x").ShouldBe("unknown attribute name: flags=x");
        FatalOf("argv=x").ShouldBe("missing user= attribute");
        FatalOf("user=alice").ShouldBe("missing argv= attribute");
        FatalOf("user=root", "argv=x").ShouldBe("request to deliver as root");
        FatalOf("user=postfix", "argv=x").ShouldBe("request to deliver as mail system owner");
        FatalOf("user=alice:wheel", "argv=x").ShouldBe("request to use privileged group id 0");
        FatalOf("user=alice:pf", "argv=x").ShouldBe("request to use mail system owner group id 101");
    }

    private static (int Status, string Output) Run(string script, string input, int timeLimit = 10)
    {
        var dir = Directory.CreateTempSubdirectory("spawncmd").FullName;
        Sys.Chmod(dir, Convert.ToInt32("777", 8));
        var path = Path.Combine(dir, "cmd.sh");
        File.WriteAllText(path, "#!/bin/sh\n" + script);
        Sys.Chmod(path, Convert.ToInt32("755", 8));
        var outPath = Path.Combine(dir, "out");
        var inPath = Path.Combine(dir, "in");
        File.WriteAllText(inPath, input);
        var nobody = Sys.GetPwNam("nobody")!;
        var a = new SpawnAttributes { Argv = [path, "a1"], Uid = nobody.Uid, Gid = nobody.Gid, TimeLimit = timeLimit };
        var inFd = Sys.Open(inPath, Sys.O_RDONLY | Sys.O_CLOEXEC, 0);
        var outFd = Sys.Open(outPath, Sys.O_WRONLY | Sys.O_CREAT | Sys.O_CLOEXEC, Convert.ToInt32("644", 8));
        var status = Spawn.RunCommand(a, inFd, outFd, ["FOO=bar"]);
        Sys.Close(inFd);
        Sys.Close(outFd);
        return (status, File.ReadAllText(outPath));
    }

    [Fact]
    public void RunsWithTheDescriptors()
    {
        var (status, output) = Run("id -u; echo \"$1 $FOO $PATH\"; cat; echo err >&2\n", "hello\n");
        status.ShouldBe(0);
        var uid = Sys.GetUid() == 0 ? Sys.GetPwNam("nobody")!.Uid : Sys.GetUid();
        output.ShouldBe($"{uid}\na1 bar /usr/bin:/bin\nhello\nerr\n");
    }

    [Fact]
    public void ExitStatusAndTimeLimit()
    {
        var (status, _) = Run("exit 3\n", "");
        (Sys.WIfExited(status), Sys.WExitStatus(status)).ShouldBe((true, 3));
        var started = DateTime.UtcNow;
        (status, _) = Run("sleep 30\n", "", 1);
        (Sys.WIfSignaled(status), Sys.WTermSig(status)).ShouldBe((true, Sys.SIGKILL));
        (DateTime.UtcNow - started).TotalSeconds.ShouldBeLessThan(10);
    }
}
