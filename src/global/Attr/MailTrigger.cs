// NAME
//	MailTrigger - wake up a Postfix service with a one-byte request
// POSTFIX
//	src/global/mail_trigger.c, src/global/mail_flush.c,
//	src/util/fifo_trigger.c, src/util/unix_trigger.c
// DESCRIPTION
//	Trigger() looks at what class/service is (a FIFO or a UNIX-domain
//	socket: master.cf's fifo and unix types) and writes the request:
//	to a FIFO as is, opened write-only and non-blocking so that a FIFO
//	nobody reads fails at once; to a socket followed by one NUL byte, as
//	unix_trigger() sends it. Results: 0, or -1 with Postfix's warnings.
//	FlushMaildrop (postdrop, sendmail, postqueue: "W" to pickup) and
//	FlushDeferred (postqueue -f, sendmail -q: "FADI" to qmgr) are
//	mail_flush_maildrop() and mail_flush_deferred().
using System;
using System.IO;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Postfix.Util;

namespace Postfix.Global.Attr;

public static partial class MailTrigger
{
    // Default trigger_timeout.
    public const int DefaultTimeout = 10;

    private static readonly byte[] TriggerEnd = [0];

    private static readonly byte[] MaildropWakeup = [MailProto.TriggerReqWakeup];

    private static readonly byte[] QmgrFlush =
    [
        MailProto.QmgrReqFlushDead,     // all hosts, all transports
        MailProto.QmgrReqScanAll,       // all time stamps
        MailProto.QmgrReqScanDeferred,
        MailProto.QmgrReqScanIncoming,
    ];

    // FlushMaildrop - mail_flush_maildrop(): wake up pickup.
    public static int FlushMaildrop(string? queueDirectory, string pickupService = MailProto.ServicePickup,
        int timeout = DefaultTimeout) =>
        Trigger(queueDirectory, MailProto.ClassPublic, pickupService, MaildropWakeup, timeout);

    // FlushDeferred - mail_flush_deferred(): make qmgr retry everything.
    public static int FlushDeferred(string? queueDirectory, string queueService = MailProto.ServiceQueue,
        int timeout = DefaultTimeout) =>
        Trigger(queueDirectory, MailProto.ClassPublic, queueService, QmgrFlush, timeout);

    // Trigger - mail_trigger(): class/service under queueDirectory (null:
    // relative to the current directory, as Postfix programs run there).
    public static int Trigger(string? queueDirectory, string cls, string service, ReadOnlySpan<byte> request,
        int timeout = DefaultTimeout)
    {
        var name = cls + "/" + service;
        var path = queueDirectory == null ? name : Path.Combine(queueDirectory, name);
        var type = FileType(path, out var errno);
        if (type < 0)
        {
            Msg.Warn($"unable to look up {name}: {Sys.StrError(errno)}");
            return -1;
        }
        if (type == SIfFifo)
            return FifoTrigger(path, request, timeout);
        if (type == SIfSock)
            return UnixTrigger(path, request, timeout);
        Msg.Warn($"{name} is not a socket or a fifo");
        return -1;
    }

    // FifoTrigger - fifo_trigger(): open fails when no process reads.
    public static int FifoTrigger(string path, ReadOnlySpan<byte> request, int timeout = DefaultTimeout)
    {
        var fd = Open(path, ORdWrOnly | ONonBlock | ONoFollow | OCloExec);
        if (fd < 0)
        {
            if (Msg.Verbose > 0)
                Msg.Info($"fifo_trigger: open {path}: {Sys.StrError(Marshal.GetLastPInvokeError())}");
            return -1;
        }
        unsafe
        {
            fixed (byte* p = request)
            {
                var done = 0;
                while (done < request.Length)
                {
                    var n = Write(fd, p + done, (nuint)(request.Length - done));
                    if (n <= 0)
                    {
                        if (Msg.Verbose > 0)
                            Msg.Warn($"fifo_trigger: write {path}: {Sys.StrError(Marshal.GetLastPInvokeError())}");
                        break;
                    }
                    done += (int)n;
                }
            }
        }
        Close(fd);
        return 0;
    }

    // UnixTrigger - unix_trigger(): the request, then a NUL byte.
    public static int UnixTrigger(string path, ReadOnlySpan<byte> request, int timeout = DefaultTimeout)
    {
        using var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            s.SendTimeout = timeout > 0 ? timeout * 1000 : 0;
            s.Connect(new UnixDomainSocketEndPoint(path));
        }
        catch (SocketException e)
        {
            if (Msg.Verbose > 0)
                Msg.Warn($"unix_trigger: connect to {path}: {Sys.StrError(AttrClient.Errno(e))}");
            return -1;
        }
        // The server may read the request and hang up before the NUL
        // byte: a routine outcome, so no exception for it.
        s.Send(request, SocketFlags.None, out var error);
        if (error == SocketError.Success)
            s.Send(TriggerEnd, SocketFlags.None, out error);
        if (error != SocketError.Success && Msg.Verbose > 0)
            Msg.Warn($"unix_trigger: write to {path}: {Sys.StrError(AttrClient.Errno(new SocketException((int)error)))}");
        return 0;
    }

    private const int ORdWrOnly = 1;        // O_WRONLY
    private const int ONonBlock = 0x800;    // O_NONBLOCK
    private const int ONoFollow = 0x20000;  // O_NOFOLLOW (safe_open: no symlinks)
    private const int OCloExec = 0x80000;   // O_CLOEXEC
    private const int SIfMt = 0xf000;
    private const int SIfFifo = 0x1000;
    private const int SIfSock = 0xc000;

    // FileType - the S_IFMT bits of path, or -1 with errno (statx: its
    // layout is the same on every architecture, unlike struct stat).
    internal static unsafe int FileType(string path, out int errno)
    {
        var buf = stackalloc byte[256];
        const int AtFdCwd = -100;
        const uint StatxType = 1;
        if (Statx(AtFdCwd, path, 0, StatxType, buf) != 0)
        {
            errno = Marshal.GetLastPInvokeError();
            return -1;
        }
        errno = 0;
        var mode = *(ushort*)(buf + 28);
        return mode & SIfMt;
    }

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int Statx(int dirfd, string path, int flags, uint mask, byte* buf);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    private static unsafe partial nint Write(int fd, byte* buf, nuint count);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
