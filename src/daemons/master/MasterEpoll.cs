// NAME
//	MasterEpoll - the master's descriptor set in one epoll instance
// POSTFIX
//	src/util/events.c (the epoll flavour the reference's master uses)
// DESCRIPTION
//	The master waits for the status channels of every service, the
//	listen sockets of the services that take clients, and its signal
//	pipe. Sync() makes the kernel's set equal to the wanted one with
//	the fewest changes (a listen socket comes and goes as processes
//	become busy or available); Wait() returns the ready descriptors.
//	Level-triggered, like poll(2): the cost of a wake-up no longer
//	grows with the number of services. Reset() starts over with an
//	empty set (after a reload closed and reopened descriptors).
using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using Postfix.Util;

namespace Postfix.Daemons.Master;

internal sealed partial class MasterEpoll
{
    private const int EpollCloexec = 0x80000;
    private const int CtlAdd = 1, CtlDel = 2;
    private const uint EpollIn = 0x001;

    // struct epoll_event is packed on x86-64 (12 bytes), 16 bytes elsewhere.
    private static readonly int Stride = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 12 : 16;
    private static readonly int DataOffset = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 4 : 8;

    private readonly HashSet<int> registered = [];
    private readonly List<int> stale = [];
    private byte[] events = new byte[64 * 16];
    private int epfd = -1;

    public MasterEpoll() => Reset();

    public void Reset()
    {
        if (epfd >= 0)
            Sys.Close(epfd);
        epfd = EpollCreate1(EpollCloexec);
        if (epfd < 0)
            Msg.Fatal($"epoll_create: {Sys.LastError()}");
        registered.Clear();
    }

    // Sync - register what is wanted and nothing else.
    public void Sync(HashSet<int> wanted)
    {
        stale.Clear();
        foreach (var fd in registered)
        {
            if (!wanted.Contains(fd))
                stale.Add(fd);
        }
        foreach (var fd in stale)
        {
            Control(CtlDel, fd);
            registered.Remove(fd);
        }
        foreach (var fd in wanted)
        {
            if (fd >= 0 && registered.Add(fd) && Control(CtlAdd, fd) != 0)
                Msg.Fatal($"epoll_ctl: add fd {fd}: {Sys.LastError()}");
        }
    }

    // Wait - epoll_wait(2): the count of ready descriptors (in ready), or
    // -1 with errno set.
    public unsafe int Wait(int timeoutMs, List<(int Fd, uint Events)> ready)
    {
        ready.Clear();
        var max = Math.Max(registered.Count, 1);
        if (events.Length < max * Stride)
            events = new byte[max * 16];
        int n;
        fixed (byte* p = events)
            n = EpollWait(epfd, p, max, timeoutMs);
        for (var i = 0; i < n; i++)
        {
            var at = i * Stride;
            var ev = BitConverter.ToUInt32(events, at);
            var fd = (int)BitConverter.ToUInt64(events, at + DataOffset);
            ready.Add((fd, ev));
        }
        return n;
    }

    private unsafe int Control(int op, int fd)
    {
        var ev = stackalloc byte[16];
        new Span<byte>(ev, 16).Clear();
        *(uint*)ev = EpollIn;
        *(ulong*)(ev + DataOffset) = (ulong)fd;
        return EpollCtl(epfd, op, fd, ev);
    }

    [LibraryImport("libc", EntryPoint = "epoll_create1", SetLastError = true)]
    private static partial int EpollCreate1(int flags);

    [LibraryImport("libc", EntryPoint = "epoll_ctl", SetLastError = true)]
    private static unsafe partial int EpollCtl(int epfd, int op, int fd, byte* ev);

    [LibraryImport("libc", EntryPoint = "epoll_wait", SetLastError = true)]
    private static unsafe partial int EpollWait(int epfd, byte* events, int maxEvents, int timeout);
}
