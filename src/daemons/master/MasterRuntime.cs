// NAME
//	MasterRuntime - supervise the services of master.cf
// POSTFIX
//	src/master/master_service.c, master_spawn.c, master_avail.c,
//	master_status.c, master_wakeup.c, master_conf.c, master_flow.c
// DESCRIPTION
//	The master listens on a service's endpoints only while the service
//	has no idle process and is below its process limit; a client then
//	makes it spawn one more child (posix_spawn, with the flow pipe at
//	3/4, the service's status channel at 5 and its listen sockets at 6
//	and up, GENERATION in the environment). Children report busy/idle
//	on the status channel. A child that dies before serving anyone
//	throttles its service for service_throttle_time. Wakeup timers send
//	"W" to services with a wakeup column. Reload re-reads master.cf:
//	kept services get new settings and a new status channel (their old
//	children see end-of-file and leave), new ones start, removed ones
//	stop.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Postfix.Global.Attr;
using Postfix.Global.Config;
using Postfix.Server;
using Postfix.Util;

namespace Postfix.Daemons.Master;

internal sealed partial class MasterRuntime
{
    private readonly Dictionary<int, MasterProcess> children = new();
    private readonly List<MasterService> services = new();
    private MasterListen listen;
    private MailConf conf;
    private readonly bool detached;
    private uint generation;
    private int flowRead = -1;
    private int flowWrite = -1;
    private readonly Dictionary<int, Socket> statusSockets = new();

    public MasterRuntime(MailConf conf, MasterListen listen, bool detached)
    {
        this.conf = conf;
        this.listen = listen;
        this.detached = detached;
    }

    public IReadOnlyList<MasterService> Services => services;

    public int ChildCount => children.Count;

    // FlowInit - master_flow_init(): the pipe shared by every child.
    public void FlowInit()
    {
        if (!Sys.Pipe(out flowRead, out flowWrite, Sys.O_CLOEXEC | Sys.O_NONBLOCK))
            Msg.Fatal($"master_flow_init: pipe: {Sys.LastError()}");
    }

    // Config - master_config(): start new services, update kept ones.
    public void Config(MailConf newConf, MasterListen newListen)
    {
        conf = newConf;
        listen = newListen;
        foreach (var entry in new MasterConfig(conf, detached).Read())
        {
            var serv = services.Find(s => s.Name == entry.Name && s.Type == entry.Type);
            if (serv == null)
            {
                services.Add(entry);
                Start(entry);
                continue;
            }
            if (!serv.Marked)
                Msg.Warn($"duplicate master.cf entry for service \"{serv.ExtName}\" ({serv.Name}) -- using the last entry");
            else
                serv.Marked = false;
            serv.ConditionalWakeup = entry.ConditionalWakeup;
            serv.WakeupTime = entry.WakeupTime;
            serv.MaxProc = entry.MaxProc;
            serv.ThrottleDelay = entry.ThrottleDelay;
            serv.ExtName = entry.ExtName;
            serv.Path = entry.Path;
            serv.Args = entry.Args;
            serv.StressArg = entry.StressArg;
            Restart(serv);
            AvailListen(serv);
        }
    }

    // Refresh - master_refresh(): reload master.cf.
    public void Refresh(MailConf newConf, MasterListen newListen)
    {
        foreach (var s in services)
            s.Marked = true;
        Config(newConf, newListen);
        for (var i = services.Count - 1; i >= 0; i--)
        {
            if (services[i].Marked)
            {
                Stop(services[i]);
                services.RemoveAt(i);
            }
        }
    }

    private void Start(MasterService serv)
    {
        listen.Open(serv);
        AvailListen(serv);
        StatusInit(serv);
        WakeupInit(serv);
    }

    private void Stop(MasterService serv)
    {
        serv.NextWakeup = 0;
        StatusCleanup(serv);
        DeleteChildren(serv);
        serv.Listening = false;
        listen.Close(serv);
    }

    private void Restart(MasterService serv)
    {
        serv.NextWakeup = 0;
        StatusCleanup(serv);
        StatusInit(serv);
        WakeupInit(serv);
    }

    public void StopAll()
    {
        foreach (var s in services)
            Stop(s);
        services.Clear();
    }

