// NAME
//	Jobs - the preemptive scheduler: jobs, peers and delivery slots
// POSTFIX
//	src/qmgr/qmgr_job.c, src/qmgr/qmgr_peer.c, src/qmgr/qmgr_entry.c
//	(entry select, unselect and done)
// DESCRIPTION
//	Each message has one job per transport it uses; a job has one peer
//	per destination queue, and a peer lists the job's entries for that
//	queue. A transport keeps its jobs in arrival order and serves the
//	current job first. Every entry the current job gets earns it a
//	delivery slot; once it has earned enough (transport_delivery_slot_cost
//	per entry of a smaller job, with transport_delivery_slot_loan slots
//	lent and transport_delivery_slot_discount off), a smaller job that
//	has waited longest for its size goes ahead of it (a stack of
//	preempting jobs), so that a message with few recipients is not stuck
//	behind one with thousands. Jobs whose destinations are all at their
//	concurrency limit are marked as blockers and skipped until one of
//	those destinations has room again. As oqmgr (Fifo), entries are
//	taken from the destination queues in turn, in arrival order.
//
//	Recipient slots: a transport has transport_recipient_limit slots for
//	recipients in memory. A job takes what is left of them when it is
//	linked, and gives back what it does not use once its message is read
//	completely (or when it retires), to the oldest job of the transport
//	whose message still has recipients in the file (MoveLimits). A job
//	that preempts another while its message is not read completely gets
//	part of transport_extra_recipient_limit on top. When a job's message
//	has free slots, more recipients are read from the queue file: at once
//	when transport_recipient_refill_limit of them are free or
//	transport_recipient_refill_delay has passed since the last read, and
//	in any case when the job has nothing left in memory (PeerSelectRefill).
using System;
using System.Collections.Generic;
using Postfix.Util;

namespace Postfix.Daemons.Qmgr;

internal sealed class Job
{
    public required QueuedMessage Message;
    public required Transport Transport;
    public LinkedListNode<Job>? ListNode;
    public LinkedListNode<Job>? TimeNode;
    public Job? StackParent;
    public readonly List<Job> StackChildren = new();
    public int StackLevel = -1;
    public int BlockerTag;
    public readonly Dictionary<DestQueue, Peer> PeerByQueue = new(ReferenceEqualityComparer.Instance);
    public readonly LinkedList<Peer> Peers = new();
    public int SlotsUsed;
    public int SlotsAvailable;
    public int SelectedEntries;
    public int ReadEntries;
    // Recipient slots: in use by this job's entries, and granted to it.
    public int RcptCount;
    public int RcptLimit;

    public bool HasEntries => SelectedEntries < ReadEntries;

    public int MinEntries => ReadEntries;

    public int MaxEntries => ReadEntries + Math.Max(0, Message.RcptUnread);
}

internal sealed class Peer
{
    public required Job Job;
    public required DestQueue Queue;
    public LinkedListNode<Peer>? Node;
    public readonly LinkedList<Entry> Entries = new();
    public int RefCount;
}

internal sealed partial class Scheduler
{
    // Fifo - the old queue manager's selection (oqmgr).
    public bool Fifo { get; init; }

    private static long Now() => DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    // NewEntry - qmgr_entry_create(): an entry at the end of the queue's
    // todo list and of its job's peer for that queue.
    internal Entry NewEntry(QueuedMessage message, DestQueue queue) =>
        NewEntry(message, queue, Fifo ? null : ObtainPeer(ObtainJob(message, queue.Transport), queue));

    private Entry NewEntry(QueuedMessage message, DestQueue queue, Peer? peer)
    {
        var entry = new Entry { Message = message, Queue = queue };
        message.RefCount++;
        if (peer != null)
        {
            entry.Peer = peer;
            entry.PeerNode = peer.Entries.AddLast(entry);
            peer.RefCount++;
            peer.Job.ReadEntries++;
        }
        entry.TodoNode = queue.Todo.AddLast(entry);
        if (config.ClogWarnTime > 0 && queue.Todo.Count + queue.Busy > config.ActiveLimit / 5)
            ClogWarning(queue);
        return entry;
    }

