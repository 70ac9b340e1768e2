// NAME
//	Scheduler - the queue manager's state machine
// POSTFIX
//	src/qmgr/qmgr.c (qmgr_loop, qmgr_trigger_event), qmgr_scan.c,
//	qmgr_active.c, qmgr_message.c (resolve and assign), qmgr_transport.c,
//	qmgr_queue.c, qmgr_entry.c, qmgr_deliver.c, qmgr_defer.c, qmgr_error.c,
//	qmgr_move.c, qmgr_enable.c
// DESCRIPTION
//	One event loop owns all queue manager state. It alternates between the
//	incoming and deferred queue scans (one message per turn, while the
//	active queue has room), moves each message into the active queue,
//	resolves its recipients and groups them per transport and next-hop
//	destination, and starts deliveries within the concurrency windows.
//	Each delivery is a connection to a delivery agent that the loop
//	waits on with the fifo (AgentConnections); its outcome is handled
//	here, as the reference's event handlers handle the agent's reply.
//	Triggers from the fifo, timers (deferred queue runs, the end of a
//	destination's or transport's dead time) and agent replies all run
//	on the trigger server's one thread.
using System;
using System.Collections.Generic;
using System.IO;
using Postfix.Global.Attr;
using Postfix.Global.Queue;
using Postfix.Server;
using Postfix.Util;

namespace Postfix.Daemons.Qmgr;

internal sealed class DeliveryWork
{
    public int Flags;
    public string QueueName = "";
    public string QueueId = "";
    public long DataOffset;
    public long ContLength;
    public string Nexthop = "";
    public string Encoding = "";
    public int SmtpUtf8;
    public string Sender = "";
    public string DsnEnvid = "";
    public int DsnRet;
    public long ArrivalSec, ArrivalUsec, ActiveSec, ActiveUsec;
    public string ClientName = "", ClientAddr = "", ClientPort = "", ClientProto = "", ClientHelo = "";
    public string SaslMethod = "", SaslUsername = "", SaslSender = "", LogIdent = "", RewriteContext = "";
    public List<QueuedRecipient> Recipients = new();
}

internal sealed class Transport
{
    public required string Name;
    public required int DestConcurrencyLimit;
    public required int InitConcurrency;
    public required int RecipientLimit;
    public required Feedback Positive;
    public required Feedback Negative;
    public required double FailCohortLimit;
    // transport_rate_delay: seconds between one delivery's start and the
    // next; RateLock holds the transport from the agent's allocation until
    // the delivery's outcome. destination_rate_delay: a destination rests
    // this long after each delivery (its concurrency is then 1).
    public int XportRateDelay;
    public int RateDelay;
    public bool RateLock;
    public readonly Dictionary<string, DestQueue> Queues = new(StringComparer.Ordinal);
    public readonly List<DestQueue> Order = new();
    public int Next;
    public int Busy;
    public int Pending;
    // The preemptive scheduler's state (Jobs.cs).
    public readonly LinkedList<Job> JobList = new();
    public readonly Dictionary<QueuedMessage, Job> JobByMessage = new(ReferenceEqualityComparer.Instance);
    public Job? JobCurrent;
    public Job? CandidateCache;
    public Job? CandidateCacheCurrent;
    public long CandidateCacheTime;
    public int BlockerTag = 1;
    public int SlotCost;
    public int SlotLoan;
    public int SlotLoanFactor;
    public int MinSlots;
    // Recipient slots (Jobs.cs): free ones (transport_recipient_limit at
    // first; below zero while preempting jobs use extra ones), the extra
    // ones for preempting jobs, and when a message is read further.
    public int RcptUnused;
    public int RcptPerStack;
    public int RefillLimit = 1;
    public int RefillDelay = 1;
    public readonly LinkedList<Job> JobByTime = new();
    public Job? JobNextUnread;
    public (string Status, string Reason)? DeadReason;
    public long DeadUntilMs;
    public bool Dead => DeadReason != null;
}

internal sealed class DestQueue
{
    public required Transport Transport;
    public required string Name;
    public required string Nexthop;
    public required DestinationWindow Window;
    public int Busy;
    public readonly LinkedList<Entry> Todo = new();
    public (string Status, string Reason)? DeadReason;
    public long DeadUntilMs;
    // Suspended - resting for destination_rate_delay (qmgr_queue_suspend);
    // ResumeKey names its timer.
    public bool Suspended;
    public int BlockerTag;
    public readonly object ResumeKey = new();
    // DFlags - the connection-cache request flags (CONN_LOAD, CONN_STORE)
    // of on-demand caching; LastDoneSec - when a delivery last ended
    // (back-to-back deliveries turn caching on).
    public int DFlags;
    public long LastDoneSec;
    // ClogTimeToWarn - when a full-queue warning may come again.
    public long ClogTimeToWarn;
}

// RecipientOrder - the comparison of qmgr_message_sort_compare().
internal static class RecipientOrder
{
    public static int Compare(string? transport1, string? queue1, string address1, string? transport2, string? queue2, string address2)
    {
        if (queue1 != null && queue2 == null)
            return -1;
        if (queue1 == null && queue2 != null)
            return 1;
        if (queue1 != null && queue2 != null)
        {
            var r = string.CompareOrdinal(transport1, transport2);
            if (r != 0)
                return Math.Sign(r);
            r = string.CompareOrdinal(queue1, queue2);
            if (r != 0)
                return Math.Sign(r);
        }
        var at1 = address1.LastIndexOf('@');
        var at2 = address2.LastIndexOf('@');
        if (at1 < 0 && at2 >= 0)
            return 1;
        if (at1 >= 0 && at2 < 0)
            return -1;
        if (at1 >= 0 && at2 >= 0)
        {
            var r = string.Compare(address1[at1..], address2[at2..], StringComparison.OrdinalIgnoreCase);
            if (r != 0)
                return Math.Sign(r);
        }
        return Math.Sign(string.CompareOrdinal(address1, address2));
    }
}

internal sealed class Entry
{
    public required QueuedMessage Message;
    public required DestQueue Queue;
    public readonly List<QueuedRecipient> Recipients = new();
    public Peer? Peer;
    public LinkedListNode<Entry>? PeerNode;
    public LinkedListNode<Entry>? TodoNode;
}

internal sealed partial class Scheduler
{
    // Scan flags (qmgr.h).
    public const int ScanStart = 1 << 0;
    public const int ScanAll = 1 << 1;
    public const int FlushOnce = 1 << 2;
    public const int FlushDfxp = 1 << 3;
    public const int FlushEach = 1 << 4;
    public const int ForceExpire = 1 << 5;

    private const int StatDefer = 1;

    private const string ServiceRetry = "retry";
    private const string ServiceError = "error";

