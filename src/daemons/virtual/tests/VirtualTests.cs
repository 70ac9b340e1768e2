// NAME
//	VirtualTests - virtual(8) mailbox lookup and delivery
using System;
using System.Collections.Generic;
using System.IO;
using Postfix.Global.Deliver;
using Postfix.Global.Dict;
using Postfix.Global.Mailbox;
using Postfix.Global.Queue;
using Shouldly;
using Xunit;

namespace Postfix.Daemons.Virtual.Tests;

public sealed class VirtualTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("virtual-test").FullName;

    public VirtualTests() => Postfix.Util.Sys.Chmod(dir, 0x1ff); // writable for uid 5000 when tests run as root

    public void Dispose() => Directory.Delete(dir, true);

    private sealed class Recorder : IVirtualReport
    {
        public readonly List<string> Lines = [];

        public int Sent(VirtualRequest req, Recipient rcpt, DsnBuf why) => Add("sent", rcpt, why, 0);
        public int Bounce(VirtualRequest req, Recipient rcpt, DsnBuf why) => Add("bounced", rcpt, why, 0);
        public int Defer(VirtualRequest req, Recipient rcpt, DsnBuf why) => Add("deferred", rcpt, why, 1);
        public void Completed(VirtualRequest req, long offset) { }

        private int Add(string kind, Recipient r, DsnBuf why, int rc)
        {
            Lines.Add($"{kind} {r.Address} {why.Status} {why.Reason}");
            return rc;
        }
    }

    private static byte[] Queue(out long offset)
    {
        var ms = new MemoryStream();
        var w = new RecordWriter(ms);
        w.Put(RecordType.Mesg, ReadOnlySpan<byte>.Empty);
        offset = ms.Position;
        w.Put(RecordType.Norm, "Subject: v");
        w.Put(RecordType.Xtra, ReadOnlySpan<byte>.Empty);
        return ms.ToArray();
    }

    private (VirtualAgent, Recorder) Agent(string mailboxes, string uids = "static:5000", string gids = "static:5000")
    {
        var rec = new Recorder();
        var cfg = new VirtualConfig { MailboxBase = dir, MinimumUid = 100, StrictMailboxOwnership = false };
        return (new VirtualAgent(cfg, rec,
            Maps.Create("virtual_mailbox_maps", mailboxes, DictFlags.Lock),
            Maps.Create("virtual_uid_maps", uids, DictFlags.Lock),
            Maps.Create("virtual_gid_maps", gids, DictFlags.Lock)), rec);
    }

    private static VirtualRequest Request(params string[] rcpts)
    {
        var q = Queue(out var off);
        var list = new List<Recipient>();
        foreach (var r in rcpts)
            list.Add(new Recipient(r, r, 0, "", 0));
        return new VirtualRequest { QueueId = "Q", QueuePath = "q", QueueFile = q, DataOffset = off, Sender = "s@x", Recipients = list };
    }

    [Fact]
    public void MboxAndMaildirAndUnknown()
    {
        var (agent, rec) = Agent("inline:{ a@v.test=a/mbox, b@v.test=b/Maildir/ }");
        Directory.CreateDirectory(Path.Combine(dir, "a"));
        Postfix.Util.Sys.Chmod(Path.Combine(dir, "a"), 0x1ff);
        agent.Deliver(Request("a@v.test", "B@v.test", "c@v.test")).ShouldBe(0);
        rec.Lines.ShouldBe([
            "sent a@v.test 2.0.0 delivered to mailbox",
            "sent B@v.test 2.0.0 delivered to maildir",
            "bounced c@v.test 5.1.1 unknown user: \"c@v.test\"",
        ]);
        File.ReadAllText(Path.Combine(dir, "a/mbox")).ShouldContain("Delivered-To: a@v.test\nSubject: v\n\n");
        Directory.GetFiles(Path.Combine(dir, "b/Maildir/new")).Length.ShouldBe(1);
    }

    [Fact]
    public void BadUidAndMissingGidDefer()
    {
        var (agent, rec) = Agent("inline:{ a@v.test=a }", "static:5", "static:5000");
        agent.Deliver(Request("a@v.test")).ShouldNotBe(0);
        rec.Lines.ShouldBe(["deferred a@v.test 4.3.5 mail system configuration error"]);
        var (agent2, rec2) = Agent("inline:{ a@v.test=a }", "static:5000", "inline:{ x=1 }");
        agent2.Deliver(Request("a@v.test")).ShouldNotBe(0);
        rec2.Lines.ShouldBe(["deferred a@v.test 4.3.5 mail system configuration error"]);
    }

    [Fact]
    public void MissingMailboxDirectoryIsTemporary()
    {
        var (agent, rec) = Agent("inline:{ a@v.test=nodir/mbox }");
        agent.Deliver(Request("a@v.test"));
        rec.Lines.ShouldBe([$"deferred a@v.test 4.2.0 delivery failed to mailbox {dir}/nodir/mbox: unable to create lock file {dir}/nodir/mbox.lock: No such file or directory"]);
    }
}
