// NAME
//	TriggerServer - wake-up requests on a fifo or a UNIX socket
// POSTFIX
//	src/master/trigger_server.c
// DESCRIPTION
//	Reads a short request (at most 1024 bytes) from the fifo, or from a
//	connection on the UNIX socket, and hands it to the service. The
//	master's wakeup timer and commands such as postqueue -f send such
//	requests. With -S the request comes from stdin.
using System;
using System.Collections.Generic;
using System.IO;
using Postfix.Util;

namespace Postfix.Server;

public static class TriggerServer
{
    public const int BufferSize = 1024;

    public static int Run(string[] args, Action<ServerContext, ReadOnlyMemory<byte>> service, ServerOptions? options = null) =>
        ProgramHost.Run("server", args, a => Main(a, service, options));

    private static int Main(string[] args, Action<ServerContext, ReadOnlyMemory<byte>> service, ServerOptions? options)
    {
        var host = ServerHost.Init(args, options);
        var ctx = host.Context;
        var buf = new byte[BufferSize];
        if (ctx.StandAlone)
        {
            using var stdin = Console.OpenStandardInput();
            var n = stdin.ReadAtLeast(buf, buf.Length, throwOnEndOfStream: false);
            service(ctx, buf.AsMemory(0, n));
            return host.Exit();
        }
        var fifo = string.Equals(ctx.Transport, "fifo", StringComparison.OrdinalIgnoreCase);
        if (!fifo && !string.Equals(ctx.Transport, "unix", StringComparison.OrdinalIgnoreCase))
            Msg.Fatal($"unsupported transport type: {ctx.Transport}");
        ServerLoop.CloseOnExecAll(host);
        var listen = new List<int>(host.ListenFds());
        var fds = new List<int>(listen);
        var ready = new List<int>();
        var useCount = 0;
        var idleDeadline = ServerLoop.IdleDeadline(host);
        while (host.UseLimit == 0 || useCount < host.UseLimit)
        {
            host.LockSelect();
            var delay = host.Options.Loop?.Invoke(ctx) ?? -1;
            if (host.Options.WatchFds != null)
            {
                fds.Clear();
                fds.AddRange(listen);
                fds.AddRange(host.Options.WatchFds(ctx));
            }
            var result = ServerLoop.Wait(fds, true, idleDeadline, delay, ready);
            if (result == ServerLoop.WaitResult.LoopTimer)
            {
                host.Options.Timer?.Invoke(ctx);
                continue;
            }
            if (result != ServerLoop.WaitResult.Ready)
                return host.Stop(result);
            foreach (var fd in ready)
            {
                if (!listen.Contains(fd))
                {
                    host.Options.FdReady?.Invoke(ctx, fd);
                    continue;
                }
                host.UnlockSelect();
                if (Msg.Verbose > 0)
                    Msg.Info("trigger arrived");
                host.Options.PreAccept?.Invoke(ctx);
                if (fifo)
                {
                    Wake(host, service, () => (int)Sys.Read(fd, buf), buf);
                }
                else
                {
                    using var socket = ServerLoop.Accept(fd);
                    if (socket == null)
                        continue;
                    if (socket.Poll(10_000_000, System.Net.Sockets.SelectMode.SelectRead))
                        Wake(host, service, () => ReadRequest(socket, buf), buf);
                }
                useCount++;
                idleDeadline = ServerLoop.IdleDeadline(host);
            }
        }
        return host.Exit();
    }

    private static void Wake(ServerHost host, Action<ServerContext, ReadOnlyMemory<byte>> service, Func<int> read, byte[] buf)
    {
        if (!host.Notify(false))
            Environment.Exit(host.Exit());
        if (host.Options.InFlowDelay)
            MailFlow.Delay(host.Context);
        var n = read();
        if (n >= 0)
            service(host.Context, buf.AsMemory(0, n));
        if (!host.Notify(true))
            Environment.Exit(host.Exit());
    }

    private static int ReadRequest(System.Net.Sockets.Socket socket, byte[] buf)
    {
        try
        {
            return socket.Receive(buf);
        }
        catch (System.Net.Sockets.SocketException)
        {
            return -1;
        }
        catch (IOException)
        {
            return -1;
        }
    }
}
