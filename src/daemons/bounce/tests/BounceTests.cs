// NAME
//	BounceTests - logfile format, line wrapping, VERP addresses, notices
using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using Postfix.Daemons.Bounce;
using Postfix.Global.Attr;
using Postfix.Global.Post;
using Postfix.Global.Queue;
using Shouldly;
using Xunit;

namespace Postfix.Daemons.Bounce.Tests;

public class LogFormatTests
{
    [Fact]
    public void AppendFormatWritesOldAndNewStyleRecords()
    {
        var rcpt = new RcptBuf { Address = "joe@example.com", OrigAddr = "Joe@Example.com", Offset = 123, DsnNotify = 4 };
        var dsn = new DsnBuf { Status = "5.1.1", Action = "failed", Reason = "no such user", Dtype = "smtp", Dtext = "550 no" };
        BounceLog.Format(true, rcpt, dsn).ShouldBe(
            "\n<joe@example.com>: no such user\nrecipient=joe@example.com\noffset=123\nnotify_flags=4\n"
            + "status=5.1.1\naction=failed\ndiag_type=smtp\ndiag_text=550 no\nreason=no such user\n\n");
    }

    [Fact]
    public void AppendFormatQuotesAndKeepsDifferentOriginal()
    {
        var rcpt = new RcptBuf { Address = "a b@example.com", OrigAddr = "alias@example.com", DsnOrcpt = "rfc822;alias@example.com" };
        var dsn = new DsnBuf { Status = "4.0.0", Mtype = "dns", Mname = "mx.example.com", Reason = "later" };
        BounceLog.Format(false, rcpt, dsn).ShouldBe(
            "\nrecipient=\"a b\"@example.com\noriginal_recipient=alias@example.com\ndsn_orig_rcpt=rfc822;alias@example.com\n"
            + "status=4.0.0\nmta_type=dns\nmta_mname=mx.example.com\nreason=later\n\n");
    }

    [Fact]
    public void NullRecipientIsWrittenAsAngleBrackets()
    {
        BounceLog.Format(true, new RcptBuf(), new DsnBuf { Reason = "x" }).ShouldBe("\n<>: x\nrecipient=<>\nreason=x\n\n");
    }

    [Fact]
    public void ReadBackEntriesWithPlaceHolders()
    {
        var text = BounceLog.Format(true, new RcptBuf { Address = "a@x", DsnNotify = 2, Offset = 7 }, new DsnBuf { Status = "2.0.0", Action = "delivered", Reason = "ok" })
                   + "\n<b@y>: old style only\n\n" + "recipient=\nbogus=1\n\n" + "recipient=c@z\n";
        var log = BounceLog.FromBytes(Encoding.Latin1.GetBytes(text), "defer/ID", defer: true);
        var r = new RcptBuf();
        var d = new DsnBuf();
        log.Read(r, d).ShouldBeTrue();
        (r.Address, r.DsnNotify, r.Offset, d.Status, d.Action, d.Reason).ShouldBe(("a@x", 2, 7L, "2.0.0", "delivered", "ok"));
        log.Read(r, d).ShouldBeTrue();
        (r.Address, d.Status, d.Action, d.Reason).ShouldBe(("b@y", "4.0.0", "delayed", "old style only"));
        log.Read(r, d).ShouldBeTrue();
        (r.Address, d.Reason).ShouldBe(("(MAILER-DAEMON)", "(description unavailable)"));
        log.Read(r, d).ShouldBeFalse(); // an entry without its blank line is not complete
        log.Rewind();
        log.Read(r, d).ShouldBeTrue();
        r.Address.ShouldBe("a@x");
    }

    [Fact]
    public void NotifyFlagsOutOfRangeAreIgnored()
    {
        var log = BounceLog.FromBytes(Encoding.Latin1.GetBytes("recipient=a\nnotify_flags=99\n\n"), "bounce/ID", defer: false);
        var r = new RcptBuf();
        log.Read(r, new DsnBuf()).ShouldBeTrue();
        r.DsnNotify.ShouldBe(0);
    }
}

