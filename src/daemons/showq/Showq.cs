// NAME
//	Showq - the showq(8) daemon: list the mail queue
// POSTFIX
//	src/showq/showq.c (main)
// DESCRIPTION
//	A single-threaded server (one client at a time); each connection
//	gets one whole listing from ShowqService. Stand-alone (-S), as
//	postqueue runs it when the mail system is down, the client is
//	stdin/stdout. Parameters: duplicate_filter_limit,
//	empty_address_recipient, the hash_queue_* settings, smtputf8_enable
//	(what printable() keeps).
using System;
using System.Globalization;
using Postfix.Global.Queue;
using Postfix.Server;
using Postfix.Util;

namespace Postfix.Daemons.Showq;

public static class Showq
{
    private static ShowqService? service;

    public static int Run(string[] args) =>
        SingleServer.Run(args, Serve, new ServerOptions { PostInit = Init });

    private static void Init(ServerContext ctx)
    {
        var conf = ctx.Conf;
        var limitText = conf.Eval("duplicate_filter_limit");
        if (!int.TryParse(limitText, NumberStyles.Integer, CultureInfo.InvariantCulture, out var limit) || limit < 0)
            Msg.Fatal($"bad numerical configuration: duplicate_filter_limit = {limitText}");
        var empty = conf.Eval("empty_address_recipient");
        if (empty.Length == 0)
            Msg.Fatal("bad parameter value: empty_address_recipient = ");
        Msg.Utf8Enable = !string.Equals(conf.Eval("smtputf8_enable"), "no", StringComparison.OrdinalIgnoreCase);
        service = new ShowqService(MailQueue.FromConfig(conf), empty, limit);
    }

    private static void Serve(ServerContext ctx, ClientConnection conn)
    {
        if (ctx.Args.Length > 0)
            Msg.Fatal($"unexpected command-line argument: {ctx.Args[0]}");
        service!.Serve(conn.Stream);
    }
}
