// NAME
//	DeliverPass - hand a recipient to another delivery transport
// POSTFIX
//	src/global/deliver_pass.c
// DESCRIPTION
//	Pass(cls, "transport[:nexthop]", request, rcpt) logs "ID: passing
//	<ADDR> to transport=NAME", connects to the transport (waiting for
//	it as mail_connect_wait does), sends it this request with one
//	recipient and returns its status: 0, or non-zero to try again. When
//	the transport cannot be reached or answers garbage, the recipient
//	is deferred here ("mail transport unavailable", "unknown mail
//	transport error"). PassAll() passes every recipient.
using System;
using System.Threading;
using Postfix.Util;

namespace Postfix.Global.Deliver;

public static class DeliverPass
{
    private const int PassDefer = 1;
    private const int PassUnknown = 2;

    public static int Pass(string cls, string service, DeliverRequest request, Recipient rcpt)
    {
        var colon = service.IndexOf(':');
        var transport = colon < 0 ? service : service[..colon];
        var nexthop = colon < 0 || colon + 1 == service.Length ? request.Nexthop : service[(colon + 1)..];
        if (transport.Length == 0)
            Msg.Fatal($"missing transport name in \"{service}\"");
        Msg.Info($"{request.QueueId}: passing <{LogAdhoc.LogAddr(rcpt.Address)}> to transport={transport}");
        DeliverClient? client;
        for (var count = 0; (client = DeliverClient.Connect(cls, transport, out var errno)) == null;)
        {
            if (count++ >= 10)
                Msg.Fatal($"connect #{count} to subsystem {cls}/{transport}: {Sys.StrError(errno)}");
            Msg.Warn($"connect #{count} to subsystem {cls}/{transport}: {Sys.StrError(errno)}");
            Thread.Sleep(TimeSpan.FromSeconds(10));
        }
        using (client)
        {
            var flags = DelReqFlags.TraceFlags(request.Flags);
            var saved = request.Nexthop;
            int status;
            if (!InitialReply(client) || !Send(client, request, nexthop, rcpt))
            {
                status = DeliveryStatus.DeferAppend(flags, request.QueueId, request.Stats, rcpt, "none",
                    Dsn.Simple("4.3.0", "mail transport unavailable"));
            }
            else if ((status = FinalReply(client)) == PassUnknown)
            {
                status = DeliveryStatus.DeferAppend(flags, request.QueueId, request.Stats, rcpt, "none",
                    Dsn.Simple("4.3.0", "unknown mail transport error"));
            }
            request.Nexthop = saved;
            return status;
        }
    }

    public static int PassAll(string cls, string service, DeliverRequest request)
    {
        var status = 0;
        foreach (var rcpt in request.Recipients)
            status |= Pass(cls, service, request, rcpt);
        return status;
    }

    private static bool InitialReply(DeliverClient client)
    {
        var v = new Postfix.Global.Attr.AttrValue[1];
        if (client.Stream.Receive([Postfix.Global.Attr.AttrSpec.StrEq(Postfix.Global.Attr.MailProto.AttrProto,
                Postfix.Global.Attr.MailProto.ProtoDeliver)], v, Postfix.Global.Attr.AttrFlags.Strict) != 0)
        {
            Msg.Warn($"{client.Path}: malformed response");
            return false;
        }
        return true;
    }

    private static bool Send(DeliverClient client, DeliverRequest request, string nexthop, Recipient rcpt)
    {
        var saved = request.Nexthop;
        request.Nexthop = nexthop;
        var ok = client.Send(request, [rcpt]);
        request.Nexthop = saved;
        if (!ok)
            Msg.Warn($"{client.Path}: bad write: {Sys.StrError(client.LastErrno)}");
        return ok;
    }

    private static int FinalReply(DeliverClient client)
    {
        var spec = DeliverRequestWriter.ReplySpec;
        var v = new Postfix.Global.Attr.AttrValue[spec.Length];
        if (client.Stream.Receive(spec, v, Postfix.Global.Attr.AttrFlags.Strict) != 2)
        {
            Msg.Warn($"{client.Path}: malformed response");
            return PassUnknown;
        }
        return v[8].Int != 0 ? PassDefer : 0;
    }
}
