// NAME
//	Anvil - anvil(8), the connection count and rate limiting server
// POSTFIX
//	src/anvil/anvil.c
// DESCRIPTION
//	A solitary multi-client server on private/anvil. Each new client
//	gets "protocol=anvil_protocol"; each request (plain attribute
//	encoding) names a request and an ident and is answered from the
//	AnvilTable: connect (status, count, rate), disconnect (status),
//	message, recipient, newtls, newtls_status, auth (status, rate) and
//	lookup (status and every counter). An unknown request is logged
//	and answered with status -1.
//
//	The process never stops for max_use, stays at least one rate time
//	unit when idle, logs the peak statistics every
//	anvil_status_update_time and when it exits.
using System;
using Postfix.Global.Attr;
using Postfix.Server;
using Postfix.Util;

namespace Postfix.Daemons.Anvil;

public static class Anvil
{
    private static readonly AttrSpec[] RequestSpec =
        [AttrSpec.Str(AnvilProto.AttrReq), AttrSpec.Str(AnvilProto.AttrIdent)];

    private static AnvilTable table = new(60);
    private static int statusInterval = 600;
    private static long nextStatus;

    private sealed class ClientState(AttrStream stream)
    {
        public readonly AttrStream Stream = stream;
        public readonly AnvilTable.Local Local = new();
    }

    public static int Run(string[] args) => MultiServer.Run(args, Service, new ServerOptions
    {
        Solitary = true,
        NoUseLimit = true,
        PostInit = ctx =>
        {
            var unit = ServerParams.Time(ctx.Conf, "anvil_rate_time_unit");
            statusInterval = ServerParams.Time(ctx.Conf, "anvil_status_update_time");
            if (unit < 1)
                Msg.Fatal($"invalid anvil_rate_time_unit: {unit} (min 1)");
            if (statusInterval < 1)
                Msg.Fatal($"invalid anvil_status_update_time: {statusInterval} (min 1)");
            table = new AnvilTable(unit);
            nextStatus = Now() + statusInterval;
            // Stay until the sampling interval is over.
            if (ServerParams.Time(ctx.Conf, "max_idle") < unit)
                ctx.Conf.Update("max_idle", unit.ToString(System.Globalization.CultureInfo.InvariantCulture));
        },
        PostAccept = (_, conn) =>
        {
            var s = State(conn).Stream;
            s.Send(w => w.Str(MailProto.AttrProto, MailProto.ProtoAnvil));
        },
        PreDisconnect = (_, conn) =>
        {
            if (conn.State is ClientState st)
                table.ServiceDone(st.Local);
        },
        Loop = _ =>
        {
            var next = nextStatus;
            var expiry = table.NextExpiry();
            if (expiry != 0 && expiry < next)
                next = expiry;
            return (int)Math.Max(1, next - Now());
        },
        Timer = _ => RunTimers(),
        OnExit = _ => table.StatusDump(Msg.Info),
    });

    private static long Now() => DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    private static void RunTimers()
    {
        table.ExpireDue();
        if (Now() >= nextStatus)
        {
            table.StatusDump(Msg.Info);
            nextStatus = Now() + statusInterval;
        }
    }

    private static ClientState State(ClientConnection conn)
    {
        if (conn.State is not ClientState st)
        {
            st = new ClientState(new AttrStream(conn.Stream, "anvil socket", AttrEncoding.Plain));
            conn.State = st;
        }
        return st;
    }

    private static void Service(ServerContext ctx, ClientConnection conn)
    {
        if (ctx.Args.Length > 0)
            Msg.Fatal($"unexpected command-line argument: {ctx.Args[0]}");
        // Timers may be due while requests keep the loop busy.
        RunTimers();
        var st = State(conn);
        var s = st.Stream;
        do
        {
            if (Msg.Verbose > 0)
                Msg.Info("--- start request ---");
            var values = new AttrValue[2];
            if (s.Receive(RequestSpec, values, AttrFlags.Strict) != 2)
            {
                conn.Disconnect();
                return;
            }
            if (!Handle(st, values[0].Str, values[1].Str))
            {
                conn.Disconnect();
                return;
            }
            if (Msg.Verbose > 0)
                Msg.Info("--- end request ---");
        }
        while (s.Buffered > 0);
    }

    // Handle - one request; false when the reply could not be sent.
    internal static bool Handle(AnvilTable.Local local, AttrStream s, AnvilTable t, string request, string ident)
    {
        switch (request)
        {
            case AnvilProto.ReqConnect:
            {
                var (count, rate) = t.Connect(local, ident);
                return s.Send(w => w.Int(AnvilProto.AttrStatus, AnvilProto.StatOk)
                    .Int(AnvilProto.AttrCount, count).Int(AnvilProto.AttrRate, rate));
            }
            case AnvilProto.ReqMail:
                return SendRate(s, t.Mail(local, ident));
            case AnvilProto.ReqRcpt:
                return SendRate(s, t.Rcpt(local, ident));
            case AnvilProto.ReqNewTls:
                return SendRate(s, t.NewTls(local, ident));
            case AnvilProto.ReqDisconnect:
                t.Disconnect(local, ident);
                return s.Send(w => w.Int(AnvilProto.AttrStatus, AnvilProto.StatOk));
            case AnvilProto.ReqNewTlsStatus:
                return SendRate(s, t.NewTlsStatus(ident));
            case AnvilProto.ReqAuth:
                return SendRate(s, t.Auth(local, ident));
            case AnvilProto.ReqLookup:
            {
                var l = t.Lookup(ident);
                return s.Send(w => w.Int(AnvilProto.AttrStatus, AnvilProto.StatOk)
                    .Int(AnvilProto.AttrCount, l.Count).Int(AnvilProto.AttrRate, l.Rate)
                    .Int(AnvilProto.AttrMail, l.Mail).Int(AnvilProto.AttrRcpt, l.Rcpt)
                    .Int(AnvilProto.AttrNewTls, l.NewTls).Int(AnvilProto.AttrAuth, l.Auth));
            }
            default:
                Msg.Warn($"unrecognized request: \"{request}\", ignored");
                return s.Send(w => w.Int(AnvilProto.AttrStatus, AnvilProto.StatFail));
        }
    }

    private static bool Handle(ClientState st, string request, string ident) =>
        Handle(st.Local, st.Stream, table, request, ident);

    private static bool SendRate(AttrStream s, int rate) =>
        s.Send(w => w.Int(AnvilProto.AttrStatus, AnvilProto.StatOk).Int(AnvilProto.AttrRate, rate));
}
