// NAME
//	Postqueue - list or flush the mail queue without privileges
// POSTFIX
//	src/postqueue/postqueue.c
// DESCRIPTION
//	One mode per run: -p (mailq listing) or -j (JSON) from the showq
//	service, or, when the mail system is down and we are root, from
//	the showq program run stand-alone; -f (wake up qmgr and pickup);
//	-s site and -i queue_id (requests to the flush service). Every
//	fatal error exits with EX_UNAVAILABLE (69), at once, as the
//	reference's msg_cleanup() hook does, whatever status it names.
using System;
using System.Collections.Generic;
using System.IO;
using System.Net.Sockets;
using Postfix.Global.Attr;
using Postfix.Global.Bounce;
using Postfix.Global.Config;
using Postfix.Global.Log;
using Postfix.Global.Queue;
using Postfix.Util;

namespace Postfix.Commands.Postqueue;

internal static class Postqueue
{
    private const int ExUsage = 64;
    private const int ExUnavailable = 69;
    private const int ExSoftware = 70;
    private const int ExNoPerm = 77;

    internal enum Mode
    {
        Default,
        MailqList,
        FlushQueue,
        FlushSite,
        FlushFile,
        JsonList,
    }

    private static readonly char[] CommaSpace = { ',', ' ', '\t', '\r', '\n' };

    internal static int Run(string[] args)
    {
        try
        {
            return Body(args);
        }
        catch (FatalException)
        {
            // msg_cleanup(unavailable): exit(EX_UNAVAILABLE) before the pause.
            return ExUnavailable;
        }
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void Usage() =>
        Msg.FatalStatus(ExUsage, "usage: postqueue -f | postqueue -i queueid | postqueue -j | postqueue -p | postqueue -s site");

    private static int Body(string[] args)
    {
        Msg.Tag = "postqueue";
        MailLog.Init(MailLog.Task("postqueue", null), null);
        var mode = Mode.Default;
        string? site = null;
        string? idToFlush = null;
        var getopt = new GetOpt(args, "c:fi:jps:v", "postqueue");
        int c;
        while ((c = getopt.Next()) != -1)
        {
            switch (c)
            {
                case 'c':
                    Environment.SetEnvironmentVariable(MailConf.ConfEnvPath, getopt.Optarg);
                    break;
                case 'f':
                    mode = Select(mode, Mode.FlushQueue);
                    break;
                case 'i':
                    mode = Select(mode, Mode.FlushFile);
                    idToFlush = getopt.Optarg;
                    break;
                case 'j':
                    mode = Select(mode, Mode.JsonList);
                    break;
                case 'p':
                    mode = Select(mode, Mode.MailqList);
                    break;
                case 's':
                    mode = Select(mode, Mode.FlushSite);
                    site = getopt.Optarg;
                    break;
                case 'v':
                    if (Sys.GetEuid() == 0)
                        Msg.Verbose++;
                    break;
                default:
                    Usage();
                    break;
            }
        }
        if (args.Length > getopt.Optind)
            Usage();

        var conf = MailConf.Read();
        BounceConfig.CheckMainCf(conf, conf.ConfigDirectory);
        MailLog.Init(MailLog.Task("postqueue", conf), conf);
        CleanEnvironment(conf.Eval("import_environment"));
        var queueDir = conf.Eval("queue_directory");
        if (Sys.Chdir(queueDir) != 0)
            Msg.FatalStatus(ExUnavailable, $"chdir {queueDir}: {Sys.LastError()}");

        if (site != null)
        {
            var bad = site.StartsWith('[') ? !SiteSyntax.ValidMailhostLiteral(site) : !MailParamsCheck.ValidHostname(site, false);
            if (bad)
                Msg.FatalStatus(ExUsage, $"Cannot flush mail queue - invalid destination: \"{Cut100(site)}\"");
        }
        if (idToFlush != null && !QueueId.IsValid(idToFlush))
            Msg.FatalStatus(ExUsage, $"Cannot flush queue ID - invalid name: \"{Cut100(idToFlush)}\"");

        switch (mode)
        {
            case Mode.MailqList:
            case Mode.JsonList:
                ShowQueue(conf, mode);
                return 0;
            case Mode.FlushSite:
                FlushSite(conf, site!);
                return 0;
            case Mode.FlushFile:
                FlushFile(conf, idToFlush!);
                return 0;
            case Mode.FlushQueue:
                FlushQueue(conf);
                return 0;
            default:
                Usage();
                return 0;
        }
    }

    private static Mode Select(Mode current, Mode wanted)
    {
        if (current != Mode.Default)
            Usage();
        return wanted;
    }

    private static string Cut100(string s) => s.Length > 100 ? s[..100] + "..." : s;

    // CleanEnvironment - clean_env(): keep only the imported names, then
    // apply the name=value settings.
    private static void CleanEnvironment(string importEnvironment)
    {
        var keep = new List<string>();
        var set = new List<(string, string)>();
        foreach (var item in importEnvironment.Split(CommaSpace, StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = item.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
                set.Add((item[..eq], item[(eq + 1)..]));
            else
                keep.Add(item);
        }
        foreach (System.Collections.DictionaryEntry e in Environment.GetEnvironmentVariables())
        {
            var name = (string)e.Key;
            if (!keep.Contains(name))
                Environment.SetEnvironmentVariable(name, null);
        }
        foreach (var (name, value) in set)
            Environment.SetEnvironmentVariable(name, value);
    }

    // CheckAcl - the authorized_*_users check for users other than root
    // and the mail system owner.
    private static void CheckAcl(MailConf conf, string param, string what)
    {
        var uid = Sys.GetUid();
        if (uid == 0)
            return;
        var owner = Sys.GetPwNam(conf.Eval("mail_owner"));
        if (owner != null && owner.Uid == uid)
            return;
        var who = UserAcl.Check(conf.Eval(param), uid);
        if (who != null)
            Msg.FatalStatus(ExNoPerm, $"User {who}({uid}) is not allowed to {what}");
    }

    // ShowQueue - show_queue(): from the showq service, or stand-alone.
    private static void ShowQueue(MailConf conf, Mode mode)
    {
        CheckAcl(conf, "authorized_mailq_users", "view the mail queue");
        var service = conf.Eval("showq_service_name");
        var mailName = conf.Eval("mail_name");
        var path = MailProto.ClassPublic + "/" + service;
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        int errno;
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(path));
            if (Msg.Verbose > 0)
                Msg.Info($"connect to subsystem {path}");
            using var stream = new AttrStream(new NetworkStream(socket, ownsSocket: true), path + " socket");
            ShowqClient(conf, mode, stream);
            return;
        }
        catch (SocketException e)
        {
            socket.Dispose();
            errno = SocketErrno(e);
            if (Msg.Verbose > 0)
                Msg.Info($"connect to subsystem {path}: {Sys.StrError(errno)}");
        }
        if (errno is 13 or 1)
            Msg.FatalStatus(ExSoftware, $"Connect to the {mailName} {service} service: {Sys.StrError(errno)}");
        if (Sys.GetEuid() != 0)
            Msg.FatalStatus(ExUnavailable,
                $"Queue report unavailable - mail system is down (Connect to the {mailName} {service} service: {Sys.StrError(errno)})");
        Msg.Warn($"Mail system is down -- accessing queue directly (Connect to the {mailName} {service} service: {Sys.StrError(errno)})");
        StandAlone.Run(conf.Eval("daemon_directory") + "/" + service, stream => ShowqClient(conf, mode, stream));
    }

