// NAME
//	QmgrTests - scheduling arithmetic, backoff, queue file reading and marking
using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using Postfix.Daemons.Qmgr;
using Shouldly;
using Xunit;

namespace Postfix.Daemons.Qmgr.Tests;

public class BackoffTests
{
    [Theory]
    [InlineData(1000, 990, 300, 4000, 300)]      // young mail: the minimum
    [InlineData(10000, 9000, 300, 4000, 1000)]   // time in queue
    [InlineData(100000, 1000, 300, 4000, 4000)]  // old mail: the maximum
    [InlineData(1000, 0, 300, 4000, 300)]        // no create time
    public void DeferDelayIsTimeInQueueClamped(long now, long created, int min, int max, int expected) =>
        Backoff.DeferDelay(now, created, min, max).ShouldBe(expected);

    [Fact]
    public void NullSenderExpiresWithBounceQueueLifetime()
    {
        Backoff.Expired(1000 + 86400, 1000, "", 5 * 86400, 86400).ShouldBeTrue();
        Backoff.Expired(1000 + 86400, 1000, "a@b", 5 * 86400, 86400).ShouldBeFalse();
        Backoff.Expired(1000 + 5 * 86400, 1000, "a@b", 5 * 86400, 86400).ShouldBeTrue();
    }

    [Fact]
    public void WarningDueOneSecondEarly()
    {
        Backoff.WarnDue(99, 100).ShouldBeTrue();
        Backoff.WarnDue(98, 100).ShouldBeFalse();
        Backoff.WarnDue(500, -1).ShouldBeFalse();
        Backoff.WarnDue(500, 0).ShouldBeFalse();
    }
}

public class WindowTests
{
    private static DestinationWindow Window(int limit = 20, int initial = 5, double cohorts = 1) =>
        new(limit, initial, Feedback.Parse("1/concurrency", "p"), Feedback.Parse("1/concurrency", "n"), cohorts);

    [Fact]
    public void FeedbackForms()
    {
        Feedback.Parse("1/concurrency", "x").Value(4).ShouldBe(0.25);
        Feedback.Parse("1/sqrt_concurrency", "x").Value(4).ShouldBe(0.5);
        Feedback.Parse("1/8", "x").Value(100).ShouldBe(0.125);
        Feedback.Parse("0.5", "x").Value(100).ShouldBe(0.5);
        Feedback.Parse("3/2", "x").Value(1).ShouldBe(1); // unreasonable: 1
    }

    [Fact]
    public void SlowStartGrowsWhileBusy()
    {
        var w = Window();
        w.Window.ShouldBe(5);
        // With 5 deliveries busy, each success adds 1/window.
        for (var i = 0; i < 5; i++)
            w.Unthrottle(busy: 5);
        w.Window.ShouldBe(6);
    }

    [Fact]
    public void NoGrowthWithoutDemand()
    {
        var w = Window();
        for (var i = 0; i < 50; i++)
            w.Unthrottle(busy: 0);
        w.Window.ShouldBe(5);
    }

    [Fact]
    public void WindowStopsAtTheLimit()
    {
        var w = Window(limit: 2, initial: 2);
        for (var i = 0; i < 100; i++)
            w.Unthrottle(busy: 10);
        w.Window.ShouldBe(2);
    }

    [Fact]
    public void OneFailedCohortKillsTheDestination()
    {
        var w = Window(initial: 1);
        w.Throttle().ShouldBeTrue();
        w.Throttled.ShouldBeTrue();
        w.Ready.ShouldBeFalse();
        w.Unthrottle(busy: 0);
        w.Window.ShouldBe(1);
    }

    [Fact]
    public void FailuresShrinkTheWindowBeforeTheCohortLimit()
    {
        var w = Window(initial: 5, cohorts: 10);
        w.Throttle().ShouldBeFalse();
        w.Window.ShouldBeLessThan(5);
        w.Ready.ShouldBeTrue();
    }

    [Fact]
    public void RecipientSortByQueueThenDomainThenAddress()
    {
        var list = new List<(string? T, string? Q, string A)>
        {
            (null, null, "x@b.example"),
            ("smtp", "b", "z@b.example"),
            ("local", "joe@l", "joe@l"),
            ("smtp", "a", "c@other.example"),
            ("smtp", "a", "a@remote.example"),
        };
        list.Sort((p, q) => RecipientOrder.Compare(p.T, p.Q, p.A, q.T, q.Q, q.A));
        list.ConvertAll(x => x.A).ShouldBe(["joe@l", "c@other.example", "a@remote.example", "z@b.example", "x@b.example"]);
        RecipientOrder.Compare(null, null, "b@x.example", null, null, "a@y.example").ShouldBeLessThan(0);
        RecipientOrder.Compare(null, null, "nodomain", null, null, "a@y.example").ShouldBeGreaterThan(0);
    }
}

