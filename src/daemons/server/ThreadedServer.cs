// NAME
//	ThreadedServer - many sessions per process, one thread per session
// POSTFIX
//	src/master/single_server.c, multi_server.c (what the master sees)
// DESCRIPTION
//	A long-running session service (smtpd) that runs each accepted
//	client on its own thread with a small stack and blocking I/O. To
//	the master the process looks like a multi server that is always
//	available, so the master does not start another process for every
//	session. At the session cap the process reports busy (the master
//	may then start another one) and stops accepting until a session
//	ends. The idle timer runs only while no
//	session is active; max_use counts finished sessions, per session
//	slot (max_use times the most sessions served at once); when the
//	master goes away, or at the use limit, the process takes no new
//	clients and leaves when the sessions it has are done. With -S the
//	single client is stdin/stdout, served on the main thread. A session
//	thread that is done waits a while for the next session (SessionThreads)
//	instead of ending, so that a busy server does not pay for a thread
//	start per connection.
using System;
using System.Collections.Generic;
using System.Threading;
using Postfix.Util;

namespace Postfix.Server;

public static class ThreadedServer
{
    // Default stack size of a session thread.
    public const int DefaultStackSize = 256 * 1024;

    public static int Run(string[] args, Action<ServerContext, ClientConnection> service, ServerOptions? options = null,
        int maxSessions = 100, int stackSize = DefaultStackSize) =>
        ProgramHost.Run("server", args, a => Main(a, service, options, maxSessions, stackSize));

    private static int Main(string[] args, Action<ServerContext, ClientConnection> service, ServerOptions? options,
        int maxSessions, int stackSize)
    {
        var host = ServerHost.Init(args, options);
        var ctx = host.Context;
        if (ctx.StandAlone)
        {
            using (var conn = ServerHost.StandAloneConnection())
            {
                host.Options.PostAccept?.Invoke(ctx, conn);
                service(ctx, conn);
                try
                {
                    conn.Stream.Flush();
                }
                catch (System.IO.IOException)
                {
                    // The client is gone.
                }
            }
            return host.Exit();
        }
        host.RequireTransport("unix", "inet", "pass");
        var passing = string.Equals(ctx.Transport, "pass", StringComparison.OrdinalIgnoreCase);
        ServerLoop.CloseOnExecAll(host);
        if (maxSessions < 1)
            maxSessions = 1;
        if (!Sys.Pipe(out var wakeRead, out var wakeWrite))
            Msg.Fatal($"pipe: {Sys.LastError()}");
        var listen = new List<int>(host.ListenFds());
        var fds = new List<int>();
        var ready = new List<int>();
        var active = 0;
        var useCount = 0;
        // max_use counts sessions per session slot: a process that has
        // served N clients at once stands for N reference processes, and
        // retires after N times max_use sessions. Retiring the only
        // process after max_use sessions would stall every new client
        // until the master has started its successor.
        var peak = 1;
        var accepting = true;
        var busy = false;
        var gate = new object();
        var idleDeadline = ServerLoop.IdleDeadline(host);
        Span<byte> drain = stackalloc byte[64];
        while (true)
        {
            int sessions;
            lock (gate)
                sessions = active;
            if (!accepting && sessions == 0)
                break;
            var useLimit = (long)host.UseLimit * peak;
            var underCap = sessions < maxSessions && (host.UseLimit == 0 || useCount + sessions < useLimit);
            if (host.UseLimit > 0 && useCount >= useLimit)
                accepting = false;
            // At the cap the master must see this process as busy.
            if (accepting && !underCap && !busy)
            {
                busy = true;
                if (!host.Notify(false))
                    accepting = false;
            }
            else if (accepting && underCap && busy)
            {
                busy = false;
                if (!host.Notify(true))
                    accepting = false;
            }
            var takeClients = accepting && underCap;
            if (takeClients && sessions == 0)
                host.LockSelect();
            var delay = host.Options.Loop?.Invoke(ctx) ?? -1;
            fds.Clear();
            if (takeClients)
                fds.AddRange(listen);
            fds.Add(wakeRead);
            var result = ServerLoop.Wait(fds, accepting, sessions == 0 && accepting ? idleDeadline : 0, delay, ready);
            if (result == ServerLoop.WaitResult.LoopTimer)
            {
                host.Options.Timer?.Invoke(ctx);
                if (takeClients && sessions == 0)
                    host.UnlockSelect();
                continue;
            }
            if (result == ServerLoop.WaitResult.MasterGone || result == ServerLoop.WaitResult.IdleTimeout)
            {
                if (takeClients && sessions == 0)
                    host.UnlockSelect();
                if (sessions == 0)
                    return host.Stop(result);
                accepting = false;
                continue;
            }
            var accepted = false;
            foreach (var fd in ready)
            {
                if (fd == wakeRead)
                {
                    Sys.Read(wakeRead, drain);
                    continue;
                }
                if (accepted)
                    continue;
                host.Options.PreAccept?.Invoke(ctx);
                System.Collections.Generic.Dictionary<string, string>? passAttrs = null;
                var socket = passing ? ServerLoop.PassAccept(fd, out passAttrs) : ServerLoop.Accept(fd);
                accepted = true;
                if (socket == null)
                    continue;
                var conn = new ClientConnection(socket) { PassAttributes = passAttrs };
                var flowDelay = host.Options.InFlowDelay;
                lock (gate)
                {
                    active++;
                    if (active > peak)
                        peak = active;
                }
                if (Msg.Verbose > 0)
                    Msg.Info($"connection established fd {conn.Fd}");
                SessionThreads.Run(() => RunSession(ctx, conn, service, flowDelay, () =>
                {
                    // The loop needs to hear of the end of a session only
                    // when it changes what the loop waits for: the last
                    // session (the accept lock, the idle timer, the exit),
                    // or a session below the cap (take clients again).
                    bool wake;
                    lock (gate)
                    {
                        wake = active >= maxSessions || active == 1;
                        active--;
                        useCount++;
                    }
                    if (wake)
                    {
                        Span<byte> one = stackalloc byte[1];
                        Sys.Write(wakeWrite, one);
                    }
                }), stackSize);
            }
            if (takeClients && sessions == 0)
                host.UnlockSelect();
            lock (gate)
            {
                if (active == 0)
                    idleDeadline = ServerLoop.IdleDeadline(host);
            }
        }
        return host.Exit();
    }

