// NAME
//	ControlCommands - start, stop, reload and the other commands
// POSTFIX
//	conf/postfix-script (Postfix 3.7)
// DESCRIPTION
//	Each command behaves as the reference's control script does: the
//	same checks, messages, exit statuses and programs run ($daemon_
//	directory/master -t/-w/-s/-i, postsuper, postqueue). Whether a
//	master runs is what "master -t" says; its pid is the first word of
//	$queue_directory/pid/master.pid.
using System;
using System.Collections.Generic;
using System.IO;
using System.Runtime.InteropServices;
using System.Threading;
using Postfix.Util;

namespace Postfix.Commands.Control;

internal static class ControlCommands
{
    public const string Usage = "Usage: postfix start (or stop, reload, abort, flush, check, status, set-permissions, upgrade-configuration, logrotate)";

    private const int SIGHUP = 1;
    private const int SIGKILL = 9;
    private const int SIGTERM = 15;

    public static int Run(ControlContext ctx, string[] args)
    {
        // A parent that goes away must not take the command with it.
        using var hup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, c => c.Cancel = true);
        ctx.StartLogging();
        ChildProcess.ScriptName = ctx.ScriptName;
        ctx.Preamble();
        var command = args.Length > 0 ? args[0] : "";
        switch (command)
        {
            case "start_msg":
                return Print("Start postfix");
            case "stop_msg":
                return Print("Stop postfix");
            case "start":
            case "start-fg":
                return Start(ctx, command == "start-fg");
            case "drain":
                RequireRunning(ctx);
                ctx.InfoBeforeSignal("stopping the Postfix mail system");
                return Signal(ctx, SIGKILL);
            case "quick-stop":
                return QuickStop(ctx);
            case "stop":
                return Stop(ctx);
            case "abort":
                RequireRunning(ctx);
                ctx.InfoBeforeSignal("aborting the Postfix mail system");
                return Signal(ctx, SIGTERM);
            case "reload":
                return Reload(ctx);
            case "flush":
                ctx.ChangeDirectory(ctx.QueueDirectory, 231, "queue");
                return ChildProcess.Run(ctx.CommandDirectory + "/postqueue", ["postqueue", "-f"], line: 235);
            case "check":
                if (!Checks.CheckFatal(ctx, subScript: true))
                    return ExitAfterFatal();
                Checks.CheckWarn(ctx, subScript: true);
                return 0;
            case "status":
                if (!MasterRunning(ctx))
                {
                    ctx.Info("the Postfix mail system is not running");
                    return 1;
                }
                ctx.Info("the Postfix mail system is running: PID: " + string.Join(' ', PidWords(ctx)));
                return 0;
            case "check-fatal":
                return Checks.CheckFatal(ctx) ? 0 : ExitAfterFatal();
            case "check-warn":
                Checks.CheckWarn(ctx);
                return 0;
            case "set-permissions":
            case "upgrade-configuration":
                {
                    var piArgs = new List<string> { "create-missing" };
                    piArgs.AddRange(args);
                    return PostInstall.Run(ctx, piArgs);
                }
            case "post-install":
                return PostInstall.Run(ctx, args[1..]);
            case "tls":
                {
                    var script = ctx.DaemonDirectory + "/postfix-tls-script";
                    var argv = new List<string> { script };
                    argv.AddRange(args[1..]);
                    return ChildProcess.Run(script, argv, line: 408);
                }
            case "logrotate":
                return Logrotate.Run(ctx, args);
            default:
                if (command.StartsWith('/'))
                    return ChildProcess.Run(command, args, line: 413);
                ctx.Fatal($"unknown command: '{command}'. {Usage}");
                return 1;
        }
    }

    private static int Print(string text)
    {
        ProgramHost.Out.Write(text + "\n");
        return 0;
    }

    // ExitAfterFatal - a failed check (its fatal message already paused).
    private static int ExitAfterFatal() => 1;

    // MasterRunning - "master -t" fails while a master holds the lock.
    public static bool MasterRunning(ControlContext ctx, bool quiet = true) =>
        ChildProcess.Run(ctx.Master, [ctx.Master, "-t"], stderrToNull: quiet) != 0;

    private static void RequireRunning(ControlContext ctx)
    {
        if (!MasterRunning(ctx))
            ctx.Fatal("the Postfix mail system is not running");
    }

    // PidWords - the first line of master.pid, split as the shell splits it.
    public static string[] PidWords(ControlContext ctx)
    {
        string first;
        try
        {
            using var reader = new StreamReader(ctx.PidFile);
            first = reader.ReadLine() ?? "";
        }
        catch (IOException)
        {
            Msg.Err.Write($"sed: can't read pid/master.pid: No such file or directory\n");
            return [];
        }
        catch (UnauthorizedAccessException)
        {
            Msg.Err.Write($"sed: can't read pid/master.pid: Permission denied\n");
            return [];
        }
        return first.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
    }

    // Signal - kill -SIG `sed 1q pid/master.pid`; the shell's status.
    private static int Signal(ControlContext ctx, int sig)
    {
        var words = PidWords(ctx);
        if (words.Length == 0)
        {
            Msg.Err.Write($"{ctx.ScriptName}: 1: kill: Usage: kill [-s sigspec | -signum | -sigspec] [pid | job]... or\nkill -l [exitstatus]\n");
            return 2;
        }
        var status = 0;
        foreach (var w in words)
        {
            if (!int.TryParse(w, out var pid))
            {
                Msg.Err.Write($"{ctx.ScriptName}: 1: kill: Illegal number: {w}\n");
                return 2;
            }
            if (Sys.Kill(pid, sig) != 0)
            {
                Msg.Err.Write($"{ctx.ScriptName}: 1: kill: {Sys.LastError()}\n");
                status = 1;
            }
        }
        return status;
    }

    private static int Start(ControlContext ctx, bool foreground)
    {
        if (MasterRunning(ctx))
            ctx.Fatal("the Postfix mail system is already running");
        var quickStart = ctx.QueueDirectory + "/quick-start";
        if (File.Exists(quickStart))
        {
            Sys.Unlink(quickStart);
        }
        else
        {
            if (!Checks.CheckFatal(ctx, subScript: true))
                ctx.Fatal("Postfix integrity check failed!");
            Checks.CheckWarn(ctx, subScript: true);
        }
        ctx.Info("starting the Postfix mail system");
        if (!foreground)
        {
            if (ChildProcess.Run(ctx.Master, [ctx.Master, "-w"], line: 146) != 0)
                ctx.Fatal("mail system startup failed");
            return 0;
        }
        if (ctx.Instances.Count > 0)
            ctx.Fatal("start-fg does not support multi_instance_directories");
        if (Sys.GetPid() == 1)
        {
            Native.Exec(ctx.Master, [ctx.Master, "-i"]);
            Msg.Err.Write($"{ctx.ScriptName}: exec: {ctx.Master}: {Sys.LastError()}\n");
            ctx.Fatal("cannot start-fg the master daemon");
        }
        return ChildProcess.Run(ctx.Master, [ctx.Master, "-s"], line: 161);
    }

    private static int Stop(ControlContext ctx)
    {
        RequireRunning(ctx);
        ctx.InfoBeforeSignal("stopping the Postfix mail system");
        Signal(ctx, SIGTERM);
        for (var i = 0; i < 5; i++)
        {
            if (!MasterRunning(ctx, quiet: false))
                return 0;
            ctx.Info("waiting for the Postfix mail system to terminate");
            Thread.Sleep(1000);
        }
        ctx.Warn("stopping the Postfix mail system with force");
        // The reference then runs `pid=$(awk '{ print $1; exit 0 } END
        // { exit 1 }' pid/master.pid) && kill -9 -$pid`: awk's END rule
        // always exits 1, so nothing is killed and the status is 1.
        // Same here, deliberately.
        return 1;
    }

    private static int QuickStop(ControlContext ctx)
    {
        // "stop" as a sub-step (a second script) whose status does not matter.
        try
        {
            ctx.PostconfRuns();
            Stop(ctx);
        }
        catch (FatalException)
        {
            Thread.Sleep(1000);
        }
        var path = ctx.QueueDirectory + "/quick-start";
        var fd = Sys.Open(path, Sys.O_WRONLY | Sys.O_CREAT | Sys.O_CLOEXEC, Convert.ToInt32("666", 8));
        if (fd < 0)
        {
            Msg.Err.Write($"touch: cannot touch '{path}': {Sys.LastError()}\n");
            return 1;
        }
        Sys.Close(fd);
        Sys.Utime(path, DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        return 0;
    }

    private static int Reload(ControlContext ctx)
    {
        RequireRunning(ctx);
        ctx.Info("refreshing the Postfix mail system");
        var postsuper = ctx.CommandDirectory + "/postsuper";
        var status = ChildProcess.Run(postsuper, ["postsuper", "active"], line: 224);
        if (status != 0)
            return 1;
        Signal(ctx, SIGHUP);
        ChildProcess.Start(postsuper, ["postsuper"], false, out _);
        return 0;
    }
}
