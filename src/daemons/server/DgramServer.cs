// NAME
//	DgramServer - one datagram at a time (postlogd)
// POSTFIX
//	src/master/dgram_server.c
// DESCRIPTION
//	Receives datagrams on the unix-dgram socket the master opened and
//	passes each to the service. The master sees this process as busy
//	only while it handles one.
using System;
using System.Collections.Generic;
using Postfix.Util;

namespace Postfix.Server;

public static class DgramServer
{
    public const int BufferSize = 4096;

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
        var fds = new List<int>(host.ListenFds());
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
            if (result != ServerLoop.WaitResult.Ready)
                return host.Stop(result);
            foreach (var fd in ready)
            {
                Sys.NonBlocking(fd, true);
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
}
