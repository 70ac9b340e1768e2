// NAME
//	MailboxTests - the shared mailbox code: mail_copy, mbox_open,
//	maildir names, pipe_command status mapping
using System;
using System.IO;
using System.Text;
using Postfix.Global.Deliver;
using Postfix.Global.Mailbox;
using Postfix.Global.Queue;
using Postfix.Util;
using Shouldly;
using Xunit;

namespace Postfix.Daemons.Local.Tests;

public sealed class MailboxTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("mbox-test").FullName;

    public void Dispose() => Directory.Delete(dir, true);

    // QueueFile - a minimal queue file: content from offset 'offset'.
    internal static byte[] QueueFile(out long offset, params string[] lines)
    {
        var ms = new MemoryStream();
        var w = new RecordWriter(ms);
        w.Put(RecordType.From, "sender@example.com");
        w.Put(RecordType.Mesg, ReadOnlySpan<byte>.Empty);
        offset = ms.Position;
        foreach (var line in lines)
            w.Put(RecordType.Norm, line);
        w.Put(RecordType.Xtra, ReadOnlySpan<byte>.Empty);
        w.Put(RecordType.End, ReadOnlySpan<byte>.Empty);
        return ms.ToArray();
    }

    private static int OpenFile(string path) =>
        Sys.Open(path, Sys.O_WRONLY | Sys.O_CREAT | Sys.O_APPEND, 0x180);

    [Fact]
    public void MboxCopyAddsEnvelopeHeadersAndQuotesFrom()
    {
        MailCopy.Now = () => new DateTime(2026, 11, 1, 9, 5, 3);
        var q = QueueFile(out var off, "Subject: hi", "", "From the start", "body");
        var path = Path.Combine(dir, "mbox");
        var why = new DsnBuf();
        var st = MailCopy.Copy(q, off, "q", "sender@example.com", "orig@example.com", "user@example.com",
            OpenFile(path), MailCopy.MboxFlags, why, out _);
        st.ShouldBe(0);
        File.ReadAllText(path).ShouldBe(
            "From sender@example.com  Sun Nov  1 09:05:03 2026\n" +
            "Return-Path: <sender@example.com>\n" +
            "X-Original-To: orig@example.com\n" +
            "Delivered-To: user@example.com\n" +
            "Subject: hi\n\n>From the start\nbody\n\n");
    }

    [Fact]
    public void NullSenderIsMailerDaemonAndOrigRcptCanBeEmpty()
    {
        MailCopy.Now = () => new DateTime(2026, 11, 21, 12, 0, 0);
        var q = QueueFile(out var off, "x");
        var path = Path.Combine(dir, "f");
        MailCopy.Copy(q, off, "q", "", "", "a b@x", OpenFile(path), MailCopy.MboxFlags, new DsnBuf(), out _).ShouldBe(0);
        File.ReadAllText(path).ShouldBe(
            "From MAILER-DAEMON  Sat Nov 21 12:00:00 2026\nReturn-Path: <>\nDelivered-To: \"a b\"@x\nx\n\n");
    }

    [Fact]
    public void DotEscapingForBsmtp()
    {
        var q = QueueFile(out var off, ".", "..x", "y");
        var path = Path.Combine(dir, "d");
        MailCopy.Copy(q, off, "q", "s", "", "d", OpenFile(path), MailCopy.Dot, new DsnBuf(), out _).ShouldBe(0);
        File.ReadAllText(path).ShouldBe("..\n...x\ny\n");
    }

    [Fact]
    public void MissingEndMarksCorruptAndTruncates()
    {
        var ms = new MemoryStream();
        var w = new RecordWriter(ms);
        w.Put(RecordType.Norm, "line");
        var path = Path.Combine(dir, "c");
        File.WriteAllText(path, "old\n");
        var st = MailCopy.Copy(ms.ToArray(), 0, "q", "s", "", "d", OpenFile(path), MailCopy.MboxFlags, new DsnBuf(), out _);
        (st & MailCopy.StatCorrupt).ShouldNotBe(0);
        File.ReadAllText(path).ShouldBe("old\n");
    }

    [Fact]
    public void MboxOpenDotLocksAndReleases()
    {
        var path = Path.Combine(dir, "user");
        var why = new DsnBuf();
        var mp = Mbox.Open(path, Sys.O_APPEND | Sys.O_WRONLY | Sys.O_CREAT, 0x180, out var st, SafeOpen.Keep, SafeOpen.Keep,
            MboxLock.Dot | MboxLock.Fcntl | MboxLock.Flock, "5.2.0", why);
        mp.ShouldNotBeNull();
        File.Exists(path + ".lock").ShouldBeTrue();
        Sys.IsReg(st.Mode).ShouldBeTrue();
        mp.Release();
        File.Exists(path + ".lock").ShouldBeFalse();
    }

    [Fact]
    public void MboxOpenRefusesSymlinkAndHeldLock()
    {
        var target = Path.Combine(dir, "t");
        File.WriteAllText(target, "");
        var link = Path.Combine(dir, "l");
        File.CreateSymbolicLink(link, target);
        Sys.Chmod(dir, 0x1fd); // a root-owned link is trusted only in a directory that only root can write
        var why = new DsnBuf();
        Mbox.Open(link, Sys.O_APPEND | Sys.O_WRONLY | Sys.O_CREAT, 0x180, out _, SafeOpen.Keep, SafeOpen.Keep, 0, "5.2.0", why)
            .ShouldBeNull();
        why.Reason.ShouldBe("file is a symbolic link");
        why.Status.ShouldBe("5.2.0");

        File.WriteAllText(target + ".lock", "");
        MboxLock.Attempts = 1;
        try
        {
            Mbox.Open(target, Sys.O_APPEND | Sys.O_WRONLY, 0, out _, SafeOpen.Keep, SafeOpen.Keep, MboxLock.Dot, "5.2.0", why)
                .ShouldBeNull();
            why.Status.ShouldBe("4.2.0");
            why.Reason.ShouldBe($"unable to create lock file {target}.lock: File exists");
        }
        finally
        {
            MboxLock.Attempts = 20;
        }
    }

    [Fact]
    public void MaildirCreatesDirectoriesAndUniqueNames()
    {
        Maildir.HostName = () => "host.example";
        var q = QueueFile(out var off, "Subject: m");
        var md = Path.Combine(dir, "Maildir") + "/";
        var why = new DsnBuf();
        Maildir.Write(q, off, "q", "s@x", "o@x", "d@x", md, MailCopy.ToFile | MailCopy.ReturnPath | MailCopy.OrigRcpt | MailCopy.Delivered,
            why, out _).ShouldBe(0);
        Directory.Exists(md + "cur").ShouldBeTrue();
        Directory.GetFiles(md + "tmp").ShouldBeEmpty();
        var files = Directory.GetFiles(md + "new");
        files.Length.ShouldBe(1);
        Path.GetFileName(files[0]).ShouldMatch(@"^\d+\.V[0-9a-f]+I[0-9a-f]+M\d+\.host\.example$");
        File.ReadAllText(files[0]).ShouldBe("Return-Path: <s@x>\nX-Original-To: o@x\nDelivered-To: d@x\nSubject: m\n");
    }

    [Theory]
    [InlineData("exit 0", PipeStatus.Ok, "", "")]
    [InlineData("exit 75", PipeStatus.Defer, "4.3.0", "temporary failure")]
    [InlineData("echo oops; exit 1", PipeStatus.Bounce, "5.3.0", "Command died with status 1: \"echo oops; exit 1\". Command output: oops ")]
    [InlineData("echo 5.1.1 no such user; exit 67", PipeStatus.Bounce, "5.1.1", "no such user ")]
    [InlineData("echo 4.2.2 full; exit 1", PipeStatus.Defer, "4.2.2", "full ")]
    [InlineData("kill -9 $$", PipeStatus.Defer, "4.3.0", "Command died with signal 9: \"kill -9 $$\"")]
    public void PipeCommandStatusMapping(string command, PipeStatus expected, string dsn, string reason)
    {
        var q = QueueFile(out var off, "x");
        var why = new DsnBuf();
        PipeCommand.Run(q, off, "q", new PipeCommandArgs { Command = command, CopyFlags = MailCopy.From }, why).ShouldBe(expected);
        if (expected != PipeStatus.Ok)
        {
            why.Status.ShouldBe(dsn);
            why.Reason.ShouldBe(reason);
        }
    }

    [Fact]
    public void PipeCommandTimeLimitAndEnvironment()
    {
        var q = QueueFile(out var off, "hello");
        var outFile = Path.Combine(dir, "out");
        var why = new DsnBuf();
        PipeCommand.Run(q, off, "q", new PipeCommandArgs
        {
            Command = $"cat > {outFile}; echo \"$FOO:$PATH\" >> {outFile}",
            Environment = [new("FOO", "bar")],
        }, why).ShouldBe(PipeStatus.Ok);
        File.ReadAllText(outFile).ShouldBe("hello\nbar:/usr/bin:/bin\n");
        PipeCommand.Run(q, off, "q", new PipeCommandArgs { Command = "sleep 5", TimeLimitSeconds = 1 }, why)
            .ShouldBe(PipeStatus.Bounce);
        why.Reason.ShouldBe("Command time limit exceeded: \"sleep 5\"");
    }
}