    // ClogWarning - the helpful warnings of qmgr_entry_create(): one
    // destination holds more than a fifth of qmgr_message_active_limit
    // entries (at most once per qmgr_clog_warn_time for a destination).
    private void ClogWarning(DestQueue queue)
    {
        var now = Now();
        if (now < queue.ClogTimeToWarn)
            return;
        var length = queue.Todo.Count + queue.Busy;
        var share = length / (double)active.Count;
        var transport = queue.Transport;
        Msg.Warn($"mail for {queue.Nexthop} is using up {length} of {active.Count} active queue entries");
        if (share < 0.9)
            Msg.Warn("this may slow down other mail deliveries");
        if (transport.DestConcurrencyLimit > 0 && transport.DestConcurrencyLimit <= queue.Busy + 1)
        {
            Msg.Warn($"you may need to increase the main.cf {transport.Name}_destination_concurrency_limit from {transport.DestConcurrencyLimit}");
        }
        else if (queue.Window.Window > config.ActiveLimit * share)
        {
            Msg.Warn($"you may need to increase the main.cf qmgr_message_active_limit from {config.ActiveLimit}");
        }
        else if (transport.Order.Count > 1)
        {
            Msg.Warn($"you may need a separate master.cf transport for {queue.Nexthop}");
        }
        else
        {
            Msg.Warn($"you may need to reduce {transport.Name} connect and helo timeouts");
            Msg.Warn("so that Postfix quickly skips unavailable hosts");
            Msg.Warn("you may need to increase the main.cf minimal_backoff_time and maximal_backoff_time");
            Msg.Warn("so that Postfix wastes less time on undeliverable mail");
            Msg.Warn($"you may need to increase the master.cf {transport.Name} process limit");
        }
        Msg.Warn("please avoid flushing the whole queue when you have");
        Msg.Warn("lots of deferred mail, that is bad for performance");
        Msg.Warn("to turn off these warnings specify: qmgr_clog_warn_time = 0");
        queue.ClogTimeToWarn = now + config.ClogWarnTime;
    }

    // ObtainPeer - qmgr_peer_obtain().
    private static Peer ObtainPeer(Job job, DestQueue queue)
    {
        if (!job.PeerByQueue.TryGetValue(queue, out var peer))
        {
            peer = new Peer { Job = job, Queue = queue };
            peer.Node = job.Peers.AddLast(peer);
            job.PeerByQueue[queue] = peer;
        }
        return peer;
    }

    // AssignJobs - qmgr_message_assign() for the preemptive scheduler: each
    // recipient joins the last entry still waiting for its destination
    // (from this read or an earlier one) while the transport's
    // destination_recipient_limit allows, and takes a recipient slot.
    private void AssignJobs(QueuedMessage message)
    {
        Job? job = null;
        Peer? peer = null;
        var singleRecipient = message.VerpDelims != null;
        foreach (var rcpt in message.Recipients)
        {
            if (!assignment.Remove(rcpt, out var queue) || queue == null)
                continue;
            if (job == null || queue.Transport != job.Transport)
            {
                job = ObtainJob(message, queue.Transport);
                peer = null;
            }
            if (peer == null || queue != peer.Queue)
                peer = ObtainPeer(job, queue);
            var entry = peer.Entries.Last?.Value;
            var limit = queue.Transport.RecipientLimit;
            if (singleRecipient || entry == null || (limit != 0 && entry.Recipients.Count >= limit))
                entry = NewEntry(message, queue, peer);
            entry.Recipients.Add(rcpt);
            job.RcptCount++;
            message.RcptCount++;
            inCoreRecipients++;
        }
        // The unread counts changed: candidates may have changed too.
        foreach (var j in message.Jobs)
        {
            if (j.HasEntries && j.BlockerTag != j.Transport.BlockerTag)
                j.Transport.CandidateCacheCurrent = null;
        }
    }

