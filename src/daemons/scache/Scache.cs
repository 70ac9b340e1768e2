// NAME
//	Scache - scache(8), the shared connection cache server
// POSTFIX
//	src/scache/scache.c
// DESCRIPTION
//	A solitary multi-client server on private/scache. A new client
//	gets "protocol=connection_cache_protocol". Requests (zero-byte
//	attribute encoding) are save_endp (ttl, label, property, then a
//	descriptor), find_endp (label), save_dest (ttl, label, property,
//	label) and find_dest (label); descriptors travel as SCM_RIGHTS
//	messages, each one after a "dummy" list from the other side (the
//	handshake the reference uses so that no stream data and descriptor
//	mix), and the receiver of a descriptor sends one more "dummy" list.
//	Times to live are capped at connection_cache_ttl_limit.
//
//	The process ignores max_use, stays while clients are connected,
//	and logs hit/miss and peak-size statistics every
//	connection_cache_status_update_time and when it exits.
using System;
using System.Globalization;
using Postfix.Global.Attr;
using Postfix.Server;
using Postfix.Util;

namespace Postfix.Daemons.Scache;

public static class Scache
{
    private static readonly AttrSpec[] RequestSpec = [AttrSpec.Str(ScacheProto.AttrReq)];
    private static readonly AttrSpec[] SaveEndpSpec =
        [AttrSpec.Int(ScacheProto.AttrTtl), AttrSpec.Str(ScacheProto.AttrLabel), AttrSpec.Str(ScacheProto.AttrProp)];
    private static readonly AttrSpec[] SaveDestSpec =
    [
        AttrSpec.Int(ScacheProto.AttrTtl), AttrSpec.Str(ScacheProto.AttrLabel),
        AttrSpec.Str(ScacheProto.AttrProp), AttrSpec.Str(ScacheProto.AttrLabel),
    ];
    private static readonly AttrSpec[] LabelSpec = [AttrSpec.Str(ScacheProto.AttrLabel)];
    private static readonly AttrSpec[] DummySpec = [AttrSpec.Str(ScacheProto.AttrDummy)];

    private static ScacheTable table = NewTable();
    private static readonly ScacheStats Stats = new();
    private static int ttlLimit = 2;
    private static int statusInterval = 600;
    private static long nextStatus;
    private static int ipcTimeoutMs = 3600 * 1000;

    internal static ScacheTable NewTable() =>
        new(() => Environment.TickCount64, fd => { if (Sys.Close(fd) < 0) Msg.Warn($"close({fd}): {Sys.LastError()}"); });

    public static int Run(string[] args) => MultiServer.Run(args, Service, new ServerOptions
    {
        Solitary = true,
        NoUseLimit = true,
        PostInit = ctx =>
        {
            ttlLimit = ServerParams.Time(ctx.Conf, "connection_cache_ttl_limit");
            statusInterval = ServerParams.Time(ctx.Conf, "connection_cache_status_update_time");
            if (ttlLimit < 1)
                Msg.Fatal($"invalid connection_cache_ttl_limit: {ttlLimit} (min 1)");
            if (statusInterval < 1)
                Msg.Fatal($"invalid connection_cache_status_update_time: {statusInterval} (min 1)");
            var ipc = ServerParams.Time(ctx.Conf, "ipc_timeout");
            if (ipc > 0)
                ipcTimeoutMs = ipc * 1000;
            table = NewTable();
            nextStatus = Environment.TickCount64 + statusInterval * 1000L;
            Stats.Start = DateTime.Now;
        },
        PostAccept = (_, conn) =>
        {
            State(conn).Send(w => w.Str(MailProto.AttrProto, ScacheProto.Protocol));
        },
        Loop = _ =>
        {
            var next = Math.Min(nextStatus, table.NextExpiry());
            var ms = next - Environment.TickCount64;
            return ms <= 0 ? 0 : (int)Math.Min(int.MaxValue, (ms + 999) / 1000);
        },
        Timer = _ => RunTimers(),
        OnExit = _ => Stats.Dump(Msg.Info),
    });

    private static void RunTimers()
    {
        table.ExpireDue();
        if (Environment.TickCount64 >= nextStatus)
        {
            Stats.Dump(Msg.Info);
            nextStatus = Environment.TickCount64 + statusInterval * 1000L;
        }
    }

    private static AttrStream State(ClientConnection conn)
    {
        if (conn.State is not AttrStream s)
        {
            s = new AttrStream(conn.Stream, "private/scache socket");
            conn.State = s;
        }
        return s;
    }

