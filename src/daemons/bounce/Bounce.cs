// NAME
//	Bounce - the bounce(8), defer(8) and trace(8) daemon
// POSTFIX
//	src/bounce/bounce.c, src/bounce/bounce_cleanup.c
// DESCRIPTION
//	One binary serves the bounce, defer and trace services: the
//	master.cf service name is also the logfile directory. Each
//	connection carries one request: the server announces the
//	delivery_status_protocol, reads "nrequest" and the request's
//	attributes (append a recipient record, send a non-delivery, delay
//	or delivery status notice, a VERP-style or single-recipient
//	notice), and replies with a status (0: done). With the CLEAN flag
//	the logfile is removed when the request fails, also when the
//	process dies of a fatal error.
//
//	The special service names dump_templates and expand_templates
//	(used by postconf -t and -b) print the message templates and exit.
using System;
using System.IO;
using Postfix.Global.Address;
using Postfix.Global.Attr;
using Postfix.Global.Bounce;
using Postfix.Global.Queue;
using Postfix.Server;
using Postfix.Util;

namespace Postfix.Daemons.Bounce;

public static class Bounce
{
    private static BounceSettings? settings;
    private static BounceServices? services;
    private static string? cleanupPath;

    private static readonly AttrSpec[] RcptSpec =
    [
        AttrSpec.Func(5), AttrSpec.Str(MailProto.AttrOrigRcpt), AttrSpec.Str(MailProto.AttrRecip),
        AttrSpec.Long(MailProto.AttrOffset), AttrSpec.Str(MailProto.AttrDsnOrcpt), AttrSpec.Int(MailProto.AttrDsnNotify),
    ];

    private static readonly AttrSpec[] DsnSpec =
    [
        AttrSpec.Func(7), AttrSpec.Str("status"), AttrSpec.Str("diag_type"), AttrSpec.Str("diag_text"),
        AttrSpec.Str("mta_type"), AttrSpec.Str("mta_mname"), AttrSpec.Str("action"), AttrSpec.Str(MailProto.AttrWhy),
    ];

    private static readonly AttrSpec[] NotifySpec =
    [
        AttrSpec.Int(MailProto.AttrFlags), AttrSpec.Str(MailProto.AttrQueue), AttrSpec.Str(MailProto.AttrQueueId),
        AttrSpec.Str("encoding"), AttrSpec.Int("smtputf8"), AttrSpec.Str(MailProto.AttrSender),
        AttrSpec.Str("envelope_id"), AttrSpec.Int("ret_flags"),
    ];

    public static int Run(string[] args) =>
        SingleServer.Run(args, Serve, new ServerOptions { PreInit = PreInit, PostInit = PostInit, Unlimited = true });

    private static void PreInit(ServerContext ctx)
    {
        settings = BounceSettings.FromConfig(ctx.Conf, ctx.ServiceName);
        var templateFile = BounceConfig.LookupEval(ctx.Conf, ctx.ServiceName, "bounce_template_file") ?? "";
        if (templateFile.Length > 0)
            settings.Templates.LoadFile(templateFile);
    }

    private static void PostInit(ServerContext ctx)
    {
        var s = settings!;
        s.TemplateConfig.StandardFrom = BounceConfig.StandardFrom(ctx.Conf, ctx.ServiceName);
        if (ctx.ServiceName is "dump_templates" or "expand_templates")
        {
            var stdout = new StreamWriter(Console.OpenStandardOutput(), System.Text.Encoding.Latin1) { NewLine = "\n" };
            if (ctx.ServiceName == "dump_templates")
                s.Templates.Dump(stdout, s.TemplateConfig.StandardFrom);
            else
                s.Templates.Expand(stdout, s.TemplateConfig);
            stdout.Flush();
            Environment.Exit(0);
        }
        services = new BounceServices(s);
    }

    private static void Serve(ServerContext ctx, ClientConnection conn)
    {
        if (ctx.Args.Length > 0)
            Msg.Fatal($"unexpected command-line argument: {ctx.Args[0]}");
        if (!MailQueue.NameOk(ctx.ServiceName))
            Msg.Fatal($"malformed service name: {ctx.ServiceName}");
        try
        {
            Service(ctx.ServiceName, new AttrStream(conn.Stream, "client"));
        }
        catch (FatalException)
        {
            CleanupLog();
            throw;
        }
    }