    // StatusInit - a socket pair: the master reads one end, the
    // children share the other as descriptor 5.
    private void StatusInit(MasterService serv)
    {
        if (Msg.Verbose > 0)
            Msg.Info($"master_status_init: {serv.Name}");
        var (a, b) = SocketPair();
        serv.StatusRead = a;
        serv.StatusWrite = b;
    }

    private void StatusCleanup(MasterService serv)
    {
        if (Msg.Verbose > 0)
            Msg.Info($"master_status_cleanup: {serv.Name}");
        if (Sys.Close(serv.StatusRead) != 0)
            Msg.Warn($"master_status_cleanup: close status descriptor (read side): {Sys.LastError()}");
        if (Sys.Close(serv.StatusWrite) != 0)
            Msg.Warn($"master_status_cleanup: close status descriptor (write side): {Sys.LastError()}");
        serv.StatusRead = serv.StatusWrite = -1;
    }

    [LibraryImport("libc", EntryPoint = "socketpair", SetLastError = true)]
    private static unsafe partial int SocketPairRaw(int domain, int type, int protocol, int* sv);

    private static unsafe (int, int) SocketPair()
    {
        var sv = stackalloc int[2];
        const int AfUnix = 1, SockStream = 1, SockCloexec = 0x80000;
        if (SocketPairRaw(AfUnix, SockStream | SockCloexec, 0, sv) < 0)
            Msg.Fatal($"pipe: {Sys.LastError()}");
        return (sv[0], sv[1]);
    }

    // StatusEvent - one status message from a child of serv.
    public void StatusEvent(MasterService serv)
    {
        Span<byte> buf = stackalloc byte[MasterChannel.StatusSize];
        var n = (int)Sys.Read(serv.StatusRead, buf);
        if (n < 0)
        {
            Msg.Warn($"master_status_event: read: {Sys.LastError()}");
            return;
        }
        if (n == 0)
            Msg.Panic("master_status_event: read EOF status");
        var (pid, gen, avail) = MasterChannel.Decode(buf);
        if (n != MasterChannel.StatusSize)
        {
            Msg.Warn($"service {serv.ExtName}({serv.Name}): child (pid {pid}) sent partial status update ({n} bytes)");
            return;
        }
        if (Msg.Verbose > 0)
            Msg.Info($"master_status_event: pid {pid} gen {gen} avail {avail}");
        if (!children.TryGetValue(pid, out var proc))
        {
            if (Msg.Verbose > 0)
                Msg.Info($"master_status_event: process id not found: {pid}");
            return;
        }
        if (proc.Generation != gen)
        {
            Msg.Info($"ignoring status update from child pid {pid} generation {gen}");
            return;
        }
        if (proc.Available == (avail == MasterChannel.StatusAvailable))
            return;
        switch (avail)
        {
            case MasterChannel.StatusAvailable:
                proc.UseCount++;
                AvailMore(serv, proc);
                break;
            case MasterChannel.StatusTaken:
                AvailLess(serv, proc);
                break;
            default:
                Msg.Warn($"master_status_event: ignoring unknown status: {pid} allegedly from pid: {avail}");
                break;
        }
    }

    // AvailListen - listen for clients only when nobody else will.
    private void AvailListen(MasterService serv)
    {
        if (Msg.Verbose > 0)
            Msg.Info($"master_avail_listen: {serv.Name} avail {serv.AvailProc} total {serv.TotalProc} max {serv.MaxProc}");
        bool flag;
        if (serv.Throttled || serv.AvailProc > 0)
        {
            flag = false;
        }
        else if (serv.LimitOk(serv.TotalProc))
        {
            flag = true;
        }
        else
        {
            flag = false;
            if (serv.StressArg >= 0)
            {
                var now = NowSeconds();
                if (serv.BusyWarnTime < now - 1000)
                {
                    serv.BusyWarnTime = now;
                    Msg.Warn($"service \"{serv.ExtName}\" ({serv.Name}) has reached its process limit \"{serv.MaxProc}\": new clients may experience noticeable delays");
                    Msg.Warn("to avoid this condition, increase the process count in master.cf or reduce the service time per client");
                    Msg.Warn("see http://www.postfix.org/STRESS_README.html for examples of stress-adapting configuration settings");
                }
            }
        }
        if (flag != serv.Listening && Msg.Verbose > 0)
            Msg.Info($"master_avail_listen: {(flag ? "enable" : "disable")} events {serv.Name}");
        serv.Listening = flag;
    }

