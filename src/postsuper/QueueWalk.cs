// NAME
//	QueueWalk - structure repair and mass operations over queue directories
// POSTFIX
//	src/postsuper/postsuper.c (super, fix_queue_id)
// DESCRIPTION
//	Walk() visits every name of each queue directory in readdir order,
//	descending into one-letter subdirectories where the queue allows
//	it, and removes those deeper than hash_queue_depth wants once they
//	are done. Per file, in this order: alien directories go; with -d
//	ALL everything goes; non-files and (with -p) week-old temporary
//	files go; "ID#FIX" names left by a name/inode repair are finished;
//	bogus names are reported; with -s a message whose name does not
//	match its inode (or a long name when long IDs are off) is renamed
//	to "NEWID#FIX" together with its logfiles; then -r/-e/-f/-h/-H ALL;
//	last, with -s, a file in the wrong hash directory moves.
using System;
using Postfix.Global.Queue;
using Postfix.Util;

namespace Postfix.Commands.Postsuper;

[Flags]
internal enum Actions
{
    None = 0,
    Struct = 1 << 0,
    Purge = 1 << 1,
    DeleteOne = 1 << 2,
    DeleteAll = 1 << 3,
    RequeueOne = 1 << 4,
    RequeueAll = 1 << 5,
    HoldOne = 1 << 6,
    HoldAll = 1 << 7,
    ReleaseOne = 1 << 8,
    ReleaseAll = 1 << 9,
    StructRed = 1 << 10,
    ExpireOne = 1 << 11,
    ExpireAll = 1 << 12,
    ExpRelOne = 1 << 13,
    ExpRelAll = 1 << 14,
    Default = Struct | Purge,
    ByQueueId = DeleteOne | RequeueOne | HoldOne | ReleaseOne | ExpireOne | ExpRelOne,
    ByWildcard = DeleteAll | RequeueAll | HoldAll | ReleaseAll | ExpireAll | ExpRelAll,
    ForRepair = Purge | Struct | StructRed,
}

internal sealed class QueueWalk
{
    private const long MaxTempAge = 7 * 60 * 60 * 24;
    private const string Suffix = "#FIX";

    private readonly QueueOps ops;
    private readonly bool longQueueIds;

    public QueueWalk(QueueOps ops, bool longQueueIds)
    {
        this.ops = ops;
        this.longQueueIds = longQueueIds;
    }

    private Counters Count => ops.Count;

    private MailQueue Queue => ops.Queue;

    public void Walk(string[] queues, Actions action)
    {
        foreach (var queueName in queues)
        {
            if (Msg.Verbose > 0)
                Msg.Info($"queue: {queueName}");
            var qp = QueueOps.Find(queueName);
            var wantedDepth = 0;
            foreach (var h in Queue.HashedQueues)
            {
                if (h == queueName)
                {
                    wantedDepth = Queue.HashQueueDepth;
                    break;
                }
            }
            if (wantedDepth > 0 && !qp.Recurse)
                Msg.Fatal($"{queueName} queue must not be hashed");
            using var scan = new ScanDir(queueName);
            var actualDepth = 0;
            for (;;)
            {
                var path = scan.Next();
                if (path == null)
                {
                    if (actualDepth == 0)
                        break;
                    if (actualDepth > wantedDepth)
                        QueueOps.Rmdir(scan.Path);
                    scan.Pop();
                    actualDepth--;
                    continue;
                }
                if (path.Length == 1 && qp.Recurse)
                {
                    actualDepth++;
                    scan.Push(path);
                    continue;
                }
                action = VisitFile(scan.Path, path, queueName, qp, action);
            }
        }
    }

