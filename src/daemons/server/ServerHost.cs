// NAME
//	ServerHost - the start-up every daemon shares
// POSTFIX
//	src/master/single_server.c, multi_server.c, trigger_server.c,
//	dgram_server.c (their common *_main() prologue), src/util/chroot_uid.c
// DESCRIPTION
//	Parses the options the master passes (-c -d -D -i -l -m -n -o -r -s
//	-S -t -u -v -V -z), reads main.cf and applies the -o overrides, sets
//	up logging, checks the constraints the daemon declares, changes to
//	the queue directory, runs pre-init, enters the chroot jail and drops
//	to mail_owner when master.cf says so, runs post-init. Then the
//	server kind runs its own loop over the descriptors the master
//	handed down (MasterChannel).
using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using Postfix.Global.Config;
using Postfix.Global.Dict;
using Postfix.Global.Log;
using Postfix.Util;

namespace Postfix.Server;

internal sealed class ServerHost
{
    public ServerContext Context { get; private set; } = null!;

    public ServerOptions Options { get; private set; } = null!;

    public bool Alone { get; private set; }

    public bool ZeroLimit { get; private set; }

    public bool DaemonMode { get; private set; } = true;

    public int SocketCount { get; private set; } = 1;

    public int IdleLimit { get; private set; }

    public int UseLimit { get; private set; }

    public uint Generation { get; private set; }

    public int LockFd { get; private set; } = -1;

    // Init - everything up to and including post-init.
    public static ServerHost Init(string[] args, ServerOptions? options, bool needsTransport = true)
    {
        var host = new ServerHost { Options = options ?? new ServerOptions() };
        host.Start(args, needsTransport);
        return host;
    }