    // CountDone - the slot side of qmgr_entry_done(): the entry's
    // recipients leave memory; slots that jobs of the message no longer
    // need go back to their transports.
    private static void CountDone(Entry entry)
    {
        var job = entry.Peer!.Job;
        var message = entry.Message;
        var n = entry.Recipients.Count;
        job.RcptCount -= n;
        message.RcptCount -= n;
        foreach (var sponsor in message.Jobs)
        {
            if (sponsor.RcptCount >= sponsor.RcptLimit || sponsor == job)
                continue;
            if (sponsor.StackLevel < 0 || message.RcptOffset == 0)
                MoveLimits(sponsor);
        }
        if (message.RcptOffset == 0)
            MoveLimits(job);
    }

    // MoveEntryCounts - qmgr_entry_move_todo(): the recipients of an entry
    // now count for another job of the same message.
    private static void MoveEntryCounts(Entry from, Entry to)
    {
        if (from.Peer == null || to.Peer == null)
            return;
        from.Peer.Job.RcptCount -= to.Recipients.Count;
        to.Peer.Job.RcptCount += to.Recipients.Count;
    }

    // MoveLimits - qmgr_job_move_limits(): the slots the job does not use
    // go back to the transport, and from there to the oldest job whose
    // message still has recipients in the file.
    internal static void MoveLimits(Job job)
    {
        var transport = job.Transport;
        var message = job.Message;
        var next = transport.JobNextUnread;
        if (job == next)
        {
            for (var node = job.TimeNode?.Next; ; node = node.Next)
            {
                if (node == null)
                {
                    next = null;
                    break;
                }
                if (node.Value.Message.RcptOffset != 0)
                {
                    next = node.Value;
                    break;
                }
            }
            transport.JobNextUnread = next;
        }
        var unused = Math.Min(job.RcptLimit - job.RcptCount, message.RcptLimit - message.RcptCount);
        if (unused <= 0)
            return;
        job.RcptLimit -= unused;
        message.RcptLimit -= unused;
        transport.RcptUnused += unused;
        if (next != null && transport.RcptUnused > 0)
        {
            next.RcptLimit += transport.RcptUnused;
            next.Message.RcptLimit += transport.RcptUnused;
            transport.RcptUnused = 0;
        }
    }

    // PeerSelectRefill - qmgr_job_peer_select(): more recipients from the
    // queue file when enough slots are free (or enough time has passed),
    // then a destination; failing that, more recipients as a last chance.
    // A message with no entries left is being finished by ActiveDone and
    // is not read here.
    private Peer? PeerSelectRefill(Job job)
    {
        var message = job.Message;
        var transport = job.Transport;
        if (message.RcptOffset != 0 && message.RefCount > 0
            && (message.RcptLimit - message.RcptCount >= transport.RefillLimit
                || (message.RcptLimit > message.RcptCount && Now() - message.RefillTime >= transport.RefillDelay)))
            Realloc(message);
        if (job.HasEntries)
        {
            var peer = SelectPeer(job);
            if (peer != null)
                return peer;
        }
        if (message.RcptOffset != 0 && message.RefCount > 0 && message.RcptLimit > message.RcptCount)
        {
            Realloc(message);
            if (job.HasEntries)
                return SelectPeer(job);
        }
        return null;
    }

    // TakeTodo - an entry leaves its queue's todo list for delivery
    // (qmgr_entry_select) or for good (qmgr_entry_done from the todo list).
    private static void TakeTodo(Entry entry)
    {
        if (entry.TodoNode != null)
        {
            entry.Queue.Todo.Remove(entry.TodoNode);
            entry.TodoNode = null;
        }
        if (entry.PeerNode != null)
        {
            entry.Peer!.Entries.Remove(entry.PeerNode);
            entry.PeerNode = null;
            entry.Peer.Job.SelectedEntries++;
        }
    }

