// NAME
//	Postsuper - queue maintenance for the superuser
// POSTFIX
//	src/postsuper/postsuper.c (main)
// DESCRIPTION
//	The options are read twice: first to learn which actions are
//	wanted, then, after the repair pass (-p, -s, -S: before anything
//	else, and once more when names were changed to match inodes), to
//	run -d, -e, -f, -h, -H and -r in the order given. Runs as the mail
//	system owner after reading main.cf. Reports the counts on stderr
//	and in the mail log.
using System;
using System.Collections.Generic;
using Postfix.Global.Bounce;
using Postfix.Global.Config;
using Postfix.Global.Log;
using Postfix.Global.Queue;
using Postfix.Util;

namespace Postfix.Commands.Postsuper;

internal static class Postsuper
{
    private const string OptSpec = "c:d:e:f:h:H:pr:sSv";

    private static readonly string[] DefaultQueues =
    {
        MailQueue.Defer, MailQueue.Bounce, MailQueue.Maildrop, MailQueue.Incoming, MailQueue.Active,
        MailQueue.Deferred, MailQueue.Hold, MailQueue.Flush,
    };

    private static readonly char[] CommaSpace = { ',', ' ', '\t', '\r', '\n' };

    internal static int Run(string[] args)
    {
        QueueOps? ops = null;
        try
        {
            return Body(args, o => ops = o);
        }
        catch (FatalException)
        {
            // msg_cleanup(fatal_warning)
            if (ops != null && (ops.Count.InodeMismatch > 0 || ops.Count.InodeFixed > 0 || ops.Count.PositionMismatch > 0))
                Msg.Warn("OPERATION INCOMPLETE -- RERUN COMMAND TO FIX THE QUEUE FIRST");
            throw;
        }
    }