    private void Start(string[] args, bool needsTransport)
    {
        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable("MAIL_VERBOSE")))
            Msg.Verbose = 1;
        var procName = ProgramHost.ProgramName("daemon");
        Msg.Tag = procName;
        // Daemons write to syslog or postlogd only; -V adds stderr.
        Msg.StderrEnabled = false;
        // The master's POSTLOG_* environment lets main.cf warnings
        // ("overriding earlier entry") reach the log, as the reference's do.
        MailLog.Init(MailLog.Task(procName, null), null);
        var conf = MailConf.Read(MailConf.ConfigDirectoryFromEnvironment());
        conf.Update("process_name", procName);
        MailLog.Init(MailLog.Task(procName, conf), conf);
        if (Msg.Verbose > 0)
            Msg.Info("daemon started");

        string serviceName = procName;
        string? transport = null;
        var rootDir = false;
        var dropUser = false;
        var standAlone = false;
        var retire = 0;
        var go = new GetOpt(args, "cdDi:lm:n:o:r:s:St:uvVz", procName) { Silent = true };
        int c;
        while ((c = go.Next()) != -1)
        {
            switch ((char)c)
            {
                case 'c':
                    rootDir = true;
                    break;
                case 'd':
                    DaemonMode = false;
                    break;
                case 'D':
                    break;
                case 'i':
                    conf.Update("max_idle", go.Optarg!);
                    break;
                case 'l':
                    Alone = true;
                    break;
                case 'm':
                    conf.Update("max_use", go.Optarg!);
                    break;
                case 'n':
                    serviceName = go.Optarg!;
                    break;
                case 'o':
                    var err = NameValue.Split(go.Optarg!, out var name, out var value);
                    if (err != null)
                        Msg.Fatal($"invalid \"-o {go.Optarg}\" option value: {err}");
                    conf.Update(name, value);
                    break;
                case 'r':
                    if (!int.TryParse(go.Optarg, NumberStyles.Integer, CultureInfo.InvariantCulture, out retire) || retire <= 0)
                        Msg.Fatal($"invalid retirement time: {go.Optarg}");
                    break;
                case 's':
                    if (!int.TryParse(go.Optarg, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) || n <= 0)
                        Msg.Fatal($"invalid socket_count: {go.Optarg}");
                    SocketCount = n;
                    break;
                case 'S':
                    standAlone = true;
                    break;
                case 'u':
                    dropUser = true;
                    break;
                case 't':
                    transport = go.Optarg!;
                    break;
                case 'v':
                    Msg.Verbose++;
                    break;
                case 'V':
                    Msg.StderrEnabled = true;
                    break;
                case 'z':
                    ZeroLimit = true;
                    break;
                default:
                    Msg.Fatal($"invalid option: {(char)go.Optopt}");
                    break;
            }
        }
        conf.Update("service_name", serviceName);
        // mail_params_init(): the logging channel may now differ.
        ApplyParams(conf);
        MailLog.Init(MailLog.Task(procName, conf), conf);

        if (DaemonMode && !standAlone && Sys.IsATty(0) != 0)
        {
            Msg.StderrEnabled = true;
            Msg.Fatal("do not run this command by hand");
        }
        var restArgs = args[go.Optind..];
        Context = new ServerContext(conf, serviceName, procName, restArgs) { StandAlone = standAlone, Transport = transport ?? "" };

        if (Options.Solitary && !standAlone && !Alone)
            Msg.Fatal($"service {serviceName} requires a process limit of 1");
        if (Options.Unlimited && !standAlone && !ZeroLimit)
            Msg.Fatal($"service {serviceName} requires a process limit of 0");
        if (Options.Privileged && dropUser)
            Msg.Fatal($"service {serviceName} requires privileged operation");
        if (!standAlone && needsTransport && transport == null)
            Msg.Fatal("no transport type specified");

        IdleLimit = ConfInt(conf, "max_idle");
        UseLimit = ConfInt(conf, "max_use");
        var generation = Environment.GetEnvironmentVariable("GENERATION");
        if (generation != null)
        {
            try
            {
                Generation = Convert.ToUInt32(generation, 8);
            }
            catch (FormatException)
            {
                Msg.Fatal($"bad generation: {generation}");
            }
            if (Msg.Verbose > 0)
                Msg.Info($"process generation: {generation} ({Convert.ToString(Generation, 8)})");
        }

        var queueDir = conf.Eval("queue_directory");
        if (!standAlone && !Alone && transport != null)
        {
            var lockPath = $"{conf.Eval("process_id_directory")}/{transport}.{serviceName}";
            if (!lockPath.StartsWith('/'))
                lockPath = queueDir + "/" + lockPath;
            LockFd = Sys.Open(lockPath, Sys.O_CREAT | Sys.O_RDWR | Sys.O_NOFOLLOW | Sys.O_CLOEXEC, Convert.ToInt32("600", 8));
            if (LockFd < 0)
                Msg.Fatal($"open lock file {lockPath}: {Sys.LastError()}");
        }
        if (Sys.Chdir(queueDir) != 0)
            Msg.Fatal($"chdir(\"{queueDir}\"): {Sys.LastError()}");
        Options.PreInit?.Invoke(Context);
        // Time zone and host data must be loaded before the jail hides them.
        _ = TimeZoneInfo.Local;
        _ = DateTime.Now;
        ChrootUid(rootDir ? queueDir : null, dropUser ? conf.Eval("mail_owner") : null);
        Options.PostInit?.Invoke(Context);
        // Post-init may change the limits, as the reference's daemons do
        // (qmgr turns off the idle and use limits).
        IdleLimit = ConfInt(conf, "max_idle");
        UseLimit = ConfInt(conf, "max_use");
        if (Options.NoUseLimit)
            UseLimit = 0;
    }

    internal static void ApplyParams(MailConf conf) => ServerParams.Apply(conf);

    internal static int ConfInt(MailConf conf, string name) => ServerParams.Time(conf.Eval(name));

    // ChrootUid - chroot_uid(): jail first, then the user.
    public static void ChrootUid(string? rootDir, string? userName)
    {
        uint uid = 0;
        if (userName != null)
        {
            var pw = Sys.GetPwNam(userName);
            if (pw == null)
                Msg.Fatal($"unknown user: {userName}");
            uid = pw.Uid;
            if (Sys.SetGid(pw.Gid) < 0)
                Msg.Fatal($"setgid({pw.Gid}): {Sys.LastError()}");
            if (Sys.InitGroups(userName, pw.Gid) < 0)
                Msg.Fatal($"initgroups: {Sys.LastError()}");
        }
        if (rootDir != null)
        {
            if (Sys.Chroot(rootDir) != 0)
                Msg.Fatal($"chroot({rootDir}): {Sys.LastError()}");
            if (Sys.Chdir("/") != 0)
                Msg.Fatal($"chdir(/): {Sys.LastError()}");
        }
        if (userName != null && Sys.SetUid(uid) < 0)
            Msg.Fatal($"setuid({uid}): {Sys.LastError()}");
        if (Msg.Verbose > 1)
            Msg.Info($"chroot {rootDir ?? "(none)"} user {userName ?? "(none)"}");
    }

    // Notify - tell the master this process is busy or idle.
    public bool Notify(bool available) => MasterChannel.Notify(Environment.ProcessId, Generation, available);

    // RequireTransport - the master.cf types this kind of server serves.
    internal void RequireTransport(params string[] types)
    {
        foreach (var t in types)
        {
            if (string.Equals(Context.Transport, t, StringComparison.OrdinalIgnoreCase))
                return;
        }
        Msg.Fatal($"unsupported transport type: {Context.Transport}");
    }

    // Stop - leave after an idle timeout or when the master went away.
    internal int Stop(ServerLoop.WaitResult why)
    {
        if (Msg.Verbose > 0)
            Msg.Info(why == ServerLoop.WaitResult.IdleTimeout ? "idle timeout -- exiting" : "master disconnect -- exiting");
        return Exit();
    }

    // Exit - run the exit call-back and leave.
    public int Exit()
    {
        Options.OnExit?.Invoke(Context);
        ProgramHost.FlushOut();
        return 0;
    }

    // ListenFds - the descriptors handed down by the master.
    public IEnumerable<int> ListenFds()
    {
        for (var i = 0; i < SocketCount; i++)
            yield return MasterChannel.ListenFd + i;
    }

    // LockSelect / UnlockSelect - serialize waiting for clients among the
    // processes of one service (the reference's select lock).
    public void LockSelect()
    {
        if (LockFd >= 0 && Sys.Flock(LockFd, Sys.LOCK_EX) < 0)
            Msg.Fatal($"select lock: {Sys.LastError()}");
    }

    public void UnlockSelect()
    {
        if (LockFd >= 0 && Sys.Flock(LockFd, Sys.LOCK_UN) < 0)
            Msg.Fatal($"select unlock: {Sys.LastError()}");
    }

    // StandAloneConnection - stdin/stdout as one client.
    public static ClientConnection StandAloneConnection() =>
        new(new DuplexStream(Console.OpenStandardInput(), Console.OpenStandardOutput()));
}