    private static void Service(ServerContext ctx, ClientConnection conn)
    {
        if (ctx.Args.Length > 0)
            Msg.Fatal($"unexpected command-line argument: {ctx.Args[0]}");
        RunTimers();
        var s = State(conn);
        var handler = new ScacheHandler(table, Stats, ttlLimit, s,
            () => WaitReadable(conn.Fd) ? Sys.ReceiveFd(conn.Fd) : -1,
            fd => Sys.SendFd(conn.Fd, fd));
        do
        {
            var values = new AttrValue[1];
            if (s.Receive(RequestSpec, values, AttrFlags.More | AttrFlags.Strict) != 1)
            {
                conn.Disconnect();
                return;
            }
            handler.Handle(values[0].Str);
        }
        while (s.Buffered > 0);
    }

    private static bool WaitReadable(int fd)
    {
        Span<Sys.PollFd> pfd = stackalloc Sys.PollFd[1];
        pfd[0] = new Sys.PollFd { Fd = fd, Events = Sys.POLLIN };
        return Sys.Poll(pfd, ipcTimeoutMs) > 0;
    }

    // ScacheHandler - one request's protocol, with the descriptor
    // transfer as call-backs (tests use a socket pair).
    internal sealed class ScacheHandler(ScacheTable table, ScacheStats stats, int ttlLimit, AttrStream s,
        Func<int> receiveFd, Func<int, int> sendFd)
    {
        public void Handle(string request)
        {
            switch (request)
            {
                case ScacheProto.ReqSaveDest:
                    SaveDest();
                    break;
                case ScacheProto.ReqFindDest:
                    FindDest();
                    break;
                case ScacheProto.ReqSaveEndp:
                    SaveEndp();
                    break;
                case ScacheProto.ReqFindEndp:
                    FindEndp();
                    break;
                default:
                    Msg.Warn($"unrecognized request: \"{request}\", ignored");
                    s.Send(w => w.Int(ScacheProto.AttrStatus, ScacheProto.StatBad));
                    break;
            }
        }

        private int Ttl(int ttl) => ttl > ttlLimit ? ttlLimit : ttl;

        private void SaveEndp()
        {
            const string fn = "scache_save_endp_service";
            var v = new AttrValue[3];
            if (s.Receive(SaveEndpSpec, v, AttrFlags.Strict) != 3 || v[0].Int <= 0)
            {
                Msg.Warn($"{fn}: bad or missing request parameter");
                s.Send(w => w.Int(ScacheProto.AttrStatus, ScacheProto.StatBad));
                return;
            }
            int fd;
            if (!s.Send(w => w.Str(ScacheProto.AttrDummy, "")) || (fd = receiveFd()) < 0)
            {
                Msg.Warn($"{fn}: unable to receive file descriptor: {Sys.LastError()}");
                s.Send(w => w.Int(ScacheProto.AttrStatus, ScacheProto.StatFail));
                return;
            }
            table.SaveEndp(Ttl(v[0].Int), v[1].Str, v[2].Str, fd);
            s.Send(w => w.Int(ScacheProto.AttrStatus, ScacheProto.StatOk));
            stats.NoteSize(table);
        }

        private void FindEndp()
        {
            const string fn = "scache_find_endp_service";
            var v = new AttrValue[1];
            if (s.Receive(LabelSpec, v, AttrFlags.Strict) != 1)
            {
                Msg.Warn($"{fn}: bad or missing request parameter");
                s.Send(w => w.Int(ScacheProto.AttrStatus, ScacheProto.StatBad).Str(ScacheProto.AttrProp, ""));
                return;
            }
            var fd = table.FindEndp(v[0].Str, out var prop);
            if (fd < 0)
            {
                s.Send(w => w.Int(ScacheProto.AttrStatus, ScacheProto.StatFail).Str(ScacheProto.AttrProp, ""));
                stats.EndpMiss++;
                return;
            }
            s.Send(w => w.Int(ScacheProto.AttrStatus, ScacheProto.StatOk).Str(ScacheProto.AttrProp, prop));
            HandOver(fd, fn);
            stats.EndpHits++;
        }

        private void SaveDest()
        {
            const string fn = "scache_save_dest_service";
            var v = new AttrValue[4];
            if (s.Receive(SaveDestSpec, v, AttrFlags.Strict) != 4 || v[0].Int <= 0)
            {
                Msg.Warn($"{fn}: bad or missing request parameter");
                s.Send(w => w.Int(ScacheProto.AttrStatus, ScacheProto.StatBad));
                return;
            }
            table.SaveDest(Ttl(v[0].Int), v[1].Str, v[2].Str, v[3].Str);
            s.Send(w => w.Int(ScacheProto.AttrStatus, ScacheProto.StatOk));
            stats.NoteSize(table);
        }

        private void FindDest()
        {
            const string fn = "scache_find_dest_service";
            var v = new AttrValue[1];
            if (s.Receive(LabelSpec, v, AttrFlags.Strict) != 1)
            {
                Msg.Warn($"{fn}: bad or missing request parameter");
                s.Send(w => w.Int(ScacheProto.AttrStatus, ScacheProto.StatBad)
                    .Str(ScacheProto.AttrProp, "").Str(ScacheProto.AttrProp, ""));
                return;
            }
            var fd = table.FindDest(v[0].Str, out var destProp, out var endpProp);
            if (fd < 0)
            {
                s.Send(w => w.Int(ScacheProto.AttrStatus, ScacheProto.StatFail)
                    .Str(ScacheProto.AttrProp, "").Str(ScacheProto.AttrProp, ""));
                stats.DestMiss++;
                return;
            }
            s.Send(w => w.Int(ScacheProto.AttrStatus, ScacheProto.StatOk)
                .Str(ScacheProto.AttrProp, destProp).Str(ScacheProto.AttrProp, endpProp));
            HandOver(fd, fn);
            stats.DestHits++;
        }

        // HandOver - wait for the client's dummy, pass the descriptor, read
        // the closing dummy, and close our copy.
        private void HandOver(int fd, string fn)
        {
            var dummy = new AttrValue[1];
            if (s.Receive(DummySpec, dummy, AttrFlags.Strict) != 1
                || sendFd(fd) < 0
                || s.Receive(DummySpec, dummy, AttrFlags.Strict) != 1)
                Msg.Warn($"{fn}: cannot send file descriptor: {Sys.LastError()}");
            if (Sys.Close(fd) < 0)
                Msg.Warn($"close({fd}): {Sys.LastError()}");
        }
    }
}