public class HelperTests
{
    [Fact]
    public void LineWrapBreaksAtBlanksWithIndent()
    {
        var lines = new List<string>();
        var text = "<joe@example.com>: " + string.Join(' ', new string('a', 30), new string('b', 30), new string('c', 30), new string('d', 70));
        LineWrap.Wrap(text, 79, 4, (s, indent) => lines.Add(new string(' ', indent) + s));
        lines.ShouldBe([
            "<joe@example.com>: " + new string('a', 30),
            "    " + new string('b', 30) + " " + new string('c', 30),
            "    " + new string('d', 70),
        ]);
    }

    [Fact]
    public void LineWrapKeepsShortText()
    {
        var lines = new List<string>();
        LineWrap.Wrap("short text  ", 79, 4, (s, i) => lines.Add(i + ":" + s));
        lines.ShouldBe(["0:short text"]);
    }

    [Theory]
    [InlineData("owner@origin.example", "user@domain.example", "", "owner+user=domain.example@origin.example")]
    [InlineData("owner", "user", "", "owner+user")]
    [InlineData("owner@origin", "user@domain", "orig@odomain", "owner+orig=odomain@origin")]
    public void VerpSenderEncodesTheRecipient(string sender, string address, string orig, string expect)
    {
        BounceServices.VerpSender("+=", sender, new RcptBuf { Address = address, OrigAddr = orig }).ShouldBe(expect);
    }

    [Fact]
    public void NotifyClassesMask()
    {
        BounceSettings.NotifyClasses("bounce, 2bounce delay").ShouldBe(BounceCodes.ErrorBounce | BounceCodes.Error2Bounce | BounceCodes.ErrorDelay);
        Should.Throw<Postfix.Util.FatalException>(() => BounceSettings.NotifyClasses("bounce, nosuch"));
    }

    [Theory]
    [InlineData("Message-ID: <x>", 10)]
    [InlineData("Subject : hi", 7)]
    [InlineData(" folded", 0)]
    [InlineData("no colon", 0)]
    [InlineData("", 0)]
    public void HeaderNameLength(string line, int expect) => BounceNotice.HeaderNameLength(line).ShouldBe(expect);
}

// A cleanup server stand-in: the protocol greeting and the final status
// come from a script, whatever the client writes is kept.
internal sealed class FakeCleanup : Stream
{
    private readonly MemoryStream input;

    public FakeCleanup(string queueId, int status)
    {
        var greeting = AttrWriter.ToBytes(AttrEncoding.Zero, w => w.Str(MailProto.AttrProto, MailProto.ProtoCleanup).Str(MailProto.AttrQueueId, queueId));
        var done = AttrWriter.ToBytes(AttrEncoding.Zero, w => w.Int(MailProto.AttrStatus, status));
        input = new MemoryStream([.. greeting, .. done]);
    }

    public MemoryStream Output { get; } = new();

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => 0; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override int Read(byte[] buffer, int offset, int count) => input.Read(buffer, offset, count);
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => Output.Write(buffer, offset, count);

    // Records - the message records the client sent after its flags.
    public List<(int Type, string Text)> Records()
    {
        var data = Output.ToArray();
        // Skip the flags attribute list: "flags\0N\0\0".
        var start = 0;
        var nuls = 0;
        while (nuls < 3)
        {
            if (data[start++] == 0)
                nuls++;
        }
        var list = new List<(int, string)>();
        var reader = new RecordReader(data.AsSpan(start), "cleanup");
        int type;
        while ((type = reader.Read(out var rec)) > 0)
            list.Add((type, Encoding.Latin1.GetString(rec)));
        return list;
    }
}

[Collection("cwd")]
public sealed class NoticeTests : IDisposable
{
    private readonly string dir = Path.Combine(Path.GetTempPath(), "bounce-test-" + Guid.NewGuid().ToString("N"));
    private readonly string oldCwd = Directory.GetCurrentDirectory();
    private readonly List<FakeCleanup> posted = [];
    private readonly BounceSettings settings;

