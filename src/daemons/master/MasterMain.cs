// NAME
//	MasterMain - master(8): start-up, locks and the event loop
// POSTFIX
//	src/master/master.c, master_sig.c, master_monitor.c, master_vars.c
// DESCRIPTION
//	Options -c -D -d -e -i -s -t -v -w as the reference. Only root may
//	run it. It takes the exclusive locks pid/master.pid (in the queue
//	directory) and $data_directory/master.lock, both holding its pid,
//	keeps only the import_environment variables, sets up its services,
//	then waits for clients, children, signals and timers. SIGHUP
//	reloads main.cf and master.cf; SIGTERM, SIGINT and SIGQUIT stop the
//	whole process group. -w makes the invoking process wait until the
//	daemon is ready (it starts a detached copy of itself and waits on a
//	pipe); -t tests whether a master is already running.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading;
using Postfix.Global.Config;
using Postfix.Global.Log;
using Postfix.Server;
using Postfix.Util;

namespace Postfix.Daemons.Master;

public static partial class MasterMain
{
    private const string MonitorEnv = "POSTFIX_MASTER_MONITOR_FD";
    private const int MonitorTimeout = 100;
    private const int WatchdogTime = 1000;

    private static volatile int gotSigHup;
    private static volatile int gotSigChld;
    private static int dying;
    private static int sigPipeRead = -1;
    private static int sigPipeWrite = -1;

    public static int Run(string[] args) => ProgramHost.Run("master", args, Main);

