// NAME
//	AgentTests - local(8) recipient handling with a recording report
using System;
using System.Collections.Generic;
using System.IO;
using Postfix.Global.Deliver;
using Postfix.Global.Dict;
using Postfix.Global.Mailbox;
using Shouldly;
using Xunit;

namespace Postfix.Daemons.Local.Tests;

public sealed class AgentTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("local-test").FullName;

    public void Dispose() => Directory.Delete(dir, true);

    private sealed class Recorder : IDeliveryReport
    {
        public readonly List<string> Lines = [];

        private int Add(string kind, in MsgAttr a, DsnBuf why, int rc)
        {
            Lines.Add($"{kind} {a.Rcpt.Address} {why.Status} {why.Reason}");
            return rc;
        }

        public int Sent(LocalRequest req, in MsgAttr a, DsnBuf why) => Add("sent", a, why, 0);
        public int Bounce(LocalRequest req, in MsgAttr a, DsnBuf why) => Add("bounced", a, why, 0);
        public int Defer(LocalRequest req, in MsgAttr a, DsnBuf why) => Add("deferred", a, why, 1);
        public int Trace(LocalRequest req, in MsgAttr a, DsnBuf why) => Add("trace", a, why, 0);
        public int BounceOne(LocalRequest req, in MsgAttr a, DsnBuf why) => Add("bounce-one", a, why, 0);
        public int DeferOne(LocalRequest req, in MsgAttr a, DsnBuf why) => Add("defer-one", a, why, 1);

        public int Pass(LocalRequest req, string transport, in MsgAttr a)
        {
            Lines.Add($"pass {a.Rcpt.Address} {transport}");
            return 0;
        }

        public int ForwardAppend(LocalRequest req, in MsgAttr a) => -1;
        public void Completed(LocalRequest req, long offset) => Lines.Add($"completed {offset}");
    }

    private (LocalAgent, Recorder) Agent(string aliases, Action<LocalConfig>? tweak = null)
    {
        var cfg = new LocalConfig
        {
            RecipientDelimiter = "+",
            ForwardPath = "",
            MailSpoolDirectory = dir,
            CommandFilter = "1234567890!@%-_=+:,./abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
            OwnerUid = 0,
            OwnerGid = 0,
        };
        tweak?.Invoke(cfg);
        var rec = new Recorder();
        var maps = Maps.Create("aliases", aliases, DictFlags.Lock | DictFlags.FoldFix);
        return (new LocalAgent(cfg, rec, maps), rec);
    }

    private LocalRequest Request(string rcpt, params string[] headers)
    {
        var lines = new List<string>(headers) { "Subject: t", "", "body" };
        var q = MailboxTests.QueueFile(out var off, [.. lines]);
        return new LocalRequest
        {
            QueueId = "ABC123",
            QueuePath = "q",
            QueueFile = q,
            DataOffset = off,
            Sender = "sender@example.com",
            Recipients = [new Rcpt(rcpt, rcpt, 0, "", 0)],
        };
    }

    [Fact]
    public void AliasChainToFileWithExtension()
    {
        var file = Path.Combine(dir, "archive");
        var (agent, rec) = Agent($"inline:{{ list=member, member={file} }}");
        agent.Deliver(Request("list+tag@example.com"), "local").ShouldBe(0);
        rec.Lines.ShouldBe([$"sent member {"2.0.0"} delivered to file: {file}"]);
        File.ReadAllText(file).ShouldContain("Delivered-To: list+tag@example.com\n");
    }

    [Fact]
    public void UnknownUserBounces()
    {
        var (agent, rec) = Agent("inline:{ x=y }");
        agent.Deliver(Request("nosuchuser4711@example.com"), "local");
        rec.Lines.ShouldBe(["bounced nosuchuser4711@example.com 5.1.1 unknown user: \"nosuchuser4711\""]);
    }

    [Fact]
    public void PostmasterWithoutAliasIsDiscarded()
    {
        var (agent, rec) = Agent("inline:{ x=y }");
        agent.Deliver(Request("postmaster@example.com"), "local");
        rec.Lines.ShouldBe(["sent postmaster@example.com 2.0.0 discarded"]);
    }

    [Fact]
    public void DeliveredToLoopBounces()
    {
        var (agent, rec) = Agent("inline:{ x=y }");
        agent.Deliver(Request("Root@Example.com", "Delivered-To: root@example.com"), "local");
        rec.Lines.ShouldBe(["bounced Root@Example.com 5.4.6 mail forwarding loop for Root@Example.com"]);
    }

    [Fact]
    public void CommandsAndFilesAreRestricted()
    {
        var (agent, rec) = Agent("inline:{ {p=\"|cat >/dev/null\"}, {f=/dev/null} }", c =>
        {
            c.CommandDeliverMask = 0;
            c.FileDeliverMask = 0;
        });
        agent.Deliver(Request("p@example.com"), "local");
        agent.Deliver(Request("f@example.com"), "local");
        rec.Lines.ShouldBe([
            "bounced p@example.com 5.7.1 mail to command is restricted",
            "bounced f@example.com 5.7.1 mail to file is restricted",
        ]);
    }

    [Fact]
    public void CommandDeliveryGetsEnvironment()
    {
        var outFile = Path.Combine(dir, "env");
        var (agent, rec) = Agent($"inline:{{ {{c=\"|echo $RECIPIENT $LOCAL $EXTENSION $DOMAIN $SENDER >{outFile}\"}} }}");
        agent.Deliver(Request("c+x@example.com"), "local").ShouldBe(0);
        rec.Lines.ShouldBe([$"sent c+x@example.com 2.0.0 delivered to command: echo $RECIPIENT $LOCAL $EXTENSION $DOMAIN $SENDER >{outFile}"]);
        File.ReadAllText(outFile).ShouldBe("c+x@example.com c+x x example.com sender@example.com\n");
    }

    [Fact]
    public void DuplicatesAreDeliveredOnce()
    {
        var file = Path.Combine(dir, "dup");
        var (agent, rec) = Agent($"inline:{{ {{l=a, b}}, a={file}, b={file} }}");
        agent.Deliver(Request("l@example.com"), "local");
        rec.Lines.Count.ShouldBe(1);
    }

    [Fact]
    public void AliasLoopIsCut()
    {
        var (agent, rec) = Agent("inline:{ a=b, b=a }");
        agent.Deliver(Request("a@example.com"), "local");
        // a -> b -> a -> ...: the nesting limit ends it.
        rec.Lines.ShouldBe(["bounced b 5.4.6 alias database loop for b"]);
    }

    [Fact]
    public void IncludeFile()
    {
        var inc = Path.Combine(dir, "inc");
        var target = Path.Combine(dir, "target");
        File.WriteAllText(inc, $"# comment\n{target}\n");
        var (agent, rec) = Agent($"inline:{{ {{l=:include:{inc}}} }}", c => c.FileDeliverMask = ExpandType.Alias | ExpandType.Include);
        agent.Deliver(Request("l@example.com"), "local");
        rec.Lines.ShouldBe([$"sent l@example.com 2.0.0 delivered to file: {target}"]);
    }

    [Fact]
    public void MailboxTransportAndFallback()
    {
        var (agent, rec) = Agent("inline:{ x=y }", c => c.MailboxTransport = "lmtp:unix:/x");
        agent.Deliver(Request("root@example.com"), "local");
        rec.Lines.ShouldBe(["pass root@example.com lmtp:unix:/x"]);
        var (agent2, rec2) = Agent("inline:{ x=y }", c => c.FallbackTransport = "relay");
        agent2.Deliver(Request("nobody4711@example.com"), "local");
        rec2.Lines.ShouldBe(["pass nobody4711@example.com relay"]);
    }

    [Fact]
    public void SpoolMailboxForRoot()
    {
        MailCopy.Now = () => new DateTime(2026, 1, 2, 3, 4, 5);
        var (agent, rec) = Agent("inline:{ x=y }");
        agent.Deliver(Request("root@example.com"), "local").ShouldBe(0);
        rec.Lines.ShouldBe(["sent root@example.com 2.0.0 delivered to mailbox"]);
        File.ReadAllText(Path.Combine(dir, "root")).ShouldBe(
            "From sender@example.com  Fri Jan  2 03:04:05 2026\nReturn-Path: <sender@example.com>\n" +
            "X-Original-To: root@example.com\nDelivered-To: root@example.com\nSubject: t\n\nbody\n\n");
    }
}
