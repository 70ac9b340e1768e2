// NAME
//	QueueOps - file operations and per-message actions of postsuper
// POSTFIX
//	src/postsuper/postsuper.c (postremove, postrename, postrmdir,
//	postexpire, delete_one, requeue_one, hold_one, release_one,
//	expire_one, operate_stream)
// DESCRIPTION
//	Each operation looks the queue ID up in the named queues, in order,
//	(twice, in case the file moves meanwhile) and acts on the first
//	ready file found: delete it (after its bounce, defer and trace
//	logfiles), move it to maildrop (requeue, with fresh time stamps),
//	to hold, from hold to deferred, or set its expire bit. Failures
//	other than "the file is gone" are fatal, with Postfix's texts.
using System;
using System.IO;
using Postfix.Global.Queue;
using Postfix.Util;

namespace Postfix.Commands.Postsuper;

internal sealed class QueueOps
{
    internal static readonly string[] LogQueueNames = { MailQueue.Bounce, MailQueue.Defer, MailQueue.Trace };

    public QueueOps(MailQueue queue) => Queue = queue;

    public MailQueue Queue { get; }

    public Counters Count { get; } = new();

    // QueueInfo - expected permissions (ready: message queue) and recursion.
    public readonly record struct QueueInfo(string Name, bool MessageQueue, bool Recurse);

    private static readonly QueueInfo[] Infos =
    {
        new(MailQueue.Maildrop, true, false), new(MailQueue.Incoming, true, true), new(MailQueue.Active, true, true),
        new(MailQueue.Deferred, true, true), new(MailQueue.Hold, true, true), new(MailQueue.Trace, false, true),
        new(MailQueue.Defer, false, true), new(MailQueue.Bounce, false, true), new(MailQueue.Flush, false, true),
    };

    public static QueueInfo Find(string queueName)
    {
        foreach (var q in Infos)
        {
            if (q.Name == queueName)
                return q;
        }
        Msg.Fatal($"invalid directory name: {queueName}");
        return default;
    }

    public static bool IsReadyMessage(uint mode) => (mode & 0x1c0) == MailQueue.StatReady;

    // Remove - postremove(): 0, or -1 when the file was already gone.
    public static int Remove(string path)
    {
        if (Sys.Remove(path) < 0)
        {
            var errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            if (errno != Sys.ENOENT)
                Msg.Fatal($"remove file {path}: {Sys.StrError(errno)}");
            return -1;
        }
        if (Msg.Verbose > 0)
            Msg.Info($"removed file {path}");
        return 0;
    }

    // Rename - postrename(): creates missing hash directories; -1 when
    // the source was gone.
    public static int Rename(string from, string to)
    {
        if (Sys.Rename(from, to) == 0)
        {
            if (Msg.Verbose > 0)
                Msg.Info($"renamed file {from} as {to}");
            return 0;
        }
        var errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
        if (errno == Sys.ENOENT)
        {
            errno = MakeDirs(to);
            if (errno == 0)
            {
                if (Sys.Rename(from, to) == 0)
                    return 0;
                errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            }
        }
        if (errno != Sys.ENOENT)
            Msg.Fatal($"rename file {from} as {to}: {Sys.StrError(errno)}");
        return -1;
    }

    // MakeDirs - mail_queue_mkdirs(): the file's missing parent
    // directories, mode 0700; 0 or an errno.
    private static int MakeDirs(string filePath)
    {
        var slash = filePath.LastIndexOf('/');
        if (slash <= 0)
            return Sys.ENOENT;
        var dir = filePath[..slash];
        if (Directory.Exists(dir))
            return 0;
        var parentErr = MakeDirs(dir);
        if (parentErr != 0)
            return parentErr;
        try
        {
            Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            return 0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Directory.Exists(dir) ? 0 : Sys.ErrnoOf(e);
        }
    }

    // Rmdir - postrmdir().
    public static void Rmdir(string path)
    {
        if (Sys.Rmdir(path) < 0)
        {
            var errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            if (errno != Sys.ENOENT)
                Msg.Fatal($"remove directory {path}: {Sys.StrError(errno)}");
            return;
        }
        if (Msg.Verbose > 0)
            Msg.Info($"remove directory {path}");
    }

    // Expire - postexpire(): set the group execute bit of a ready file
    // that does not have it yet; 0 when done.
    public static int Expire(string path)
    {
        // safe_open() of an existing file: it must open, have one link,
        // and not be a directory.
        var fd = Sys.Open(path, 2, 0);
        if (fd < 0)
        {
            var errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            if (errno != Sys.ENOENT)
                Msg.Warn($"expire file {path}: cannot open file: {Sys.StrError(errno)}");
            return -1;
        }
        try
        {
            if (!Sys.LStat(path, out var st))
            {
                Msg.Warn($"expire file {path}: file status changed unexpectedly: {Sys.LastError()}");
                return -1;
            }
            if (st.Links != 1)
            {
                Msg.Warn($"expire file {path}: file has {st.Links} hard links");
                return -1;
            }
            if (Sys.IsDir(st.Mode))
            {
                Msg.Warn($"expire file {path}: file is a directory");
                return -1;
            }
            if (!IsReadyMessage(st.Mode) || (st.Mode & MailQueue.StatExpire) != 0)
                return -1;
            if (Sys.Fchmod(fd, (int)((st.Mode | MailQueue.StatExpire) & 0xfff)) < 0)
            {
                Msg.Warn($"expire file {path}: cannot set permission: {Sys.LastError()}");
                return -1;
            }
            return 0;
        }
        finally
        {
            Sys.Close(fd);
        }
    }

