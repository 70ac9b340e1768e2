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
    public void UnreadCountFollowsTheBatches()
    {
        var image = Build(out _, out _, doneFirst: false);
        var m = QueuedMessage.Load(image, "ABC123", "active/ABC123", 0, logOpened: false, recipientLimit: 1)!;
        m.RcptUnread.ShouldBe(1);
        m.Reload(image, 5).ShouldBeTrue();
        m.Recipients.Count.ShouldBe(1);
        m.RcptUnread.ShouldBe(0);
        m.RcptOffset.ShouldBe(0);
    }

    [Fact]
    public void UnreadableRefillLeavesTheMessageAsItWas()
    {
        var image = Build(out _, out _, doneFirst: false);
        var m = QueuedMessage.Load(image, "ABC123", "active/ABC123", 0, logOpened: false, recipientLimit: 1)!;
        var offset = m.RcptOffset;
        var truncated = image[..(int)offset];
        m.Reload(truncated, 1).ShouldBeFalse();
        m.RcptOffset.ShouldBe(offset);
        m.RcptUnread.ShouldBe(1);
        m.Recipients.Count.ShouldBe(0);
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

    internal static DestQueue NewQueue(Transport t, string name)
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

// RecipientSlotTests - the per-transport recipient slots: how a transport's
// recipient_limit is shared among jobs, the extra slots of a preempting job,
// and how recipients read later join the entries still waiting.
public class RecipientSlotTests
{
    private static Scheduler NewScheduler()
    {
        var dir = Directory.CreateTempSubdirectory("qmgr-test").FullName;
        File.WriteAllText(Path.Combine(dir, "main.cf"), "");
        var conf = Postfix.Global.Config.MailConf.Read(dir);
        return new Scheduler(QmgrConfig.FromConf(conf), new Postfix.Global.Queue.MailQueue());
    }

    private static Transport NewTransport(int recipientsPerDelivery, int slots, int extra, string name = "t") => new()
    {
        Name = name,
        DestConcurrencyLimit = 20,
        InitConcurrency = 5,
        RecipientLimit = recipientsPerDelivery,
        Positive = Feedback.Parse("1/concurrency", "p"),
        Negative = Feedback.Parse("1/concurrency", "n"),
        FailCohortLimit = 1,
        SlotCost = 5,
        SlotLoan = 3,
        SlotLoanFactor = 50,
        MinSlots = 3,
        RcptUnused = slots,
        RcptPerStack = extra,
        RefillLimit = 100,
        RefillDelay = 5,
    };

    private static DestQueue NewQueue(Transport t, string name) => PreemptionTests.NewQueue(t, name);

    // A message with more recipients in its file (RcptOffset != 0) and
    // qmgr_message_recipient_minimum = 1.
    private static QueuedMessage NewMessage(string id, long activeSec, int unread) =>
        new()
        {
            QueueId = id, Path = "/nonexistent/qmgr-test/" + id,
            ActiveSec = activeSec, RcptOffset = 100, RcptUnread = unread, RcptLimit = 1,
            RefillTime = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
        };

    private static void Read(Scheduler s, QueuedMessage m, DestQueue q, params string[] addresses)
    {
        foreach (var a in addresses)
        {
            var r = new QueuedRecipient(0, "", 0, "", a);
            m.Recipients.Add(r);
            s.assignment[r] = q;
        }
        s.Assign(m);
    }

    private static string Entries(DestQueue q) =>
        string.Join(" | ", System.Linq.Enumerable.Select(q.Todo, e => string.Join(" ", e.Recipients.ConvertAll(r => r.Address))));

    [Fact]
    public void LaterRecipientsJoinTheEntryStillWaiting()
    {
        var s = NewScheduler();
        var t = NewTransport(recipientsPerDelivery: 3, slots: 20000, extra: 1000);
        var q = NewQueue(t, "d");
        var m = NewMessage("M", 1000, 25);
        Read(s, m, q, "a1", "a2", "a3", "a4", "a5");
        Entries(q).ShouldBe("a1 a2 a3 | a4 a5");
        m.RcptUnread = 0;
        m.RcptOffset = 0;
        s.SelectEntry(t)!.Recipients.Count.ShouldBe(3);
        Read(s, m, q, "b1", "b2", "b3", "b4");
        Entries(q).ShouldBe("a4 a5 b1 | b2 b3 b4");
        m.RcptCount.ShouldBe(9);
    }

    [Fact]
    public void TheFirstJobTakesTheTransportSlotsAndPassesOnWhatItDoesNotUse()
    {
        var s = NewScheduler();
        var t = NewTransport(recipientsPerDelivery: 1, slots: 4, extra: 0);
        var q = NewQueue(t, "d");
        var big = NewMessage("BIG", 1000, 25);
        Read(s, big, q, "a1", "a2", "a3", "a4", "a5");
        var bigJob = big.Jobs[0];
        bigJob.RcptLimit.ShouldBe(4);
        big.RcptLimit.ShouldBe(5);
        t.RcptUnused.ShouldBe(0);
        var small = NewMessage("SMALL", 1001, 2);
        Read(s, small, q, "b3");
        small.Jobs[0].RcptLimit.ShouldBe(0);
        t.JobNextUnread.ShouldBe(bigJob);
        // The big message is read completely and two recipients are done:
        // its job's free slots go to the small message's job.
        big.RcptOffset = 0;
        for (var i = 0; i < 2; i++)
        {
            var e = s.SelectEntry(t)!;
            e.Message.ShouldBe(big);
            s.EntryDone(e);
        }
        // Four slots granted, three in use: one is passed on.
        bigJob.RcptLimit.ShouldBe(3);
        big.RcptLimit.ShouldBe(4);
        small.Jobs[0].RcptLimit.ShouldBe(1);
        small.RcptLimit.ShouldBe(2);
        t.JobNextUnread.ShouldBe(small.Jobs[0]);
    }

    [Fact]
    public void APreemptingJobNotReadCompletelyGetsExtraSlots()
    {
        foreach (var (extra, expected) in new[] { (6, 3), (0, 0) })
        {
            var s = NewScheduler();
            var t = NewTransport(recipientsPerDelivery: 1, slots: 4, extra: extra);
            var big = NewMessage("BIG", 1000, 0);
            for (var i = 1; i <= 20; i++)
                Read(s, big, NewQueue(t, $"a{i:D2}"), $"a{i:D2}");
            big.RcptOffset = 0;
            var small = NewMessage("SMALL", 1001, 2);
            Read(s, small, NewQueue(t, "b3"), "b3");
            s.SelectEntry(t)!.Message.ShouldBe(big);
            // The small message (3 entries at most) needs 15 slots of the
            // big one: preempted at once thanks to the slot loan.
            var e = s.SelectEntry(t)!;
            e.Message.ShouldBe(small);
            small.Jobs[0].RcptLimit.ShouldBe(expected);
            small.RcptLimit.ShouldBe(1 + expected);
            t.RcptUnused.ShouldBe(-expected);
        }
    }

    [Fact]
    public void ARetiredJobGivesBackItsSlotsWhenItsRecipientsAreDone()
    {
        var s = NewScheduler();
        var t1 = NewTransport(recipientsPerDelivery: 1, slots: 10, extra: 0, name: "t1");
        var t2 = NewTransport(recipientsPerDelivery: 1, slots: 10, extra: 0, name: "t2");
        var q1 = NewQueue(t1, "d1");
        var q2 = NewQueue(t2, "d2");
        var m = NewMessage("M", 1000, 10);
        Read(s, m, q1, "a1", "a2");
        Read(s, m, q2, "b1");
        var (j1, j2) = (m.Jobs[0], m.Jobs[1]);
        (j1.RcptLimit, j2.RcptLimit, m.RcptLimit).ShouldBe((10, 10, 21));
        var b1 = s.SelectEntry(t2)!;
        // Nothing more for t2 in memory and the file cannot be read: the
        // job retires and keeps only the slot its recipient still uses.
        s.SelectEntry(t2).ShouldBeNull();
        (j2.RcptLimit, t2.RcptUnused, m.RcptLimit).ShouldBe((1, 9, 12));
        s.EntryDone(b1);
        j2.RcptLimit.ShouldBe(1);
        // Another job's recipient is done: the retired job's last slot goes back.
        s.EntryDone(s.SelectEntry(t1)!);
        (j2.RcptLimit, t2.RcptUnused, m.RcptLimit, j1.RcptLimit).ShouldBe((0, 10, 11, 10));
    }
}
