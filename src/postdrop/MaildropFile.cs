// NAME
//	MaildropFile - a new file in the maildrop queue
// POSTFIX
//	src/global/mail_stream.c (mail_stream_file, mail_stream_finish_file),
//	src/global/mail_queue.c (mail_queue_enter)
// DESCRIPTION
//	Create() enters a file in maildrop/ (temporary name, then renamed
//	to its queue ID) with mode 0644: readable, not yet "ready". Finish()
//	flushes, sets mode 0744 (the owner execute bit says "complete"),
//	fsyncs, closes, and wakes up pickup. Remove() deletes the file of a
//	request that failed or was canceled. Path is relative to the queue
//	directory, which is the current directory.
using System;
using System.IO;
using Postfix.Global.Attr;
using Postfix.Global.Queue;
using Postfix.Global.Submit;
using Postfix.Util;

namespace Postfix.Commands.Postdrop;

internal sealed class MaildropFile
{
    private const int ModeWriting = 0x1a4;     // 0600 | 0444
    private const int ModeReady = 0x1e4;       // 0700 | 0444
    private const int Efbig = 27;

    // The FileStream only owns the descriptor: .NET's own writes would
    // refuse to pass RLIMIT_FSIZE instead of failing with EFBIG.
    private readonly FileStream owner;
    private readonly FdStream raw;
    private readonly BufferedStream buffered;
    private readonly RecordWriter writer;
    private int writeErrno;

    private MaildropFile(FileStream owner, string queueId, string path)
    {
        this.owner = owner;
        raw = new FdStream((int)owner.SafeFileHandle.DangerousGetHandle(), owned: false);
        buffered = new BufferedStream(raw, 4096);
        writer = new RecordWriter(buffered);
        QueueId = queueId;
        Path = path;
    }

    public string QueueId { get; }

    public string Path { get; }

    // Put - one record; false (and the errno kept) on a write error.
    public bool Put(int type, ReadOnlySpan<byte> data)
    {
        if (writeErrno != 0)
            return false;
        try
        {
            writer.Put(type, data);
            return true;
        }
        catch (IOException)
        {
            writeErrno = raw.LastErrno;
            return false;
        }
    }

    public static MaildropFile Create(MailQueue queue, bool longIds)
    {
        var stream = queue.Enter(MailQueue.Maildrop, ModeWriting, longIds, Inode, out var id, out var path);
        if (Msg.Verbose > 0)
            Msg.Info($"open {path}");
        return new MaildropFile(stream, id, path);
    }

    private static ulong Inode(FileStream s) => Sys.Stat(s.Name, out var st) ? st.Inode : 0;

    // Finish - 0, or the cleanup status of a write error (errno set).
    public int Finish(string pickupService, out int errno)
    {
        errno = writeErrno;
        var fd = raw.Fd;
        if (errno == 0)
        {
            try
            {
                buffered.Flush();
            }
            catch (IOException)
            {
                errno = raw.LastErrno;
            }
        }
        if (errno == 0 && Sys.Fchmod(fd, ModeReady) != 0)
            errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
        if (errno == 0 && Sys.Fsync(fd) != 0)
            errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
        CloseOwner();
        if (errno != 0)
            return errno == Efbig ? CleanupStatus.Size : CleanupStatus.Write;
        MailTrigger.FlushMaildrop(null, pickupService);
        return CleanupStatus.Ok;
    }

    // Close - give up the file as it is, written so far (mail_stream_cleanup()).
    public void Close()
    {
        if (writeErrno == 0)
        {
            try
            {
                buffered.Flush();
            }
            catch (IOException)
            {
                Msg.Warn("mail_stream_cleanup: close error");
            }
        }
        CloseOwner();
    }

    // CloseOwner - close the descriptor.
    private void CloseOwner()
    {
        try
        {
            owner.Dispose();
        }
        catch (IOException)
        {
            Msg.Warn("mail_stream_cleanup: close error");
        }
    }
}
