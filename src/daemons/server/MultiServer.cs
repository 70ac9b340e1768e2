// NAME
//	MultiServer - many clients per process, one request at a time
// POSTFIX
//	src/master/multi_server.c
// DESCRIPTION
//	Keeps every accepted client open and runs the service each time one
//	of them has input; the service calls Disconnect() at end-of-file.
//	The process reports busy while serving a request. The idle timer
//	runs only while no client is connected; max_use counts closed
//	connections.
using System;
using System.Collections.Generic;
using Postfix.Util;

namespace Postfix.Server;

public static class MultiServer
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
                host.Options.PostAccept?.Invoke(ctx, conn);
                while (!conn.Disconnected)
                {
                    service(ctx, conn);
                    conn.Stream.Flush();
                }
                host.Options.PreDisconnect?.Invoke(ctx, conn);
            }
            return host.Exit();
        }
        host.RequireTransport("unix", "inet");
        ServerLoop.CloseOnExecAll(host);
        var listen = new HashSet<int>(host.ListenFds());
        var clients = new Dictionary<int, ClientConnection>();
        var fds = new List<int>();
        var ready = new List<int>();
        var useCount = 0;
        var idleDeadline = ServerLoop.IdleDeadline(host);
        while (host.UseLimit == 0 || useCount < host.UseLimit || clients.Count > 0)
        {
            if (clients.Count == 0)
                host.LockSelect();
            var delay = host.Options.Loop?.Invoke(ctx) ?? -1;
            fds.Clear();
            // At the use limit, serve the clients that are left but take no more.
            if (host.UseLimit == 0 || useCount < host.UseLimit)
                fds.AddRange(listen);
            fds.AddRange(clients.Keys);
            var result = ServerLoop.Wait(fds, true, clients.Count == 0 ? idleDeadline : 0, delay, ready);
            if (result == ServerLoop.WaitResult.LoopTimer)
            {
                host.Options.Timer?.Invoke(ctx);
                continue;
            }
            if (result != ServerLoop.WaitResult.Ready)
                return host.Stop(result);
            foreach (var fd in ready)
            {
                if (listen.Contains(fd))
                {
                    host.Options.PreAccept?.Invoke(ctx);
                    var socket = ServerLoop.Accept(fd);
                    if (clients.Count == 0)
                        host.UnlockSelect();
                    if (socket == null)
                        continue;
                    if (host.Options.InFlowDelay)
                        MailFlow.Delay(ctx);
                    var conn = new ClientConnection(socket);
                    clients[conn.Fd] = conn;
                    if (Msg.Verbose > 0)
                        Msg.Info($"connection established fd {conn.Fd}");
                    host.Options.PostAccept?.Invoke(ctx, conn);
                    continue;
                }
                if (!clients.TryGetValue(fd, out var client))
                    continue;
                if (ServerLoop.Peek(fd) > 0)
                {
                    if (!host.Notify(false))
                        return host.Exit();
                    service(ctx, client);
                    if (!host.Notify(true))
                        return host.Exit();
                }
                else
                {
                    client.Disconnect();
                }
                if (client.Disconnected)
                {
                    if (Msg.Verbose > 0)
                        Msg.Info($"connection closed fd {fd}");
                    host.Options.PreDisconnect?.Invoke(ctx, client);
                    clients.Remove(fd);
                    client.Dispose();
                    useCount++;
                    if (clients.Count == 0)
                        idleDeadline = ServerLoop.IdleDeadline(host);
                }
            }
        }
        return host.Exit();
    }
}