    public NoticeTests()
    {
        Directory.CreateDirectory(dir);
        Directory.SetCurrentDirectory(dir);
        settings = new BounceSettings
        {
            MyHostname = "host.example.com",
            Now = () => 1700000000,
            NotifyMask = 0,
            TemplateConfig = new Postfix.Global.Bounce.BounceTemplateConfig(n => n == "myhostname" ? "host.example.com" : "")
            {
                MyHostname = "host.example.com",
            },
        };
        settings.Open = (sender, recipient, utf8) =>
        {
            var fake = new FakeCleanup("NEWID" + posted.Count, 0);
            posted.Add(fake);
            return PostMail.Open(settings.Post, fake, sender, recipient, PostMail.SourceBounce, 0, utf8);
        };
        Bounce.ForTests(settings);
    }

    public void Dispose()
    {
        Directory.SetCurrentDirectory(oldCwd);
        Directory.Delete(dir, true);
    }

    private void WriteQueueFile(string queue, string id, long rcptOffsetOut, out long rcptOffset)
    {
        var path = settings.Queue.Path(queue, id);
        MailQueue.MakeDirs(path);
        using var fs = new FileStream(path, FileMode.Create);
        var w = new RecordWriter(fs);
        var body = new List<string> { "Subject: hello", "Message-ID: <m1@example>", "", "body line" };
        w.Put(RecordType.Size, $"{0,15} {0,15} {1,15} {0,15} {0,15} {0,15}");
        w.PutTime(1699990000, 0);
        w.Put(RecordType.From, "sender@example.com");
        rcptOffset = fs.Position;
        w.Put(RecordType.Rcpt, "user@err.example");
        w.Put(RecordType.Mesg, "");
        var contentStart = fs.Position;
        foreach (var l in body)
            w.Put(RecordType.Norm, l);
        var contentEnd = fs.Position;
        w.Put(RecordType.Xtra, "");
        w.Put(RecordType.End, "");
        fs.Seek(0, SeekOrigin.Begin);
        w.Put(RecordType.Size, $"{contentEnd - contentStart,15} {contentStart,15} {1,15} {0,15} {0,15} {0,15}");
        _ = rcptOffsetOut;
    }

