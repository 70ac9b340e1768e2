// NAME
//	Qmgr - the qmgr(8) queue manager daemon
// POSTFIX
//	src/qmgr/qmgr.c
// DESCRIPTION
//	A trigger server on public/qmgr (a fifo): wake-up requests, the
//	delivery agents' replies and timers all run on the server's one
//	thread; the Scheduler does the work (queue scans, delivery
//	scheduling, completion) in the loop hook before each wait. The service needs a process
//	limit of 1; after start-up it has no idle or use limit (the master's
//	wakeup timer keeps it busy), and it exits when a lookup table it
//	uses changed.
using System;
using Postfix.Global.Deliver;
using Postfix.Global.Dict;
using Postfix.Global.Queue;
using Postfix.Server;
using Postfix.Util;

namespace Postfix.Daemons.Qmgr;

public static class Qmgr
{
    private static Scheduler? scheduler;

    public static int Run(string[] args) => TriggerServer.Run(args, Service, new ServerOptions
    {
        Solitary = true,
        PreAccept = PreAccept,
        PostInit = PostInit,
        Loop = _ => scheduler?.Loop() ?? -1,
        WatchFds = _ => scheduler?.WatchFds ?? [],
        FdReady = (_, fd) => scheduler?.FdReady(fd),
    });

    private static void PostInit(ServerContext ctx)
    {
        if (ctx.ProcessName == "nqmgr")
        {
            var dir = ctx.Conf.ConfigDirectory;
            Msg.Warn($"please update the {dir}/master.cf file; the new queue manager");
            Msg.Warn("(old name: nqmgr) has become the standard queue manager (new name: qmgr)");
            Msg.Warn("support for the name old name (nqmgr) will be removed from Postfix");
        }
        var config = QmgrConfig.FromConf(ctx.Conf);
        DeliverConfig.Init(ctx.Conf);
        ctx.Conf.Update("ipc_timeout", config.IpcTimeout.ToString(System.Globalization.CultureInfo.InvariantCulture));
        ctx.Conf.Update("max_use", "0");
        ctx.Conf.Update("max_idle", "0");
        // As oqmgr: the old queue manager's first-in, first-out selection.
        scheduler = new Scheduler(config, MailQueue.FromConfig(ctx.Conf)) { Fifo = ctx.ProcessName == "oqmgr" };
        scheduler.Start();
    }

    private static void PreAccept(ServerContext ctx)
    {
        var table = DictOpen.ChangedName();
        if (table != null)
        {
            Msg.Info($"table {table} has changed -- restarting");
            ProgramHost.FlushOut();
            Environment.Exit(0);
        }
    }

    private static void Service(ServerContext ctx, ReadOnlyMemory<byte> request)
    {
        if (ctx.Args.Length > 0)
            Msg.Fatal($"unexpected command-line argument: {ctx.Args[0]}");
        scheduler?.Trigger(request.Span);
    }
}