    // Unselect - qmgr_entry_unselect(): back in front, as if not chosen.
    private static void Unselect(Entry entry)
    {
        entry.TodoNode = entry.Queue.Todo.AddFirst(entry);
        if (entry.Peer != null)
        {
            entry.PeerNode = entry.Peer.Entries.AddFirst(entry);
            entry.Peer.Job.SelectedEntries--;
        }
    }

    // EntryGone - the job side of qmgr_entry_done().
    private static void EntryGone(Entry entry)
    {
        var peer = entry.Peer;
        if (peer == null)
            return;
        CountDone(entry);
        var queue = entry.Queue;
        var transport = queue.Transport;
        if (!queue.Suspended && queue.BlockerTag == transport.BlockerTag)
            BlockerUpdate(queue);
        if (--peer.RefCount == 0)
        {
            peer.Job.Peers.Remove(peer.Node!);
            peer.Job.PeerByQueue.Remove(queue);
        }
    }

    // BlockerUpdate - qmgr_job_blocker_update(): a queue that blocked jobs
    // has room again.
    internal static void BlockerUpdate(DestQueue queue)
    {
        var transport = queue.Transport;
        if (queue.BlockerTag != transport.BlockerTag)
            return;
        if (queue.Window.Window > queue.Busy && queue.Todo.Count > 0)
        {
            transport.BlockerTag += 2;
            transport.JobCurrent = transport.JobList.First?.Value;
            transport.CandidateCacheCurrent = null;
        }
        if (queue.Window.Window > queue.Busy || queue.Window.Throttled)
            queue.BlockerTag = 0;
    }

    // SelectEntry - qmgr_job_entry_select(), or the destination queues in
    // turn as oqmgr.
    internal Entry? SelectEntry(Transport transport)
    {
        if (Fifo)
            return SelectFifo(transport);
        var job = transport.JobCurrent;
        if (job == null)
            return null;
        if (transport.SlotCost >= 2)
            job = Preempt(job);
        for (Job? next; job != null; job = next)
        {
            next = job.ListNode?.Next?.Value;
            if (job.BlockerTag == transport.BlockerTag)
                continue;
            var peer = PeerSelectRefill(job);
            if (peer != null)
            {
                var entry = peer.Entries.First!.Value;
                TakeTodo(entry);
                job.SlotsAvailable++;
                job.SlotsUsed++;
                if (job != transport.CandidateCacheCurrent)
                    transport.CandidateCacheCurrent = null;
                transport.JobCurrent = job;
                if (!job.HasEntries && job.Message.RcptOffset == 0)
                    Retire(job);
                return entry;
            }
            if (job.HasEntries)
            {
                job.BlockerTag = transport.BlockerTag;
                foreach (var p in job.Peers)
                {
                    if (p.Entries.Count > 0)
                        p.Queue.BlockerTag = transport.BlockerTag;
                }
            }
            else
            {
                Retire(job);
            }
        }
        transport.JobCurrent = null;
        return null;
    }

    private static Entry? SelectFifo(Transport transport)
    {
        var n = transport.Order.Count;
        for (var i = 0; i < n; i++)
        {
            var q = transport.Order[(transport.Next + i) % n];
            if (q.Todo.Count > 0 && !q.Suspended && q.Window.Ready && q.Window.Window > q.Busy)
            {
                transport.Next = (transport.Next + i + 1) % n;
                var entry = q.Todo.First!.Value;
                TakeTodo(entry);
                return entry;
            }
        }
        return null;
    }

    // SelectPeer - qmgr_peer_select(): the job's destinations in turn.
    private static Peer? SelectPeer(Job job)
    {
        if (!job.HasEntries)
            return null;
        for (var node = job.Peers.First; node != null; node = node.Next)
        {
            var q = node.Value.Queue;
            if (!q.Suspended && q.Window.Ready && q.Window.Window > q.Busy && node.Value.Entries.Count > 0)
            {
                // Rotate: the chosen peer becomes the last.
                while (job.Peers.Last != node)
                {
                    var first = job.Peers.First!;
                    job.Peers.RemoveFirst();
                    job.Peers.AddLast(first);
                }
                return node.Value;
            }
        }
        return null;
    }