// ScacheStats - the counters behind the "statistics:" log lines.
internal sealed class ScacheStats
{
    public int DestHits, DestMiss, DestCount, EndpHits, EndpMiss, EndpCount, SessCount;

    public DateTime Start { get; set; } = DateTime.Now;

    public void NoteSize(ScacheTable t)
    {
        DestCount = Math.Max(DestCount, t.DestCount);
        EndpCount = Math.Max(EndpCount, t.EndpCount);
        SessCount = Math.Max(SessCount, t.SessCount);
    }

    // Dump - log what happened since the last dump, reset, and start a
    // new interval; nothing is logged for an interval without activity.
    public void Dump(Action<string> log)
    {
        if (DestHits != 0 || DestMiss != 0 || EndpHits != 0 || EndpMiss != 0
            || DestCount != 0 || EndpCount != 0 || SessCount != 0)
            log($"statistics: start interval {CtimeStamp(Start)}");
        if (DestHits != 0 || DestMiss != 0)
        {
            log($"statistics: domain lookup hits={DestHits} miss={DestMiss} success={DestHits * 100 / (DestHits + DestMiss)}%");
            DestHits = DestMiss = 0;
        }
        if (EndpHits != 0 || EndpMiss != 0)
        {
            log($"statistics: address lookup hits={EndpHits} miss={EndpMiss} success={EndpHits * 100 / (EndpHits + EndpMiss)}%");
            EndpHits = EndpMiss = 0;
        }
        if (DestCount != 0 || EndpCount != 0 || SessCount != 0)
        {
            log($"statistics: max simultaneous domains={DestCount} addresses={EndpCount} connection={SessCount}");
            DestCount = EndpCount = SessCount = 0;
        }
        Start = DateTime.Now;
    }

    // CtimeStamp - "Mon DD HH:MM:SS" as ctime() prints it (day padded with a blank).
    internal static string CtimeStamp(DateTime t) =>
        t.ToString("MMM", CultureInfo.InvariantCulture) + " "
        + t.Day.ToString(CultureInfo.InvariantCulture).PadLeft(2) + " "
        + t.ToString("HH:mm:ss", CultureInfo.InvariantCulture);
}