    // VisitFile - the per-file part of super(); returns the action set,
    // which loses its mass operations once a name needed fixing.
    private Actions VisitFile(string dir, string path, string queueName, QueueOps.QueueInfo qp, Actions action)
    {
        var actualPath = dir + "/" + path;
        if (!Sys.LStat(actualPath, out var st))
            return action;
        if (Sys.IsDir(st.Mode))
        {
            if (Sys.Rmdir(actualPath) < 0)
            {
                var errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
                if (errno != Sys.ENOENT)
                    Msg.Warn($"remove subdirectory {actualPath}: {Sys.StrError(errno)}");
            }
            else if (Msg.Verbose > 0)
            {
                Msg.Info($"remove subdirectory {actualPath}");
            }
            return action;
        }
        if ((action & Actions.DeleteAll) != 0)
        {
            if (QueueOps.Remove(actualPath) == 0 && qp.MessageQueue && QueueOps.IsReadyMessage(st.Mode))
                Count.Deleted++;
            return action;
        }
        if (!Sys.IsReg(st.Mode)
            || ((action & Actions.Purge) != 0 && qp.MessageQueue && !QueueOps.IsReadyMessage(st.Mode)
                && DateTimeOffset.UtcNow.ToUnixTimeSeconds() > st.MTime + MaxTempAge))
        {
            QueueOps.Remove(actualPath);
            return action;
        }
        if ((action & Actions.Struct) != 0 && path.Length >= Suffix.Length && path.EndsWith(Suffix, StringComparison.Ordinal))
        {
            path = path[..^Suffix.Length];
            if (!QueueId.IsValid(path))
            {
                Msg.Warn($"bogus file name: {actualPath}");
                return action;
            }
            if (qp.MessageQueue)
            {
                if (!GetInode(path, out var inum, out _))
                {
                    Msg.Warn($"bogus file name: {actualPath}");
                    return action;
                }
                if (inum != st.Inode)
                {
                    Msg.Warn($"name/inode mismatch: {actualPath}");
                    return action;
                }
            }
            var fixedPath = Queue.Path(queueName, path);
            if (QueueOps.Rename(actualPath, fixedPath) < 0)
                return action;
            if (qp.MessageQueue)
                Count.InodeFixed++;
            actualPath = fixedPath;
        }
        if (!QueueId.IsValid(path))
        {
            Msg.Warn($"bogus file name: {actualPath}");
            return action;
        }
        if ((action & Actions.Struct) != 0 && qp.MessageQueue)
        {
            if (!GetInode(path, out var inum, out var longName))
            {
                Msg.Warn($"bogus file name: {actualPath}");
                return action;
            }
            if ((longName && !longQueueIds)
                || (inum != st.Inode && (!longName || (action & Actions.StructRed) != 0)))
            {
                Count.InodeMismatch++;
                action &= ~Actions.ByWildcard;
                FixQueueId(actualPath, queueName, path, st.Inode);
                return action;
            }
        }
        string wanted;
        if ((action & Actions.RequeueAll) != 0 && qp.MessageQueue && queueName != MailQueue.Maildrop)
        {
            wanted = Queue.Path(MailQueue.Maildrop, path);
            if (QueueOps.Rename(actualPath, wanted) == 0)
                Count.Requeued++;
            return action;
        }
        if ((action & (Actions.ExpireAll | Actions.ExpRelAll)) != 0 && qp.MessageQueue && QueueOps.IsReadyMessage(st.Mode)
            && queueName != MailQueue.Maildrop && QueueOps.Expire(actualPath) == 0)
            Count.Expired++;
        if ((action & Actions.HoldAll) != 0 && qp.MessageQueue && queueName != MailQueue.Maildrop && queueName != MailQueue.Hold)
        {
            wanted = Queue.Path(MailQueue.Hold, path);
            if (QueueOps.Rename(actualPath, wanted) == 0)
                Count.Held++;
            return action;
        }
        if ((action & (Actions.ReleaseAll | Actions.ExpRelAll)) != 0 && queueName == MailQueue.Hold)
        {
            wanted = Queue.Path(MailQueue.Deferred, path);
            if (QueueOps.Rename(actualPath, wanted) == 0)
                Count.Released++;
            return action;
        }
        if ((action & Actions.Struct) != 0)
        {
            wanted = Queue.Path(queueName, path);
            if (actualPath != wanted)
            {
                Count.PositionMismatch++;
                QueueOps.Rename(actualPath, wanted);
            }
        }
        return action;
    }

    // GetInode - MQID_GET_INUM(): the inode number a name claims.
    internal static bool GetInode(string id, out ulong inum, out bool longName)
    {
        longName = QueueId.IsLong(id);
        if (!longName && id.Length == QueueId.ShortUsecPad)
        {
            inum = 0;
            return true;
        }
        return QueueId.TryGetInode(id, out inum);
    }

    // FixQueueId - fix_queue_id(): logfiles first, the message last, each
    // to NEWID#FIX; the time part of the name stays.
    private void FixQueueId(string actualPath, string actualQueue, string actualId, ulong inode)
    {
        string newId;
        var z = QueueId.LongSeparator(actualId);
        if (z < 0)
            newId = actualId[..Math.Min(QueueId.ShortUsecPad, actualId.Length)] + QueueId.FileId(inode, false);
        else if (longQueueIds)
            newId = actualId[..z] + QueueId.LongInumSeparator + QueueId.FileId(inode, true);
        else
            newId = QueueId.HashKey(actualId) + QueueId.FileId(inode, false);
        foreach (var log in QueueOps.LogQueueNames)
            QueueOps.Rename(Queue.Path(log, actualId), Queue.Path(log, newId) + Suffix);
        QueueOps.Rename(actualPath, Queue.Path(actualQueue, newId) + Suffix);
    }
}