    private static void RunSession(ServerContext ctx, ClientConnection conn, Action<ServerContext, ClientConnection> service,
        bool flowDelay, Action done)
    {
        try
        {
            // The in_flow_delay pause holds up this session only.
            if (flowDelay)
                MailFlow.Delay(ctx);
            service(ctx, conn);
        }
        catch (FatalException e)
        {
            // msg_fatal() ends the whole process, as in the reference.
            ProgramHost.FlushOut();
            Thread.Sleep(1000);
            Environment.Exit(e.Status);
        }
        catch (Exception e)
        {
            Msg.Warn($"session aborted: {e.GetType().Name}: {e.Message}");
        }
        finally
        {
            conn.Dispose();
            if (Msg.Verbose > 0)
                Msg.Info("connection closed");
            done();
        }
    }
}

// SessionThreads - session threads kept for reuse: Run() hands work to
// an idle thread, or starts a new one when none is idle. A thread that
// finds no work for KeepMs, or finishes while MaxIdle others already
// wait, ends.
internal static class SessionThreads
{
    private const int MaxIdle = 16;
    private const int KeepMs = 30_000;

    private static readonly object Gate = new();
    private static readonly Queue<Action> Pending = new();
    private static int idle;

    public static void Run(Action work, int stackSize)
    {
        lock (Gate)
        {
            Pending.Enqueue(work);
            // Every waiting thread takes one piece of work.
            if (idle >= Pending.Count)
            {
                Monitor.Pulse(Gate);
                return;
            }
        }
        new Thread(Work, stackSize) { IsBackground = true, Name = "session" }.Start();
    }

    private static void Work()
    {
        while (true)
        {
            Action work;
            lock (Gate)
            {
                if (Pending.Count == 0 && idle >= MaxIdle)
                    return;
                idle++;
                while (Pending.Count == 0)
                {
                    if (!Monitor.Wait(Gate, KeepMs) && Pending.Count == 0)
                    {
                        idle--;
                        return;
                    }
                }
                idle--;
                work = Pending.Dequeue();
            }
            work();
        }
    }
}