    private void AvailMore(MasterService serv, MasterProcess proc)
    {
        if (proc.Available)
            Msg.Panic("master_avail_more: process already available");
        serv.AvailProc++;
        proc.Available = true;
        AvailListen(serv);
    }

    private void AvailLess(MasterService serv, MasterProcess proc)
    {
        if (!proc.Available)
            Msg.Panic("master_avail_less: process not available");
        serv.AvailProc--;
        proc.Available = false;
        AvailListen(serv);
    }

    // ListenEvent - a client waits on one of serv's endpoints.
    public void ListenEvent(MasterService serv)
    {
        if (!serv.Listening)
            return;
        Spawn(serv);
    }

    private void Spawn(MasterService serv)
    {
        if (!serv.LimitOk(serv.TotalProc))
            Msg.Panic($"master_spawn: at process limit {serv.TotalProc}");
        if (serv.AvailProc > 0)
            Msg.Panic($"master_spawn: processes available: {serv.AvailProc}");
        if (serv.Throttled)
            Msg.Panic($"master_spawn: throttled service: {serv.Path}");
        generation++;
        var map = new List<(int, int)> { (flowRead, MasterChannel.FlowReadFd), (flowWrite, MasterChannel.FlowWriteFd), (serv.StatusWrite, MasterChannel.StatusFd) };
        for (var i = 0; i < serv.ListenFds.Length; i++)
            map.Add((serv.ListenFds[i], MasterChannel.ListenFd + i));
        var env = Sys.CurrentEnvironment();
        env.RemoveAll(e => e.StartsWith("GENERATION=", StringComparison.Ordinal));
        env.Add("GENERATION=" + Convert.ToString(generation, 8));
        var pid = Sys.Spawn(serv.Path, serv.Args, env, map, out var errno);
        if (pid < 0)
        {
            // The reference forks first and only then fails to exec: the
            // child's exit makes it throttle. Here the failure is immediate.
            Msg.Warn($"master_spawn: exec {serv.Path}: {Sys.StrError(errno)}");
            Msg.Warn($"{serv.Path}: bad command startup -- throttling");
            Throttle(serv);
            return;
        }
        if (Msg.Verbose > 0)
            Msg.Info($"spawn command {serv.Path}; pid {pid}");
        var proc = new MasterProcess { Service = serv, Pid = pid, Generation = generation };
        children[pid] = proc;
        serv.TotalProc++;
        AvailMore(serv, proc);
        if (serv.ConditionalWakeup)
        {
            serv.ConditionalWakeup = false;
            WakeupInit(serv);
            if (Msg.Verbose > 0)
                Msg.Info($"start conditional timer for {serv.Name}");
        }
    }

    private void Throttle(MasterService serv)
    {
        if (serv.Throttled)
            return;
        serv.Throttled = true;
        serv.UnthrottleAt = Environment.TickCount64 + serv.ThrottleDelay * 1000L;
        if (Msg.Verbose > 0)
            Msg.Info($"throttling command {serv.Path}");
        AvailListen(serv);
    }

    private void Unthrottle(MasterService serv)
    {
        if (!serv.Throttled)
            return;
        serv.Throttled = false;
        serv.UnthrottleAt = 0;
        if (Msg.Verbose > 0)
            Msg.Info($"throttle released for command {serv.Path}");
        AvailListen(serv);
    }

    // Dying - set by the signal thread once it has stopped the process
    // group: the reference master dies at once and never reports the
    // children it took down with it, so neither do we.
    public static volatile bool Dying;

