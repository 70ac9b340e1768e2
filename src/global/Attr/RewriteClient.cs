// NAME
//	RewriteClient - address rewriting client of trivial-rewrite
// POSTFIX
//	src/global/rewrite_clnt.c
// DESCRIPTION
//	Rewrite(rule, address) asks private/rewrite (rule "local" or
//	"remote": the rewrite context) for the canonical form of an address
//	in external (RFC 822 quoted) form. The conversation:
//
//	S: protocol=trivial_rewrite_protocol (on connect)
//	C: request=rewrite rule=RULE address=ADDR
//	S: flags=N address=RESULT
//
//	A non-zero server flags value asks the client to disconnect after
//	the reply. Connecting is mail_connect_wait(): "connect #N to
//	subsystem private/rewrite" every 10 seconds, fatal after 11 tries.
//	Other failures are retried once a second, with "problem
//	talking to service rewrite: ERRNO-TEXT" from the second try on (or
//	at once for errors other than a disconnect), forever unless
//	TryLimit is set (then Rewrite returns null). A small cache answers
//	a repeated question for 30 seconds: the reference keeps one entry
//	for that time; we keep four, because cleanup asks for the envelope
//	sender and recipient and then for the same addresses again in the
//	From: and To: headers.
using System;
using System.Threading;
using Postfix.Util;

namespace Postfix.Global.Attr;

public sealed class RewriteClient : IDisposable
{
    private static readonly AttrSpec[] ReplySpec = [AttrSpec.Int(MailProto.AttrFlags), AttrSpec.Str(MailProto.AttrAddr)];

    private readonly AttrClient client;
    private readonly AttrValue[] values = new AttrValue[2];
    private readonly string service;
    private const int CacheSize = 4;
    private readonly (string Rule, string Addr, string Result, long Expire)[] cache =
        new (string, string, string, long)[CacheSize];
    private int cacheNext;

    // RewriteClient - talk to queueDirectory/private/SERVICE (queueDirectory
    // null: relative to the current directory).
    public RewriteClient(string? queueDirectory, string service = MailProto.ServiceRewrite)
    {
        this.service = service;
        client = ServiceClient(queueDirectory, service);
    }

    // ServiceClient - an AttrClient for private/SERVICE of trivial-rewrite.
    internal static AttrClient ServiceClient(string? queueDirectory, string service) =>
        AttrClient.ForService(queueDirectory, MailProto.ClassPrivate, service, MailProto.ProtoTrivial);

    // TryLimit - 0: retry forever, as Postfix does.
    public int TryLimit { get; init; }

    public TimeSpan TryDelay { get; init; } = TimeSpan.FromSeconds(1);

    // Rewrite - rewrite_clnt(): the rewritten address, or null when
    // TryLimit tries failed.
    public string? Rewrite(string rule, string address)
    {
        var now = Environment.TickCount64;
        foreach (ref readonly var e in cache.AsSpan())
        {
            if (now < e.Expire && address == e.Addr && rule == e.Rule)
                return e.Result;
        }
        var v = values;
        for (var count = 1; ; count++)
        {
            if (client.Connect()
                && client.Send(w => w.Str(MailProto.AttrReq, MailProto.ReqRewrite)
                    .Str(MailProto.AttrRule, rule)
                    .Str(MailProto.AttrAddr, address))
                && client.Receive(ReplySpec, v, AttrFlags.Strict) == 2)
            {
                // Server-requested disconnect.
                if (v[0].Int != 0)
                    client.Recover();
                break;
            }
            if (Msg.Verbose > 0 || count > 1 || !AttrClient.QuietErrno(client.LastErrno))
                Msg.Warn($"problem talking to service {service}: {Sys.StrError(client.LastErrno)}");
            if (TryLimit > 0 && count >= TryLimit)
                return null;
            Thread.Sleep(TryDelay);
            client.Recover();
        }
        var result = v[1].Str;
        cache[cacheNext] = (rule, address, result, Environment.TickCount64 + 30_000);
        cacheNext = (cacheNext + 1) % CacheSize;
        return result;
    }

    public void Dispose() => client.Dispose();
}