public class QueueFileTests
{
    // A queue file as cleanup writes it: size, time, sender, recipients
    // (one already done), message content, extracted part, end.
    private static byte[] Build(out long rcptOffset, out long warnOffset, bool doneFirst = true)
    {
        var ms = new MemoryStream();
        void Rec(char type, string data)
        {
            var b = Encoding.UTF8.GetBytes(data);
            ms.WriteByte((byte)type);
            var len = b.Length;
            do
            {
                var c = len & 0x7f;
                len >>= 7;
                if (len != 0)
                    c |= 0x80;
                ms.WriteByte((byte)c);
            } while (len != 0);
            ms.Write(b);
        }
        var sizeAt = ms.Position;
        Rec('C', new string(' ', 95));
        Rec('T', "1700000000 123456");
        Rec('A', "create_time=1700000000");
        Rec('S', "sender@example.com");
        Rec('A', "log_client_name=client.example");
        warnOffset = ms.Position;
        Rec('W', "     1700003600");
        Rec('O', "orig@example.com");
        Rec(doneFirst ? 'D' : 'R', "done@example.com");
        rcptOffset = ms.Position;
        Rec('n', "2");
        Rec('R', "todo@example.com");
        var dataOffset = ms.Position;
        Rec('M', "");
        Rec('N', "Subject: x");
        Rec('N', "");
        Rec('N', "body");
        var dataSize = ms.Position - dataOffset;
        Rec('X', "");
        Rec('E', "");
        var bytes = ms.ToArray();
        var size = $"{dataSize,15} {dataOffset,15} {2,15} {0,15} {42,15} {0,15}";
        Encoding.ASCII.GetBytes(size).CopyTo(bytes, sizeAt + 2);
        return bytes;
    }

    [Fact]
    public void ReadsEnvelopeAndPendingRecipients()
    {
        var image = Build(out var rcptOffset, out _);
        var m = QueuedMessage.Load(image, "ABC123", "active/ABC123", 0, logOpened: false);
        m.ShouldNotBeNull();
        m.Sender.ShouldBe("sender@example.com");
        m.ArrivalSec.ShouldBe(1700000000);
        m.ArrivalUsec.ShouldBe(123456);
        m.CreateTime.ShouldBe(1700000000);
        m.ContLength.ShouldBe(42);
        m.ClientName.ShouldBe("client.example");
        m.WarnTime.ShouldBe(1700003600);
        m.RewriteContext.ShouldBe("local");
        m.Recipients.Count.ShouldBe(1);
        m.Recipients[0].Address.ShouldBe("todo@example.com");
        m.Recipients[0].DsnNotify.ShouldBe(2);
        // The offset is that of the recipient's own record (after "n").
        m.Recipients[0].Offset.ShouldBeGreaterThan(rcptOffset);
    }

    [Fact]
    public void RecipientsAreReadInBatches()
    {
        var image = Build(out _, out _, doneFirst: false);
        var m = QueuedMessage.Load(image, "ABC123", "active/ABC123", 0, logOpened: false, recipientLimit: 1)!;
        m.Recipients.ConvertAll(r => r.Address).ShouldBe(["done@example.com"]);
        m.RcptOffset.ShouldBeGreaterThan(0);
        m.Reload(image, 1).ShouldBeTrue();
        m.Recipients.ConvertAll(r => r.Address).ShouldBe(["todo@example.com"]);
        m.Reload(image, 1).ShouldBeTrue();
        m.Recipients.Count.ShouldBe(0);
        m.RcptOffset.ShouldBe(0);
    }

    [Fact]
    public void MissingSenderIsRejected()
    {
        var image = Build(out _, out _);
        var i = Array.IndexOf(image, (byte)'S');
        image[i] = (byte)'F'; // the sender record becomes a full-name record
        QueuedMessage.Load(image, "ABC123", "active/ABC123", 0, logOpened: false).ShouldBeNull();
    }

