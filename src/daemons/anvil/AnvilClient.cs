// NAME
//	AnvilClient - the client side of the anvil(8) connection/rate service
// POSTFIX
//	src/global/anvil_clnt.c
// DESCRIPTION
//	Talks to private/anvil over the plain attribute protocol: one
//	persistent stream, opened on first use, its "protocol=anvil_protocol"
//	announcement checked, reopened after the server went away (idle
//	anvil, postfix reload), with the attr_clnt retry (two tries, one
//	second apart, "problem talking to server private/anvil: ...").
//	Each call returns true on success (status 0) with the counter
//	anvil reports, false when anvil cannot be reached or refuses.
//	The ident sent is SERVICE:ADDRESS with non-printable characters
//	replaced by '?'.
//
//	Thread-safe: smtpd serves many sessions from one process, and they
//	share this one connection, one request at a time.
using System;
using System.IO;
using Postfix.Global.Attr;
using Postfix.Util;

namespace Postfix.Daemons.Anvil;

public sealed class AnvilClient : System.IDisposable
{
    private static readonly AttrSpec[] StatusReply = [AttrSpec.Int(AnvilProto.AttrStatus)];
    private static readonly AttrSpec[] RateReply = [AttrSpec.Int(AnvilProto.AttrStatus), AttrSpec.Int(AnvilProto.AttrRate)];
    private static readonly AttrSpec[] ConnectReply =
        [AttrSpec.Int(AnvilProto.AttrStatus), AttrSpec.Int(AnvilProto.AttrCount), AttrSpec.Int(AnvilProto.AttrRate)];
    private static readonly AttrSpec[] LookupReply =
    [
        AttrSpec.Int(AnvilProto.AttrStatus), AttrSpec.Int(AnvilProto.AttrCount), AttrSpec.Int(AnvilProto.AttrRate),
        AttrSpec.Int(AnvilProto.AttrMail), AttrSpec.Int(AnvilProto.AttrRcpt), AttrSpec.Int(AnvilProto.AttrNewTls),
        AttrSpec.Int(AnvilProto.AttrAuth),
    ];

    private readonly object gate = new();
    private readonly AttrClient client;
    private readonly AttrValue[] values = new AttrValue[7];

    // queueDirectory: the process's queue directory (the socket is private/anvil under it).
    public AnvilClient(string? queueDirectory)
    {
        QueueDirectory = queueDirectory;
        const string name = AnvilProto.Class + "/" + AnvilProto.Service;
        client = new AttrClient(SocketPath(queueDirectory, name), AttrEncoding.Plain)
        {
            StreamPath = name,
            ProblemText = "problem talking to server " + name,
            Handshake = [AttrSpec.StrEq(MailProto.AttrProto, MailProto.ProtoAnvil)],
        };
    }

    public string? QueueDirectory { get; }

    // TryDelay - the pause between the two tries of a request.
    public TimeSpan TryDelay
    {
        get => client.TryDelay;
        init => client = new AttrClient(client.Endpoint, AttrEncoding.Plain)
        {
            StreamPath = client.StreamPath,
            ProblemText = client.ProblemText,
            Handshake = client.Handshake,
            TryDelay = value,
        };
    }

    // SocketPath - relative to the working directory when that is the
    // queue directory (as the reference's "local:private/anvil").
    private static string SocketPath(string? queueDirectory, string name)
    {
        if (string.IsNullOrEmpty(queueDirectory))
            return name;
        try
        {
            if (Path.GetFullPath(queueDirectory).TrimEnd('/') == Directory.GetCurrentDirectory().TrimEnd('/'))
                return name;
        }
        catch (IOException)
        {
            // No working directory: use the full path.
        }
        return Path.Combine(queueDirectory, name);
    }

    // Ident - SERVICE:ADDR as anvil keys it (ANVIL_IDENT).
    public static string Ident(string service, string addr)
    {
        var ident = service + ":" + addr;
        foreach (var c in ident)
        {
            if (c < 0x20 || c >= 0x7f)
                return Msg.Printable(ident);
        }
        return ident;
    }

    private bool Request(string request, string service, string addr, AttrSpec[] reply, out AttrValue[] result)
    {
        var ident = Ident(service, addr);
        result = values;
        var n = client.Request(w => w.Str(AnvilProto.AttrReq, request).Str(AnvilProto.AttrIdent, ident),
            reply, values, AttrFlags.Missing);
        return n == reply.Length && values[0].Int == AnvilProto.StatOk;
    }

    private bool RateRequest(string request, string service, string addr, out int rate)
    {
        lock (gate)
        {
            var ok = Request(request, service, addr, RateReply, out var v);
            rate = ok ? v[1].Int : 0;
            return ok;
        }
    }

    public bool Connect(string service, string addr, out int count, out int rate)
    {
        lock (gate)
        {
            var ok = Request(AnvilProto.ReqConnect, service, addr, ConnectReply, out var v);
            count = ok ? v[1].Int : 0;
            rate = ok ? v[2].Int : 0;
            return ok;
        }
    }

    public bool Mail(string service, string addr, out int msgs) => RateRequest(AnvilProto.ReqMail, service, addr, out msgs);

    public bool Rcpt(string service, string addr, out int rcpts) => RateRequest(AnvilProto.ReqRcpt, service, addr, out rcpts);

    public bool NewTls(string service, string addr, out int newtls) => RateRequest(AnvilProto.ReqNewTls, service, addr, out newtls);

    public bool NewTlsStatus(string service, string addr, out int newtls) =>
        RateRequest(AnvilProto.ReqNewTlsStatus, service, addr, out newtls);

    public bool Auth(string service, string addr, out int auths) => RateRequest(AnvilProto.ReqAuth, service, addr, out auths);

    public bool Disconnect(string service, string addr)
    {
        lock (gate)
            return Request(AnvilProto.ReqDisconnect, service, addr, StatusReply, out _);
    }

    // Lookup - every counter of one client, without counting an event.
    public bool Lookup(string service, string addr, out AnvilCounters counters)
    {
        lock (gate)
        {
            var ok = Request(AnvilProto.ReqLookup, service, addr, LookupReply, out var v);
            counters = ok ? new AnvilCounters(v[1].Int, v[2].Int, v[3].Int, v[4].Int, v[5].Int, v[6].Int) : default;
            return ok;
        }
    }

    public void Dispose()
    {
        lock (gate)
            client.Dispose();
    }
}

// AnvilCounters - what a lookup request reports.
public readonly record struct AnvilCounters(int Count, int Rate, int Mail, int Rcpt, int NewTls, int Auth);