    private static bool CheckId(string queueId)
    {
        if (QueueId.IsValid(queueId))
            return true;
        Msg.Warn($"invalid mail queue id: {queueId}");
        return false;
    }

    // DeleteOne - delete_one(): the message and its logfiles.
    public void DeleteOne(string[] queues, string queueId)
    {
        if (!CheckId(queueId))
            return;
        var found = 0;
        for (var tries = 0; found == 0 && tries < 2; tries++)
        {
            foreach (var q in queues)
            {
                if (!Find(q).MessageQueue)
                    continue;
                if (!MailOpenOk.Check(Queue, q, queueId, out _, out var path))
                    continue;
                foreach (var log in LogQueueNames)
                    Remove(Queue.Path(log, queueId));
                if (Remove(path) == 0)
                {
                    found = 1;
                    Msg.Info($"{queueId}: removed");
                    break;
                }
            }
        }
        Count.Deleted += found;
    }

    // RequeueOne - requeue_one(): move to maildrop, logfiles stay.
    public void RequeueOne(string[] queues, string queueId)
    {
        if (!CheckId(queueId))
            return;
        var found = 0;
        for (var tries = 0; found == 0 && tries < 2; tries++)
        {
            foreach (var q in queues)
            {
                if (q == MailQueue.Maildrop || !Find(q).MessageQueue)
                    continue;
                if (!MailOpenOk.Check(Queue, q, queueId, out _, out var oldPath))
                    continue;
                var newPath = Queue.Path(MailQueue.Maildrop, queueId);
                if (Rename(oldPath, newPath) == 0)
                {
                    if (Sys.Utime(newPath, DateTimeOffset.UtcNow.ToUnixTimeSeconds()) < 0)
                        Msg.Warn($"{newPath}: reset time stamps: {Sys.LastError()}");
                    Msg.Info($"{queueId}: requeued");
                    found = 1;
                    break;
                }
            }
        }
        Count.Requeued += found;
    }

    // HoldOne - hold_one(): move to hold (never from maildrop).
    public void HoldOne(string[] queues, string queueId)
    {
        if (!CheckId(queueId))
            return;
        var found = 0;
        for (var tries = 0; found == 0 && tries < 2; tries++)
        {
            foreach (var q in queues)
            {
                if (q == MailQueue.Maildrop || q == MailQueue.Hold || !Find(q).MessageQueue)
                    continue;
                if (!MailOpenOk.Check(Queue, q, queueId, out _, out var oldPath))
                    continue;
                if (Rename(oldPath, Queue.Path(MailQueue.Hold, queueId)) == 0)
                {
                    Msg.Info($"{queueId}: placed on hold");
                    found = 1;
                    break;
                }
            }
        }
        Count.Held += found;
    }

    // ReleaseOne - release_one(): from hold to deferred.
    public void ReleaseOne(string[] queues, string queueId)
    {
        if (!CheckId(queueId))
            return;
        var found = 0;
        foreach (var q in queues)
        {
            if (q != MailQueue.Hold)
                continue;
            if (!MailOpenOk.Check(Queue, q, queueId, out _, out var oldPath))
                continue;
            if (Rename(oldPath, Queue.Path(MailQueue.Deferred, queueId)) == 0)
            {
                Msg.Info($"{queueId}: released from hold");
                found = 1;
                break;
            }
        }
        Count.Released += found;
    }

    // ExpireOne - expire_one().
    public void ExpireOne(string[] queues, string queueId)
    {
        if (!CheckId(queueId))
            return;
        var found = 0;
        for (var tries = 0; found == 0 && tries < 2; tries++)
        {
            foreach (var q in queues)
            {
                if (!Find(q).MessageQueue || q == MailQueue.Maildrop)
                    continue;
                if (!MailOpenOk.Check(Queue, q, queueId, out _, out var path))
                    continue;
                if (Expire(path) == 0)
                {
                    found = 1;
                    Msg.Info($"{queueId}: expired");
                    break;
                }
            }
        }
        Count.Expired += found;
    }

    // ExpireReleaseOne - exp_rel_one().
    public void ExpireReleaseOne(string[] queues, string queueId)
    {
        ExpireOne(queues, queueId);
        ReleaseOne(queues, queueId);
    }

    // OperateStream - operate_stream(): one queue ID per input line.
    public static void OperateStream(Stream input, Action<string[], string> op, string[] queues)
    {
        var all = new MemoryStream();
        input.CopyTo(all);
        var data = all.GetBuffer().AsSpan(0, (int)all.Length);
        while (data.Length > 0)
        {
            var nl = data.IndexOf((byte)'\n');
            var line = nl < 0 ? data : data[..nl];
            var nul = line.IndexOf((byte)0);
            if (nul >= 0)
                line = line[..nul];
            op(queues, ByteText.Decode(line));
            data = nl < 0 ? default : data[(nl + 1)..];
        }
    }
}

// Counters - what postsuper reports at the end.
internal sealed class Counters
{
    public int Requeued;
    public int Held;
    public int Released;
    public int Deleted;
    public int Expired;
    public int InodeFixed;
    public int InodeMismatch;
    public int PositionMismatch;
}
