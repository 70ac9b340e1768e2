// NAME
//	TrivialRewrite - trivial-rewrite(8): the address rewriting service
// POSTFIX
//	src/trivial-rewrite/trivial-rewrite.c
// DESCRIPTION
//	A multi-client server. Each new client first gets the protocol
//	announcement (protocol=trivial_rewrite_protocol). Each request
//	names its kind: "rewrite" (rule, address) is answered with flags
//	and the rewritten address; "resolve" and "verify" (sender,
//	address) with flags, transport, nexthop, recipient and the resolver
//	flags, "verify" with the address_verify_* personality. Any other
//	request gets a warning and a disconnect. Every 10 seconds the
//	process checks whether a table changed on disk, and exits if so,
//	so that the master starts a fresh one.
using System;
using Postfix.Global.Attr;
using Postfix.Global.Dict;
using Postfix.Server;
using Postfix.Util;

namespace Postfix.Daemons.TrivialRewrite;

public static class TrivialRewrite
{
    private static readonly AttrSpec[] CommandSpec = [AttrSpec.Str(MailProto.AttrReq)];
    private static readonly AttrSpec[] RewriteSpec = [AttrSpec.Str(MailProto.AttrRule), AttrSpec.Str(MailProto.AttrAddr)];
    private static readonly AttrSpec[] ResolveSpec = [AttrSpec.Str(MailProto.AttrSender), AttrSpec.Str(MailProto.AttrAddr)];
    private const int TableCheckInterval = 10;

    private static AddressRewrite? rewrite;
    private static AddressResolve? resolve;
    private static long nextTableCheck;

    public static int Run(string[] args) => MultiServer.Run(args, Service, new ServerOptions
    {
        PreInit = ctx =>
        {
            DomainMatchList.TableRegistered = TableNames.Register;
            rewrite = new AddressRewrite(ctx.Conf);
            resolve = new AddressResolve(ctx.Conf, rewrite);
        },
        PostInit = _ => CheckTableStats(),
        Loop = _ => (int)Math.Max(1, nextTableCheck - Now()),
        Timer = _ =>
        {
            if (Now() >= nextTableCheck)
                CheckTableStats();
        },
        PostAccept = (_, conn) =>
        {
            var s = Channel(conn);
            s.Send(w => w.Str(MailProto.AttrProto, MailProto.ProtoTrivial));
        },
    });

    private static long Now() => DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    // CheckTableStats - exit when a table changed, else look again later.
    private static void CheckTableStats()
    {
        if (DictOpen.ChangedName() is { } table)
        {
            Msg.Info($"table {TableNames.Display(table)} has changed -- restarting");
            Environment.Exit(0);
        }
        nextTableCheck = Now() + TableCheckInterval;
    }

    private static AttrStream Channel(ClientConnection conn)
    {
        if (conn.State is not AttrStream s)
        {
            s = new AttrStream(conn.Stream, "rewrite socket");
            conn.State = s;
        }
        return s;
    }

    private static void Service(ServerContext ctx, ClientConnection conn)
    {
        if (ctx.Args.Length > 0)
            Msg.Fatal($"unexpected command-line argument: {ctx.Args[0]}");
        var s = Channel(conn);
        do
        {
            var values = new AttrValue[2];
            var status = -1;
            if (s.Receive(CommandSpec, values, AttrFlags.Strict | AttrFlags.More) == 1)
            {
                var command = values[0].Str;
                if (command == MailProto.ReqRewrite)
                    status = RewriteProto(s);
                else if (command == MailProto.ReqResolve)
                    status = ResolveProto(resolve!.Regular, s);
                else if (command == MailProto.ReqVerify)
                    status = ResolveProto(resolve!.Verify, s);
                else
                    Msg.Warn($"bad command {Msg.Printable(command.Length > 30 ? command[..30] : command)}");
            }
            if (status < 0)
            {
                conn.Disconnect();
                return;
            }
        }
        while (s.Buffered > 0);
    }

    private static int RewriteProto(AttrStream s)
    {
        var values = new AttrValue[2];
        if (s.Receive(RewriteSpec, values, AttrFlags.Strict) != 2)
            return -1;
        var rule = values[0].Str;
        var address = values[1].Str;
        string? result;
        if (address.Length == 0)
        {
            Msg.Warn("rewrite_addr: null address");
            result = address;
        }
        else
        {
            result = rewrite!.Rewrite(rule, address);
            if (result == null)
            {
                Msg.Warn($"unknown context: {rule}");
                return -1;
            }
        }
        if (Msg.Verbose > 0)
            Msg.Info($"`{rule}' `{address}' -> `{result}'");
        if (!s.Send(w => w.Int(MailProto.AttrFlags, 0).Str(MailProto.AttrAddr, result)))
        {
            Msg.Warn($"write rewrite reply: {Sys.StrError(s.LastErrno)}");
            return -1;
        }
        return 0;
    }

    private static int ResolveProto(ResolveContext context, AttrStream s)
    {
        var values = new AttrValue[2];
        if (s.Receive(ResolveSpec, values, AttrFlags.Strict) != 2)
            return -1;
        var sender = values[0].Str;
        var query = values[1].Str;
        var r = resolve!.Resolve(context, sender, query);
        if (Msg.Verbose > 0)
            Msg.Info($"`{sender}' -> `{query}' -> (`{r.Transport}' `{r.Nexthop}' `{r.Recipient}' `{r.Flags}')");
        if (!s.Send(w => w.Int(MailProto.AttrFlags, 0).Str(MailProto.AttrTransport, r.Transport)
                .Str(MailProto.AttrNexthop, r.Nexthop).Str(MailProto.AttrRecip, r.Recipient).Int(MailProto.AttrFlags, r.Flags)))
        {
            Msg.Warn($"write resolver reply: {Sys.StrError(s.LastErrno)}");
            return -1;
        }
        return 0;
    }
}
