// NAME
//	PscSession - one client from CONNECT to hand-off or DISCONNECT
// POSTFIX
//	src/postscreen/postscreen.c (psc_endpt_lookup_done),
//	postscreen_early.c, postscreen_misc.c (psc_conclude),
//	postscreen_send.c (psc_send_socket), postscreen_dnsbl.c
// DESCRIPTION
//	The reference is event driven; here each client has its own thread
//	and waits with poll(): for the client's first bytes during the
//	greet wait, and for the dnsblog replies. The flags and the log lines
//	follow the reference.
using System;
using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using Postfix.Global.Attr;
using Postfix.Global.Deliver;
using Postfix.Util;
using static Postfix.Daemons.Postscreen.PscFlags;

namespace Postfix.Daemons.Postscreen;

internal sealed partial class PscSession
{
    private readonly Socket client;
    private readonly string addr, port, saddr, sport;
    private readonly Postscreen.ClientInfo info;
    private readonly PscSettings s = Postscreen.S;
    private uint flags;
    private string finalReply = "";
    private string testName = "";
    private readonly Stopwatch started = new();

    public PscSession(Socket client, string addr, string port, string saddr, string sport, Postscreen.ClientInfo info)
    {
        this.client = client;
        this.addr = addr;
        this.port = port;
        this.saddr = saddr;
        this.sport = sport;
        this.info = info;
    }

    // HandedOff - smtpd has the client now.
    public bool HandedOff { get; private set; }

    private string Who => $"[{addr}]:{port}";

    private static long Now => DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    public void Screen()
    {
        if (s.CconnLimit > 0 && info.Concurrency > s.CconnLimit)
        {
            Msg.Info($"NOQUEUE: reject: CONNECT from {Who}: too many connections");
            Drop("421 4.7.0 Error: too many connections\r\n");
            return;
        }
        switch (s.AccessList.Eval(addr, "postscreen_access_list"))
        {
            case Acl.Verdict.Reject:
                Msg.Info($"{(s.Respectful ? "DENY" : "BLACK")}LISTED {Who}");
                flags |= DenylistFail;
                switch (s.DenylistAction)
                {
                    case PscAction.Drop:
                        Drop("521 5.3.2 Service currently unavailable\r\n");
                        return;
                    case PscAction.Enforce:
                        Enforce("550 5.3.2 Service currently unavailable\r\n");
                        break;
                    default:
                        flags &= ~DenylistFail;
                        break;
                }
                break;
            case Acl.Verdict.Permit:
                Msg.Info($"{(s.Respectful ? "ALLOW" : "WHITE")}LISTED {Who}");
                Conclude();
                return;
        }
        string? stamp;
        if ((flags & AnyFail) == 0 && info.Concurrency == 1 && Postscreen.HaveCache
            && (stamp = Postscreen.CacheLookup(addr)) != null)
        {
            var saved = flags;
            info.Times = PscTestTimes.Parse(stamp);
            flags = info.Times.Todo(Now, s.Enabled) | saved;
            if ((flags & (AnyTodo | AnyFail)) == 0)
            {
                Msg.Info($"PASS OLD {Who}");
                Conclude();
                return;
            }
        }
        else if (info.Concurrency > 1)
        {
            flags = info.Times.Todo(Now, s.Enabled) | flags;
        }
        else
        {
            info.Times = new PscTestTimes();
            flags = info.Times.Todo(PscTestTimes.New + 1, s.Enabled) | flags;
        }
        if ((flags & EarlyTodo) != 0)
            EarlyTests();
        else if ((flags & NoForward) != 0)
            SmtpdTests();
        else
            Conclude();
    }