    // ReapChildren - master_reap_child().
    public void ReapChildren()
    {
        if (Dying)
            return;
        int pid;
        while ((pid = Sys.WaitPid(-1, out var status, Sys.WNOHANG)) > 0)
        {
            if (Msg.Verbose > 0)
                Msg.Info($"master_reap_child: pid {pid}");
            if (!children.TryGetValue(pid, out var proc))
                continue; // not one of ours (a helper the runtime started)
            var serv = proc.Service;
            var normal = Sys.WIfExited(status) && Sys.WExitStatus(status) == 0;
            if (!normal)
            {
                if ((status & 0xff) == 0x7f)
                {
                    Msg.Warn($"process {serv.Path} pid {pid} stopped by signal {(status >> 8) & 0xff}");
                    continue;
                }
                if (Sys.WIfExited(status))
                    Msg.Warn($"process {serv.Path} pid {pid} exit status {Sys.WExitStatus(status)}");
                var sentByUs = !services.Contains(serv) && Sys.WTermSig(status) == Sys.SIGTERM;
                if (Sys.WIfSignaled(status) && !sentByUs && !serv.Marked)
                    Msg.Warn($"process {serv.Path} pid {pid} killed by signal {Sys.WTermSig(status)}");
                if (proc.UseCount == 0 && !serv.Throttled)
                {
                    Msg.Warn($"{serv.Path}: bad command startup -- throttling");
                    Throttle(serv);
                }
            }
            DeleteChild(proc);
        }
    }

    private void DeleteChild(MasterProcess proc)
    {
        var serv = proc.Service;
        serv.TotalProc--;
        if (proc.Available)
            AvailLess(serv, proc);
        else
            AvailListen(serv);
        children.Remove(proc.Pid);
    }

    // DeleteChildren - stop every child of serv and wait for them.
    private void DeleteChildren(MasterService serv)
    {
        Throttle(serv);
        foreach (var proc in children.Values)
        {
            if (proc.Service == serv)
                Sys.Kill(proc.Pid, Sys.SIGTERM);
        }
        while (serv.TotalProc > 0)
        {
            var pid = Sys.WaitPid(-1, out _, 0);
            if (pid < 0)
            {
                if (Marshal.GetLastPInvokeError() == Sys.EINTR)
                    continue;
                break;
            }
            if (children.TryGetValue(pid, out var proc))
                DeleteChild(proc);
        }
        Unthrottle(serv);
    }

    private void WakeupInit(MasterService serv)
    {
        if (serv.WakeupTime == 0 || serv.ConditionalWakeup)
            return;
        if (Msg.Verbose > 0)
            Msg.Info($"master_wakeup_init: service {serv.Name} time {serv.WakeupTime}");
        WakeupEvent(serv);
    }

    private void WakeupEvent(MasterService serv)
    {
        if (serv.WakeupTime == 0)
            return;
        if (!serv.Throttled)
        {
            if (Msg.Verbose > 0)
                Msg.Info($"master_wakeup_timer_event: service {serv.Name}");
            ReadOnlySpan<byte> w = [MailProto.TriggerReqWakeup];
            var status = serv.Type switch
            {
                ServiceType.Unix or ServiceType.Pass => MailTrigger.UnixTrigger(serv.Name, w, 1),
                ServiceType.Fifo => MailTrigger.FifoTrigger(serv.Name, w, 1),
                ServiceType.Inet => InetTrigger(serv, w),
                _ => -1,
            };
            if (status < 0)
                Msg.Warn($"master_wakeup_timer_event: service {serv.ExtName}({serv.Name}): {Sys.LastError()}");
        }
        serv.NextWakeup = Environment.TickCount64 + serv.WakeupTime * 1000L;
    }

    private static int InetTrigger(MasterService serv, ReadOnlySpan<byte> request)
    {
        try
        {
            using var s = new Socket(serv.InetAddresses[0].AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            s.Connect(serv.InetAddresses[0], serv.InetPort);
            s.Send(request);
            return 0;
        }
        catch (SocketException)
        {
            return -1;
        }
    }

    // Timers - run due wakeup and unthrottle timers; the next deadline.
    public long Timers()
    {
        var now = Environment.TickCount64;
        long next = long.MaxValue;
        foreach (var serv in services)
        {
            if (serv.Throttled && serv.UnthrottleAt > 0 && serv.UnthrottleAt <= now)
                Unthrottle(serv);
            if (serv.NextWakeup > 0 && serv.NextWakeup <= now)
                WakeupEvent(serv);
            if (serv.Throttled && serv.UnthrottleAt > 0)
                next = Math.Min(next, serv.UnthrottleAt);
            if (serv.NextWakeup > 0)
                next = Math.Min(next, serv.NextWakeup);
        }
        return next;
    }

    private static long NowSeconds() => DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{services.Count} services, {children.Count} children");
}
