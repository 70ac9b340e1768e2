// NAME
//	ResolveClient - address resolving client of trivial-rewrite
// POSTFIX
//	src/global/resolve_clnt.c
// DESCRIPTION
//	Resolve(sender, address) asks private/rewrite where mail for an
//	address goes; Verify() does the same for address verification
//	probes (request "verify": transport maps for verify). The
//	conversation:
//
//	S: protocol=trivial_rewrite_protocol (on connect)
//	C: request=resolve|verify sender=SENDER address=ADDR
//	S: flags=SERVER-FLAGS transport=T nexthop=H recipient=R flags=FLAGS
//
//	The reply carries "flags" twice: first the server's disconnect
//	request, last the resolve flags. An empty transport (or an empty
//	recipient for a non-empty address) is an error that is retried:
//	"resolve_clnt: null transport result for: <ADDR>". Retries and the
//	one-entry cache as in RewriteClient.
using System;
using System.Threading;
using Postfix.Util;

namespace Postfix.Global.Attr;

public sealed class ResolveClient : IDisposable
{
    private static readonly AttrSpec[] ReplySpec =
    [
        AttrSpec.Int(MailProto.AttrFlags),
        AttrSpec.Str(MailProto.AttrTransport),
        AttrSpec.Str(MailProto.AttrNexthop),
        AttrSpec.Str(MailProto.AttrRecip),
        AttrSpec.Int(MailProto.AttrFlags),
    ];

    private readonly AttrClient client;
    private readonly AttrValue[] values = new AttrValue[5];
    private readonly string service;
    private (string Class, string Sender, string Addr)? last;
    private ResolveReply lastReply;
    private long lastExpire;

    public ResolveClient(string? queueDirectory, string service = MailProto.ServiceRewrite)
    {
        this.service = service;
        client = RewriteClient.ServiceClient(queueDirectory, service);
    }

    // TryLimit - 0: retry forever, as Postfix does.
    public int TryLimit { get; init; }

    public TimeSpan TryDelay { get; init; } = TimeSpan.FromSeconds(1);

    // Resolve - resolve_clnt_query(): RESOLVE_REGULAR.
    public ResolveReply? Resolve(string sender, string address) => Request(MailProto.ReqResolve, sender, address);

    // Verify - resolve_clnt_verify(): RESOLVE_VERIFY.
    public ResolveReply? Verify(string sender, string address) => Request(MailProto.ReqVerify, sender, address);

    // Request - resolve_clnt(): null when TryLimit tries failed.
    public ResolveReply? Request(string cls, string sender, string address)
    {
        if (Environment.TickCount64 < lastExpire && address.Length > 0 && last == (cls, sender, address))
            return lastReply;
        var v = values;
        for (var count = 1; ; count++)
        {
            if (client.Connect()
                && client.Send(w => w.Str(MailProto.AttrReq, cls)
                    .Str(MailProto.AttrSender, sender)
                    .Str(MailProto.AttrAddr, address))
                && client.Receive(ReplySpec, v, AttrFlags.Strict) == 5)
            {
                // Server-requested disconnect.
                if (v[0].Int != 0)
                    client.Recover();
                if (v[1].Str.Length == 0)
                    Msg.Warn($"resolve_clnt: null transport result for: <{address}>");
                else if (v[3].Str.Length == 0 && address.Length != 0)
                    Msg.Warn($"resolve_clnt: null recipient result for: <{address}>");
                else
                    break;
            }
            else if (Msg.Verbose > 0 || count > 1 || !AttrClient.QuietErrno(client.LastErrno))
            {
                Msg.Warn($"problem talking to service {service}: {Sys.StrError(client.LastErrno)}");
            }
            if (TryLimit > 0 && count >= TryLimit)
                return null;
            Thread.Sleep(TryDelay);
            client.Recover();
        }
        lastReply = new ResolveReply(v[1].Str, v[2].Str, v[3].Str, v[4].Int);
        last = (cls, sender, address);
        lastExpire = Environment.TickCount64 + 30_000;
        return lastReply;
    }

    public void Dispose() => client.Dispose();
}