    // EarlyTests - psc_early_tests() and psc_early_event().
    private void EarlyTests()
    {
        testName = "tests before SMTP handshake";
        started.Restart();
        if ((flags & Todo(Pregreet)) != 0 && s.Teaser != null && !Send(s.Teaser))
        {
            HangupEvent();
            return;
        }
        DnsblQuery? dnsbl = (flags & Todo(Dnsbl)) != 0 ? new DnsblQuery(s, addr) : null;
        var waitMs = s.GreetWait * 1000L;
        if ((flags & Todo(Pregreet)) != 0)
        {
            var left = waitMs;
            var ready = left > 0 && client.Poll((int)Math.Min(left * 1000, int.MaxValue), SelectMode.SelectRead);
            if (ready)
            {
                var buf = new byte[1023];
                int n;
                try
                {
                    n = client.Receive(buf, SocketFlags.Peek);
                }
                catch (SocketException)
                {
                    n = -1;
                }
                if (n <= 0)
                {
                    HangupEvent();
                    return;
                }
                var elapsed = started.Elapsed;
                var text = Escape(buf.AsSpan(0, n));
                if (text.Length > 100)
                    text = text[..100];
                Msg.Info($"PREGREET {n} after {Delta(elapsed)} from {Who}: {text}");
                flags |= Fail(Pregreet);
                switch (s.PregreetAction)
                {
                    case PscAction.Drop:
                        Drop("521 5.5.1 Protocol error\r\n");
                        return;
                    case PscAction.Enforce:
                        Enforce("550 5.5.1 Protocol error\r\n");
                        break;
                }
                flags |= Done(Pregreet);
                if (elapsed.TotalSeconds < s.GreetWait && dnsbl != null)
                    dnsbl.Wait(waitMs - (long)elapsed.TotalMilliseconds);
            }
        }
        else
        {
            dnsbl?.Wait(waitMs);
        }
        // The greet wait is over.
        if ((flags & Todo(Pregreet)) != 0 && (flags & (Fail(Pregreet) | Done(Pregreet))) == 0)
        {
            info.Times.Expire[Pregreet] = Now + s.PregreetTtl;
            flags |= Pass(Pregreet);
        }
        if ((flags & Fail(Pregreet)) != 0 && s.PregreetAction == PscAction.Ignore)
            flags &= ~Fail(Pregreet);
        if ((flags & Todo(Dnsbl)) != 0 && dnsbl != null)
        {
            var score = dnsbl.Result(out var name, out var ttl);
            if (score < s.DnsblThreshold)
            {
                info.Times.Expire[Dnsbl] = Now + ttl;
                flags |= Pass(Dnsbl);
            }
            else
            {
                Msg.Info($"DNSBL rank {score} for {Who}");
                flags |= Fail(Dnsbl);
                switch (s.DnsblAction)
                {
                    case PscAction.Drop:
                        Drop($"521 5.7.1 Service unavailable; client [{addr}] blocked using {name}\r\n");
                        return;
                    case PscAction.Enforce:
                        Enforce($"550 5.7.1 Service unavailable; client [{addr}] blocked using {name}\r\n");
                        break;
                    default:
                        flags &= ~Fail(Dnsbl);
                        break;
                }
            }
        }
        if ((flags & NoForward) != 0)
        {
            SmtpdTests();
            return;
        }
        Conclude();
    }

    private void Enforce(string reply)
    {
        flags |= NoForward;
        rcptReply = reply;
    }

    private void Drop(string reply)
    {
        flags |= NoForward;
        finalReply = reply;
        Conclude();
    }

    private void HangupEvent()
    {
        flags |= Hangup;
        Msg.Info($"HANGUP after {Delta(started.Elapsed)} from {Who} in {testName}");
        flags |= NoForward;
        Conclude();
    }

    // Conclude - psc_conclude().
    private void Conclude()
    {
        if ((flags & AnyFail) != 0)
            flags &= ~AnyPass;
        if ((flags & AnyPass) != 0 && (flags & AnyPass) == TodoToPass(flags & AnyTodo))
        {
            bool old;
            lock (info)
                old = (flags & New) == 0 || info.PassNewCount++ > 0;
            Msg.Info($"PASS {(old ? "OLD" : "NEW")} {Who}");
        }
        if ((flags & AnyPass) != 0 && Postscreen.HaveCache)
            Postscreen.CacheUpdate(addr, info.Times.Print(s.Enabled));
        if ((flags & NoForward) == 0)
        {
            SendSocket();
        }
        else
        {
            if ((flags & Hangup) == 0)
                Send(finalReply);
            Msg.Info($"DISCONNECT {Who}");
        }
    }

    // SendSocket - psc_send_socket(): hand the client to smtpd.
    private void SendSocket()
    {
        Socket server;
        try
        {
            server = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            server.Connect(new UnixDomainSocketEndPoint(s.SmtpdService));
        }
        catch (SocketException e)
        {
            Msg.Warn($"cannot connect to service {s.SmtpdService}: {Sys.StrError(e.ErrorCode)}");
            Send("421 4.3.2 All server ports are busy\r\n");
            return;
        }
        using (server)
        {
            var ok = Sys.SendFd((int)server.Handle, (int)client.Handle) == 0;
            var err = ok ? 0 : System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            if (ok)
            {
                var attrs = AttrWriter.ToBytes(AttrEncoding.Zero, w => w
                    .Str("client_address", addr).Str("client_port", port)
                    .Str("server_address", saddr).Str("server_port", sport));
                try
                {
                    server.Send(attrs);
                }
                catch (SocketException e)
                {
                    ok = false;
                    err = e.ErrorCode;
                }
            }
            if (!ok)
            {
                Msg.Warn($"cannot pass connection to service {s.SmtpdService}: {Sys.StrError(err)}");
                Send("421 4.3.2 No system resources\r\n");
                return;
            }
            HandedOff = true;
            // Wait until smtpd has the descriptor (it closes the channel).
            if (!server.Poll(100 * 1_000_000, SelectMode.SelectRead))
                Msg.Warn($"timeout sending connection to service {s.ServiceName}");
        }
    }

