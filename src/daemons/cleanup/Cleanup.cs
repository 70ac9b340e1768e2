// NAME
//	Cleanup - the cleanup(8) daemon entry point
// POSTFIX
//	src/cleanup/cleanup.c (main, pre_accept), cleanup_init.c
// DESCRIPTION
//	A single-client server (one connection per message, process limit 0
//	as in the reference). Before the jail it opens the header/body check
//	tables; before each client it restarts when a table has changed.
//	A fatal error or SIGTERM removes the queue file being written.
using System;
using System.Runtime.InteropServices;
using Postfix.Global.Attr;
using Postfix.Global.Config;
using Postfix.Global.Dict;
using Postfix.Global.Post;
using Postfix.Server;
using Postfix.Util;

namespace Postfix.Daemons.Cleanup;

public static class Cleanup
{
    private static CleanupService? service;
    private static PosixSignalRegistration? termHandler;

    public static int Run(string[] args) =>
        SingleServer.Run(args, Serve, new ServerOptions
        {
            Unlimited = true,
            InFlowDelay = true,
            PreInit = PreJail,
            PostInit = PostJail,
            PreAccept = PreAccept,
        });

    private static void PreJail(ServerContext ctx)
    {
        var cfg = CleanupConfig.FromConf(ctx.Conf);
        cfg.NonSmtpdMilters = Postfix.Milter.Milters.Create(ctx.Conf, ctx.Conf.Eval("non_smtpd_milters"));
        CleanupConfig.WarnUnsupported(ctx.Conf);
        var rewriter = new TrivialRewriter(new RewriteClient(null, ctx.Conf.Eval("rewrite_service_name")));
        service = new CleanupService(cfg, rewriter)
        {
            Bouncer = new BounceClient(ctx.Conf),
        };
        _ = MailDate.Format(DateTimeOffset.UtcNow.ToUnixTimeSeconds()); // load zone data before the jail
    }

    private static void PostJail(ServerContext ctx)
    {
        termHandler = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c =>
        {
            CleanupService.Current?.Remove();
            Environment.Exit(15);
        });
    }

    private static void PreAccept(ServerContext ctx)
    {
        var table = DictOpen.ChangedName();
        if (table != null)
        {
            Msg.Info($"table {table} has changed -- restarting");
            Environment.Exit(0);
        }
    }

    private static void Serve(ServerContext ctx, ClientConnection conn)
    {
        if (ctx.Args.Length > 0)
            Msg.Fatal($"unexpected command-line argument: {ctx.Args[0]}");
        try
        {
            service!.Serve(conn.Stream, "unknown_stream", conn.Fd);
        }
        catch (Exception)
        {
            // A fatal error (or a bug): never leave a half-written file.
            CleanupService.Current?.Remove();
            throw;
        }
    }
}
