// NAME
//	QueueFile - the queue file a cleanup session writes
// POSTFIX
//	src/global/mail_stream.c (mail_stream_file, mail_stream_finish_file,
//	mail_stream_ctl), src/global/mail_queue.c
// DESCRIPTION
//	Create() makes a new file in incoming/ (mode 0600 while it is being
//	written; the name is the queue ID). Finish() flushes, sets mode 0700
//	("ready"), fsyncs and closes the file, then wakes up the queue
//	manager (unless the file was moved to a queue without a service,
//	like hold/). MoveTo() renames the open file into another queue.
//	Remove() deletes it after a failure or a discard.
using System;
using System.IO;
using Postfix.Global.Attr;
using Postfix.Global.Queue;
using Postfix.Util;

namespace Postfix.Daemons.Cleanup;

internal sealed class QueueFile : IDisposable
{
    private readonly MailQueue queue;
    private FileStream? stream;
    private string? service;

    private QueueFile(MailQueue queue, FileStream stream, string id, string path, string queueService)
    {
        this.queue = queue;
        this.stream = stream;
        Id = id;
        Path = path;
        service = queueService;
        QueueName = MailQueue.Incoming;
    }

    public string Id { get; }

    public string Path { get; private set; }

    public string QueueName { get; private set; }

    public long CreateTime { get; private init; }

    public Stream Stream => stream ?? throw new ObjectDisposedException(nameof(QueueFile));

    // Create - mail_stream_file(MAIL_QUEUE_INCOMING, public, $queue_service_name, 0).
    public static QueueFile Create(CleanupConfig cfg)
    {
        var s = cfg.Queue.Enter(MailQueue.Incoming, 0x180, cfg.LongQueueIds, InodeOf, out var id, out var path);
        return new QueueFile(cfg.Queue, s, id, path, cfg.QueueService)
        {
            CreateTime = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
        };
    }

    private static ulong InodeOf(FileStream fs) => Sys.Stat(fs.Name, out var st) ? st.Inode : 0;

    // RemoveSpuriousLogs - the defer/bounce/trace logs a new queue ID must not have.
    public void RemoveSpuriousLogs()
    {
        foreach (var q in new[] { MailQueue.Defer, MailQueue.Bounce, MailQueue.Trace })
        {
            var p = queue.Path(q, Id);
            if (Sys.Unlink(p) == 0)
            {
                Msg.Warn($"{q}: removed spurious {Id} log");
                continue;
            }
            var errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            if (errno != 2)
                Msg.Fatal($"{q}: remove {Id} log: {Sys.StrError(errno)}");
        }
    }

    // MoveTo - mail_stream_ctl(QUEUE(name), CLASS(0), SERVICE(0)).
    public void MoveTo(string queueName)
    {
        var newPath = queue.Path(queueName, Id);
        if (Sys.Rename(Path, newPath) != 0
            && (!MailQueue.MakeDirs(newPath) || Sys.Rename(Path, newPath) != 0))
            Msg.Fatal($"mail_stream_ctl: rename {Path} to {newPath}: {Sys.LastError()}");
        Path = newPath;
        QueueName = queueName;
        service = null;
    }

    // Finish - mail_stream_finish_file(): a cleanup status.
    public int Finish(string? queueDirectory)
    {
        var status = CleanupStatus.Ok;
        try
        {
            stream!.Flush();
            var fd = (int)stream.SafeFileHandle.DangerousGetHandle();
            if (Sys.Fchmod(fd, 0x1c0 /* 0700 */) != 0 || Sys.Fsync(fd) != 0)
                status = CleanupStatus.Write;
        }
        catch (IOException)
        {
            status = CleanupStatus.Write;
        }
        try
        {
            stream!.Dispose();
        }
        catch (IOException)
        {
            if (status == CleanupStatus.Ok)
                status = CleanupStatus.Write;
        }
        stream = null;
        if (status == CleanupStatus.Ok && service != null)
            MailTrigger.Trigger(queueDirectory, MailProto.ClassPublic, service, [MailProto.TriggerReqWakeup]);
        return status;
    }

    // Close - mail_stream_cleanup(): close without finishing.
    public void Close()
    {
        try
        {
            stream?.Dispose();
        }
        catch (IOException)
        {
            // Nothing more to do: the file is about to be removed.
        }
        stream = null;
    }

    // Remove - REMOVE(cleanup_path) with its warning.
    public void Remove()
    {
        if (Sys.Unlink(Path) != 0)
            Msg.Warn($"remove {Path}: {Sys.LastError()}");
    }

    public void Dispose() => Close();
}
