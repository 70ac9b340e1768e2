// NAME
//	DiscardTests - discard(8) delivery of a request
// DESCRIPTION
//	A scratch queue file with two recipient records; the discard agent
//	reports both as sent and marks them done (only when the request
//	asks for successful recipients to be deleted).
using System;
using System.IO;
using System.Text;
using Postfix.Daemons.Discard;
using Postfix.Global.Deliver;
using Postfix.Util;
using Shouldly;
using Xunit;

namespace Postfix.Daemons.Discard.Tests;

public sealed class DiscardTests : IDisposable
{
    private const string Id = "4A5B6C7D8E";
    private readonly DirectoryInfo dir = Directory.CreateTempSubdirectory("discard");
    private readonly TextWriter savedErr = Msg.Err;
    private readonly StringWriter err = new();

    public DiscardTests()
    {
        Directory.CreateDirectory(Path.Combine(dir.FullName, "active"));
        File.WriteAllBytes(QueueFile, Encoding.ASCII.GetBytes("C\u0001xR\u0003a@bR\u0003c@dE\0"));
        DeliverConfig.QueueDirectory = dir.FullName;
        Msg.Err = err;
    }

    private string QueueFile => Path.Combine(dir.FullName, "active", Id);

    public void Dispose()
    {
        Msg.Err = savedErr;
        DeliverConfig.QueueDirectory = null;
        dir.Delete(true);
    }

    private static DeliverRequest Request(int flags, string nexthop) => new()
    {
        Flags = flags,
        QueueName = "active",
        QueueId = Id,
        Nexthop = nexthop,
        Sender = "s@x",
        Stats = new MsgStats { IncomingArrival = TimeVal.Now(), ActiveArrival = TimeVal.Now() },
        Recipients = { new Recipient("", "a@b", 3, "", 0), new Recipient("orig@x", "c@d", 8, "", 0) },
    };

    [Fact]
    public void AllRecipientsAreSentAndMarkedDone()
    {
        Discard.DeliverMessage(Request(DelReqFlags.Deflt, "silently")).ShouldBe(0);
        var bytes = File.ReadAllBytes(QueueFile);
        ((char)bytes[3]).ShouldBe('D');
        ((char)bytes[8]).ShouldBe('D');
        var log = err.ToString();
        log.ShouldContain($"{Id}: to=<a@b>, relay=none, delay=");
        log.ShouldContain(", dsn=2.0.0, status=sent (silently)");
        log.ShouldContain($"{Id}: to=<c@d>, orig_to=<orig@x>, relay=none,");
    }

    [Fact]
    public void StatusCodeInTheNexthop()
    {
        Discard.DeliverMessage(Request(DelReqFlags.Deflt, "2.7.1 dropped")).ShouldBe(0);
        err.ToString().ShouldContain(", dsn=2.7.1, status=sent (dropped)");
    }

    [Fact]
    public void WithoutTheSuccessFlagNothingIsMarked()
    {
        Discard.DeliverMessage(Request(0, "x")).ShouldBe(0);
        var bytes = File.ReadAllBytes(QueueFile);
        ((char)bytes[3]).ShouldBe('R');
        ((char)bytes[8]).ShouldBe('R');
    }

    [Fact]
    public void EmptyNexthopIsFatal()
    {
        Should.Throw<FatalException>(() => Discard.DeliverMessage(Request(DelReqFlags.Deflt, "")));
        err.ToString().ShouldContain("fatal: empty nexthop hostname");
    }
}
