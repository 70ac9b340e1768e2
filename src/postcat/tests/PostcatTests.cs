// NAME
//	PostcatTests - postcat output on queue files written with RecordWriter,
//	and the same files read by the reference postcat when it is installed
using System;
using System.Diagnostics;
using System.IO;
using System.Text;
using Postfix.Global.Queue;
using Postfix.Util;
using Shouldly;
using Xunit;

namespace Postfix.Commands.Postcat.Tests;

public sealed class PostcatTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("pctest.").FullName;

    public PostcatTests()
    {
        File.WriteAllText(Path.Combine(dir, "main.cf"), "compatibility_level = 3.6\nqueue_directory = " + dir + "/q\n");
        foreach (var f in Directory.GetFiles(dir))
            File.SetLastWriteTimeUtc(f, DateTime.UtcNow.AddMinutes(-1));
        Directory.CreateDirectory(Path.Combine(dir, "q"));
        Environment.SetEnvironmentVariable("TZ", "UTC");
    }

    public void Dispose() => Directory.Delete(dir, true);

    // Run - (status, stdout as bytes in Latin-1 chars, stderr) in-process.
    private (int Status, string Out, string Err) Run(params string[] args)
    {
        var stdout = new StringWriter { NewLine = "\n" };
        var stderr = new StringWriter { NewLine = "\n" };
        ProgramHost.Out = stdout;
        Msg.Err = stderr;
        Msg.Tag = "postcat";
        Msg.Verbose = 0;
        var all = new string[args.Length + 2];
        all[0] = "-c";
        all[1] = dir;
        args.CopyTo(all, 2);
        int status;
        try
        {
            status = Postcat.Run(all);
        }
        catch (FatalException e)
        {
            status = e.Status;
        }
        finally
        {
            Environment.SetEnvironmentVariable("MAIL_CONFIG", null);
            Msg.Verbose = 0;
        }
        return (status, stdout.ToString(), stderr.ToString());
    }

    // QueueFile - a cleanup-style file: size record, envelope, content, extracted.
    private string QueueFile(string name, bool withSize = true)
    {
        var ms = new MemoryStream();
        var w = new RecordWriter(ms);
        if (withSize)
            w.Put(RecordType.Size, new SizeRecord(0, 0, 0, 0, 0, 0).Format());
        w.PutTime(1700000000, 123456);
        w.PutAttr("create_time", "1700000001");
        w.PutAttr("rewrite_context", "local");
        w.Put(RecordType.From, "a@example.com");
        w.PutAttr("dsn_orig_rcpt", "rfc822;b@example.com");
        w.Put(RecordType.Orcp, "b@example.com");
        w.Put(RecordType.Rcpt, "b@example.com");
        w.PutPointer(0);
        w.Put(RecordType.Mesg, "");
        var data = w.Position;
        w.PutStreamLf(Encoding.UTF8.GetBytes("Subject: test\nX-Long: " + new string('h', 30) + "\n\nbody caf\u00e9\n"), 20);
        w.PutPointer(0);
        var xtra = w.Position;
        w.Put(RecordType.Xtra, "");
        w.Put(RecordType.Rcpt, "extra@example.com");
        w.Put(RecordType.End, "");
        if (withSize)
            w.UpdateSize(0, new SizeRecord(xtra - data, data, 1, 0, xtra - data, 0));
        var path = Path.Combine(dir, name);
        File.WriteAllBytes(path, ms.ToArray());
        return path;
    }

    [Fact]
    public void PrintsEveryPartByDefault()
    {
        var f = QueueFile("qf");
        var (status, output, err) = Run(f);
        status.ShouldBe(0);
        err.ShouldBe("");
        var want =
            $"*** ENVELOPE RECORDS {f} ***\n" +
            "message_size:              88             263               1               0              88               0\n" +
            "message_arrival_time: Tue Nov 14 22:13:20 2023\n" +
            "create_time: Tue Nov 14 22:13:21 2023\n" +
            "named_attribute: rewrite_context=local\n" +
            "sender: a@example.com\n" +
            "named_attribute: dsn_orig_rcpt=rfc822;b@example.com\n" +
            "original_recipient: b@example.com\n" +
            "recipient: b@example.com\n" +
            $"*** MESSAGE CONTENTS {f} ***\n" +
            "Subject: test\n" +
            "X-Long: hhhhhhhhhhhhhhhhhhhhhhhhhhhhhh\n" +
            "\n" +
            "body caf\u00c3\u00a9\n" +
            $"*** HEADER EXTRACTED {f} ***\n" +
            "recipient: extra@example.com\n" +
            $"*** MESSAGE FILE END {f} ***\n";
        output.ShouldBe(want);
    }

    [Fact]
    public void HeaderOnlyAndBodyOnlyUseTheSizeRecord()
    {
        var f = QueueFile("qf");
        Run("-h", f).Out.ShouldBe("Subject: test\nX-Long: hhhhhhhhhhhhhhhhhhhhhhhhhhhhhh\n");
        // Without -h the header lines are not printed, so the piece after
        // a CONT record is not known to continue a header: the body
        // starts there (the reference does the same).
        Run("-b", f).Out.ShouldBe("hhhhhhhhhhhhhhhhhh\n\nbody caf\u00c3\u00a9\n");
    }

    [Fact]
    public void OffsetsAndDecimalTypes()
    {
        var f = QueueFile("qf");
        var lines = Run("-od", f).Out.Split('\n');
        lines[1].ShouldBe("        0  67 message_size:              88             263               1               0              88               0");
        lines[2].ShouldStartWith("       97  84 message_arrival_time: ");
    }

    [Fact]
    public void VerboseShowsPointersAndTextRecordTypes()
    {
        var f = QueueFile("qf", withSize: false);
        var output = Run("-v", f).Out;
        output.ShouldContain("pointer_record:               0\n");
        output.ShouldContain("unterminated_text: X-Long: hhhhhhhhhhhh\n");
        output.ShouldContain("regular_text: Subject: test\n");
    }

    [Fact]
    public void EmptyFileBannerIsNeverFlushed()
    {
        var f = Path.Combine(dir, "empty");
        File.WriteAllBytes(f, Array.Empty<byte>());
        Run(f).ShouldBe((0, "", ""));
    }

    [Fact]
    public void NonQueueFileIsAWarning()
    {
        var f = Path.Combine(dir, "text");
        File.WriteAllText(f, "hello\n");
        Run(f).ShouldBe((0, "", $"postcat: warning: {f}: input is not a valid queue file\n"));
    }

    [Fact]
    public void Errors()
    {
        Run(Path.Combine(dir, "nonexistent")).ShouldBe((1, "", $"postcat: fatal: open {dir}/nonexistent: No such file or directory\n"));
        Run("-q", "A.B").ShouldBe((1, "", "postcat: fatal: bad mail queue ID: A.B\n"));
        Run("-s", "x").ShouldBe((1, "", "postcat: fatal: bad offset: x\n"));
        var (status, _, err) = Run("-Z");
        status.ShouldBe(1);
        err.ShouldStartWith("postcat: invalid option -- 'Z'\npostcat: fatal: usage: postcat [-b (body text)]");
    }

    [Fact]
    public void QueueSearchFindsHashedDeferredFiles()
    {
        var f = QueueFile("qf");
        Directory.CreateDirectory(Path.Combine(dir, "q/deferred/A"));
        File.Move(f, Path.Combine(dir, "q/deferred/A/ABCDEF"));
        var cwd = Directory.GetCurrentDirectory();
        try
        {
            var (status, output, _) = Run("-q", "-e", "ABCDEF");
            status.ShouldBe(0);
            output.ShouldStartWith("*** ENVELOPE RECORDS deferred/A/ABCDEF ***\n");
            Run("-q", "NOSUCH").ShouldBe((1, "", "postcat: fatal: open queue file NOSUCH: No such file or directory\n"));
        }
        finally
        {
            Directory.SetCurrentDirectory(cwd);
        }
    }

    [Theory]
    [InlineData("Subject: x", 7)]
    [InlineData("Subject : x", 7)]
    [InlineData(" Subject: x", 0)]
    [InlineData("no header", 0)]
    [InlineData(":x", 0)]
    public void IsHeaderAsPostfix(string line, int want)
    {
        Postcat.IsHeader(Encoding.ASCII.GetBytes(line)).ShouldBe(want);
    }

    [Theory]
    [InlineData(0L, "Thu Jan  1 00:00:00 1970\n")]
    [InlineData(1795243510L, "Sat Nov 21 06:45:10 2026\n")]
    [InlineData(-1L, "Wed Dec 31 23:59:59 1969\n")]
    public void AscTimeFormat(long t, string want)
    {
        Postcat.AscTime(t).ShouldBe(want);
    }

    // EditedFile - a file edited in place the way cleanup does it: a
    // recipient and a header appended through pointer records into the
    // heap after the end record, padding, 8-bit text, 2048-byte lines.
    private string EditedFile()
    {
        var ms = new MemoryStream();
        var w = new RecordWriter(ms);
        w.Put(RecordType.Size, new SizeRecord(0, 0, 0, 0, 0, 0).Format());
        w.PutTime(1700000000, 5);
        w.Put(RecordType.Full, "Ren\u00e9");
        w.Put(RecordType.From, "a@example.com");
        w.PutAttr("envelope_id", "env-1");
        w.PutAttr("ret_flags", "2");
        w.PutAttr("notify_flags", "14");
        w.Put(RecordType.Rcpt, "b@example.com");
        var rcptPtr = w.Position;
        w.PutPointer(0);
        w.Put(RecordType.Mesg, "");
        var data = w.Position;
        w.PutStreamLf(Encoding.Latin1.GetBytes("Subject: caf\u00e9\nX-Long: " + new string('x', 3000) + "\n"), 2048);
        var hdrPtr = w.Position;
        w.PutPointer(0);
        var afterHeaders = w.Position;
        w.PutStreamLf(Encoding.Latin1.GetBytes("\n8-bit body \u00e9\u00e8\n" + new string('y', 4096) + "\nlast"), 2048);
        w.Pad(RecordType.Dtxt, 20);
        var xtra = w.Position;
        w.Put(RecordType.Xtra, "");
        w.Put(RecordType.End, "");
        var heap1 = w.Position;
        w.Put(RecordType.Rcpt, "added@example.com");
        w.PutPointer(rcptPtr + RecordWriter.SpaceNeeded(RecordType.PtrPayloadSize));
        var heap2 = w.Position;
        w.Put(RecordType.Norm, "X-Added: header");
        w.PutPointer(afterHeaders);
        w.UpdatePointer(rcptPtr, heap1);
        w.UpdatePointer(hdrPtr, heap2);
        w.UpdateSize(0, new SizeRecord(xtra - data, data, 2, 0, xtra - data, 0));
        var path = Path.Combine(dir, "edited");
        File.WriteAllBytes(path, ms.ToArray());
        return path;
    }

    [Fact]
    public void PointersLeadThroughTheHeap()
    {
        var f = EditedFile();
        var output = Run("-e", f).Out;
        output.ShouldContain("recipient: b@example.com\nrecipient: added@example.com\n*** MESSAGE CONTENTS");
        Run("-h", f).Out.ShouldEndWith("X-Added: header\n");
        Run("-v", f).Out.ShouldContain("padding: " + new string(' ', 17) + "0\n");
    }

    // The other direction: the reference postcat reads our files the same way.
    [Fact]
    public void ReferencePostcatAgrees()
    {
        if (!File.Exists("/usr/sbin/postcat"))
            return;
        var edited = EditedFile();
        foreach (var (f, what) in new[] { (QueueFile("sized"), "size record"), (QueueFile("plain", false), "no size record"), (edited, "edited in place") })
        {
            foreach (var opts in new[] { "", "-o", "-od", "-h", "-b", "-e", "-v", "-r", "-bh", "-rv", "-ov" })
            {
                var args = opts.Length == 0 ? new[] { f } : new[] { opts, f };
                var ours = Run(args);
                var psi = new ProcessStartInfo("/usr/sbin/postcat")
                {
                    RedirectStandardOutput = true,
                    RedirectStandardError = true,
                    StandardOutputEncoding = Encoding.Latin1,
                };
                psi.ArgumentList.Add("-c");
                psi.ArgumentList.Add(dir);
                foreach (var a in args)
                    psi.ArgumentList.Add(a);
                psi.Environment["TZ"] = "UTC";
                using var p = Process.Start(psi)!; // the file exists
                var refOut = p.StandardOutput.ReadToEnd();
                var refErr = p.StandardError.ReadToEnd();
                p.WaitForExit();
                ours.Out.ShouldBe(refOut, $"postcat {opts} ({what})");
                if (!opts.Contains('v', StringComparison.Ordinal))
                    ours.Err.ShouldBe(refErr.Replace("/usr/sbin/postcat:", "postcat:", StringComparison.Ordinal));
                ours.Status.ShouldBe(p.ExitCode);
            }
        }
    }
}