    // ShowqClient - showq_client(): the announcement, then the listing.
    internal static void ShowqClient(MailConf conf, Mode mode, AttrStream showq)
    {
        var v = new AttrValue[1];
        if (showq.Receive([AttrSpec.StrEq(MailProto.AttrProto, MailProto.ProtoShowq)], v, AttrFlags.Strict) != 0)
            Msg.FatalStatus(ExSoftware, "malformed showq server response");
        var output = new StdoutBuffer();
        if (mode == Mode.MailqList)
            ShowqFormat.Compat(showq, output, conf.Bool("enable_long_queue_ids"));
        else
            ShowqFormat.Json(showq, output);
    }

    private static void FlushQueue(MailConf conf)
    {
        CheckAcl(conf, "authorized_flush_users", "flush the mail queue");
        if (MailTrigger.FlushDeferred(null, conf.Eval("queue_service_name")) < 0)
            Msg.FatalStatus(ExUnavailable, "Cannot flush mail queue - mail system is down");
        if (MailTrigger.FlushMaildrop(null, conf.Eval("pickup_service_name")) < 0)
            Msg.FatalStatus(ExUnavailable, "Cannot flush mail queue - mail system is down");
    }

    private static void FlushSite(MailConf conf, string site)
    {
        CheckAcl(conf, "authorized_flush_users", "flush the mail queue");
        var status = FlushClient.SendSite(conf, site);
        switch (status)
        {
            case FlushClient.StatOk:
                return;
            case FlushClient.StatBad:
                Msg.FatalStatus(ExUsage, $"Invalid request: \"{site}\"");
                break;
            case FlushClient.StatFail:
                Msg.FatalStatus(ExUnavailable, "Cannot flush mail queue - mail system is down");
                break;
            case FlushClient.StatDeny:
                Msg.FatalStatus(ExUnavailable, $"Flush service is not configured for destination \"{site}\"");
                break;
            default:
                Msg.FatalStatus(ExSoftware, $"Unknown flush server reply status {status}");
                break;
        }
    }

    private static void FlushFile(MailConf conf, string queueId)
    {
        CheckAcl(conf, "authorized_flush_users", "flush the mail queue");
        var status = FlushClient.SendFile(conf, queueId);
        switch (status)
        {
            case FlushClient.StatOk:
                return;
            case FlushClient.StatBad:
                Msg.FatalStatus(ExUsage, $"Invalid request: \"{queueId}\"");
                break;
            case FlushClient.StatFail:
                Msg.FatalStatus(ExUnavailable, "Cannot flush mail queue - mail system is down");
                break;
            default:
                Msg.FatalStatus(ExSoftware, $"Unexpected flush server reply status {status}");
                break;
        }
    }

    // SocketErrno - errno of a failed connect.
    internal static int SocketErrno(SocketException e) => e.SocketErrorCode switch
    {
        SocketError.ConnectionRefused => 111,
        SocketError.AccessDenied => 13,
        SocketError.AddressNotAvailable => 2,
        _ => e.NativeErrorCode > 0 && e.NativeErrorCode < 4096 ? e.NativeErrorCode : 5,
    };
}