    [Fact]
    public void MarkDoneRewritesTheRecordTypeInPlace()
    {
        var image = Build(out _, out _, doneFirst: false);
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllBytes(path, image);
            var m = QueuedMessage.Load(image, "ABC123", path, 0, logOpened: false)!;
            m.Recipients.Count.ShouldBe(2);
            QueuedMessage.MarkDone(path, m.Recipients[0].Offset);
            var after = File.ReadAllBytes(path);
            after.Length.ShouldBe(image.Length);
            after[m.Recipients[0].Offset].ShouldBe((byte)'D');
            var again = QueuedMessage.Load(after, "ABC123", path, 0, logOpened: false)!;
            again.Recipients.Count.ShouldBe(1);
            again.Recipients[0].Address.ShouldBe("todo@example.com");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void ClearWarningKeepsTheRecordLength()
    {
        var image = Build(out _, out var warnOffset);
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllBytes(path, image);
            var m = QueuedMessage.Load(image, "ABC123", path, 0, logOpened: false)!;
            m.WarnOffset.ShouldBe(warnOffset);
            m.ClearWarning();
            var after = File.ReadAllBytes(path);
            after.Length.ShouldBe(image.Length);
            QueuedMessage.Load(after, "ABC123", path, 0, logOpened: false)!.WarnTime.ShouldBe(-1);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void MsgStatsLayout()
    {
        var b = AgentClient.MsgStats(1700000000, 5, 1700000001, 6);
        b.Length.ShouldBe(88);
        BitConverter.ToInt64(b, 0).ShouldBe(1700000000);
        BitConverter.ToInt64(b, 8).ShouldBe(5);
        BitConverter.ToInt64(b, 16).ShouldBe(1700000001);
        BitConverter.ToInt64(b, 24).ShouldBe(6);
        BitConverter.ToInt64(b, 32).ShouldBe(0);
    }
}

// PreemptionTests - the preemptive scheduler's choice of entries: a message
// with 20 one-recipient entries and three one-entry messages that arrive
// after its first delivery, on a transport with the default slot settings.
public class PreemptionTests
{
    private static Scheduler NewScheduler(bool fifo)
    {
        var dir = Directory.CreateTempSubdirectory("qmgr-test").FullName;
        File.WriteAllText(Path.Combine(dir, "main.cf"), "");
        var conf = Postfix.Global.Config.MailConf.Read(dir);
        return new Scheduler(QmgrConfig.FromConf(conf), new Postfix.Global.Queue.MailQueue()) { Fifo = fifo };
    }

    private static Transport NewTransport() => new()
    {
        Name = "slow",
        DestConcurrencyLimit = 20,
        InitConcurrency = 5,
        RecipientLimit = 1,
        Positive = Feedback.Parse("1/concurrency", "p"),
        Negative = Feedback.Parse("1/concurrency", "n"),
        FailCohortLimit = 1,
        SlotCost = 5,
        SlotLoan = 3,
        SlotLoanFactor = 50,
        MinSlots = 3,
    };

    private static DestQueue NewQueue(Transport t, string name)
    {
        var q = new DestQueue
        {
            Transport = t,
            Name = name,
            Nexthop = name,
            Window = new DestinationWindow(20, 5, t.Positive, t.Negative, 1),
        };
        t.Queues[name] = q;
        t.Order.Add(q);
        return q;
    }

    private static List<string> Order(bool fifo)
    {
        var s = NewScheduler(fifo);
        var t = NewTransport();
        var big = new QueuedMessage { QueueId = "BIG" };
        big.ActiveSec = DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 10;
        for (var i = 1; i <= 20; i++)
            s.NewEntry(big, NewQueue(t, $"b{i:D2}"));
        var order = new List<string> { s.SelectEntry(t)!.Queue.Name };
        for (var i = 1; i <= 3; i++)
        {
            var small = new QueuedMessage { QueueId = $"SMALL{i}" };
            small.ActiveSec = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            s.NewEntry(small, NewQueue(t, $"s{i}"));
        }
        Entry? e;
        while ((e = s.SelectEntry(t)) != null)
            order.Add(e.Queue.Name);
        return order;
    }

    [Fact]
    public void SmallMessagesOvertakeOneEveryFiveDeliveries()
    {
        string.Join(" ", Order(fifo: false)).ShouldBe(
            "b01 s1 b02 b03 b04 b05 b06 s2 b07 b08 b09 b10 b11 s3 b12 b13 b14 b15 b16 b17 b18 b19 b20");
    }

    [Fact]
    public void OqmgrServesDestinationsInTurn()
    {
        string.Join(" ", Order(fifo: true)).ShouldBe(
            "b01 b02 b03 b04 b05 b06 b07 b08 b09 b10 b11 b12 b13 b14 b15 b16 b17 b18 b19 b20 s1 s2 s3");
    }

    [Fact]
    public void NoPreemptionBelowTheMinimumSize()
    {
        var s = NewScheduler(false);
        var t = NewTransport();
        var big = new QueuedMessage { QueueId = "BIG" };
        big.ActiveSec = DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 10;
        for (var i = 1; i <= 14; i++)      // fewer than 3 * 5 entries
            s.NewEntry(big, NewQueue(t, $"b{i:D2}"));
        s.SelectEntry(t)!.Queue.Name.ShouldBe("b01");
        var small = new QueuedMessage { QueueId = "SMALL" };
        small.ActiveSec = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        s.NewEntry(small, NewQueue(t, "s1"));
        s.SelectEntry(t)!.Queue.Name.ShouldBe("b02");
    }
}