    // Service - bounce_service(): one request.
    internal static void Service(string serviceName, AttrStream client)
    {
        client.Send(w => w.Str(MailProto.AttrProto, MailProto.ProtoBounce));
        var v = new AttrValue[1];
        int status;
        if (client.Receive([AttrSpec.Int(MailProto.AttrNreq)], v, AttrFlags.Strict | AttrFlags.More) != 1)
        {
            Msg.Warn("malformed request");
            status = -1;
        }
        else
        {
            status = v[0].Int switch
            {
                BounceCodes.CmdVerp => VerpProto(serviceName, client),
                BounceCodes.CmdFlush => NotifyProto(serviceName, client, services!.Notify),
                BounceCodes.CmdWarn => NotifyProto(serviceName, client, services!.Warn),
                BounceCodes.CmdTrace => NotifyProto(serviceName, client, services!.Trace),
                BounceCodes.CmdAppend => AppendProto(serviceName, client),
                BounceCodes.CmdOne => OneProto(serviceName, client),
                var other => Unknown(other),
            };
        }
        var sent = client.Send(w => w.Int(MailProto.AttrStatus, status));
        if (cleanupPath != null)
        {
            if (status != 0 || !sent)
                CleanupLog();
            cleanupPath = null;
        }
    }

    private static int Unknown(int command)
    {
        Msg.Warn($"unknown command: {command}");
        return -1;
    }

    private static void CleanupRegister(string service, string queueId) =>
        cleanupPath = settings!.Queue.Path(service, queueId);

    private static void CleanupLog()
    {
        if (cleanupPath != null)
            Sys.Unlink(cleanupPath);
    }

    // Neuter - VS_NEUTER(): an attribute value as a printable octet string.
    private static string Neuter(string text) => BounceLogReader.Printable(Raw.FromText(text));

    private static void FillRcpt(RcptBuf rcpt, ReadOnlySpan<AttrValue> v)
    {
        rcpt.OrigAddr = Neuter(v[0].Str);
        rcpt.Address = Neuter(v[1].Str);
        rcpt.Offset = v[2].Long;
        rcpt.DsnOrcpt = Neuter(v[3].Str);
        rcpt.DsnNotify = v[4].Int;
    }

    private static void FillDsn(DsnBuf dsn, ReadOnlySpan<AttrValue> v)
    {
        dsn.Status = Neuter(v[0].Str);
        dsn.Dtype = Neuter(v[1].Str);
        dsn.Dtext = Neuter(v[2].Str);
        dsn.Mtype = Neuter(v[3].Str);
        dsn.Mname = Neuter(v[4].Str);
        dsn.Action = Neuter(v[5].Str);
        dsn.Reason = Neuter(v[6].Str);
    }

    private static string Printable(string s) => BounceLogReader.Printable(Raw.FromText(s));

    // AppendProto - bounce_append_proto().
    private static int AppendProto(string serviceName, AttrStream client)
    {
        AttrSpec[] spec = [AttrSpec.Int(MailProto.AttrFlags), AttrSpec.Str(MailProto.AttrQueueId), .. RcptSpec, .. DsnSpec];
        var v = new AttrValue[spec.Length];
        if (client.Receive(spec, v, AttrFlags.Strict) != 4)
        {
            Msg.Warn("malformed request");
            return -1;
        }
        var flags = v[0].Int;
        var queueId = v[1].Str;
        if (!QueueId.IsValid(queueId))
        {
            Msg.Warn($"malformed queue id: {Raw.Text(Printable(queueId))}");
            return -1;
        }
        var rcpt = new RcptBuf();
        var dsn = new DsnBuf();
        FillRcpt(rcpt, v.AsSpan(3, 5));
        FillDsn(dsn, v.AsSpan(9, 7));
        if (Msg.Verbose > 0)
            Msg.Info($"bounce_append_proto: flags=0x{flags:x} service={serviceName} id={queueId} org_to={Raw.Text(rcpt.OrigAddr)} to={Raw.Text(rcpt.Address)} off={rcpt.Offset} dsn_org={Raw.Text(rcpt.DsnOrcpt)}, notif=0x{rcpt.DsnNotify:x} stat={dsn.Status} act={dsn.Action} why={Raw.Text(dsn.Reason)}");
        if ((flags & BounceCodes.FlagClean) != 0)
            CleanupRegister(serviceName, queueId);
        BounceLog.Append(settings!.Queue, settings.OldlogCompat, serviceName, queueId, rcpt, dsn);
        return 0;
    }

    private delegate int NotifyService(int flags, string service, string queueName, string queueId, string encoding,
        int smtputf8, string recipient, string dsnEnvid, int dsnRet);

