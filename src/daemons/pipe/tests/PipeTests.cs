// NAME
//	PipeTests - pipe(8): attributes, argv expansion, message copy,
//	exit status classification, command execution
using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using Postfix.Global.Config;
using Postfix.Global.Deliver;
using Postfix.Util;
using Shouldly;
using Xunit;

namespace Postfix.Daemons.Pipe.Tests;

public class PipeTests
{
    private static MailConf Conf(string mainCf = "")
    {
        var dir = Directory.CreateTempSubdirectory("pipetest").FullName;
        File.WriteAllText(Path.Combine(dir, "main.cf"), mainCf);
        File.SetLastWriteTimeUtc(Path.Combine(dir, "main.cf"), System.DateTime.UtcNow.AddMinutes(-1)); // cool: a fresh main.cf is re-read after 300 ms pauses
        return MailConf.Read(dir);
    }

    private static Sys.Passwd? Pw(string name) => name switch
    {
        "alice" => new Sys.Passwd("alice", 1001, 1001, "", "/home/alice", "/bin/sh"),
        "postfix" => new Sys.Passwd("postfix", 100, 101, "", "/", "/bin/false"),
        "root" => new Sys.Passwd("root", 0, 0, "", "/root", "/bin/sh"),
        "owned" => new Sys.Passwd("owned", 1002, 101, "", "/", "/bin/sh"),
        _ => null,
    };

    private static uint? Gr(string name) => name switch
    {
        "staff" => 50u,
        "postdrop" => 102u,
        "wheel" => 0u,
        _ => null,
    };

    private static readonly MailConf SharedConf = Conf();

    private static PipeAttributes Parse(params string[] args) => PipeAttributes.Parse(args, SharedConf, Pw, Gr);

    private static string FatalOf(params string[] args) =>
        Should.Throw<FatalException>(() => Parse(args)).Message;

    [Fact]
    public void AttributesAndCommand()
    {
        var a = Parse("flags=DRFO.>BXhqu", "user=alice:staff", "size=1000", "eol=\\r\\n", "null_sender=",
            "directory=/tmp", "argv=/bin/cmd", "-f", "${sender}", "flags=ignored");
        a.Flags.ShouldBe(CopyFlags.Delivered | CopyFlags.ReturnPath | CopyFlags.From | CopyFlags.OrigRcpt
            | CopyFlags.Dot | CopyFlags.Quote | CopyFlags.Blank | CopyFlags.FinalDelivery | CopyFlags.FoldAll
            | CopyFlags.QuoteLocal);
        a.Uid.ShouldBe(1001u);
        a.Gid.ShouldBe(50u);
        a.SizeLimit.ShouldBe(1000);
        a.Eol.ShouldBe("\r\n");
        a.NullSender.ShouldBe("");
        a.ExecDir.ShouldBe("/tmp");
        a.Command.ShouldBe(new[] { "/bin/cmd", "-f", "${sender}", "flags=ignored" });
    }

    [Fact]
    public void AttributeNamesIgnoreCase()
    {
        var a = Parse("USER=alice", "Argv=x");
        a.Gid.ShouldBe(1001u);
        a.NullSender.ShouldBe("MAILER-DAEMON");
        a.Eol.ShouldBe("\n");
    }

    [Fact]
    public void AttributeErrors()
    {
        FatalOf("flags=Z", "user=alice", "argv=x").ShouldBe("unknown flag: Z (ignored)");
        FatalOf("user=bob", "argv=x").ShouldBe("get_service_attr: unknown username: bob");
        FatalOf("user=alice:nogroup", "argv=x").ShouldBe("get_service_attr: unknown group: nogroup");
        FatalOf("user=alice", "size=12k", "argv=x").ShouldBe("get_service_attr: bad size= value: 12k");
        FatalOf("bogus=1", "argv=x").ShouldBe("unknown attribute name: bogus=1");
        FatalOf("argv=x").ShouldBe("missing user= command-line attribute");
        FatalOf("user=alice").ShouldBe("missing argv= command-line attribute");
        FatalOf("user=root", "argv=x").ShouldBe("user= command-line attribute specifies root privileges");
        FatalOf("user=postfix", "argv=x").ShouldBe("user= command-line attribute specifies mail system owner postfix");
        FatalOf("user=alice:wheel", "argv=x").ShouldBe("user= command-line attribute specifies privileged group id 0");
        FatalOf("user=owned", "argv=x")
            .ShouldBe("user= command-line attribute specifies mail system owner postfix group id 101");
        FatalOf("user=alice:postdrop", "argv=x")
            .ShouldBe("user= command-line attribute specifies mail system postdrop group id 102");
    }