    // ObtainJob - qmgr_job_obtain().
    private static Job ObtainJob(QueuedMessage message, Transport transport)
    {
        if (!transport.JobByMessage.TryGetValue(message, out var job))
        {
            job = new Job { Message = message, Transport = transport };
            transport.JobByMessage[message] = job;
            message.Jobs.Add(job);
        }
        if (job.StackLevel < 0)
            Link(job);
        transport.CandidateCacheCurrent = null;
        if (job.BlockerTag == transport.BlockerTag)
        {
            job.BlockerTag = 0;
            transport.JobCurrent = transport.JobList.First?.Value;
        }
        return job;
    }

    // Link - qmgr_job_link(): into the job list by arrival time.
    private static void Link(Job job)
    {
        var transport = job.Transport;
        var current = transport.JobCurrent;
        var prev = transport.JobList.Last;
        for (; prev != null; prev = prev.Previous)
        {
            if (prev.Value.StackParent == null && job.Message.ActiveSec - prev.Value.Message.ActiveSec >= 0)
                break;
            if (current == prev.Value)
                current = null;
        }
        var unread = transport.JobNextUnread;
        var tprev = transport.JobByTime.Last;
        for (; tprev != null; tprev = tprev.Previous)
        {
            if (job.Message.ActiveSec - tprev.Value.Message.ActiveSec >= 0)
                break;
            if (unread == tprev.Value)
                unread = null;
        }
        job.StackLevel = 0;
        job.ListNode = prev == null ? transport.JobList.AddFirst(job) : transport.JobList.AddAfter(prev, job);
        job.TimeNode = tprev == null ? transport.JobByTime.AddFirst(job) : transport.JobByTime.AddAfter(tprev, job);
        if (current == null)
            transport.JobCurrent = job;
        // The first job with unread recipients; the one it replaces gives
        // up its unused slots. Then all free slots of the transport.
        if (unread == null)
        {
            unread = transport.JobNextUnread;
            transport.JobNextUnread = job;
            if (unread != null)
                MoveLimits(unread);
        }
        if (transport.RcptUnused > 0)
        {
            job.RcptLimit += transport.RcptUnused;
            job.Message.RcptLimit += transport.RcptUnused;
            transport.RcptUnused = 0;
        }
    }

    // Unlink - qmgr_job_unlink().
    private static void Unlink(Job job)
    {
        var transport = job.Transport;
        ParentGone(job, null);
        if (transport.JobCurrent == job)
            transport.JobCurrent = job.ListNode!.Next?.Value;
        if (job == transport.CandidateCache || job == transport.CandidateCacheCurrent)
            transport.CandidateCacheCurrent = null;
        transport.JobList.Remove(job.ListNode!);
        job.ListNode = null;
        transport.JobByTime.Remove(job.TimeNode!);
        job.TimeNode = null;
        job.StackLevel = -1;
    }

    private static void ParentGone(Job job, Job? parent)
    {
        foreach (var child in job.StackChildren)
        {
            parent?.StackChildren.Add(child);
            child.StackParent = parent;
        }
        job.StackChildren.Clear();
    }

    // Retire - qmgr_job_retire(): off the lists until it gets more entries.
    private static void Retire(Job job)
    {
        if (job.StackLevel > 0)
            Pop(job);
        MoveLimits(job);
        Unlink(job);
    }

    // FreeJobs - qmgr_job_free() for each job of a finished message.
    private static void FreeJobs(QueuedMessage message)
    {
        foreach (var job in message.Jobs)
        {
            if (job.StackLevel > 0)
                Pop(job);
            MoveLimits(job);
            if (job.StackLevel >= 0)
                Unlink(job);
            job.Transport.JobByMessage.Remove(message);
        }
        message.Jobs.Clear();
    }

