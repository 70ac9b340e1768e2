// NAME
//	SingleServer - one client at a time, one connection per request
// POSTFIX
//	src/master/single_server.c
// DESCRIPTION
//	Accepts a connection, tells the master it is busy, runs the service
//	on it, closes it and reports idle again. Exits after max_use
//	clients, after max_idle seconds without one, or when the master
//	goes away. With -S the single client is stdin/stdout.
using System;
using System.Collections.Generic;
using Postfix.Util;

namespace Postfix.Server;

public static class SingleServer
{
    public static int Run(string[] args, Action<ServerContext, ClientConnection> service, ServerOptions? options = null) =>
        ProgramHost.Run("server", args, a => Main(a, service, options));

    private static int Main(string[] args, Action<ServerContext, ClientConnection> service, ServerOptions? options)
    {
        var host = ServerHost.Init(args, options);
        var ctx = host.Context;
        if (ctx.StandAlone)
        {
            using (var conn = ServerHost.StandAloneConnection())
            {
                service(ctx, conn);
                conn.Stream.Flush();
            }
            return host.Exit();
        }
        host.RequireTransport("unix", "inet");
        ServerLoop.CloseOnExecAll(host);
        var fds = new List<int>(host.ListenFds());
        var ready = new List<int>();
        var useCount = 0;
        var idleDeadline = ServerLoop.IdleDeadline(host);
        while (host.UseLimit == 0 || useCount < host.UseLimit)
        {
            host.LockSelect();
            var delay = host.Options.Loop?.Invoke(ctx) ?? -1;
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
                host.Options.PreAccept?.Invoke(ctx);
                var socket = ServerLoop.Accept(fd);
                host.UnlockSelect();
                if (socket == null)
                    continue;
                if (Msg.Verbose > 0)
                    Msg.Info("connection established");
                if (!host.Notify(false))
                    return host.Exit();
                if (host.Options.InFlowDelay)
                    MailFlow.Delay(ctx);
                using (var conn = new ClientConnection(socket))
                    service(ctx, conn);
                if (!host.Notify(true))
                    return host.Exit();
                if (Msg.Verbose > 0)
                    Msg.Info("connection closed");
                useCount++;
                idleDeadline = ServerLoop.IdleDeadline(host);
                break;
            }
        }
        return host.Exit();
    }
}