    // ReadNotify - the common part of the notify, verp and one requests.
    private static bool CheckQueue(string queueName, string queueId)
    {
        if (!MailQueue.NameOk(queueName))
        {
            Msg.Warn($"malformed queue name: {Raw.Text(Printable(queueName))}");
            return false;
        }
        if (!QueueId.IsValid(queueId))
        {
            Msg.Warn($"malformed queue id: {Raw.Text(Printable(queueId))}");
            return false;
        }
        return true;
    }

    // NotifyProto - bounce_notify_proto().
    private static int NotifyProto(string serviceName, AttrStream client, NotifyService service)
    {
        var v = new AttrValue[NotifySpec.Length];
        if (client.Receive(NotifySpec, v, AttrFlags.Strict) != 8)
        {
            Msg.Warn("malformed request");
            return -1;
        }
        var (flags, queueName, queueId) = (v[0].Int, v[1].Str, v[2].Str);
        if (!CheckQueue(queueName, queueId))
            return -1;
        var encoding = Neuter(v[3].Str);
        var sender = Neuter(v[5].Str);
        var envid = Neuter(v[6].Str);
        if (Msg.Verbose > 0)
            Msg.Info($"bounce_notify_proto: flags=0x{flags:x} service={serviceName} queue={queueName} id={queueId} encoding={encoding} smtputf8={v[4].Int} sender={Raw.Text(sender)} envid={Raw.Text(envid)} ret=0x{v[7].Int:x}");
        if ((flags & BounceCodes.FlagClean) != 0)
            CleanupRegister(serviceName, queueId);
        return service(flags, serviceName, queueName, queueId, encoding, v[4].Int, sender, envid, v[7].Int);
    }

    // VerpProto - bounce_verp_proto().
    private static int VerpProto(string serviceName, AttrStream client)
    {
        AttrSpec[] spec = [.. NotifySpec, AttrSpec.Str("verp_delimiters")];
        var v = new AttrValue[spec.Length];
        if (client.Receive(spec, v, AttrFlags.Strict) != 9)
        {
            Msg.Warn("malformed request");
            return -1;
        }
        var (flags, queueName, queueId) = (v[0].Int, v[1].Str, v[2].Str);
        if (!CheckQueue(queueName, queueId))
            return -1;
        var encoding = Neuter(v[3].Str);
        var sender = Neuter(v[5].Str);
        var envid = Neuter(v[6].Str);
        var delims = Neuter(v[8].Str);
        if (delims.Length != 2)
        {
            Msg.Warn($"malformed verp delimiter string: {Raw.Text(delims)}");
            return -1;
        }
        if ((flags & BounceCodes.FlagClean) != 0)
            CleanupRegister(serviceName, queueId);
        if (sender.Length == 0 || string.Equals(Raw.Text(sender), Raw.Text(settings!.DoubleBounceSender), StringComparison.OrdinalIgnoreCase))
        {
            Msg.Warn("request to send VERP-style notification of bounced mail");
            return services!.Notify(flags, serviceName, queueName, queueId, encoding, v[4].Int, sender, envid, v[7].Int);
        }
        return services!.Verp(flags, serviceName, queueName, queueId, encoding, v[4].Int, sender, envid, v[7].Int, delims);
    }

    // OneProto - bounce_one_proto().
    private static int OneProto(string serviceName, AttrStream client)
    {
        AttrSpec[] spec = [.. NotifySpec, .. RcptSpec, .. DsnSpec];
        var v = new AttrValue[spec.Length];
        if (client.Receive(spec, v, AttrFlags.Strict) != 10)
        {
            Msg.Warn("malformed request");
            return -1;
        }
        if (serviceName != MailProto.ServiceBounce)
        {
            Msg.Warn($"wrong service name \"{serviceName}\" for one-recipient bouncing");
            return -1;
        }
        var (flags, queueName, queueId) = (v[0].Int, v[1].Str, v[2].Str);
        if (!CheckQueue(queueName, queueId))
            return -1;
        var rcpt = new RcptBuf();
        var dsn = new DsnBuf();
        FillRcpt(rcpt, v.AsSpan(9, 5));
        FillDsn(dsn, v.AsSpan(15, 7));
        return services!.One(flags, queueName, queueId, Neuter(v[3].Str), v[4].Int, Neuter(v[5].Str), Neuter(v[6].Str),
            v[7].Int, rcpt, dsn);
    }

    // ForTests - install settings without a server.
    internal static void ForTests(BounceSettings s)
    {
        settings = s;
        services = new BounceServices(s);
        cleanupPath = null;
    }
}
