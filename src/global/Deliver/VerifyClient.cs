// NAME
//	VerifyClient - client of the address verification service
// POSTFIX
//	src/global/verify_clnt.c
// DESCRIPTION
//	Query() asks private/verify for an address's status (request
//	"query": status, recipient_status, reason back); Update() stores one
//	(request "update"). Both retry once a second until the service
//	answers, as the reference does, warning "problem talking to service
//	verify: ...". Results are the request status: StatOk, StatFail or
//	StatBad.
using System;
using System.Threading;
using Postfix.Global.Attr;
using Postfix.Util;

namespace Postfix.Global.Deliver;

public static class VerifyClient
{
    public const string ReqQuery = "query";
    public const string ReqUpdate = "update";
    public const int StatOk = 0;
    public const int StatFail = -1;
    public const int StatBad = -2;

    private static AttrClient? client;

    private static readonly AttrSpec[] QuerySpec =
    [
        AttrSpec.Int(MailProto.AttrStatus),
        AttrSpec.Int(MailProto.AttrAddrStatus),
        AttrSpec.Str(MailProto.AttrWhy),
    ];

    private static readonly AttrSpec[] UpdateSpec = [AttrSpec.Int(MailProto.AttrStatus)];

    // TryDelay - pause between tries (tests shorten it).
    public static TimeSpan TryDelay { get; set; } = TimeSpan.FromSeconds(1);

    private static AttrClient Client()
    {
        if (client == null)
        {
            var service = DeliverConfig.VerifyService;
            client = AttrClient.ForService(DeliverConfig.QueueDirectory, MailProto.ClassPrivate, service,
                MailProto.ProtoVerify);
        }
        return client;
    }

    // Reset - forget the connection (tests, configuration changes).
    public static void Reset()
    {
        client?.Dispose();
        client = null;
    }

    // Query - verify_clnt_query().
    public static int Query(string addr, out int addrStatus, out string why)
    {
        var c = Client();
        var v = new AttrValue[3];
        for (var count = 1; ; count++)
        {
            if (c.Connect()
                && c.Send(w => w.Str(MailProto.AttrReq, ReqQuery).Str(MailProto.AttrAddr, addr))
                && c.Receive(QuerySpec, v, AttrFlags.Missing) == 3)
                break;
            if (Msg.Verbose > 0 || count > 1 || !AttrClient.QuietErrno(c.LastErrno))
                Msg.Warn($"problem talking to service {DeliverConfig.VerifyService}: {Sys.StrError(c.LastErrno)}");
            Thread.Sleep(TryDelay);
            c.Recover();
        }
        addrStatus = v[1].Int;
        why = v[2].Str;
        return v[0].Int;
    }

    // Update - verify_clnt_update().
    public static int Update(string addr, int addrStatus, string why)
    {
        var c = Client();
        var v = new AttrValue[1];
        for (; ; )
        {
            if (c.Connect()
                && c.Send(w => w.Str(MailProto.AttrReq, ReqUpdate)
                    .Str(MailProto.AttrAddr, addr)
                    .Int(MailProto.AttrAddrStatus, addrStatus)
                    .Str(MailProto.AttrWhy, why))
                && c.Receive(UpdateSpec, v, AttrFlags.Missing) == 1)
                break;
            if (Msg.Verbose > 0 || (c.LastErrno != 32 && c.LastErrno != Sys.ENOENT))
                Msg.Warn($"problem talking to service {DeliverConfig.VerifyService}: {Sys.StrError(c.LastErrno)}");
            Thread.Sleep(TryDelay);
            c.Recover();
        }
        return v[0].Int;
    }
}