    private readonly QmgrConfig config;
    private readonly MailQueue mailQueue;
    private readonly QueueScan incoming;
    private readonly QueueScan deferred;
    private readonly List<(long Due, object Key, Action Run)> timers = new();
    private readonly Dictionary<string, Transport> transports = new(StringComparer.Ordinal);
    private readonly List<Transport> transportList = new();
    private readonly Dictionary<string, QueuedMessage> active = new(StringComparer.Ordinal);
    private ResolveClient? resolver;
    private RewriteClient? rewriter;
    private int firstScan;
    private readonly AgentConnections agents;

    public Scheduler(QmgrConfig config, MailQueue mailQueue)
    {
        this.config = config;
        this.mailQueue = mailQueue;
        incoming = new QueueScan(MailQueue.Incoming);
        deferred = new QueueScan(MailQueue.Deferred);
        agents = new AgentConnections(config.DaemonTimeout)
        {
            Announced = AgentAnnounced,
            Replied = AgentReplied,
        };
    }

    public int ActiveCount => active.Count;

    // Start - qmgr_post_init(): left-over active mail goes back to the
    // incoming queue, both scans begin, the deferred queue run timer starts.
    // The trigger server's loop then calls Loop() before each wait, as the
    // reference's event loop calls qmgr_loop().
    public void Start()
    {
        resolver = new ResolveClient(null);
        rewriter = new RewriteClient(null);
        MoveQueue(MailQueue.Active, MailQueue.Incoming, DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        incoming.Request(ScanStart, EnableAll);
        DeferredRunEvent();
    }

    // Trigger - qmgr_trigger_event(): collapse the request characters.
    public void Trigger(ReadOnlySpan<byte> request)
    {
        var incomingFlags = 0;
        var deferredFlags = 0;
        foreach (var b in request)
        {
            if (Msg.Verbose > 0)
                Msg.Info($"request: {b} ({(char.IsAsciiLetterOrDigit((char)b) ? (char)b : '?')})");
            switch (b)
            {
                case MailProto.TriggerReqWakeup:
                case MailProto.QmgrReqScanIncoming:
                    incomingFlags |= ScanStart;
                    break;
                case MailProto.QmgrReqScanDeferred:
                    deferredFlags |= ScanStart;
                    break;
                case MailProto.QmgrReqFlushDead:
                    incomingFlags |= FlushOnce | FlushDfxp;
                    deferredFlags |= FlushOnce | FlushDfxp;
                    break;
                case MailProto.QmgrReqScanAll:
                    incomingFlags |= ScanAll;
                    deferredFlags |= ScanAll;
                    break;
                default:
                    if (Msg.Verbose > 0)
                        Msg.Info("request ignored");
                    break;
            }
        }
        if (incomingFlags != 0)
            incoming.Request(incomingFlags, EnableAll);
        if (deferredFlags != 0)
            deferred.Request(deferredFlags, EnableAll);
    }

    private void DeferredRunEvent()
    {
        deferred.Request(ScanStart, EnableAll);
        AddTimer(config.QueueRunDelay, "deferred-run", DeferredRunEvent);
    }

    private void AddTimer(int seconds, object key, Action run)
    {
        timers.RemoveAll(t => ReferenceEquals(t.Key, key) || (key is string s && t.Key is string k && k == s));
        timers.Add((Environment.TickCount64 + seconds * 1000L, key, run));
    }

    private void CancelTimer(object key) => timers.RemoveAll(t => ReferenceEquals(t.Key, key));

    // Loop - qmgr_loop() with the timers of the event loop around it: due
    // timers and agent watchdogs, queued outcomes, deliveries, then one
    // queue file. Returns the longest wait in seconds: 0 while the scans
    // have files, else until the next timer (-1: none).
    public int Loop()
    {
        RunTimers();
        agents.CheckDeadlines();
        RunLater();
        Drain();
        var gotPath = FeedOne(out var fed, out var lastScan);
        FlowControl(fed, lastScan);
        if (gotPath || later.Count > 0)
            return 0;
        var wait = agents.NextDeadline();
        foreach (var t in timers)
        {
            if (wait < 0 || t.Due < wait)
                wait = t.Due;
        }
        if (wait < 0)
            return -1;
        var ms = Math.Max(0, wait - Environment.TickCount64);
        return (int)Math.Min(int.MaxValue, (ms + 999) / 1000);
    }

    // WatchFds / FdReady - the delivery-agent connections the loop waits on.
    public IReadOnlyList<int> WatchFds => agents.Fds;

    public void FdReady(int fd) => agents.Ready(fd);

    // Later - work that must not run inside Drain() (it changes the
    // transport and queue tables that Drain() walks).
    private readonly List<Action> later = new();

    private void RunLater()
    {
        for (var i = 0; i < later.Count; i++)
            later[i]();
        later.Clear();
    }

    private void RunTimers()
    {
        var now = Environment.TickCount64;
        for (var i = 0; i < timers.Count;)
        {
            if (timers[i].Due <= now)
            {
                var run = timers[i].Run;
                timers.RemoveAt(i);
                run();
                i = 0;
                continue;
            }
            i++;
        }
    }

    // FeedOne - one queue file from the scans (round robin between the
    // incoming and deferred queues); false when both have nothing.
    private bool FeedOne(out bool fed, out int last)
    {
        var scans = new[] { incoming, deferred };
        last = firstScan;
        fed = false;
        var gotPath = false;
        for (var i = 0; HasRoom() && i < scans.Length; i++)
        {
            last = (i + firstScan) % scans.Length;
            var id = scans[last].Next();
            if (id != null)
            {
                gotPath = true;
                if (fed = Feed(scans[last], id))
                    break;
            }
        }
        if (HasRoom())
            firstScan = (last + 1) % scans.Length;
        else
            firstScan = 0;
        return gotPath;
    }

    // HasRoom - whether the active queue takes another message: fewer than
    // qmgr_message_active_limit messages, and for oqmgr also fewer than
    // qmgr_message_recipient_limit recipients in memory.
    private bool HasRoom() =>
        active.Count < config.ActiveLimit && (!Fifo || inCoreRecipients < config.RecipientLimit);

    // FlowControl - the global flow control of qmgr_loop(): a mail flow
    // token for each message taken from the incoming queue (and a full
    // supply when that queue is drained), so that receiving servers with
    // in_flow_delay slow down only when they get ahead of the queue manager.
    private void FlowControl(bool fed, int lastScan)
    {
        if (config.InFlowDelay <= 0 || !MailFlow.Enabled)
            return;
        var tokens = MailFlow.Count();
        if (tokens < 0)
            return;
        if (tokens < config.ProcessLimit)
        {
            if (fed && lastScan == 0)
                MailFlow.Put(1);
            else if (!incoming.Scanning)
                MailFlow.Put(config.ProcessLimit - tokens);
        }
        else if (tokens > config.ProcessLimit)
        {
            MailFlow.Get(tokens - config.ProcessLimit);
        }
    }

    // Feed - qmgr_active_feed(): one queue file into the active queue.
    private bool Feed(QueueScan scan, string queueId)
    {
        if (!MailOpenOk.Check(mailQueue, scan.Queue, queueId, out var st, out var path))
            return false;
        var nowSec = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        if ((scan.Flags & ScanAll) == 0 && st.MTime > nowSec + 1)
        {
            if (Msg.Verbose > 0)
                Msg.Info($"qmgr_active_feed: skip {queueId} ({st.MTime - nowSec} seconds)");
            return false;
        }
        if (!Rename(queueId, scan.Queue, MailQueue.Active, out var errno))
        {
            if (errno != Sys.ENOENT)
                Msg.Fatal($"qmgr_active_feed: {queueId}: rename from {scan.Queue} to {MailQueue.Active}: {Sys.StrError(errno)}");
            Msg.Warn($"qmgr_active_feed: {queueId}: rename from {scan.Queue} to {MailQueue.Active}: {Sys.StrError(errno)}");
            return false;
        }
        var flags = scan.Flags;
        if ((st.Mode & MailQueue.StatUnthrottle) != 0)
            flags |= FlushEach | FlushDfxp;
        if ((st.Mode & MailQueue.StatExpire) != 0)
            flags |= ForceExpire;
        var activePath = mailQueue.Path(MailQueue.Active, queueId);
        if ((st.Mode & MailQueue.StatUnthrottle) != 0)
            Sys.Chmod(activePath, (int)(st.Mode & 0xfff & ~MailQueue.StatUnthrottle));
        byte[] image;
        FileStream file;
        try
        {
            file = new FileStream(activePath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            var en = Sys.ErrnoOf(e);
            if (en != Sys.ENOENT)
                Msg.Fatal($"open {activePath}: {Sys.StrError(en)}");
            Msg.Warn($"open {activePath}: {Sys.StrError(en)}");
            return false;
        }
        using (file)
        {
            // A delivery agent of a previous queue manager may still hold it.
            if (Sys.Flock((int)file.SafeFileHandle.DangerousGetHandle(), Sys.LOCK_EX | Sys.LOCK_NB) < 0)
            {
                Msg.Info($"{queueId}: skipped, still being delivered");
                file.Dispose();
                DeferFile(MailQueue.Active, queueId, MailQueue.Incoming, 60);
                return false;
            }
            image = new byte[file.Length];
            file.ReadExactly(image);
        }
        var firstLimit = RecipientBudget();
        if (Msg.Verbose > 0)
            Msg.Info($"{queueId}: recipient limit {firstLimit}");
        var message = QueuedMessage.Load(image, queueId, activePath, flags, recipientLimit: firstLimit);
        if (message == null)
        {
            Corrupt(queueId);
            return false;
        }
        message.RcptLimit = config.RecipientMinimum;
        message.RefillTime = Now();
        var now = DateTimeOffset.UtcNow;
        message.ActiveSec = now.ToUnixTimeSeconds();
        message.ActiveUsec = now.Millisecond * 1000L + now.Microsecond;
        active[queueId] = message;
        var deferLog = mailQueue.Path(MailQueue.Defer, queueId);
        if ((flags & ForceExpire) != 0 && Sys.Stat(deferLog, out var dst) && dst.Size > 0)
        {
            message.Flags = StatDefer;
            message.Recipients.Clear();
            ActiveDone(message);
            return true;
        }
        if (Sys.Unlink(deferLog) != 0 && System.Runtime.InteropServices.Marshal.GetLastPInvokeError() != Sys.ENOENT)
            Msg.Fatal($"qmgr_message_alloc: {queueId}: remove {MailQueue.Defer} {queueId}: {Sys.LastError()}");
        ResolveAndAssign(message);
        if (message.RefCount == 0)
            ActiveDone(message);
        return true;
    }

    // ResolveAndAssign - the recipients just read: resolved, assigned to
    // their destinations and jobs; a message read to its end gives back
    // the recipient slots its jobs do not use.
    private void ResolveAndAssign(QueuedMessage message)
    {
        SortRecipients(message);
        Resolve(message);
        SortRecipients(message);
        Assign(message);
        if (!Fifo && message.RcptOffset == 0)
            MoveLimits(message);
    }

    // MoveLimits - qmgr_message_move_limits(): a message read completely
    // gives back the slots its jobs do not use.
    private static void MoveLimits(QueuedMessage message)
    {
        foreach (var job in message.Jobs)
            MoveLimits(job);
    }

    // RecipientBudget - how many recipients the first read of a message
    // may take in: what is left of qmgr_message_recipient_limit, at least
    // qmgr_message_recipient_minimum, at most 5000. oqmgr: each read takes
    // up to qmgr_fudge_factor percent of qmgr_message_recipient_limit.
    private int RecipientBudget() => Fifo
        ? Math.Max(1, (int)Math.Ceiling(config.RecipientLimit * (config.FudgeFactor / 100.0)))
        : Math.Min(5000, Math.Max(config.RecipientLimit - inCoreRecipients, config.RecipientMinimum));

    // RefillBudget - a further read: the message's free recipient slots
    // (oqmgr: as a first read), at most 5000.
    private int RefillBudget(QueuedMessage message) =>
        Fifo ? RecipientBudget() : Math.Clamp(message.RcptLimit - message.RcptCount, 1, 5000);

    // Realloc - qmgr_message_realloc(): the next recipients of a message
    // from its queue file, resolved and assigned; false when the file can
    // no longer be read (the message is left as it was).
    private bool Realloc(QueuedMessage message)
    {
        if (Msg.Verbose > 0)
            Msg.Info($"qmgr_message_realloc: {message.QueueName} {message.QueueId} offset {message.RcptOffset}");
        byte[] image;
        try
        {
            image = File.ReadAllBytes(message.Path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
        var limit = RefillBudget(message);
        if (Msg.Verbose > 0)
            Msg.Info($"{message.QueueId}: recipient limit {limit}");
        if (image.Length == 0 || !message.Reload(image, limit))
            return false;
        message.RefillTime = Now();
        ResolveAndAssign(message);
        return true;
    }

    private int inCoreRecipients;

    private bool Rename(string queueId, string from, string to, out int errno)
    {
        errno = 0;
        var oldPath = mailQueue.Path(from, queueId);
        var newPath = mailQueue.Path(to, queueId);
        if (Sys.Rename(oldPath, newPath) == 0)
            return true;
        errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
        if (errno == Sys.ENOENT && File.Exists(oldPath) && MailQueue.MakeDirs(newPath) && Sys.Rename(oldPath, newPath) == 0)
            return true;
        if (errno == Sys.ENOENT)
            errno = Sys.ENOENT;
        return false;
    }

    // SortRecipients - qmgr_message_sort(): by transport and destination
    // queue (once resolved), then domain, then address.
    private void SortRecipients(QueuedMessage message)
    {
        var indexed = new List<(QueuedRecipient R, int I)>(message.Recipients.Count);
        for (var i = 0; i < message.Recipients.Count; i++)
            indexed.Add((message.Recipients[i], i));
        indexed.Sort((a, b) =>
        {
            var c = CompareRecipients(a.R, b.R);
            return c != 0 ? c : a.I.CompareTo(b.I);
        });
        for (var i = 0; i < indexed.Count; i++)
            message.Recipients[i] = indexed[i].R;
    }

    internal int CompareRecipients(QueuedRecipient r1, QueuedRecipient r2)
    {
        assignment.TryGetValue(r1, out var q1);
        assignment.TryGetValue(r2, out var q2);
        return RecipientOrder.Compare(q1?.Transport.Name, q1?.Name, r1.Address, q2?.Transport.Name, q2?.Name, r2.Address);
    }

    // DeferFile - qmgr_active_defer(): time stamps ahead, into another queue.
    private void DeferFile(string from, string queueId, string to, int delay)
    {
        var path = mailQueue.Path(from, queueId);
        if (Sys.Utime(path, DateTimeOffset.UtcNow.ToUnixTimeSeconds() + delay) < 0
            && System.Runtime.InteropServices.Marshal.GetLastPInvokeError() != Sys.ENOENT)
            Msg.Fatal($"qmgr_active_defer: update {path} time stamps: {Sys.LastError()}");
        if (!Rename(queueId, from, to, out var errno))
        {
            if (errno != Sys.ENOENT)
                Msg.Fatal($"qmgr_active_defer: rename {queueId} from {from} to {to}: {Sys.StrError(errno)}");
            Msg.Warn($"qmgr_active_defer: rename {queueId} from {from} to {to}: {Sys.StrError(errno)}");
        }
    }

    // Corrupt - qmgr_active_corrupt().
    private void Corrupt(string queueId)
    {
        active.Remove(queueId);
        if (!Rename(queueId, MailQueue.Active, MailQueue.Corrupt, out var errno))
        {
            if (errno != Sys.ENOENT)
                Msg.Fatal($"qmgr_active_corrupt: save corrupt file queue {MailQueue.Active} id {queueId}: {Sys.StrError(errno)}");
        }
        else
        {
            Msg.Warn($"saving corrupt file \"{queueId}\" from queue \"{MailQueue.Active}\" to queue \"{MailQueue.Corrupt}\"");
        }
    }

    // MoveQueue - qmgr_move(): every file of one queue into another,
    // time stamps set to when.
    private void MoveQueue(string from, string to, long when)
    {
        if (!Directory.Exists(from))
            return;
        using var scan = new ScanDir(from);
        string? id;
        while ((id = scan.NextQueueFile()) != null)
        {
            if (!QueueId.IsValid(id))
            {
                Msg.Warn($"qmgr_move: ignored: queue {from} id {id}");
                continue;
            }
            var path = mailQueue.Path(from, id);
            if (Sys.Utime(path, when) < 0 && System.Runtime.InteropServices.Marshal.GetLastPInvokeError() != Sys.ENOENT)
                Msg.Warn($"qmgr_move: update {path} time stamps: {Sys.LastError()}");
            if (!Rename(id, from, to, out var errno) && errno != Sys.ENOENT)
                Msg.Fatal($"qmgr_move: rename {id} from {from} to {to}: {Sys.StrError(errno)}");
        }
    }

    // Resolve - qmgr_message_resolve(): each recipient's transport and
    // destination queue.
    internal readonly Dictionary<QueuedRecipient, DestQueue?> assignment = new(ReferenceEqualityComparer.Instance);

    private void Resolve(QueuedMessage message)
    {
        var list = message.Recipients;
        for (var i = 0; i < list.Count; i++)
        {
            var rcpt = list[i];
            string transportName, nexthop, address;
            var flags = 0;
            if (message.RedirectAddress != null)
            {
                if (i > 0)
                {
                    assignment[rcpt] = null;
                    continue;
                }
                var canon = rewriter!.Rewrite("local", message.RedirectAddress) ?? message.RedirectAddress;
                rcpt = list[i] = rcpt with { Address = canon };
                (transportName, nexthop, address, flags) = ResolveOne(message, rcpt.Address);
            }
            else if (message.FilterTransport != null && (message.TraceFlags & QueuedMessage.TraceOnlyMask) == 0)
            {
                var f = message.FilterTransport;
                var colon = f.IndexOf(':');
                transportName = colon < 0 ? f : f[..colon];
                nexthop = colon < 0 ? "" : f[(colon + 1)..];
                if (nexthop.Length == 0)
                {
                    nexthop = config.DefaultFilterNexthop;
                    if (nexthop.Length == 0)
                    {
                        var at = rcpt.Address.LastIndexOf('@');
                        nexthop = at < 0 || at == rcpt.Address.Length - 1 ? config.MyHostname : rcpt.Address[(at + 1)..];
                    }
                }
                address = rcpt.Address;
            }
            else
            {
                (transportName, nexthop, address, flags) = ResolveOne(message, rcpt.Address);
            }
            if (address != rcpt.Address)
                rcpt = list[i] = rcpt with { Address = address };
            if (rcpt.Address.Length == 0)
                (transportName, nexthop, flags) = (ServiceError, "5.1.3 null recipient address", 0);
            if ((message.ScanFlags & ForceExpire) != 0)
                (transportName, nexthop, flags) = (ServiceRetry, "4.7.0 message is administratively expired", 0);
            if ((flags & MailProto.ResolveClassLocal) != 0)
            {
                var at = rcpt.Address.LastIndexOf('@');
                var local = at < 0 ? rcpt.Address : rcpt.Address[..at];
                if (string.Equals(local, config.DoubleBounceSender, StringComparison.OrdinalIgnoreCase))
                {
                    // An undeliverable postmaster notification: discarded.
                    var status = BounceRequests.Sent(message, rcpt, "2.0.0", "undeliverable postmaster notification discarded");
                    if (status == 0)
                        QueuedMessage.MarkDone(message.Path, rcpt.Offset);
                    else
                        message.Flags |= status;
                    assignment[rcpt] = null;
                    continue;
                }
            }
            if (config.DeferTransports.Length > 0 && (message.ScanFlags & FlushDfxp) == 0
                && Array.IndexOf(config.DeferTransports, transportName) >= 0)
                (transportName, nexthop) = (ServiceRetry, "4.3.2 deferred transport");
            var transport = FindTransport(transportName);
            if ((message.ScanFlags & FlushEach) != 0 && transport.Dead)
                UnthrottleTransport(transport);
            if (transport.Dead)
            {
                var reason = transport.DeadReason!.Value;
                var retry = FindTransport(ServiceRetry);
                if (retry.Dead)
                {
                    message.Flags |= BounceRequests.DeferAppend(message, rcpt, reason.Status, reason.Reason);
                    assignment[rcpt] = null;
                    continue;
                }
                transport = retry;
                nexthop = reason.Status + " " + reason.Reason;
            }
            var queueName = nexthop;
            if (transport.Name != ServiceError && transport.Name != ServiceRetry && transport.RecipientLimit == 1)
            {
                var at = rcpt.Address.LastIndexOf('@');
                var local = at < 0 ? rcpt.Address : rcpt.Address[..at];
                if (config.RecipientDelimiter.Length > 0)
                {
                    var cut = local.IndexOfAny(config.RecipientDelimiter.ToCharArray());
                    if (cut > 0)
                        local = local[..cut];
                }
                queueName = local + "@" + nexthop;
            }
            queueName = queueName.ToLowerInvariant();
            var queue = FindQueue(transport, queueName, nexthop);
            if ((message.ScanFlags & FlushEach) != 0 && queue.Window.Throttled)
                UnthrottleQueue(queue);
            if (queue.Window.Throttled)
            {
                var reason = queue.DeadReason!.Value;
                var retryQueue = ErrorQueue(reason);
                if (retryQueue == null)
                {
                    message.Flags |= BounceRequests.DeferAppend(message, rcpt, reason.Status, reason.Reason);
                    assignment[rcpt] = null;
                    continue;
                }
                queue = retryQueue;
            }
            assignment[rcpt] = queue;
        }
    }

    private (string Transport, string Nexthop, string Recipient, int Flags) ResolveOne(QueuedMessage message, string address)
    {
        var reply = (message.TraceFlags & QueuedMessage.FlagMtaVrfy) == 0
            ? resolver!.Resolve(message.Sender ?? "", address)
            : resolver!.Verify(message.Sender ?? "", address);
        if (reply == null || reply.Value.Has(MailProto.ResolveFlagFail))
            return (ServiceRetry, "4.3.0 address resolver failure", address, 0);
        var r = reply.Value;
        if (r.Has(MailProto.ResolveFlagError))
            return (ServiceError, "5.1.3 bad address syntax", r.Recipient, 0);
        return (r.Transport, r.Nexthop, r.Recipient, r.Flags);
    }

    // ErrorQueue - qmgr_error_queue(): the retry transport's queue for a
    // reason, or null when the retry transport is dead too.
    private DestQueue? ErrorQueue((string Status, string Reason) reason)
    {
        var retry = FindTransport(ServiceRetry);
        if (retry.Dead)
            return null;
        var nexthop = reason.Status + " " + reason.Reason;
        var q = FindQueue(retry, nexthop.ToLowerInvariant(), nexthop);
        return q.Window.Throttled ? null : q;
    }

    // Assign - qmgr_message_assign(): recipients into entries, at most the
    // transport's recipient limit per entry.
    internal void Assign(QueuedMessage message)
    {
        if (!Fifo)
        {
            AssignJobs(message);
            assignment.Clear();
            message.Recipients.Clear();
            return;
        }
        var open = new Dictionary<DestQueue, Entry>(ReferenceEqualityComparer.Instance);
        foreach (var rcpt in message.Recipients)
        {
            if (!assignment.Remove(rcpt, out var queue) || queue == null)
                continue;
            var limit = queue.Transport.RecipientLimit;
            if (!open.TryGetValue(queue, out var entry) || (limit > 0 && entry.Recipients.Count >= limit))
            {
                entry = NewEntry(message, queue);
                open[queue] = entry;
            }
            entry.Recipients.Add(rcpt);
            inCoreRecipients++;
        }
        assignment.Clear();
        message.Recipients.Clear();
    }

    private Transport FindTransport(string name)
    {
        if (transports.TryGetValue(name, out var t))
            return t;
        t = new Transport
        {
            Name = name,
            DestConcurrencyLimit = config.PerTransportInt(name, "destination_concurrency_limit", 20),
            InitConcurrency = Math.Max(1, config.PerTransportInt(name, "initial_destination_concurrency", 5)),
            RecipientLimit = config.PerTransportInt(name, "destination_recipient_limit", 50),
            Positive = Feedback.Parse(config.PerTransport(name, "destination_concurrency_positive_feedback"), name + "_destination_concurrency_positive_feedback"),
            Negative = Feedback.Parse(config.PerTransport(name, "destination_concurrency_negative_feedback"), name + "_destination_concurrency_negative_feedback"),
            FailCohortLimit = double.TryParse(config.PerTransport(name, "destination_concurrency_failed_cohort_limit"), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var fc) ? fc : 1,
            XportRateDelay = config.PerTransportTime(name, "transport_rate_delay"),
            SlotCost = config.PerTransportInt(name, "delivery_slot_cost", 5),
            SlotLoan = config.PerTransportInt(name, "delivery_slot_loan", 3),
            SlotLoanFactor = 100 - config.PerTransportInt(name, "delivery_slot_discount", 50),
            MinSlots = config.PerTransportInt(name, "minimum_delivery_slots", 3),
            RcptUnused = config.PerTransportInt(name, "recipient_limit", 20000),
            RcptPerStack = config.PerTransportInt(name, "extra_recipient_limit", 1000),
            RefillLimit = Math.Max(1, config.PerTransportInt(name, "recipient_refill_limit", 100)),
            RefillDelay = Math.Max(1, config.PerTransportTime(name, "recipient_refill_delay")),
            RateDelay = config.PerTransportTime(name, "destination_rate_delay"),
        };
        if (t.RateDelay > 0)
            t.DestConcurrencyLimit = 1;
        if (t.InitConcurrency > t.DestConcurrencyLimit && t.DestConcurrencyLimit > 0)
            t.InitConcurrency = t.DestConcurrencyLimit;
        if (Msg.Verbose > 0)
            Msg.Info($"qmgr_transport_create: {name} concurrency {t.DestConcurrencyLimit} recipients {t.RecipientLimit}");
        transports[name] = t;
        transportList.Add(t);
        return t;
    }

    private static DestQueue FindQueue(Transport transport, string name, string nexthop)
    {
        if (transport.Queues.TryGetValue(name, out var q))
            return q;
        q = new DestQueue
        {
            Transport = transport,
            Name = name,
            Nexthop = nexthop,
            Window = new DestinationWindow(transport.DestConcurrencyLimit, transport.InitConcurrency, transport.Positive, transport.Negative, transport.FailCohortLimit),
        };
        transport.Queues[name] = q;
        transport.Order.Add(q);
        return q;
    }

    // Drain - qmgr_active_drain(): connect to a transport's delivery
    // agent while the transport has fewer than two connections pending and
    // its destinations have room for one more delivery each; the entry is
    // chosen only when the agent has announced itself (AgentAnnounced), as
    // the reference's qmgr_transport_alloc() and qmgr_deliver() do.
    private void Drain()
    {
        Transport? transport;
        while ((transport = SelectTransport()) != null)
            Allocate(transport);
    }

    private const int MaxPending = 2;

    // SelectTransport - qmgr_transport_select(), round robin.
    private Transport? SelectTransport()
    {
        for (var i = 0; i < transportList.Count; i++)
        {
            var t = transportList[i];
            if (t.Dead || t.RateLock || t.Pending >= MaxPending)
                continue;
            var need = t.Pending + 1;
            foreach (var q in t.Order)
            {
                if (q.Suspended || !q.Window.Ready)
                    continue;
                need -= Math.Min(q.Window.Window - q.Busy, q.Todo.Count);
                if (need <= 0)
                {
                    // Rotate: the chosen transport becomes the last.
                    var head = transportList.GetRange(0, i + 1);
                    transportList.RemoveRange(0, i + 1);
                    transportList.AddRange(head);
                    return t;
                }
            }
        }
        return null;
    }

    // Allocate - qmgr_transport_alloc(): one more agent connection.
    private void Allocate(Transport transport)
    {
        transport.Pending++;
        // A rate-limited transport takes no other delivery until this one
        // ends, and this one waits the delay once the agent is there
        // (qmgr_transport_alloc, qmgr_transport_event).
        if (transport.XportRateDelay > 0)
            transport.RateLock = true;
        if (agents.Connect(transport) == null)
        {
            // Reported on the next round, not inside Drain().
            later.Add(() =>
            {
                transport.Pending--;
                TransportUnavailable(transport);
            });
        }
    }

    // TransportUnavailable - what qmgr_deliver() does when the agent is not
    // there or does not take the request.
    private void TransportUnavailable(Transport transport)
    {
        ThrottleTransport(transport, ("4.3.0", "mail transport unavailable"));
        DeferTransport(transport, ("4.3.0", "mail transport unavailable"));
    }

    // AgentAnnounced - qmgr_transport_event(): the agent is ready.
    private void AgentAnnounced(AgentConnection conn)
    {
        var transport = conn.Transport;
        transport.Pending--;
        if (transport.XportRateDelay > 0)
        {
            agents.Park(conn);
            AddTimer(transport.XportRateDelay, conn, () => Deliver(conn));
            return;
        }
        Deliver(conn);
    }

    // Deliver - qmgr_deliver(): the announcement, the entry, the request.
    private void Deliver(AgentConnection conn)
    {
        var transport = conn.Transport;
        if (agents.InitialReply(conn) != 0)
        {
            agents.Close(conn);
            TransportUnavailable(transport);
            return;
        }
        var entry = SelectEntry(transport);
        if (entry == null)
        {
            // Things changed since the connection was asked for.
            agents.Close(conn);
            transport.RateLock = false;
            return;
        }
        var queue = entry.Queue;
        queue.Busy++;
        transport.Busy++;
        OnDemandCaching(queue);
        conn.Entry = entry;
        if (!agents.Send(conn, Work(entry)))
        {
            agents.Close(conn);
            queue.Busy--;
            transport.Busy--;
            Unselect(entry);
            TransportUnavailable(transport);
        }
    }

    private const int ConnLoad = 1 << 11, ConnStore = 1 << 12;

    // OnDemandCaching - qmgr_entry_select(): ask the agent to cache its
    // sessions once deliveries to the destination run back to back, and
    // stop storing them when they no longer run back to back or side by
    // side (cached sessions are still looked up).
    private static void OnDemandCaching(DestQueue queue)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var backToBack = queue.LastDoneSec + 1 >= now;
        if ((queue.DFlags & ConnStore) == 0)
        {
            if (backToBack)
            {
                if (Msg.Verbose > 0)
                    Msg.Info($"qmgr_entry_select: allowing on-demand session caching for {queue.Name}");
                queue.DFlags |= ConnLoad | ConnStore;
            }
        }
        else if (!(queue.Busy > 1 || backToBack))
        {
            if (Msg.Verbose > 0)
                Msg.Info($"qmgr_entry_select: disallowing on-demand session caching for {queue.Name}");
            queue.DFlags &= ~ConnStore;
        }
    }

    private void AgentReplied(AgentConnection conn, AgentOutcome outcome) => DeliveryDone(conn.Entry!, outcome);

    // Work - the delivery request for an entry (qmgr_deliver_send_request).
    private static DeliveryWork Work(Entry entry)
    {
        var queue = entry.Queue;
        var m = entry.Message;
        var work = new DeliveryWork
        {
            Flags = m.TraceFlags | queue.DFlags | (m.InspectTransport != null ? 2 : 3),
            QueueName = m.QueueName,
            QueueId = m.QueueId,
            DataOffset = m.DataOffset,
            ContLength = m.ContLength,
            Nexthop = queue.Nexthop,
            Encoding = m.Encoding,
            SmtpUtf8 = m.SmtpUtf8,
            Sender = VerpSender(m, entry),
            DsnEnvid = m.DsnEnvid,
            DsnRet = m.DsnRet,
            ArrivalSec = m.ArrivalSec,
            ArrivalUsec = m.ArrivalUsec,
            ActiveSec = m.ActiveSec,
            ActiveUsec = m.ActiveUsec,
            ClientName = m.ClientName,
            ClientAddr = m.ClientAddr,
            ClientPort = m.ClientPort,
            ClientProto = m.ClientProto,
            ClientHelo = m.ClientHelo,
            SaslMethod = m.SaslMethod,
            SaslUsername = m.SaslUsername,
            SaslSender = m.SaslSender,
            LogIdent = m.LogIdent,
            RewriteContext = m.RewriteContext,
            Recipients = entry.Recipients,
        };
        return work;
    }

    // VerpSender - verp_sender(): prefix+user=domain@origin.
    private static string VerpSender(QueuedMessage m, Entry e)
    {
        var sender = m.Sender ?? "";
        if (m.VerpDelims == null || e.Recipients.Count == 0)
            return sender;
        var rcpt = e.Recipients[0].Address;
        var at = sender.LastIndexOf('@');
        var prefix = at < 0 ? sender : sender[..at];
        var domain = at < 0 ? "" : sender[at..];
        var ra = rcpt.LastIndexOf('@');
        var rewritten = ra < 0 ? rcpt : rcpt[..ra] + m.VerpDelims[1] + rcpt[(ra + 1)..];
        return prefix + m.VerpDelims[0] + rewritten + domain;
    }

    // DeliveryDone - qmgr_deliver_update() (and the failure paths of
    // qmgr_deliver()).
    private void DeliveryDone(Entry entry, AgentOutcome outcome)
    {
        var queue = entry.Queue;
        var transport = queue.Transport;
        var message = entry.Message;
        queue.Busy--;
        transport.Busy--;
        // The rate lock ends with the delivery, whatever its outcome.
        transport.RateLock = false;
        if (outcome.Status == AgentStatus.Timeout)
            Msg.Fatal($"{message.QueueId}: timeout receiving delivery status from transport: {transport.Name}");
        if (outcome.Status == AgentStatus.Unavailable)
        {
            // The entry was never handed over: back to its queue, then
            // everything for this transport goes to the retry service.
            Unselect(entry);
            ThrottleTransport(transport, ("4.3.0", "mail transport unavailable"));
            DeferTransport(transport, ("4.3.0", "mail transport unavailable"));
            return;
        }
        var dsn = outcome.Dsn;
        var status = dsn.Status;
        var reason = dsn.Reason;
        if (outcome.Status == AgentStatus.Crash)
        {
            status = "4.3.0";
            reason = "unknown mail transport error";
        }
        if (outcome.Status is AgentStatus.Crash or AgentStatus.Defer)
        {
            message.Flags |= StatDefer;
            if (status.Length > 0)
            {
                if (!DsnValid(status))
                    status = "4.0.0";
                if (reason.Length == 0)
                    reason = "unknown error";
                reason = "delivery temporarily suspended: " + reason;
                if (queue.Window.Ready)
                {
                    if (ThrottleQueue(queue, (status, reason)))
                        DeferTodo(queue, (status, reason));
                }
            }
        }
        if (outcome.Status != AgentStatus.Crash)
        {
            UnthrottleTransport(transport);
            if (reason.Length == 0)
                UnthrottleQueue(queue);
        }
        EntryDone(entry, busy: true);
    }

    private static bool DsnValid(string s)
    {
        // dsn_valid(): class.subject.detail with class 2, 4 or 5.
        var p = s.Split('.');
        if (p.Length != 3 || p[0].Length != 1 || (p[0][0] != '2' && p[0][0] != '4' && p[0][0] != '5'))
            return false;
        return p[1].Length is > 0 and <= 3 && p[2].Length is > 0 and <= 3
            && long.TryParse(p[1], out _) && long.TryParse(p[2], out _);
    }

    internal void EntryDone(Entry entry, bool busy = false)
    {
        // A rate-limited destination rests after each delivery
        // (qmgr_entry_done with QMGR_QUEUE_BUSY).
        var queue = entry.Queue;
        if (busy)
            queue.LastDoneSec = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        if (busy && queue.Transport.RateDelay > 0)
        {
            if (queue.Window.Throttled)
                UnthrottleQueue(queue);
            if (queue.Window.Ready && !queue.Suspended)
            {
                queue.Suspended = true;
                AddTimer(queue.Transport.RateDelay, queue.ResumeKey, () => ResumeQueue(queue));
            }
        }
        EntryGone(entry);
        // An idle destination that is not dead is forgotten (window,
        // feedback and all), as qmgr_queue_done() frees it. A dead one is
        // forgotten too once there are more than twice
        // qmgr_message_recipient_limit destinations in memory.
        if (queue.Todo.Count == 0 && queue.Busy == 0)
        {
            if (queue.Window.Throttled && QueueCount() > 2 * config.RecipientLimit)
                UnthrottleQueue(queue);
            if (queue.Window.Ready && !queue.Suspended)
                RemoveQueue(queue);
        }
        var message = entry.Message;
        inCoreRecipients -= entry.Recipients.Count;
        message.RefCount--;
        if (message.RefCount == 0)
            ActiveDone(message);
    }

    private void ThrottleTransport(Transport transport, (string, string) reason)
    {
        transport.RateLock = false;
        if (transport.Dead)
            return;
        if (Msg.Verbose > 0)
            Msg.Info($"qmgr_transport_throttle: transport {transport.Name}: status: {reason.Item1} reason: {reason.Item2}");
        transport.DeadReason = reason;
        AddTimer(config.TransportRetryTime, transport, () => UnthrottleTransport(transport));
    }

    private void UnthrottleTransport(Transport transport)
    {
        transport.RateLock = false;
        if (!transport.Dead)
            return;
        transport.DeadReason = null;
        CancelTimer(transport);
    }

    // ThrottleQueue - true when the destination is now dead.
    private bool ThrottleQueue(DestQueue queue, (string, string) reason)
    {
        if (Msg.Verbose > 0)
            Msg.Info($"qmgr_queue_throttle: queue {queue.Name}: {reason.Item1} {reason.Item2}");
        var dead = queue.Window.Throttle();
        LogWindow(queue);
        if (!dead)
            return false;
        queue.DeadReason = reason;
        queue.DFlags = 0;
        AddTimer(config.MinBackoff, queue, () => UnthrottleQueue(queue));
        return true;
    }

    // LogWindow - QMGR_LOG_WINDOW() (verbose).
    private static void LogWindow(DestQueue queue)
    {
        if (Msg.Verbose > 0)
        {
            var w = queue.Window;
            Msg.Info($"queue {queue.Name}: limit {w.Limit} window {w.Window} success {w.Success:G} failure {w.Failure:G} fail_cohorts {w.FailCohorts:G}");
        }
    }

    // ResumeQueue - qmgr_queue_resume(): the end of a destination's rest.
    private void ResumeQueue(DestQueue queue)
    {
        if (!queue.Suspended)
            return;
        queue.Suspended = false;
        if (queue.Todo.Count == 0 && queue.Busy == 0 && queue.Window.Ready)
            RemoveQueue(queue);
        else
            BlockerUpdate(queue);
    }

    private void UnthrottleQueue(DestQueue queue)
    {
        var wasDead = queue.Window.Throttled;
        queue.Window.Unthrottle(queue.Busy);
        LogWindow(queue);
        if (wasDead)
        {
            queue.DeadReason = null;
            CancelTimer(queue);
            if (queue.Todo.Count == 0 && queue.Busy == 0 && !queue.Suspended)
                RemoveQueue(queue);
        }
    }

    // QueueCount - qmgr_queue_count: the destinations in memory.
    private int QueueCount()
    {
        var n = 0;
        foreach (var t in transportList)
            n += t.Queues.Count;
        return n;
    }

    private static void RemoveQueue(DestQueue queue)
    {
        if (queue.Transport.Queues.TryGetValue(queue.Name, out var q) && ReferenceEquals(q, queue))
        {
            queue.Transport.Queues.Remove(queue.Name);
            var i = queue.Transport.Order.IndexOf(queue);
            queue.Transport.Order.RemoveAt(i);
            if (queue.Transport.Next > i)
                queue.Transport.Next--;
            if (queue.Transport.Next >= queue.Transport.Order.Count)
                queue.Transport.Next = 0;
        }
    }

    // DeferTransport / DeferTodo - qmgr_defer_transport(), qmgr_defer_todo():
    // pending entries move to the retry service's queue for the reason,
    // or are deferred here when that is dead too.
    private void DeferTransport(Transport transport, (string, string) reason)
    {
        foreach (var q in transport.Order.ToArray())
            DeferTodo(q, reason);
    }

    private void DeferTodo(DestQueue queue, (string Status, string Reason) reason)
    {
        var retry = ErrorQueue(reason);
        while (queue.Todo.Count > 0)
        {
            var entry = queue.Todo.First!.Value;
            TakeTodo(entry);
            if (retry != null && !ReferenceEquals(retry, queue))
            {
                // qmgr_entry_move_todo(): the same recipients, another queue.
                var moved = NewEntry(entry.Message, retry);
                moved.Recipients.AddRange(entry.Recipients);
                MoveEntryCounts(entry, moved);
                entry.Recipients.Clear();
                EntryDone(entry);
                continue;
            }
            foreach (var rcpt in entry.Recipients)
                entry.Message.Flags |= BounceRequests.DeferAppend(entry.Message, rcpt, reason.Status, reason.Reason);
            EntryDone(entry);
        }
    }

    // EnableAll - qmgr_enable_all(): every dead transport and destination
    // gets another chance (postqueue -f, sendmail -q).
    private void EnableAll()
    {
        foreach (var t in transports.Values)
        {
            UnthrottleTransport(t);
            foreach (var q in t.Order.ToArray())
            {
                if (q.Window.Throttled)
                    UnthrottleQueue(q);
            }
        }
    }

    // ActiveDone - qmgr_active_done() and its continuations: bounce,
    // trace, expiry, delay warning, then remove or defer the file.
    private void ActiveDone(QueuedMessage message)
    {
        var bouncePath = mailQueue.Path(MailQueue.Bounce, message.QueueId);
        if (Sys.Stat(bouncePath, out var bst))
        {
            if (bst.Size == 0)
            {
                if (Sys.Unlink(bouncePath) != 0)
                    Msg.Fatal($"remove {MailQueue.Bounce} {message.QueueId}: {Sys.LastError()}");
            }
            else
            {
                message.Flags |= BounceRequests.Flush(message) == 0 ? 0 : StatDefer;
            }
        }
        // A delivery agent marks a file corrupt by changing its mode.
        if (message.Flags != 0 && !MailOpenOk.Check(mailQueue, MailQueue.Active, message.QueueId, out _, out _))
        {
            FreeJobs(message);
            Corrupt(message.QueueId);
            return;
        }
        // More recipients in the file: the next batch (the message keeps
        // its jobs and their slots).
        if (message.RcptOffset > 0)
        {
            if (!Realloc(message))
            {
                FreeJobs(message);
                Corrupt(message.QueueId);
                return;
            }
            if (message.RefCount == 0)
                ActiveDone(message);
            return;
        }
        FreeJobs(message);
        if ((message.TraceFlags & (QueuedMessage.FlagUsrVrfy | QueuedMessage.FlagRecord | QueuedMessage.FlagRecDlySent)) != 0
            || (message.ReadFlags & QueuedMessage.ReadFlagNotifySuccess) != 0 || message.NotifySuccess)
        {
            var status = BounceRequests.TraceFlush(message);
            if (status == 0 && message.TraceFlagsOffset != 0)
                QueuedMessage.Kill(message.Path, message.TraceFlagsOffset);
            message.Flags |= status == 0 ? 0 : StatDefer;
        }
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        if (message.Flags != 0)
        {
            string? expire = null;
            if ((message.ScanFlags & ForceExpire) != 0)
                expire = "force-expired";
            else if (Backoff.Expired(now, message.CreateTime, message.Sender ?? "", config.MaxQueueTime, config.DsnQueueTime))
                expire = "expired";
            if (expire != null)
            {
                Msg.Info($"{message.QueueId}: from=<{message.Sender}>, status={expire}, returned to sender");
                message.Flags = BounceRequests.DeferFlush(message) == 0 ? 0 : StatDefer;
            }
            else if (Backoff.WarnDue(now, message.WarnTime))
            {
                if (BounceRequests.Warn(message) == 0)
                    message.ClearWarning();
            }
        }
        if (message.Flags != 0)
        {
            var delay = Backoff.DeferDelay(now, message.CreateTime, config.MinBackoff, config.MaxBackoff);
            if (Msg.Verbose > 0)
                Msg.Info($"wakeup {message.QueueId} after {delay} secs");
            DeferFile(message.QueueName, message.QueueId, MailQueue.Deferred, delay);
        }
        else
        {
            var path = mailQueue.Path(message.QueueName, message.QueueId);
            if (Sys.Unlink(path) != 0)
            {
                var errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
                if (errno != Sys.ENOENT)
                    Msg.Fatal($"qmgr_active_done_3_generic: remove {message.QueueId} from {message.QueueName}: {Sys.StrError(errno)}");
                Msg.Warn($"qmgr_active_done_3_generic: remove {message.QueueId} from {message.QueueName}: {Sys.StrError(errno)}");
            }
            else
            {
                Msg.Info($"{message.QueueId}: removed");
            }
        }
        active.Remove(message.QueueId);
    }
}

// QueueScan - qmgr_scan.c: one pass over a queue directory, restarted on
// request when it is done.
internal sealed class QueueScan
{
    private ScanDir? handle;
    private int nflags;

    public QueueScan(string queue) => Queue = queue;

    public string Queue { get; }

    public int Flags { get; private set; }

    public bool Scanning => handle != null;

    public void Request(int flags, Action enableAll)
    {
        if ((flags & Scheduler.FlushOnce) != 0)
            enableAll();
        if (handle != null && (flags & Scheduler.ScanAll) != 0)
            Flags |= Scheduler.ScanAll;
        if (handle != null && (flags & Scheduler.FlushDfxp) != 0)
            Flags |= Scheduler.FlushDfxp;
        nflags |= flags;
        if (handle == null && (flags & Scheduler.ScanStart) != 0)
        {
            nflags &= ~Scheduler.ScanStart;
            StartScan();
        }
    }

    private void StartScan()
    {
        Flags = nflags;
        nflags = 0;
        handle = Directory.Exists(Queue) ? new ScanDir(Queue) : null;
    }

    public string? Next()
    {
        string? id = null;
        if (handle != null && (id = handle.NextQueueFile()) == null)
        {
            handle.Dispose();
            handle = null;
        }
        if (handle == null && (nflags & Scheduler.ScanStart) != 0)
        {
            StartScan();
            id = handle?.NextQueueFile();
        }
        return id;
    }
}