    [Fact]
    public void UnescapeLikeC()
    {
        Postfix.Util.Unescape.Decode(@"\r\n").ShouldBe("\r\n");
        Postfix.Util.Unescape.Decode(@"\101\7x\\\q").ShouldBe("A\u0007x\\q");
        Postfix.Util.Unescape.Decode(@"ab\").ShouldBe("ab");
    }

    private static ArgvExpander Expander(string delim = "+") => new() { RecipientDelimiter = delim, ConfigDir = "/etc/postfix" };

    [Fact]
    public void RecipientArgumentsRepeat()
    {
        var x = Expander();
        x.Set("sender", "s@example.com");
        x.Set("nexthop", "Host");
        var rcpts = new List<(string, string)> { ("a+ext@Example.COM", "orig-a@x"), ("B@y", "") };
        var argv = x.Expand("svc", ["cmd", "-f", "$sender", "${nexthop}", "-r", "$recipient", "u=${user}", "e=${extension}",
            "m=$mailbox", "d=$domain", "o=$original_recipient"], rcpts, CopyFlags.None)!;
        argv.ShouldBe(new[] { "cmd", "-f", "s@example.com", "Host", "-r", "a+ext@Example.COM", "B@y", "u=a", "u=B",
            "e=ext", "e=", "m=a+ext", "m=B", "d=Example.COM", "d=y", "o=orig-a@x", "o=" });
    }

    [Fact]
    public void FoldingAndQuoting()
    {
        var x = Expander();
        var rcpts = new List<(string, string)> { ("Joe Q+X@Example.COM", "") };
        x.Expand("svc", ["$recipient"], rcpts, CopyFlags.FoldHost)!.ShouldBe(new[] { "Joe Q+X@example.com" });
        x.Expand("svc", ["$recipient"], rcpts, CopyFlags.FoldUser)!.ShouldBe(new[] { "joe q+x@Example.COM" });
        x.Expand("svc", ["$recipient"], rcpts, CopyFlags.QuoteLocal | CopyFlags.FoldAll)!
            .ShouldBe(new[] { "\"joe q+x\"@example.com" });
        x.Expand("svc", ["$user", "$extension"], rcpts, CopyFlags.QuoteLocal | CopyFlags.FoldUser)!
            .ShouldBe(new[] { "joe q", "x" });
    }

    [Fact]
    public void SpecialLocalPartsAreNotSplit()
    {
        var x = Expander("-");
        var rcpts = new List<(string, string)> { ("owner-list@x", ""), ("list-request@x", ""), ("a-b-c@x", ""), ("postmaster@x", "") };
        x.Expand("svc", ["$user"], rcpts, CopyFlags.None)!.ShouldBe(new[] { "owner-list", "list-request", "a", "postmaster" });
        Expander("").Expand("svc", ["$extension"], rcpts, CopyFlags.None)!.ShouldBe(new[] { "", "", "", "" });
    }

    [Fact]
    public void EmptyUserDropsTheArgument()
    {
        var x = Expander();
        x.Expand("svc", ["cmd", "$user"], [("@x", ""), ("b@x", "")], CopyFlags.None)!.ShouldBe(new[] { "cmd", "b" });
    }

    [Fact]
    public void UnknownMacroFails()
    {
        Expander().Expand("svc", ["cmd", "$bogus"], [("a@b", "")], CopyFlags.None).ShouldBeNull();
        Expander().Expand("svc", ["${recipient?x}"], [("a@b", "")], CopyFlags.None).ShouldBeNull();
    }

    [Fact]
    public void ValuesAreNotExpandedAgain()
    {
        var x = Expander();
        x.Expand("svc", ["$recipient"], [("$sender@b", "")], CopyFlags.None)!.ShouldBe(new[] { "$sender@b" });
        x.Set("queue_id", "ABC");
        x.Expand("svc", ["${queue_id}x", "$$y"], [], CopyFlags.None)!.ShouldBe(new[] { "ABCx", "$y" });
    }

    // A queue file image: a message content section at the returned offset.
    private static byte[] QueueFile(out long offset, params (char Type, string Data)[] records)
    {
        var ms = new MemoryStream();
        void Rec(char type, string data)
        {
            var bytes = Encoding.UTF8.GetBytes(data);
            ms.WriteByte((byte)type);
            var len = bytes.Length;
            do
            {
                var b = len & 0x7f;
                len >>= 7;
                ms.WriteByte((byte)(len != 0 ? b | 0x80 : b));
            }
            while (len != 0);
            ms.Write(bytes);
        }
        Rec('C', "size");
        Rec('M', "");
        offset = ms.Position;
        foreach (var (t, d) in records)
            Rec(t, d);
        return ms.ToArray();
    }

    private static string Copy(string sender, CopyFlags flags, string eol = "\n", string orig = "o@x", string delivered = "d@x",
        bool enableOrcpt = true, params (char, string)[] records)
    {
        var file = QueueFile(out var offset, records);
        var ms = new MemoryStream();
        var why = new DsnBuf();
        var status = MailCopy.Copy(sender, orig, delivered, file, offset, "test", ms, flags, eol, enableOrcpt, why, out _,
            new DateTime(2026, 11, 1, 9, 5, 3));
        status.ShouldBe(0);
        return Encoding.UTF8.GetString(ms.ToArray());
    }

    private static readonly (char, string)[] Body =
    [
        ('N', "Subject: t"), ('N', ""), ('N', "From here"), ('N', ".dot"), ('L', "part"), ('N', "ial"), ('L', "tail"), ('X', ""),
    ];

    [Fact]
    public void PlainCopy()
    {
        Copy("s@x", CopyFlags.None, records: Body).ShouldBe("Subject: t\n\nFrom here\n.dot\npartial\ntail\n");
    }

    [Fact]
    public void EnvelopeHeaders()
    {
        Copy("s@x", CopyFlags.From | CopyFlags.ReturnPath | CopyFlags.OrigRcpt | CopyFlags.Delivered, records: Body)
            .ShouldStartWith("From s@x  Sun Nov  1 09:05:03 2026\nReturn-Path: <s@x>\nX-Original-To: o@x\nDelivered-To: d@x\nSubject: t\n");
        Copy("", CopyFlags.From | CopyFlags.ReturnPath, records: Body)
            .ShouldStartWith("From MAILER-DAEMON  Sun Nov  1 09:05:03 2026\nReturn-Path: <>\nSubject");
        Copy("a b@x", CopyFlags.ReturnPath | CopyFlags.Delivered, delivered: "c d@x", records: Body)
            .ShouldStartWith("Return-Path: <\"a b\"@x>\nDelivered-To: \"c d\"@x\nSubject");
        Copy("s@x", CopyFlags.OrigRcpt, orig: "", records: Body).ShouldStartWith("Subject");
        Copy("s@x", CopyFlags.OrigRcpt, enableOrcpt: false, records: Body).ShouldStartWith("Subject");
    }

    [Fact]
    public void QuotingStuffingAndLineEnds()
    {
        Copy("s@x", CopyFlags.Quote | CopyFlags.Dot | CopyFlags.Blank, "\r\n", records: Body)
            .ShouldBe("Subject: t\r\n\r\n>From here\r\n..dot\r\npartial\r\ntail\r\n\r\n");
        Copy("s@x", CopyFlags.Quote | CopyFlags.Dot, records: [('L', "From "), ('N', "x"), ('L', ".a"), ('N', ".b"), ('X', "")])
            .ShouldBe(">From x\n..a.b\n");
    }

    [Fact]
    public void CorruptContent()
    {
        var file = QueueFile(out var offset, ('N', "a"), ('E', ""));
        var marked = 0;
        var status = MailCopy.Copy("s", "", "", file, offset, "test", new MemoryStream(), CopyFlags.None, "\n", true,
            new DsnBuf(), out _, markCorrupt: () => marked++);
        status.ShouldBe(MailCopy.StatCorrupt);
        marked.ShouldBe(1);
    }

    [Fact]
    public void SysExitsTable()
    {
        SysExits.Detail(75).ShouldBe(new SysExits.Entry(75, "4.3.0", "temporary failure"));
        SysExits.Detail(67).Dsn.ShouldBe("5.1.1");
        SysExits.Detail(78).Text.ShouldBe("local configuration error");
        SysExits.Detail(1).ShouldBe(new SysExits.Entry(0, "5.3.0", "unknown mail system error 1"));
        SysExits.SoftError(71).ShouldBeTrue();
        SysExits.SoftError(1).ShouldBeFalse();
    }

    private static (PipeStat, DsnBuf) Classify(bool timedOut, bool signaled, int sig, int exit, string log, int wstat = 0, int werr = 0)
    {
        var why = new DsnBuf();
        var st = PipeCommand.Classify("/bin/cmd", timedOut, signaled, sig, exit, log.Length, log, wstat, werr, why);
        return (st, why);
    }

    [Fact]
    public void ClassifyLikeTheReference()
    {
        var (st, why) = Classify(true, false, 0, 0, "");
        st.ShouldBe(PipeStat.Bounce);
        (why.Status, why.Reason, why.Dtype, why.Dtext).ShouldBe(("5.3.0", "Command time limit exceeded: \"/bin/cmd\"", "x-unix", "internal software error"));
        (st, why) = Classify(true, false, 0, 0, "out ");
        why.Reason.ShouldBe("Command time limit exceeded: \"/bin/cmd\". Command output: out ");
        why.Dtext.ShouldBe("out ");
        (st, why) = Classify(false, true, 9, 0, "");
        (st, why.Status, why.Reason).ShouldBe((PipeStat.Defer, "4.3.0", "Command died with signal 9: \"/bin/cmd\""));
        (st, why) = Classify(false, false, 0, 75, "");
        (st, why.Status, why.Reason).ShouldBe((PipeStat.Defer, "4.3.0", "temporary failure"));
        (st, why) = Classify(false, false, 0, 67, "no such user ");
        (st, why.Status, why.Reason, why.Dtext).ShouldBe((PipeStat.Bounce, "5.1.1", "user unknown. Command output: no such user ", "no such user "));
        (st, why) = Classify(false, false, 0, 1, "");
        (st, why.Status, why.Reason).ShouldBe((PipeStat.Bounce, "5.3.0", "Command died with status 1: \"/bin/cmd\""));
        (st, why) = Classify(false, false, 0, 1, "4.2.2 mailbox full ");
        (st, why.Status, why.Reason).ShouldBe((PipeStat.Defer, "4.2.2", "mailbox full "));
        (st, why) = Classify(false, false, 0, 75, "5.7.1 go away");
        (st, why.Status, why.Reason).ShouldBe((PipeStat.Bounce, "5.7.1", "go away"));
        (st, why) = Classify(false, false, 0, 0, "fine ");
        (st, why.Reason).ShouldBe((PipeStat.Ok, "fine "));
        (st, _) = Classify(false, false, 0, 0, "", MailCopy.StatWrite, Sys.EPIPE);
        st.ShouldBe(PipeStat.Ok);
        (st, _) = Classify(false, false, 0, 0, "", MailCopy.StatCorrupt);
        st.ShouldBe(PipeStat.Corrupt);
    }

    [Fact]
    public void OutputMadePrintable()
    {
        PipeCommand.Printable("a\tb\nc\u0001d"u8).ShouldBe("a b c_d");
        PipeCommand.Printable(new byte[] { 0xc3, 0xa9, 0xff, (byte)'z', 0xc3 }).ShouldBe("é_z_");
        PipeCommand.Printable("ab\0cd"u8).ShouldBe("ab");
    }

    [Fact]
    public void EnvironmentIsCleaned()
    {
        var env = PipeCommand.ChildEnvironment(["TZ", "MAIL_CONFIG", "FOO=bar", "NOPE"],
            n => n switch { "TZ" => "UTC", "PATH" => "/evil", _ => null });
        env.ShouldBe(new[] { "TZ=UTC", "FOO=bar", "PATH=/usr/bin:/bin" });
    }

    [Fact]
    public void DeliveredToLoop()
    {
        var file = QueueFile(out var offset, ('N', "Received: x"), ('N', "Delivered-To: A@Example.com"), ('N', " cont"),
            ('N', "delivered-to:   b@x"), ('N', ""), ('N', "Delivered-To: body@x"), ('X', ""));
        DeliveredHeaders.Find(file, offset, "t", "a@example.COM").ShouldBeTrue();
        DeliveredHeaders.Find(file, offset, "t", "b@x").ShouldBeTrue();
        DeliveredHeaders.Find(file, offset, "t", "body@x").ShouldBeFalse();
    }

    private static string Script(string body)
    {
        var dir = Directory.CreateTempSubdirectory("pipecmd").FullName;
        Sys.Chmod(dir, Convert.ToInt32("755", 8));
        var path = Path.Combine(dir, "cmd.sh");
        File.WriteAllText(path, "#!/bin/sh\n" + body);
        Sys.Chmod(path, Convert.ToInt32("755", 8));
        return path;
    }

    private static (PipeStat, DsnBuf) RunCommand(string script, int timeLimit = 10, params string[] extra) =>
        RunCommandIn(null, script, timeLimit, extra);

    private static (PipeStat, DsnBuf) RunCommandIn(string? cwd, string script, int timeLimit = 10, params string[] extra)
    {
        var file = QueueFile(out var offset, Body);
        var why = new DsnBuf();
        var nobody = Sys.GetPwNam("nobody")!;
        var argv = new List<string> { script };
        argv.AddRange(extra);
        var st = PipeCommand.Run(new PipeCommandArgs
        {
            Argv = argv,
            Uid = nobody.Uid,
            Gid = nobody.Gid,
            Sender = "s@x",
            Flags = CopyFlags.ReturnPath,
            TimeLimit = timeLimit,
            Export = ["FOO=bar"],
            Cwd = cwd,
        }, file, offset, "test", why);
        return (st, why);
    }

    [Fact]
    public void RunsTheCommandAsTheUser()
    {
        var outFile = Path.Combine(Directory.CreateTempSubdirectory("pipeout").FullName, "out");
        File.WriteAllText(outFile, "");
        Sys.Chmod(outFile, Convert.ToInt32("666", 8));
        Sys.Chmod(Path.GetDirectoryName(outFile)!, Convert.ToInt32("755", 8));
        var script = Script($"{{ id -u; id -g; id -G; echo \"$FOO:$PATH:$1\"; cat; }} > {outFile}\necho done\n");
        var (st, why) = RunCommand(script, 10, "arg1");
        st.ShouldBe(PipeStat.Ok);
        why.Reason.ShouldBe("done ");
        var nobody = Sys.GetPwNam("nobody")!;
        var lines = File.ReadAllText(outFile);
        if (Sys.GetUid() == 0)
            lines.ShouldStartWith($"{nobody.Uid}\n{nobody.Gid}\n{nobody.Gid}\n");
        lines.ShouldEndWith("bar:/usr/bin:/bin:arg1\nReturn-Path: <s@x>\nSubject: t\n\nFrom here\n.dot\npartial\ntail\n");
        Sys.GetEuid().ShouldBe(Sys.GetUid());
    }

    [Fact]
    public void ExitStatusAndOutput()
    {
        var (st, why) = RunCommand(Script("cat >/dev/null; echo 'user gone'; exit 67\n"));
        (st, why.Status, why.Reason).ShouldBe((PipeStat.Bounce, "5.1.1", "user unknown. Command output: user gone "));
        (st, why) = RunCommand(Script("exit 75\n"));
        (st, why.Status, why.Reason).ShouldBe((PipeStat.Defer, "4.3.0", "temporary failure"));
    }

    [Fact]
    public void MissingProgram()
    {
        var (st, why) = RunCommand("/nonexistent/cmd");
        (st, why.Status).ShouldBe((PipeStat.Defer, "4.3.0"));
        why.Reason.ShouldBe("temporary failure. Command output: pipe: fatal: pipe_command: execvp /nonexistent/cmd: No such file or directory ");
    }

    [Fact]
    public void WorkingDirectoryAndSession()
    {
        var (st, why) = RunCommandIn("/tmp", Script("cat >/dev/null; echo \"$(pwd) $(ps -o sid= -p $$ | tr -d ' ') $$\"\n"));
        st.ShouldBe(PipeStat.Ok);
        var parts = why.Reason.Trim().Split(' ');
        parts[0].ShouldBe("/tmp");
        parts[1].ShouldBe(parts[2]);
        var nobody = Sys.GetPwNam("nobody")!;
        (st, why) = RunCommandIn("/nonexistent-dir", Script("exit 0\n"));
        (st, why.Status).ShouldBe((PipeStat.Defer, "4.3.0"));
        why.Reason.ShouldBe($"temporary failure. Command output: pipe: fatal: cannot change directory to \"/nonexistent-dir\" for uid={nobody.Uid} gid={nobody.Gid}: No such file or directory ");
    }

    [Fact]
    public void TimeLimit()
    {
        var started = DateTime.UtcNow;
        var (st, why) = RunCommand(Script("cat >/dev/null; sleep 30\n"), 1);
        (DateTime.UtcNow - started).TotalSeconds.ShouldBeLessThan(10);
        (st, why.Status).ShouldBe((PipeStat.Bounce, "5.3.0"));
        why.Reason.ShouldStartWith("Command time limit exceeded: \"");
    }
}