    private bool Send(string reply)
    {
        if (Msg.Verbose > 0)
            Msg.Info($"> {Who}: {reply.TrimEnd('\r', '\n')}");
        try
        {
            client.Send(Encoding.UTF8.GetBytes(reply));
            return true;
        }
        catch (SocketException e)
        {
            if (e.SocketErrorCode != SocketError.Shutdown && e.SocketErrorCode != SocketError.ConnectionReset)
                Msg.Warn($"write {Who}: {e.Message}");
            return false;
        }
    }

    private string Delta(TimeSpan t)
    {
        var ticks = t.Ticks;
        var sec = ticks / TimeSpan.TicksPerSecond;
        var usec = ticks % TimeSpan.TicksPerSecond / 10;
        return LogAdhoc.FormatTv(new StringBuilder(), sec, usec, 2, s.DelayResolution).ToString();
    }

    // Escape - escape(3): printable ASCII as is (backslash doubled), C
    // escapes for the usual controls, octal for the rest.
    internal static string Escape(ReadOnlySpan<byte> data)
    {
        var sb = new StringBuilder();
        foreach (var b in data)
        {
            switch (b)
            {
                case (byte)'\\': sb.Append("\\\\"); break;
                case 7: sb.Append("\\a"); break;
                case 8: sb.Append("\\b"); break;
                case 12: sb.Append("\\f"); break;
                case 10: sb.Append("\\n"); break;
                case 13: sb.Append("\\r"); break;
                case 9: sb.Append("\\t"); break;
                case 11: sb.Append("\\v"); break;
                default:
                    if (b >= 0x20 && b < 0x7f)
                        sb.Append((char)b);
                    else
                        sb.Append('\\').Append(Convert.ToString(b, 8).PadLeft(3, '0'));
                    break;
            }
        }
        return sb.ToString();
    }
}

// DnsblQuery - psc_dnsbl_request()/psc_dnsbl_receive(): one dnsblog
// conversation per list domain, all at once; the score adds up as
// replies arrive.
internal sealed class DnsblQuery
{
    private readonly DnsblScore score = new();
    private readonly PscSettings s;
    private int pending;
    private readonly ManualResetEventSlim done = new(false);
    private static int requestCount;

    public DnsblQuery(PscSettings s, string addr)
    {
        this.s = s;
        var id = Interlocked.Increment(ref requestCount) - 1;
        pending = s.Sites.Domains.Count;
        if (pending == 0)
            done.Set();
        foreach (var domain in s.Sites.Domains)
        {
            var t = new Thread(() => Ask(domain, addr, id), 64 * 1024) { IsBackground = true, Name = "dnsbl" };
            t.Start();
        }
    }

    private void Ask(DnsblDomain domain, string addr, int id)
    {
        try
        {
            using var sock = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                sock.Connect(new UnixDomainSocketEndPoint(s.DnsblogService));
            }
            catch (SocketException e)
            {
                Msg.Warn($"psc_dnsbl_request: connect to {s.DnsblogService} service: {Sys.StrError(e.ErrorCode)}");
                return;
            }
            sock.ReceiveTimeout = Math.Max(1, s.DnsblTimeout) * 1000;
            using var stream = new AttrStream(new NetworkStream(sock, ownsSocket: false), s.DnsblogService + " socket");
            if (!stream.Send(w => w.Str("rbl_domain", domain.Name).Str("client_address", addr).Int("label", id)))
            {
                Msg.Warn($"psc_dnsbl_request: error sending to {s.DnsblogService} service: {Sys.StrError(stream.LastErrno)}");
                return;
            }
            var v = new AttrValue[5];
            var n = stream.Receive([AttrSpec.Str("rbl_domain"), AttrSpec.Str("client_address"), AttrSpec.Int("label"),
                AttrSpec.Str("rbl_addr"), AttrSpec.Int("ttl")], v, AttrFlags.Strict);
            if (n != 5)
            {
                if (stream.LastErrno == 110 || stream.LastErrno == 11)
                    Msg.Warn($"dnsblog reply timeout {s.DnsblTimeout}s for {domain.Name}");
                return;
            }
            if (v[1].Str != addr || v[2].Int != id || v[0].Str != domain.Name)
                return;
            lock (score)
                score.Add(domain, v[3].Str, v[4].Int);
        }
        catch (Exception e) when (e is SocketException or System.IO.IOException)
        {
            Msg.Warn($"dnsblog reply timeout {s.DnsblTimeout}s for {domain.Name}");
        }
        finally
        {
            if (Interlocked.Decrement(ref pending) == 0)
                done.Set();
        }
    }

    // Wait - until every reply is in or the time is up.
    public void Wait(long ms)
    {
        if (ms > 0)
            done.Wait(TimeSpan.FromMilliseconds(ms));
    }

    public int Result(out string? name, out int ttl)
    {
        lock (score)
        {
            name = score.Name;
            ttl = score.Ttl(s.DnsblMinTtl, s.DnsblMaxTtl);
            return score.Total;
        }
    }
}
