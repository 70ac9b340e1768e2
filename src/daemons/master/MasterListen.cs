// NAME
//	MasterListen - open and close the endpoints of services
// POSTFIX
//	src/master/master_listen.c, src/util/unix_listen.c, fifo_listen.c,
//	inet_listen.c, unix_dgram_listen.c
// DESCRIPTION
//	UNIX sockets, datagram sockets and fifos are made as mail_owner
//	(the master switches its effective ids for the moment), world
//	writable (sockets 0666, fifos 0622: the public/ and private/
//	directory modes do the protecting). Inet sockets bind each address
//	with SO_REUSEADDR. Every endpoint is non-blocking and close-on-exec;
//	the child gets its own copy at descriptor 6 and up.
using System;
using System.Collections.Generic;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Postfix.Util;

namespace Postfix.Daemons.Master;

internal sealed class MasterListen
{
    private readonly uint ownerUid;
    private readonly uint ownerGid;
    private readonly int processLimit;

    // Sockets stay referenced here so that the runtime never closes them.
    private readonly Dictionary<int, Socket> sockets = new();

    public MasterListen(uint ownerUid, uint ownerGid, int processLimit)
    {
        this.ownerUid = ownerUid;
        this.ownerGid = ownerGid;
        this.processLimit = processLimit;
    }

    public void Open(MasterService serv)
    {
        var backlog = Math.Max(serv.MaxProc, processLimit);
        switch (serv.Type)
        {
            case ServiceType.Unix:
            case ServiceType.Pass:
                serv.ListenFds = [AsOwner(() => UnixListen(serv.Name, SocketType.Stream, backlog))];
                break;
            case ServiceType.UnixDgram:
                serv.ListenFds = [AsOwner(() => UnixListen(serv.Name, SocketType.Dgram, 0))];
                break;
            case ServiceType.Fifo:
                serv.ListenFds = [AsOwner(() => FifoListen(serv.Name, Convert.ToInt32("622", 8)))];
                break;
            case ServiceType.Inet:
                var fds = new int[serv.InetAddresses.Count];
                for (var i = 0; i < fds.Length; i++)
                    fds[i] = InetListen(serv.InetAddresses[i], serv.InetPort, backlog);
                serv.ListenFds = fds;
                break;
        }
    }

    public void Close(MasterService serv)
    {
        foreach (var fd in serv.ListenFds)
        {
            if (sockets.Remove(fd, out var s))
                s.Dispose();
            else if (Sys.Close(fd) < 0)
                Msg.Warn($"master_listen_cleanup: close listener socket {fd}: {Sys.LastError()}");
        }
        serv.ListenFds = [];
    }

    private int AsOwner(Func<int> open)
    {
        Sys.SetEgid(ownerGid);
        Sys.SetEuid(ownerUid);
        try
        {
            return open();
        }
        finally
        {
            Sys.SetEuid(Sys.GetUid());
            Sys.SetEgid(Sys.GetGid());
        }
    }

    private int UnixListen(string path, SocketType type, int backlog)
    {
        if (Sys.Unlink(path) < 0 && Marshal.GetLastPInvokeError() != Sys.ENOENT)
            Msg.Fatal($"remove {path}: {Sys.LastError()}");
        var s = new Socket(AddressFamily.Unix, type, ProtocolType.Unspecified);
        try
        {
            s.Bind(new UnixDomainSocketEndPoint(path));
        }
        catch (SocketException e)
        {
            Msg.Fatal($"bind: {path}: {Sys.StrError(NativeErrno(e))}");
        }
        if (Sys.Chmod(path, Convert.ToInt32("666", 8)) < 0)
            Msg.Fatal($"chmod socket {path}: {Sys.LastError()}");
        var fd = (int)s.Handle;
        Sys.NonBlocking(fd, true);
        if (type == SocketType.Stream)
            s.Listen(backlog);
        sockets[fd] = s;
        return fd;
    }

    private static int FifoListen(string path, int mode)
    {
        if (Sys.Unlink(path) < 0 && Marshal.GetLastPInvokeError() != Sys.ENOENT)
            Msg.Fatal($"fifo_listen: remove {path}: {Sys.LastError()}");
        if (Sys.MkFifo(path, mode) < 0)
            Msg.Fatal($"fifo_listen: create fifo {path}: {Sys.LastError()}");
        var fd = Sys.Open(path, Sys.O_RDWR | Sys.O_NONBLOCK | Sys.O_CLOEXEC, 0);
        if (fd < 0)
            Msg.Fatal($"fifo_listen: open {path}: {Sys.LastError()}");
        if (Sys.Fchmod(fd, mode) < 0)
            Msg.Fatal($"fifo_listen: fchmod {path}: {Sys.LastError()}");
        return fd;
    }

    private int InetListen(IPAddress addr, int port, int backlog)
    {
        var s = new Socket(addr.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        s.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        if (addr.AddressFamily == AddressFamily.InterNetworkV6)
            s.DualMode = false;
        try
        {
            s.Bind(new IPEndPoint(addr, port));
            s.Listen(backlog);
        }
        catch (SocketException e)
        {
            var text = addr.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{addr}]:{port}" : $"{addr}:{port}";
            Msg.Fatal($"bind {text}: {Sys.StrError(NativeErrno(e))}");
        }
        var fd = (int)s.Handle;
        Sys.NonBlocking(fd, true);
        sockets[fd] = s;
        return fd;
    }

    private static int NativeErrno(SocketException e) => e.SocketErrorCode switch
    {
        SocketError.AddressAlreadyInUse => 98,
        SocketError.AccessDenied => Sys.EACCES,
        SocketError.AddressNotAvailable => 99,
        _ => e.NativeErrorCode,
    };
}