    // Candidate - qmgr_job_candidate(): the job with the best
    // waiting-time-per-entry score that fits in the slots the current job
    // can still earn.
    private static Job? Candidate(Job current)
    {
        var transport = current.Transport;
        var now = Now();
        if (transport.CandidateCacheCurrent == current
            && (transport.CandidateCacheTime == now || transport.CandidateCache == null))
            return transport.CandidateCache;
        Job? best = null;
        var bestScore = 0.0;
        var maxSlots = (current.MinEntries - current.SelectedEntries + current.SlotsAvailable) / transport.SlotCost;
        if (maxSlots > 0)
        {
            for (var node = current.ListNode!.Next; node != null; node = node.Next)
            {
                var job = node.Value;
                if (job.StackChildren.Count > 0 || job.BlockerTag == transport.BlockerTag)
                    continue;
                var maxTotal = job.MaxEntries;
                var maxNeeded = maxTotal - job.SelectedEntries;
                var delay = now - job.Message.ActiveSec + 1;
                if (maxNeeded > 0 && maxNeeded <= maxSlots)
                {
                    var score = (double)delay / maxTotal;
                    if (score > bestScore)
                    {
                        bestScore = score;
                        best = job;
                    }
                }
                if (delay <= bestScore && job.StackLevel == 0)
                    break;
            }
        }
        transport.CandidateCache = best;
        transport.CandidateCacheCurrent = current;
        transport.CandidateCacheTime = now;
        return best;
    }

    // Preempt - qmgr_job_preempt(): a smaller job goes ahead of the
    // current one once the current one has earned the slots.
    private static Job Preempt(Job current)
    {
        var transport = current.Transport;
        if (current.SlotsAvailable <= 0 || current.MaxEntries < transport.MinSlots * transport.SlotCost)
            return current;
        var job = Candidate(current);
        if (job == null)
            return current;
        var expected = job.MaxEntries - job.SelectedEntries;
        if (current.SlotsAvailable / transport.SlotCost + transport.SlotLoan < expected * transport.SlotLoanFactor / 100.0)
            return current;
        if (job.StackLevel > 0)
            Pop(job);
        transport.JobList.Remove(job.ListNode!);
        job.ListNode = transport.JobList.AddBefore(current.ListNode!, job);
        job.StackParent = current;
        current.StackChildren.Add(job);
        job.StackLevel = current.StackLevel + 1;
        transport.JobCurrent = job;
        transport.CandidateCacheCurrent = null;
        current.SlotsAvailable -= expected * transport.SlotCost;
        job.SlotsUsed = -expected;
        // A job not read completely gets part of the extra slots kept for
        // preempting jobs (RcptUnused is between -RcptPerStack and 0 then).
        if (job.Message.RcptOffset != 0)
        {
            var extra = (transport.RcptPerStack + transport.RcptUnused + 1) / 2;
            job.RcptLimit += extra;
            job.Message.RcptLimit += extra;
            transport.RcptUnused -= extra;
        }
        if (Postfix.Util.Msg.Verbose > 0)
            Postfix.Util.Msg.Info($"qmgr_job_preempt: {current.Message.QueueId} by {job.Message.QueueId}, level {job.StackLevel}");
        return job;
    }

    // Pop - qmgr_job_pop(): off the preemption stack, the slots it did not
    // use back to the job it preempted.
    private static void Pop(Job job)
    {
        var transport = job.Transport;
        var parent = job.StackParent;
        if (parent != null && job.StackLevel == parent.StackLevel + 1)
            parent.SlotsAvailable -= job.SlotsUsed * transport.SlotCost;
        if (parent != null)
        {
            parent.StackChildren.Remove(job);
            job.StackParent = null;
        }
        ParentGone(job, parent);
        job.StackLevel = 0;
        transport.CandidateCacheCurrent = null;
    }
}
