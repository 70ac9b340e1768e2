// NAME
//	Discard - the discard(8) daemon: accept mail and throw it away
// POSTFIX
//	src/discard/discard.c
// DESCRIPTION
//	A single-client delivery agent. For each delivery request from the
//	queue manager it reports every recipient as delivered ("sent", with
//	relay=none and the next-hop text as the reason, its leading status
//	code used when it has one, else 2.0.0) and marks the recipients done
//	in the queue file. Probes (sendmail -bv, address verification) get
//	the matching report instead. The service takes no arguments.
using Postfix.Global.Deliver;
using Postfix.Server;
using Postfix.Util;

namespace Postfix.Daemons.Discard;

public static class Discard
{
    public static int Run(string[] args) =>
        SingleServer.Run(args, Serve, new ServerOptions { PreInit = ctx => DeliverConfig.Init(ctx.Conf) });

    private static void Serve(ServerContext ctx, ClientConnection conn)
    {
        if (ctx.Args.Length > 0)
            Msg.Fatal($"unexpected command-line argument: {ctx.Args[0]}");
        var request = DeliverRequest.Read(conn.Stream, path: ctx.ServiceName + " socket");
        if (request == null)
            return;
        var status = DeliverMessage(request);
        DeliverRequest.Done(conn.Stream, request, status);
    }

    // DeliverMessage - discard every recipient.
    internal static int DeliverMessage(DeliverRequest request)
    {
        if (Msg.Verbose > 0)
            Msg.Info($"deliver_message: from {request.Sender}");
        if (request.Nexthop.Length == 0)
            Msg.Fatal("empty nexthop hostname");
        if (request.Recipients.Count <= 0)
            Msg.Fatal($"recipient count: {request.Recipients.Count}");
        System.IO.FileStream src;
        try
        {
            src = request.OpenQueueFile();
        }
        catch (System.Exception e) when (e is System.IO.IOException or System.UnauthorizedAccessException)
        {
            Msg.Fatal($"deliver_message: open {request.QueueName} {request.QueueId}: {Sys.StrError(Sys.ErrnoOf(e))}");
            return -1;
        }
        var result = 0;
        using (src)
        {
            if (Msg.Verbose > 0)
                Msg.Info($"deliver_message: file {src.Name}");
            var (code, text) = DsnUtil.Split("2.0.0", request.Nexthop);
            var dsn = Dsn.Simple(code, text);
            var flags = DelReqFlags.TraceFlags(request.Flags);
            foreach (var rcpt in request.Recipients)
            {
                var status = DeliveryStatus.Sent(flags, request.QueueId, request.Stats, rcpt, "none", dsn);
                if (status == 0 && (request.Flags & DelReqFlags.Success) != 0)
                    DeliverCompleted.Mark(src, rcpt.Offset);
                result |= status;
            }
        }
        return result;
    }
}
