// NAME
//	ServerLoop - waiting for clients, the master and timers
// POSTFIX
//	src/util/events.c (the parts the server skeletons use)
// DESCRIPTION
//	Wait() polls the listen sockets, the status channel (end-of-file:
//	the master died) and any extra descriptors, with the idle timer and
//	the daemon's own loop delay as the time limit. Accept() takes one
//	connection from a non-blocking listen socket (another process may
//	have taken it first) and returns it as a blocking socket.
using System;
using System.Collections.Generic;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Postfix.Util;

namespace Postfix.Server;

internal static partial class ServerLoop
{
    public enum WaitResult
    {
        Ready,
        IdleTimeout,
        LoopTimer,
        MasterGone,
    }

    // Wait - poll fds (and the status channel unless stand-alone); on
    // Ready, ready[] has the descriptors with input.
    public static WaitResult Wait(List<int> fds, bool watchMaster, long idleDeadlineMs, int loopDelaySec, List<int> ready)
    {
        ready.Clear();
        var trim = TrimDue();
        var now = Environment.TickCount64;
        var timeout = -1L;
        var isLoop = false;
        if (idleDeadlineMs > 0)
            timeout = Math.Max(0, idleDeadlineMs - now);
        if (loopDelaySec >= 0 && (timeout < 0 || loopDelaySec * 1000L < timeout))
        {
            timeout = loopDelaySec * 1000L;
            isLoop = true;
        }
        var count = fds.Count + (watchMaster ? 1 : 0);
        Span<Sys.PollFd> pfd = count <= 64 ? stackalloc Sys.PollFd[count] : new Sys.PollFd[count];
        for (var i = 0; i < fds.Count; i++)
            pfd[i] = new Sys.PollFd { Fd = fds[i], Events = Sys.POLLIN };
        if (watchMaster)
            pfd[fds.Count] = new Sys.PollFd { Fd = MasterChannel.StatusFd, Events = Sys.POLLIN };
        int rc;
        if (trim && (timeout < 0 || timeout > TrimDelayMs))
        {
            // A busy daemon has its next request within moments: the heap
            // is given back only once no request came for a little while.
            rc = PollRetry(pfd, TrimDelayMs);
            if (rc == 0)
            {
                Trim();
                rc = PollRetry(pfd, timeout < 0 ? -1 : timeout - TrimDelayMs);
            }
        }
        else
        {
            // A zero wait means the daemon has more work at once (the
            // queue manager between two queue files): no trim then.
            if (trim && timeout != 0)
                Trim();
            rc = PollRetry(pfd, timeout);
        }
        if (rc < 0)
            Msg.Fatal($"poll: {Sys.LastError()}");
        if (rc == 0)
            return isLoop ? WaitResult.LoopTimer : WaitResult.IdleTimeout;
        if (watchMaster && (pfd[fds.Count].REvents & (Sys.POLLIN | Sys.POLLHUP | Sys.POLLERR | Sys.POLLNVAL)) != 0)
            return WaitResult.MasterGone;
        for (var i = 0; i < fds.Count; i++)
        {
            if ((pfd[i].REvents & (Sys.POLLIN | Sys.POLLHUP | Sys.POLLERR)) != 0)
                ready.Add(fds[i]);
        }
        return WaitResult.Ready;
    }

    private static int PollRetry(Span<Sys.PollFd> pfd, long timeout)
    {
        while (true)
        {
            var rc = Sys.Poll(pfd, (int)Math.Min(timeout, int.MaxValue));
            if (rc >= 0 || Marshal.GetLastPInvokeError() != Sys.EINTR)
                return rc;
        }
    }

    // Bytes a daemon may allocate between two trims.
    private const long TrimThreshold = 4 << 20;

    // How long a daemon must wait for work before it trims.
    private const int TrimDelayMs = 200;
    private static long allocatedAtTrim;

    // TrimDue - a daemon that goes idle gives back the heap that its last
    // requests grew, so that idle processes stay small (the reference's
    // idle daemons are a few hundred kilobytes of private memory each).
    private static bool TrimDue() => GC.GetTotalAllocatedBytes() - allocatedAtTrim >= TrimThreshold;

    private static void Trim()
    {
        GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        allocatedAtTrim = GC.GetTotalAllocatedBytes();
    }

    [LibraryImport("libc", EntryPoint = "accept4", SetLastError = true)]
    private static partial int Accept4(int fd, nint addr, nint addrlen, int flags);

