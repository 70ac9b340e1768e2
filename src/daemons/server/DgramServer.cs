// NAME
//	DgramServer - one datagram at a time (postlogd)
// POSTFIX
//	src/master/dgram_server.c
// DESCRIPTION
//	Receives datagrams on the unix-dgram socket the master opened and
//	passes each to the service. The master sees this process as busy
//	only while it handles one. When the server is told to stop (SIGTERM
//	from "postfix stop", or the master's end of the status channel
//	closes), the datagrams the kernel still holds for the socket are
//	served before the process leaves: they were sent before the stop
//	(a line logged just before "postfix stop"), and no process reads
//	them later. The drain reads without waiting and takes a second at
//	most, so that a stop never hangs on a client that keeps sending.
//	(The reference dies of the signal and loses those datagrams.)
using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using Postfix.Util;

namespace Postfix.Server;

public static class DgramServer
{
    public const int BufferSize = 4096;

    // How long a stopping server may go on reading queued datagrams.
    private const int DrainLimitMs = 1000;

    private static PosixSignalRegistration? sigtermRegistration;

    public static int Run(string[] args, Action<ServerContext, ReadOnlyMemory<byte>> service, ServerOptions? options = null) =>
        ProgramHost.Run("server", args, a => Main(a, service, options));

    private static int Main(string[] args, Action<ServerContext, ReadOnlyMemory<byte>> service, ServerOptions? options)
    {
        var host = ServerHost.Init(args, options);
        var ctx = host.Context;
        if (!string.Equals(ctx.Transport, "unix-dgram", StringComparison.OrdinalIgnoreCase))
            Msg.Fatal($"unsupported transport type: {ctx.Transport}");
        ServerLoop.CloseOnExecAll(host);
        var buf = new byte[BufferSize];
        var listenFds = new List<int>(host.ListenFds());
        foreach (var fd in listenFds)
            Sys.NonBlocking(fd, true);
        var stopFd = StopPipeOnSigterm();
        var fds = new List<int>(listenFds) { stopFd };
        var ready = new List<int>();
        var useCount = 0;
        var idleDeadline = ServerLoop.IdleDeadline(host);
        while (host.UseLimit == 0 || useCount < host.UseLimit)
        {
            var delay = host.Options.Loop?.Invoke(ctx) ?? -1;
            var result = ServerLoop.Wait(fds, true, idleDeadline, delay, ready);
            if (result == ServerLoop.WaitResult.LoopTimer)
            {
                host.Options.Timer?.Invoke(ctx);
                continue;
            }
            if (result == ServerLoop.WaitResult.MasterGone)
            {
                if (Msg.Verbose > 0)
                    Msg.Info("master disconnect -- draining the socket");
                Drain(ctx, listenFds, service, buf);
            }
            if (result != ServerLoop.WaitResult.Ready)
                return host.Stop(result);
            if (ready.Contains(stopFd))
            {
                if (Msg.Verbose > 0)
                    Msg.Info("stop signal -- draining the socket");
                Drain(ctx, listenFds, service, buf);
                return host.Exit();
            }
            foreach (var fd in ready)
            {
                var n = ServerLoop.ReceiveInto(fd, buf);
                if (n < 0)
                    continue;
                if (!host.Notify(false))
                    return host.Exit();
                service(ctx, buf.AsMemory(0, n));
                if (!host.Notify(true))
                    return host.Exit();
                useCount++;
                idleDeadline = ServerLoop.IdleDeadline(host);
            }
        }
        return host.Exit();
    }

    // StopPipeOnSigterm - a descriptor that becomes readable when SIGTERM
    // arrives (the handler runs on the runtime's signal thread; the loop
    // finds out at its next poll).
    private static int StopPipeOnSigterm()
    {
        if (!Sys.Pipe(out var readFd, out var writeFd, Sys.O_CLOEXEC | Sys.O_NONBLOCK))
            Msg.Fatal($"pipe: {Sys.LastError()}");
        sigtermRegistration = PosixSignalRegistration.Create(PosixSignal.SIGTERM, sig =>
        {
            sig.Cancel = true;
            Sys.Write(writeFd, [1]);
        });
        return readFd;
    }

    // Drain - serve what the sockets hold now, without waiting for more.
    private static void Drain(ServerContext ctx, List<int> listenFds, Action<ServerContext, ReadOnlyMemory<byte>> service, byte[] buf)
    {
        var deadline = Environment.TickCount64 + DrainLimitMs;
        foreach (var fd in listenFds)
        {
            int n;
            while (Environment.TickCount64 < deadline && (n = ServerLoop.ReceiveInto(fd, buf)) >= 0)
                service(ctx, buf.AsMemory(0, n));
        }
    }
}