    private static int Main(string[] args)
    {
        Sys.Umask(Convert.ToInt32("077", 8));
        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable("MAIL_VERBOSE")))
            Msg.Verbose = 1;
        var procName = Msg.Tag;
        // The master reports to the log only (getopt's complaints aside).
        Msg.StderrEnabled = false;
        var monitorFd = -1;
        if (Environment.GetEnvironmentVariable(MonitorEnv) is { } mfd
            && int.TryParse(mfd, NumberStyles.None, CultureInfo.InvariantCulture, out var m))
        {
            monitorFd = m;
            Environment.SetEnvironmentVariable(MonitorEnv, null);
        }
        MailLog.Init(MailLog.Task(procName, null), null, logwriterFallback: true);
        if (Sys.GetUid() != 0)
            Msg.Fatal("the master command is reserved for the superuser");
        if (Sys.GetUid() != Sys.GetEuid() || Sys.GetGid() != Sys.GetEgid())
            Msg.Fatal("the master command must not run as a set-uid process");

        var detach = true;
        var keepStdout = false;
        var testLock = false;
        var waitFlag = false;
        var initMode = false;
        var debug = false;
        var exitTime = -1;
        var go = new GetOpt(args, "c:Dde:istvw", procName);
        int c;
        while ((c = go.Next()) != -1)
        {
            switch ((char)c)
            {
                case 'c':
                    Environment.SetEnvironmentVariable(MailConf.ConfEnvPath, go.Optarg);
                    break;
                case 'd':
                    detach = false;
                    break;
                case 'e':
                    exitTime = int.TryParse(go.Optarg, NumberStyles.Integer, CultureInfo.InvariantCulture, out var e) ? e : 0;
                    break;
                case 'i':
                    if (Environment.ProcessId != 1)
                        Msg.Fatal("-i is allowed only for PID 1 process");
                    initMode = true;
                    keepStdout = true;
                    break;
                case 'D':
                    debug = true;
                    break;
                case 's':
                    keepStdout = true;
                    break;
                case 't':
                    testLock = true;
                    break;
                case 'v':
                    Msg.Verbose++;
                    break;
                case 'w':
                    waitFlag = true;
                    break;
                default:
                    Usage(procName);
                    break;
            }
        }
        if (go.Optind < args.Length)
            Usage(procName);
        if (testLock && waitFlag)
            Msg.Fatal("the -t and -w options cannot be used together");
        if (initMode && (debug || !detach || waitFlag))
            Msg.Fatal("the -i option cannot be used with -D, -d, or -w");
        if (waitFlag)
            return Monitor(args);

        if (detach)
        {
            var devnull = Sys.Open("/dev/null", Sys.O_RDWR, 0);
            for (var fd = 0; fd < 3; fd++)
            {
                if (fd == 1 && keepStdout)
                    continue;
                Sys.Dup2(devnull, fd);
            }
            if (devnull > 2)
                Sys.Close(devnull);
            Msg.StderrEnabled = false;
        }
        if (!initMode && !debug && detach)
            Sys.SetSid();

        var conf = VarsInit(out var ownerUid, out var ownerGid);
        var queueDir = conf.Eval("queue_directory");
        if (Sys.Chdir(queueDir) != 0)
            Msg.Fatal($"chdir {queueDir}: {Sys.LastError()}");
        var lockPath = $"{conf.Eval("process_id_directory")}/{procName}.pid";
        if (testLock && !File.Exists(lockPath))
            return 0;
        var lockFd = OpenLock(lockPath, out var why);
        if (testLock)
            return lockFd >= 0 ? 0 : 1;
        if (lockFd < 0)
            Msg.Fatal($"open lock file {lockPath}: {why}");
        WritePid(lockFd, lockPath);
        var dataLockPath = $"{conf.Eval("data_directory")}/{procName}.lock";
        Sys.SetEgid(ownerGid);
        Sys.SetEuid(ownerUid);
        var dataLockFd = OpenLock(dataLockPath, out why);
        Sys.SetEuid(Sys.GetUid());
        Sys.SetEgid(Sys.GetGid());
        if (dataLockFd < 0)
            Msg.Fatal($"open lock file {dataLockPath}: {why}");
        WritePid(dataLockFd, dataLockPath);

        var runtime = new MasterRuntime(conf, new MasterListen(ownerUid, ownerGid, ServerParams.Int(conf, "default_process_limit")), detach);
        runtime.Config(conf, new MasterListen(ownerUid, ownerGid, ServerParams.Int(conf, "default_process_limit")));
        SigSetup();
        runtime.FlowInit();
        MailLog.Init(MailLog.Task(procName, conf), conf, logwriterFallback: true);
        Msg.Info($"daemon started -- version {conf.Eval("mail_version")}, configuration {conf.ConfigDirectory}");
        if (monitorFd >= 0)
        {
            Sys.Write(monitorFd, [0]);
            Sys.Close(monitorFd);
        }
        var exitAt = exitTime >= 0 ? Environment.TickCount64 + exitTime * 1000L : long.MaxValue;
        Loop(runtime, procName, exitAt, ownerUid, ownerGid);
        return 0;
    }

    private static void Loop(MasterRuntime runtime, string procName, long exitAt, uint ownerUid, uint ownerGid)
    {
        var epoll = new MasterEpoll();
        var wanted = new HashSet<int>();
        var owners = new Dictionary<int, (MasterService Serv, bool Status)>();
        var ready = new List<(int Fd, uint Events)>();
        var spawned = new HashSet<MasterService>();
        var drain = new byte[64];
        while (true)
        {
            var next = Math.Min(runtime.Timers(), exitAt);
            var now = Environment.TickCount64;
            if (exitAt <= now)
            {
                Msg.Info("master exit time has arrived");
                Environment.Exit(0);
            }
            var timeout = (int)Math.Clamp(next - now, 0, WatchdogTime / 2 * 1000L);
            wanted.Clear();
            owners.Clear();
            wanted.Add(sigPipeRead);
            foreach (var serv in runtime.Services)
            {
                wanted.Add(serv.StatusRead);
                owners[serv.StatusRead] = (serv, true);
                if (!serv.Listening)
                    continue;
                foreach (var fd in serv.ListenFds)
                {
                    wanted.Add(fd);
                    owners[fd] = (serv, false);
                }
            }
            epoll.Sync(wanted);
            var rc = epoll.Wait(timeout, ready);
            if (rc < 0 && Marshal.GetLastPInvokeError() != Sys.EINTR)
                Msg.Fatal($"epoll_wait: {Sys.LastError()}");
            if (rc > 0)
            {
                foreach (var (fd, _) in ready)
                {
                    if (fd != sigPipeRead)
                        continue;
                    while (Sys.Read(sigPipeRead, drain) > 0)
                    {
                        // Only the flags matter.
                    }
                }
                spawned.Clear();
                foreach (var (fd, events) in ready)
                {
                    if (fd == sigPipeRead || (events & (Sys.POLLIN | Sys.POLLHUP | Sys.POLLERR)) == 0
                        || !owners.TryGetValue(fd, out var owner))
                        continue;
                    var (serv, status) = owner;
                    if (status)
                        runtime.StatusEvent(serv);
                    else if (spawned.Add(serv))
                        runtime.ListenEvent(serv);
                }
            }
            if (gotSigHup != 0)
            {
                gotSigHup = 0;
                var conf = VarsInit(out _, out _);
                Msg.Info($"reload -- version {conf.Eval("mail_version")}, configuration {conf.ConfigDirectory}");
                runtime.Refresh(conf, new MasterListen(ownerUid, ownerGid, ServerParams.Int(conf, "default_process_limit")));
                // Descriptors were closed and reopened: register them anew.
                epoll.Reset();
                MailLog.Init(MailLog.Task(procName, conf), conf, logwriterFallback: true);
            }
            if (gotSigChld != 0)
            {
                if (Msg.Verbose > 0)
                    Msg.Info("got sigchld");
                gotSigChld = 0;
                runtime.ReapChildren();
            }
        }
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void Usage(string me) =>
        Msg.Fatal($"usage: {me} [-c config_dir] [-D (debug)] [-d (don't detach from terminal)] [-e exit_time] [-t (test)] [-v] [-w (wait for initialization)]");

    // VarsInit - master_vars_init(): main.cf, mail_owner, the environment.
    private static MailConf VarsInit(out uint ownerUid, out uint ownerGid)
    {
        var conf = MailConf.Read(MailConf.ConfigDirectoryFromEnvironment());
        ServerParams.Apply(conf);
        var owner = conf.Eval("mail_owner");
        var pw = Sys.GetPwNam(owner);
        if (pw == null)
            Msg.Fatal($"unknown mail_owner/mail_owner attribute: {owner}");
        ownerUid = pw.Uid;
        ownerGid = pw.Gid;
        CleanEnvironment(conf);
        Environment.SetEnvironmentVariable(MailConf.ConfEnvPath, conf.ConfigDirectory);
        return conf;
    }

    // CleanEnvironment - clean_env(): keep only import_environment.
    private static void CleanEnvironment(MailConf conf)
    {
        var keep = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var item in conf.Eval("import_environment").Split([',', ' ', '\t', '\r', '\n'], StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = item.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
                keep[item[..eq]] = item[(eq + 1)..];
            else
                keep[item] = Environment.GetEnvironmentVariable(item);
        }
        foreach (System.Collections.DictionaryEntry e in Environment.GetEnvironmentVariables())
        {
            var name = (string)e.Key;
            if (!keep.ContainsKey(name))
                Environment.SetEnvironmentVariable(name, null);
        }
        foreach (var (name, value) in keep)
        {
            if (value != null)
                Environment.SetEnvironmentVariable(name, value);
        }
    }

    // OpenLock - open_lock(): create, then an exclusive non-blocking lock.
    private static int OpenLock(string path, out string why)
    {
        why = "";
        var fd = Sys.Open(path, Sys.O_RDWR | Sys.O_CREAT | Sys.O_NOFOLLOW | Sys.O_CLOEXEC, Convert.ToInt32("644", 8));
        if (fd < 0)
        {
            why = $"cannot open file: {Sys.LastError()}";
            return -1;
        }
        if (Sys.Flock(fd, Sys.LOCK_EX | Sys.LOCK_NB) < 0)
        {
            why = $"unable to set exclusive lock: {Sys.LastError()}";
            Sys.Close(fd);
            return -1;
        }
        return fd;
    }

    [LibraryImport("libc", EntryPoint = "ftruncate", SetLastError = true)]
    private static partial int Ftruncate(int fd, long length);

    [LibraryImport("libc", EntryPoint = "lseek", SetLastError = true)]
    private static partial long Lseek(int fd, long offset, int whence);

    // WritePid - the pid right-aligned in 32 columns, as "%*lu\n".
    private static void WritePid(int fd, string path)
    {
        Lseek(fd, 0, 0);
        Ftruncate(fd, 0);
        var text = Environment.ProcessId.ToString(CultureInfo.InvariantCulture).PadLeft(32) + "\n";
        if (!Sys.WriteAll(fd, Encoding.ASCII.GetBytes(text)))
            Msg.Fatal($"cannot update lock file {path}: {Sys.LastError()}");
    }

    // Monitor - master_monitor(): run the daemon detached, wait for it.
    private static int Monitor(string[] args)
    {
        if (!Sys.Pipe(out var r, out var w))
            Msg.Fatal($"pipe: {Sys.LastError()}");
        var argv = new List<string> { ProgramHost.Argv0() ?? "master" };
        foreach (var a in args)
        {
            if (a != "-w")
                argv.Add(a);
        }
        var env = Sys.CurrentEnvironment();
        env.Add($"{MonitorEnv}=3");
        // Start the program by the name it was started under, so that the
        // daemon's process name stays "master" (not "exe").
        var self = argv[0].Contains('/', StringComparison.Ordinal) ? argv[0] : "/proc/self/exe";
        var pid = Sys.Spawn(self, argv, env, [(w, 3)], out var errno);
        if (pid < 0)
            Msg.Fatal($"fork: {Sys.StrError(errno)}");
        Sys.Close(w);
        var pfd = new Sys.PollFd[] { new() { Fd = r, Events = Sys.POLLIN } };
        var deadline = Environment.TickCount64 + MonitorTimeout * 1000L;
        int rc;
        do
            rc = Sys.Poll(pfd, (int)Math.Max(0, deadline - Environment.TickCount64));
        while (rc < 0 && Marshal.GetLastPInvokeError() == Sys.EINTR);
        Span<byte> b = stackalloc byte[1];
        if (rc > 0 && Sys.Read(r, b) == 1)
            return 0;
        if (rc == 0)
        {
            Msg.Warn("Connection timed out while waiting for daemon initialization");
            Sys.Kill(pid, Sys.SIGKILL);
        }
        Msg.Fatal("daemon initialization failure -- see logs for details");
        return 1;
    }

    private static readonly List<PosixSignalRegistration> Registrations = new();

    private static void SigSetup()
    {
        if (!Sys.Pipe(out sigPipeRead, out sigPipeWrite, Sys.O_CLOEXEC | Sys.O_NONBLOCK))
            Msg.Fatal($"pipe: {Sys.LastError()}");
        foreach (var sig in new[] { PosixSignal.SIGINT, PosixSignal.SIGQUIT, PosixSignal.SIGTERM })
        {
            Registrations.Add(PosixSignalRegistration.Create(sig, ctx =>
            {
                ctx.Cancel = true;
                // Die at once, from the handler's thread, as the reference
                // does from its signal handler: "postfix stop" checks the
                // lock right after the signal.
                if (Interlocked.Exchange(ref dying, 1) == 0)
                    SigDeath(ctx.Signal switch { PosixSignal.SIGINT => Sys.SIGINT, PosixSignal.SIGQUIT => Sys.SIGQUIT, _ => Sys.SIGTERM });
            }));
        }
        Registrations.Add(PosixSignalRegistration.Create(PosixSignal.SIGHUP, ctx =>
        {
            ctx.Cancel = true;
            gotSigHup = 1;
            Wake();
        }));
        Registrations.Add(PosixSignalRegistration.Create(PosixSignal.SIGCHLD, _ =>
        {
            gotSigChld = 1;
            Wake();
        }));
    }

    private static void Wake()
    {
        if (Sys.Write(sigPipeWrite, [0]) != 1)
            Msg.Warn($"write to SIG_PIPE_WRITE_FD failed: {Sys.LastError()}");
    }

    [LibraryImport("libc", EntryPoint = "signal")]
    private static partial nint Signal(int sig, nint handler);

    // SigDeath - master_sigdeath(): stop the process group, then die of
    // the same signal.
    private static void SigDeath(int sig)
    {
        var pid = Environment.ProcessId;
        MasterRuntime.Dying = true;
        Sys.Kill(-pid, Sys.SIGTERM);
        Msg.Info($"terminating on signal {sig}");
        foreach (var r in Registrations)
            r.Dispose();
        Signal(sig, 0);
        Sys.Kill(pid, sig);
        Thread.Sleep(5000);
        Environment.Exit(1);
    }
}