    private static int Body(string[] args, Action<QueueOps> started)
    {
        var myname = Msg.Tag;
        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable("MAIL_VERBOSE")))
            Msg.Verbose = 1;
        MailLog.Init(MailLog.Task(myname, null), null, logwriterFallback: true);
        if (Sys.GetUid() != Sys.GetEuid() || Sys.GetGid() != Sys.GetEgid())
            Msg.Fatal("this postfix command must not run as a set-uid process");
        if (Sys.GetUid() != 0)
            Msg.Fatal("use of this command is reserved for the superuser");

        var action = Actions.None;
        var getopt = new GetOpt(args, OptSpec, myname);
        int c;
        while ((c = getopt.Next()) != -1)
        {
            var arg = getopt.Optarg;
            switch (c)
            {
                case 'c':
                    if (!arg!.StartsWith('/'))
                        Msg.Fatal("-c requires absolute pathname");
                    Environment.SetEnvironmentVariable(MailConf.ConfEnvPath, arg);
                    break;
                case 'd':
                    action |= arg == "ALL" ? Actions.DeleteAll : Actions.DeleteOne;
                    break;
                case 'e':
                    action |= arg == "ALL" ? Actions.ExpireAll : Actions.ExpireOne;
                    break;
                case 'f':
                    action |= arg == "ALL" ? Actions.ExpRelAll : Actions.ExpRelOne;
                    break;
                case 'h':
                    action |= arg == "ALL" ? Actions.HoldAll : Actions.HoldOne;
                    break;
                case 'H':
                    action |= arg == "ALL" ? Actions.ReleaseAll : Actions.ReleaseOne;
                    break;
                case 'p':
                    action |= Actions.Purge;
                    break;
                case 'r':
                    action |= arg == "ALL" ? Actions.RequeueAll : Actions.RequeueOne;
                    break;
                case 'S':
                    action |= Actions.StructRed | Actions.Struct;
                    break;
                case 's':
                    action |= Actions.Struct;
                    break;
                case 'v':
                    Msg.Verbose++;
                    break;
                default:
                    Msg.Fatal($"usage: {myname} [-c config_dir] [-d queue_id (delete)] [-e queue_id (expire)] "
                        + "[-f queue_id (expire and/or un-hold)] [-h queue_id (hold)] [-H queue_id (un-hold)] "
                        + "[-p (purge temporary files)] [-r queue_id (requeue)] [-s (structure fix)] "
                        + "[-S (redundant structure fix)][-v (verbose)] [queue...]");
                    break;
            }
        }
        var queueArgs = args[getopt.Optind..];

        var conf = MailConf.Read();
        BounceConfig.CheckMainCf(conf, conf.ConfigDirectory);
        if (Msg.Verbose > 0)
            VerboseParams.Log(conf);
        foreach (var item in conf.Eval("import_environment").Split(CommaSpace, StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = item.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
                Environment.SetEnvironmentVariable(item[..eq], item[(eq + 1)..]);
        }
        MailLog.Init(MailLog.Task(myname, conf), conf, logwriterFallback: true);
        var queueDir = conf.Eval("queue_directory");
        if (Sys.Chdir(queueDir) != 0)
            Msg.Fatal($"chdir {queueDir}: {Sys.LastError()}");
        SetUgid(conf.Eval("mail_owner"));

        var ops = new QueueOps(MailQueue.FromConfig(conf));
        started(ops);
        var walk = new QueueWalk(ops, conf.Bool("enable_long_queue_ids"));
        if (action == Actions.None)
            action = Actions.Default;
        var queues = queueArgs.Length > 0 ? queueArgs : DefaultQueues;

        if ((action & Actions.ForRepair) != 0)
            walk.Walk(queues, action & Actions.ForRepair);
        if (ops.Count.InodeMismatch > 0)
            walk.Walk(queues, action & Actions.ForRepair);
        if ((action & Actions.ByQueueId) != 0 && (ops.Count.InodeMismatch > 0 || ops.Count.InodeFixed > 0))
        {
            Msg.Error("QUEUE FILE NAMES WERE CHANGED TO MATCH INODE NUMBERS");
            Msg.Fatal("CHECK YOUR QUEUE IDS AND RE-ISSUE THE COMMAND");
        }

        getopt = new GetOpt(args, OptSpec, myname) { Silent = true };
        while ((c = getopt.Next()) != -1)
        {
            var arg = getopt.Optarg!;
            Action<string[], string>? one = c switch
            {
                'd' => ops.DeleteOne,
                'e' => ops.ExpireOne,
                'f' => ops.ExpireReleaseOne,
                'h' => ops.HoldOne,
                'H' => ops.ReleaseOne,
                'r' => ops.RequeueOne,
                _ => null,
            };
            if (one == null)
                continue;
            var all = c switch
            {
                'd' => Actions.DeleteAll,
                'e' => Actions.ExpireAll,
                'f' => Actions.ExpRelAll,
                'h' => Actions.HoldAll,
                'H' => Actions.ReleaseAll,
                _ => Actions.RequeueAll,
            };
            if (arg == "ALL")
                walk.Walk(queues, all);
            else if (arg == "-")
                QueueOps.OperateStream(Console.OpenStandardInput(), one, queues);
            else
                one(queues, arg);
        }

        Report(action, ops.Count);
        return 0;
    }

    private static string Plural(int n) => n != 1 ? "s" : "";

    private static void Report(Actions action, Counters n)
    {
        if ((action & (Actions.RequeueOne | Actions.RequeueAll)) != 0)
            Msg.Info($"Requeued: {n.Requeued} message{Plural(n.Requeued)}");
        if ((action & (Actions.DeleteOne | Actions.DeleteAll)) != 0)
            Msg.Info($"Deleted: {n.Deleted} message{Plural(n.Deleted)}");
        if ((action & (Actions.ExpireOne | Actions.ExpireAll | Actions.ExpRelOne | Actions.ExpRelAll)) != 0)
            Msg.Info($"Force-expired: {n.Expired} message{Plural(n.Expired)}");
        if ((action & (Actions.HoldOne | Actions.HoldAll)) != 0)
            Msg.Info($"Placed on hold: {n.Held} message{Plural(n.Held)}");
        if ((action & (Actions.ReleaseOne | Actions.ReleaseAll | Actions.ExpRelOne | Actions.ExpRelAll)) != 0)
            Msg.Info($"Released from hold: {n.Released} message{Plural(n.Released)}");
        if (n.InodeFixed > 0)
            Msg.Info($"Renamed to match inode number: {n.InodeFixed} message{Plural(n.InodeFixed)}");
        if (n.InodeMismatch > 0 || n.InodeFixed > 0)
            Msg.Warn("QUEUE FILE NAMES WERE CHANGED TO MATCH INODE NUMBERS");
    }

    // SetUgid - set_ugid(): become the mail system owner for good.
    private static void SetUgid(string owner)
    {
        var pw = Sys.GetPwNam(owner);
        if (pw == null)
            Msg.Fatal($"unknown mail_owner user: {owner}");
        if (Sys.SetGid(pw.Gid) < 0)
            Msg.Fatal($"setgid({pw.Gid}): {Sys.LastError()}");
        if (Sys.SetGroups(pw.Gid) < 0)
            Msg.Fatal($"setgroups(1, &{pw.Gid}): {Sys.LastError()}");
        if (Sys.SetUid(pw.Uid) < 0)
            Msg.Fatal($"setuid({pw.Uid}): {Sys.LastError()}");
        if (Msg.Verbose > 1)
            Msg.Info($"setugid: uid {pw.Uid} gid {pw.Gid}");
    }
}
