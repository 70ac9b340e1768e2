// NAME
//	Spawn - the spawn(8) daemon: run a command on a client connection
// POSTFIX
//	src/spawn/spawn.c, src/util/spawn_command.c
// DESCRIPTION
//	A single server that starts as root and keeps root only as its
//	real user ID. For each client it runs the argv= command with the
//	user= privileges (never root, never the mail system owner), the
//	exported environment and PATH=/usr/bin:/bin, in its own session,
//	with the client connection as standard input, output and error.
//	After $<service>_time_limit (default $command_time_limit) the
//	command's process group is killed. An unsuccessful exit is logged.
using System;
using System.Collections.Generic;
using Postfix.Daemons.Pipe;
using Postfix.Global.Config;
using Postfix.Global.Dict;
using Postfix.Server;
using Postfix.Util;

namespace Postfix.Daemons.Spawn;

public sealed class SpawnAttributes
{
    public required IReadOnlyList<string> Argv { get; init; }

    public uint Uid { get; init; }

    public uint Gid { get; init; }

    public int TimeLimit { get; init; }

    // Parse - get_service_attr() of spawn.c.
    public static SpawnAttributes Parse(IReadOnlyList<string> args, MailConf conf, int timeLimit,
        Func<string, Sys.Passwd?>? getpw = null, Func<string, uint?>? getgr = null)
    {
        getpw ??= Sys.GetPwNam;
        getgr ??= Sys.GetGrNam;
        string? user = null;
        uint uid = 0, gid = 0;
        List<string>? argv = null;
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (arg.StartsWith("user=", StringComparison.OrdinalIgnoreCase))
            {
                user = arg[5..];
                string? group = null;
                var colon = user.IndexOf(':');
                if (colon >= 0)
                {
                    group = user[(colon + 1)..];
                    user = user[..colon];
                    if (group.Length == 0)
                        group = null;
                }
                var pw = getpw(user);
                if (pw == null)
                    Msg.Fatal($"unknown user name: {user}");
                uid = pw!.Uid;
                if (group != null)
                {
                    var g = getgr(group);
                    if (g == null)
                        Msg.Fatal($"unknown group name: {group}");
                    gid = g!.Value;
                }
                else
                {
                    gid = pw.Gid;
                }
            }
            else if (arg.StartsWith("argv=", StringComparison.OrdinalIgnoreCase))
            {
                argv = new List<string> { arg[5..] };
                for (var j = i + 1; j < args.Count; j++)
                    argv.Add(args[j]);
                break;
            }
            else
            {
                Msg.Fatal($"unknown attribute name: {arg}");
            }
        }
        if (user == null)
            Msg.Fatal("missing user= attribute");
        if (argv == null)
            Msg.Fatal("missing argv= attribute");
        var owner = getpw(conf.Eval("mail_owner"));
        if (uid == 0)
            Msg.Fatal("request to deliver as root");
        if (owner != null && uid == owner.Uid)
            Msg.Fatal("request to deliver as mail system owner");
        if (gid == 0)
            Msg.Fatal($"request to use privileged group id {gid}");
        if (owner != null && gid == owner.Gid)
            Msg.Fatal($"request to use mail system owner group id {gid}");
        if (uid == uint.MaxValue)
            Msg.Fatal("user must not have user ID -1");
        if (gid == uint.MaxValue)
            Msg.Fatal("user must not have group ID -1");
        if (Msg.Verbose > 0)
            Msg.Info($"get_service_attr: uid {uid}, gid {gid}; time {timeLimit}");
        return new SpawnAttributes { Argv = argv!, Uid = uid, Gid = gid, TimeLimit = timeLimit };
    }
}

public static class Spawn
{
    private static SpawnAttributes? attr;

    // The master's umask (077), which the commands inherit; the common
    // program start-up sets its own, so it is put back at pre-init.
    private static int inheritedUmask = -1;

    public static int Run(string[] args)
    {
        inheritedUmask = Sys.Umask(0);
        Sys.Umask(inheritedUmask);
        return SingleServer.Run(args, Serve, new ServerOptions
        {
            PreInit = _ =>
            {
                if (inheritedUmask >= 0)
                    Sys.Umask(inheritedUmask);
            },
            PostInit = DropPrivileges,
            PreAccept = PreAccept,
            Privileged = true,
        });
    }

    private static void DropPrivileges(ServerContext ctx)
    {
        var owner = Sys.GetPwNam(ctx.Conf.Eval("mail_owner"));
        if (owner == null)
            Msg.Fatal($"unknown mail owner: {ctx.Conf.Eval("mail_owner")}");
        if (Sys.GetUid() == 0 || Sys.GetEuid() == 0)
            PipeCommand.SetEugid(owner!.Uid, owner.Gid);
    }

    private static void PreAccept(ServerContext ctx)
    {
        var table = DictOpen.ChangedName();
        if (table != null)
        {
            Msg.Info($"table {table} has changed -- restarting");
            Environment.Exit(0);
        }
    }

    private static void Serve(ServerContext ctx, ClientConnection conn)
    {
        if (Msg.Verbose > 0)
            Msg.Info($"spawn_service: service={ctx.ServiceName}, command={(ctx.Args.Length > 0 ? ctx.Args[0] : "")}...");
        attr ??= SpawnAttributes.Parse(ctx.Args, ctx.Conf, Pipe.Pipe.TimeLimit(ctx.Conf, ctx.ServiceName));
        var export = ctx.Conf.Eval("export_environment")
            .Split([' ', '\t', '\r', '\n', ','], StringSplitOptions.RemoveEmptyEntries);
        if (conn.Fd >= 0)
            Sys.NonBlocking(conn.Fd, false);
        var status = RunCommand(attr, conn.Fd >= 0 ? conn.Fd : 0, conn.Fd >= 0 ? conn.Fd : 1, export);
        if (status != 0)
        {
            if (Sys.WIfExited(status))
                Msg.Warn($"command {attr.Argv[0]} exit status {Sys.WExitStatus(status)}");
            if (Sys.WIfSignaled(status))
                Msg.Warn($"command {attr.Argv[0]} killed by signal {Sys.WTermSig(status)}");
        }
    }

    // RunCommand - spawn_command(): the wait status.
    public static int RunCommand(SpawnAttributes a, int inFd, int outFd, IReadOnlyList<string> export)
    {
        var command = a.Argv[0];
        var program = PipeCommand.FindProgram(command, out var errno);
        var root = Sys.GetUid() == 0 || Sys.GetEuid() == 0;
        var pid = -1;
        if (program != null)
        {
            pid = Sys.Spawn(program, a.Argv, PipeCommand.ChildEnvironment(export),
                [(inFd, 0), (outFd, 1), (outFd, 2)],
                new Sys.SpawnOptions { NewSession = true, Uid = root ? a.Uid : null, Gid = root ? a.Gid : null },
                out errno);
        }
        if (pid < 0)
        {
            // The reference's child dies with this fatal error, status 1.
            // The reference's child pauses a second before it exits, as
            // msg_fatal() does; the client sees the same timing.
            PipeCommand.LogChildFatal($"spawn_comand: execvp {command}: {Sys.StrError(errno)}");
            System.Threading.Thread.Sleep(1000);
            return 1 << 8;
        }
        var status = PipeCommand.TimedWaitPid(pid, a.TimeLimit, out var expired);
        if (expired)
        {
            Msg.Warn($"{command}: process id {pid}: command time limit exceeded");
            PipeCommand.KillCommand(pid, Sys.SIGKILL, a.Uid, a.Gid);
            status = PipeCommand.BlockingWait(pid);
        }
        return status;
    }
}