    private int Request(Action<AttrWriter> print, string service = "bounce")
    {
        var request = AttrWriter.ToBytes(AttrEncoding.Zero, print);
        var client = new DuplexBuffer(request);
        Bounce.Service(service, new AttrStream(client, "test"));
        var reply = client.Output.ToArray();
        var text = Encoding.Latin1.GetString(reply);
        var i = text.LastIndexOf("status\0", StringComparison.Ordinal);
        return unchecked((int)long.Parse(text[(i + 7)..].TrimEnd('\0'), System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public void AppendThenFlushSendsAFailureNotice()
    {
        WriteQueueFile("active", "ABCDEF", 0, out var rcptOffset);
        Request(w => w.Int(MailProto.AttrNreq, BounceCodes.CmdAppend).Int(MailProto.AttrFlags, 0).Str(MailProto.AttrQueueId, "ABCDEF")
            .Str(MailProto.AttrOrigRcpt, "user@err.example").Str(MailProto.AttrRecip, "user@err.example").Long(MailProto.AttrOffset, rcptOffset)
            .Str(MailProto.AttrDsnOrcpt, "").Int(MailProto.AttrDsnNotify, 0)
            .Str("status", "5.1.1").Str("diag_type", "").Str("diag_text", "").Str("mta_type", "").Str("mta_mname", "")
            .Str("action", "failed").Str(MailProto.AttrWhy, "mailbox unknown")).ShouldBe(0);
        File.ReadAllText("bounce/ABCDEF").ShouldBe("\n<user@err.example>: mailbox unknown\nrecipient=user@err.example\noffset="
            + rcptOffset + "\nstatus=5.1.1\naction=failed\nreason=mailbox unknown\n\n");

        Request(w => w.Int(MailProto.AttrNreq, BounceCodes.CmdFlush).Int(MailProto.AttrFlags, BounceCodes.FlagDelrcpt)
            .Str(MailProto.AttrQueue, "active").Str(MailProto.AttrQueueId, "ABCDEF").Str("encoding", "").Int("smtputf8", 0)
            .Str(MailProto.AttrSender, "sender@example.com").Str("envelope_id", "").Int("ret_flags", 0)).ShouldBe(0);

        File.Exists("bounce/ABCDEF").ShouldBeFalse();
        posted.Count.ShouldBe(1);
        var recs = posted[0].Records();
        recs[3].ShouldBe((RecordType.From, ""));
        recs[4].ShouldBe((RecordType.Rcpt, "sender@example.com"));
        var lines = recs.FindAll(r => r.Type == RecordType.Norm).ConvertAll(r => r.Text);
        lines.ShouldContain("From: Mail Delivery System <MAILER-DAEMON>");
        lines.ShouldContain("Subject: Undelivered Mail Returned to Sender");
        lines.ShouldContain("To: sender@example.com");
        lines.ShouldContain("Auto-Submitted: auto-replied");
        lines.ShouldContain("\tboundary=\"ABCDEF.1700000000/host.example.com\"");
        lines.ShouldContain("<user@err.example>: mailbox unknown");
        lines.ShouldContain("Reporting-MTA: dns; host.example.com");
        lines.ShouldContain("X-Postfix-Queue-ID: ABCDEF");
        lines.ShouldContain("X-Postfix-Sender: rfc822; sender@example.com");
        lines.ShouldContain("Final-Recipient: rfc822; user@err.example");
        lines.ShouldContain("Action: failed");
        lines.ShouldContain("Status: 5.1.1");
        lines.ShouldContain("Diagnostic-Code: X-Postfix; mailbox unknown");
        lines.ShouldContain("Content-Type: message/rfc822");
        lines.ShouldContain("Return-Path: <sender@example.com>");
        lines.ShouldContain("body line");
        lines[^1].ShouldBe("--ABCDEF.1700000000/host.example.com--");
        recs[^2].Type.ShouldBe(RecordType.Xtra);
        recs[^1].Type.ShouldBe(RecordType.End);

        // The recipient was marked done in the queue file.
        var q = File.ReadAllBytes("active/ABCDEF");
        ((int)q[rcptOffset]).ShouldBe(RecordType.Done);
    }

    [Fact]
    public void HeadersOnlyAndSizeLimit()
    {
        WriteQueueFile("active", "BCDEFA", 0, out _);
        Directory.CreateDirectory("bounce");
        File.WriteAllText("bounce/BCDEFA", "\nrecipient=user@err.example\nstatus=5.0.0\nreason=gone\n\n");
        settings.BounceLimit = 10;
        Request(w => w.Int(MailProto.AttrNreq, BounceCodes.CmdFlush).Int(MailProto.AttrFlags, 0)
            .Str(MailProto.AttrQueue, "active").Str(MailProto.AttrQueueId, "BCDEFA").Str("encoding", "").Int("smtputf8", 0)
            .Str(MailProto.AttrSender, "sender@example.com").Str("envelope_id", "ENV1").Int("ret_flags", 0)).ShouldBe(0);
        var lines = posted[0].Records().FindAll(r => r.Type == RecordType.Norm).ConvertAll(r => r.Text);
        lines.ShouldContain("Content-Description: Undelivered Message Headers");
        lines.ShouldContain("Content-Type: text/rfc822-headers");
        lines.ShouldContain("Original-Envelope-Id: ENV1");
        lines.ShouldContain("Subject: hello");
        lines.ShouldNotContain("body line");
    }

    [Fact]
    public void DoubleBounceIsDiscardedAndNullSenderGoesToPostmaster()
    {
        WriteQueueFile("active", "CDEFAB", 0, out _);
        Directory.CreateDirectory("bounce");
        File.WriteAllText("bounce/CDEFAB", "\nrecipient=user@err.example\nstatus=5.0.0\nreason=gone\n\n");
        Request(w => w.Int(MailProto.AttrNreq, BounceCodes.CmdFlush).Int(MailProto.AttrFlags, 0)
            .Str(MailProto.AttrQueue, "active").Str(MailProto.AttrQueueId, "CDEFAB").Str("encoding", "").Int("smtputf8", 0)
            .Str(MailProto.AttrSender, "Double-Bounce@localhost").Str("envelope_id", "").Int("ret_flags", 0)).ShouldBe(0);
        posted.Count.ShouldBe(0);
        File.Exists("bounce/CDEFAB").ShouldBeFalse();

        File.WriteAllText("bounce/CDEFAB", "\nrecipient=user@err.example\nstatus=5.0.0\nreason=gone\n\n");
        settings.NotifyMask = BounceCodes.Error2Bounce;
        settings.TwoBounceRcpt = "pm2@example.com";
        Request(w => w.Int(MailProto.AttrNreq, BounceCodes.CmdFlush).Int(MailProto.AttrFlags, 0)
            .Str(MailProto.AttrQueue, "active").Str(MailProto.AttrQueueId, "CDEFAB").Str("encoding", "").Int("smtputf8", 0)
            .Str(MailProto.AttrSender, "").Str("envelope_id", "").Int("ret_flags", 0)).ShouldBe(0);
        posted.Count.ShouldBe(1);
        var recs = posted[0].Records();
        recs[3].ShouldBe((RecordType.From, "double-bounce@localhost"));
        recs[4].ShouldBe((RecordType.Rcpt, "pm2@example.com"));
        var lines = recs.FindAll(r => r.Type == RecordType.Norm).ConvertAll(r => r.Text);
        lines.ShouldContain("Subject: Postmaster Copy: Undelivered Mail");
        lines.ShouldContain("Auto-Submitted: auto-generated");
    }

    [Fact]
    public void MalformedRequestsFail()
    {
        Request(w => w.Int(MailProto.AttrNreq, 42)).ShouldBe(-1);
        Request(w => w.Int(MailProto.AttrNreq, BounceCodes.CmdFlush).Int(MailProto.AttrFlags, 0)
            .Str(MailProto.AttrQueue, "act/ive").Str(MailProto.AttrQueueId, "X").Str("encoding", "").Int("smtputf8", 0)
            .Str(MailProto.AttrSender, "").Str("envelope_id", "").Int("ret_flags", 0)).ShouldBe(-1);
    }

    [Fact]
    public void DelayWarningKeepsTheLogAndFiltersByNotify()
    {
        WriteQueueFile("deferred", "DEFABC", 0, out _);
        Directory.CreateDirectory("defer");
        var path = settings.Queue.Path("defer", "DEFABC");
        MailQueue.MakeDirs(path);
        File.WriteAllText(path, "\nrecipient=a@retry.example\nnotify_flags=8\nstatus=4.2.0\naction=delayed\nreason=later\n\n"
            + "\nrecipient=b@retry.example\nnotify_flags=4\nstatus=4.2.0\naction=delayed\nreason=later\n\n");
        Request(w => w.Int(MailProto.AttrNreq, BounceCodes.CmdWarn).Int(MailProto.AttrFlags, 0)
            .Str(MailProto.AttrQueue, "deferred").Str(MailProto.AttrQueueId, "DEFABC").Str("encoding", "").Int("smtputf8", 0)
            .Str(MailProto.AttrSender, "sender@example.com").Str("envelope_id", "").Int("ret_flags", 0), "defer").ShouldBe(0);
        File.Exists(path).ShouldBeTrue();
        posted.Count.ShouldBe(1);
        var lines = posted[0].Records().FindAll(r => r.Type == RecordType.Norm).ConvertAll(r => r.Text);
        lines.ShouldContain("Subject: Delayed Mail (still being retried)");
        lines.ShouldContain("<a@retry.example>: later");
        lines.ShouldNotContain("<b@retry.example>: later");
        lines.ShouldContain("Action: delayed");
        lines.Exists(l => l.StartsWith("Will-Retry-Until: ", StringComparison.Ordinal)).ShouldBeTrue();
    }
}

// A client connection stand-in: reads come from the request, writes are kept.
internal sealed class DuplexBuffer(byte[] request) : Stream
{
    private readonly MemoryStream input = new(request);

    public MemoryStream Output { get; } = new();

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => 0; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override int Read(byte[] buffer, int offset, int count) => input.Read(buffer, offset, count);
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => Output.Write(buffer, offset, count);
}