    [LibraryImport("libc", EntryPoint = "recv", SetLastError = true)]
    private static unsafe partial nint Recv(int fd, byte* buf, nuint len, int flags);

    private const int MsgPeek = 2;
    private const int MsgDontWait = 0x40;

    // Accept - one connection, or null (EAGAIN: someone else took it).
    public static Socket? Accept(int listenFd)
    {
        int fd;
        do
            fd = Accept4(listenFd, 0, 0, Sys.O_CLOEXEC);
        while (fd < 0 && Marshal.GetLastPInvokeError() == Sys.EINTR);
        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            if (errno != Sys.EAGAIN)
                Msg.Error($"accept connection: {Sys.StrError(errno)}");
            return null;
        }
        Sys.NonBlocking(fd, false);
        return new Socket(new SafeSocketHandle(fd, ownsHandle: true));
    }

    // PassAccept - pass_accept_attr(): take one connection on a "pass"
    // listener, receive the client descriptor and the attribute list
    // that follows it, and close the hand-off channel. Null when nothing
    // usable arrived (another process took it, or the sender failed).
    public static Socket? PassAccept(int listenFd, out Dictionary<string, string>? attrs)
    {
        attrs = null;
        var channel = Accept(listenFd);
        if (channel == null)
            return null;
        using (channel)
        {
            var fd = -1;
            if (!channel.Poll(PassAcceptTimeout * 1_000_000, SelectMode.SelectRead))
                Msg.Warn($"pass_accept_attr: timeout receiving file descriptor: {Sys.StrError(110)}");
            else if ((fd = Sys.ReceiveFd((int)channel.Handle)) < 0)
                Msg.Warn($"pass_accept_attr: cannot receive file descriptor: {Sys.LastError()}");
            if (fd < 0)
                return null;
            var table = new Dictionary<string, string>(StringComparer.Ordinal);
            int status;
            try
            {
                channel.ReceiveTimeout = PassAcceptTimeout * 1000;
                using var attrStream = new Postfix.Global.Attr.AttrStream(new NetworkStream(channel, ownsSocket: false), "pass socket");
                status = attrStream.Receive([Postfix.Global.Attr.AttrSpec.Hash()], new Postfix.Global.Attr.AttrValue[1],
                    Postfix.Global.Attr.AttrFlags.None, table);
            }
            catch (Exception e) when (e is System.IO.IOException or SocketException)
            {
                status = -1;
            }
            if (status < 0)
            {
                Msg.Warn("pass_accept_attr: cannot receive connection attributes: Connection reset by peer");
                Sys.Close(fd);
                return null;
            }
            attrs = table.Count > 0 ? table : null;
            Sys.NonBlocking(fd, false);
            return new Socket(new SafeSocketHandle(fd, ownsHandle: true));
        }
    }

    private const int PassAcceptTimeout = 100;

    // PeekAvailable - >0 data waiting, 0 end-of-file, <0 error.
    public static unsafe int Peek(int fd)
    {
        byte b;
        var n = Recv(fd, &b, 1, MsgPeek | MsgDontWait);
        if (n < 0 && Marshal.GetLastPInvokeError() == Sys.EAGAIN)
            return 1;
        return (int)n;
    }

    // Receive - one datagram (dgram and fifo servers).
    public static unsafe int ReceiveInto(int fd, Span<byte> buf)
    {
        fixed (byte* p = buf)
        {
            nint n;
            do
                n = Recv(fd, p, (nuint)buf.Length, 0);
            while (n < 0 && Marshal.GetLastPInvokeError() == Sys.EINTR);
            return (int)n;
        }
    }

    // CloseOnExecAll - the master's descriptors must not leak into
    // programs this daemon runs.
    public static void CloseOnExecAll(ServerHost host)
    {
        MailFlow.Enabled = Sys.FdIsOpen(MasterChannel.FlowReadFd) && Sys.FdIsOpen(MasterChannel.FlowWriteFd);
        foreach (var fd in host.ListenFds())
            Sys.CloseOnExec(fd, true);
        Sys.CloseOnExec(MasterChannel.StatusFd, true);
        Sys.CloseOnExec(MasterChannel.FlowReadFd, true);
        Sys.CloseOnExec(MasterChannel.FlowWriteFd, true);
    }

    public static long IdleDeadline(ServerHost host) =>
        host.IdleLimit > 0 ? Environment.TickCount64 + host.IdleLimit * 1000L : 0;
}
