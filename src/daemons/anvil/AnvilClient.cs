// NAME
//	AnvilClient - the client side of the anvil(8) connection/rate service
// POSTFIX
//	src/global/anvil_clnt.c
// DESCRIPTION
//	Talks to private/anvil over the plain attribute protocol: persistent
//	streams, opened on first use, their "protocol=anvil_protocol"
//	announcement checked, reopened after the server went away (idle
//	anvil, postfix reload), with the attr_clnt retry (two tries, one
//	second apart, "problem talking to server private/anvil: ...").
//	Each call returns true on success (status 0) with the counter
//	anvil reports, false when anvil cannot be reached or refuses.
//	The ident sent is SERVICE:ADDRESS with non-printable characters
//	replaced by '?'.
//
//	Thread-safe: smtpd serves many sessions from one process. anvil keeps
//	one remote client per stream (a new connect on a stream releases the
//	last one, and only that stream may disconnect it), as the reference
//	smtpd has one session per process. So a Connect ties the stream it
//	used to that client until the matching Disconnect, concurrent
//	sessions get streams of their own, and a stream closed by a dying
//	session-less client still lets anvil count the connection down.
using System;
using System.Collections.Generic;
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
    private readonly string endpoint;
    private readonly List<Channel> channels = [];
    private bool disposed;

    // Channel - one stream to anvil. anvil ties a stream to the last
    // remote client it connected (one SMTP session per process in the
    // reference), so each session between Connect and Disconnect holds a
    // channel of its own; other requests use any idle channel.
    private sealed class Channel(AttrClient client)
    {
        public readonly AttrClient Client = client;
        public readonly AttrValue[] Values = new AttrValue[7];
        public string? Linked;
        public bool Busy;
    }

    // queueDirectory: the process's queue directory (the socket is private/anvil under it).
    public AnvilClient(string? queueDirectory)
    {
        QueueDirectory = queueDirectory;
        endpoint = SocketPath(queueDirectory, AnvilProto.Class + "/" + AnvilProto.Service);
    }

    public string? QueueDirectory { get; }

    // TryDelay - the pause between the two tries of a request.
    public TimeSpan TryDelay { get; init; } = TimeSpan.FromSeconds(1);

    // Channels - the number of streams opened so far (tests).
    internal int Channels
    {
        get
        {
            lock (gate)
                return channels.Count;
        }
    }

    private AttrClient NewClient()
    {
        const string name = AnvilProto.Class + "/" + AnvilProto.Service;
        return new AttrClient(endpoint, AttrEncoding.Plain)
        {
            StreamPath = name,
            ProblemText = "problem talking to server " + name,
            Handshake = [AttrSpec.StrEq(MailProto.AttrProto, MailProto.ProtoAnvil)],
            TryDelay = TryDelay,
        };
    }

    // Take - an idle channel: one linked to ident when there is one
    // (a session's own stream), else an unlinked one, made when there is
    // none. A stream linked to another client is never used: a request
    // for a client anvil does not know would link it there instead.
    private Channel Take(string? ident)
    {
        lock (gate)
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            Channel? pick = null;
            foreach (var c in channels)
            {
                if (c.Busy)
                    continue;
                if (ident != null && c.Linked == ident)
                {
                    pick = c;
                    break;
                }
                if (c.Linked == null)
                    pick ??= c;
            }
            if (pick == null)
            {
                pick = new Channel(NewClient());
                channels.Add(pick);
            }
            pick.Busy = true;
            return pick;
        }
    }

    private void Release(Channel c)
    {
        lock (gate)
        {
            c.Busy = false;
            if (disposed)
                c.Client.Dispose();
        }
    }

    private static bool Request(Channel c, string request, string ident, AttrSpec[] reply)
    {
        var stream = c.Client.Stream;
        var n = c.Client.Request(w => w.Str(AnvilProto.AttrReq, request).Str(AnvilProto.AttrIdent, ident),
            reply, c.Values, AttrFlags.Missing);
        // A new stream is linked to nothing: anvil forgot the old one's.
        if (c.Client.Stream != stream)
            c.Linked = null;
        return n == reply.Length && c.Values[0].Int == AnvilProto.StatOk;
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

    private bool RateRequest(string request, string service, string addr, out int rate)
    {
        var ident = Ident(service, addr);
        var c = Take(ident);
        try
        {
            var ok = Request(c, request, ident, RateReply);
            rate = ok ? c.Values[1].Int : 0;
            return ok;
        }
        finally
        {
            Release(c);
        }
    }

    public bool Connect(string service, string addr, out int count, out int rate)
    {
        var ident = Ident(service, addr);
        var c = Take(null);
        try
        {
            var ok = Request(c, AnvilProto.ReqConnect, ident, ConnectReply);
            count = ok ? c.Values[1].Int : 0;
            rate = ok ? c.Values[2].Int : 0;
            // This channel now stands for the session until its Disconnect.
            if (ok)
                c.Linked = ident;
            return ok;
        }
        finally
        {
            Release(c);
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
        var ident = Ident(service, addr);
        var c = Take(ident);
        try
        {
            if (c.Linked == ident)
                c.Linked = null;
            return Request(c, AnvilProto.ReqDisconnect, ident, StatusReply);
        }
        finally
        {
            Release(c);
        }
    }

    // Lookup - every counter of one client, without counting an event.
    public bool Lookup(string service, string addr, out AnvilCounters counters)
    {
        var c = Take(null);
        try
        {
            var ok = Request(c, AnvilProto.ReqLookup, Ident(service, addr), LookupReply);
            var v = c.Values;
            counters = ok ? new AnvilCounters(v[1].Int, v[2].Int, v[3].Int, v[4].Int, v[5].Int, v[6].Int) : default;
            return ok;
        }
        finally
        {
            Release(c);
        }
    }

    public void Dispose()
    {
        lock (gate)
        {
            disposed = true;
            foreach (var c in channels)
            {
                if (!c.Busy)
                    c.Client.Dispose();
            }
        }
    }
}

// AnvilCounters - what a lookup request reports.
public readonly record struct AnvilCounters(int Count, int Rate, int Mail, int Rcpt, int NewTls, int Auth);
