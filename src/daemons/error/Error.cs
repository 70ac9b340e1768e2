// NAME
//	Error - the error(8) daemon, also run as the retry service
// POSTFIX
//	src/error/error.c
// DESCRIPTION
//	A single-client delivery agent that never delivers. Run as the
//	"error" service it bounces every recipient of a request (default
//	status 5.0.0), as "retry" it defers them (4.0.0); the next-hop text
//	is the reason, its own leading status code used when it has one.
//	Recipients whose status was recorded are marked done in the queue
//	file. Any other service name is fatal. No arguments are taken.
using System;
using System.IO;
using Postfix.Global.Attr;
using Postfix.Global.Deliver;
using Postfix.Server;
using Postfix.Util;

namespace Postfix.Daemons.Error;

public static class Error
{
    internal delegate int Append(int flags, string id, MsgStats stats, Recipient rcpt, string relay, Dsn dsn);

    public static int Run(string[] args) =>
        SingleServer.Run(args, Serve, new ServerOptions { PreInit = ctx => DeliverConfig.Init(ctx.Conf) });

    private static void Serve(ServerContext ctx, ClientConnection conn)
    {
        if (ctx.Args.Length > 0)
            Msg.Fatal($"unexpected command-line argument: {ctx.Args[0]}");
        var request = DeliverRequest.Read(conn.Stream, path: ctx.ServiceName + " socket");
        if (request == null)
            return;
        int status;
        if (ctx.ServiceName == MailProto.ServiceError)
            status = DeliverMessage(request, "5.0.0", DeliveryStatus.BounceAppend);
        else if (ctx.ServiceName == MailProto.ServiceRetry)
            status = DeliverMessage(request, "4.0.0", DeliveryStatus.DeferAppend);
        else
        {
            Msg.Fatal($"bad error service name: {ctx.ServiceName}");
            return;
        }
        DeliverRequest.Done(conn.Stream, request, status);
    }

    internal static int DeliverMessage(DeliverRequest request, string defDsn, Append append)
    {
        if (Msg.Verbose > 0)
            Msg.Info($"deliver_message: from {request.Sender}");
        if (request.Nexthop.Length == 0)
            Msg.Fatal("empty nexthop hostname");
        if (request.Recipients.Count <= 0)
            Msg.Fatal($"recipient count: {request.Recipients.Count}");
        FileStream src;
        try
        {
            src = request.OpenQueueFile();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Msg.Fatal($"deliver_message: open {request.QueueName} {request.QueueId}: {Sys.StrError(Sys.ErrnoOf(e))}");
            return -1;
        }
        var result = 0;
        using (src)
        {
            if (Msg.Verbose > 0)
                Msg.Info($"deliver_message: file {src.Name}");
            var (code, text) = DsnUtil.Split(defDsn, request.Nexthop);
            var dsn = Dsn.Simple(code, text);
            var flags = DelReqFlags.TraceFlags(request.Flags);
            foreach (var rcpt in request.Recipients)
            {
                var status = append(flags, request.QueueId, request.Stats, rcpt, "none", dsn);
                if (status == 0)
                    DeliverCompleted.Mark(src, rcpt.Offset);
                result |= status;
            }
        }
        return result;
    }
}
