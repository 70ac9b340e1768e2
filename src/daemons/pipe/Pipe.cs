// NAME
//	Pipe - the pipe(8) delivery agent: deliver to an external command
// POSTFIX
//	src/pipe/pipe.c (main, pipe_service, deliver_message,
//	eval_command_status, get_service_params), src/global/delivered_hdr.c
// DESCRIPTION
//	A single server (one delivery request at a time) that starts as
//	root and keeps root only as its real user ID, for the command's
//	privileges. Each request: checks (D and O flags need one recipient,
//	size=, probes only report "delivers to command"), a Delivered-To:
//	loop check for the D flag, the sender, nexthop, size, client, SASL
//	and queue ID macros, the expanded argv, PipeCommand, and the status
//	of every recipient: "delivered via SERVICE service" plus the
//	command's output, or the bounce or defer text.
using System;
using System.Collections.Generic;
using System.IO;
using Postfix.Global.Address;
using Postfix.Global.Deliver;
using Postfix.Global.Dict;
using Postfix.Server;
using Postfix.Util;

namespace Postfix.Daemons.Pipe;

public static class Pipe
{
    private static PipeAttributes? attr;
    private static ArgvExpander? expander;
    private static int timeLimit;

    // The master's umask (077), which the commands inherit; the common
    // program start-up sets its own, so it is put back at pre-init.
    private static int inheritedUmask = -1;

    public static int Run(string[] args)
    {
        inheritedUmask = Sys.Umask(0);
        Sys.Umask(inheritedUmask);
        return SingleServer.Run(args, Serve, new ServerOptions
        {
            PreInit = PreInit,
            PostInit = DropPrivileges,
            PreAccept = PreAccept,
            Privileged = true,
        });
    }

    private static void PreInit(ServerContext ctx)
    {
        if (inheritedUmask >= 0)
            Sys.Umask(inheritedUmask);
        DeliverConfig.Init(ctx.Conf);
    }

    private static void DropPrivileges(ServerContext ctx)
    {
        var owner = Sys.GetPwNam(ctx.Conf.Eval("mail_owner"));
        if (owner == null)
            Msg.Fatal($"unknown mail owner: {ctx.Conf.Eval("mail_owner")}");
        if (Sys.GetUid() == 0 || Sys.GetEuid() == 0)
            PipeCommand.SetEugid(owner!.Uid, owner.Gid);
        DsnFilter.Init("pipe_delivery_status_filter", ctx.Conf.Eval("pipe_delivery_status_filter"));
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
        var request = DeliverRequest.Read(conn.Stream);
        if (request == null)
            return;
        var status = DeliverMessage(ctx, request);
        DeliverRequest.Done(conn.Stream, request, status);
    }

    // TimeLimit - $<service>_time_limit, else $command_time_limit.
    public static int TimeLimit(Postfix.Global.Config.MailConf conf, string service)
    {
        var raw = conf.LookupRaw(service + "_time_limit");
        var value = raw != null ? conf.Expand(raw) : conf.Eval("command_time_limit");
        var seconds = ServerParams.Time(value);
        if (seconds < 1)
            Msg.Fatal($"invalid {service}_time_limit parameter value {value}");
        return seconds;
    }

    private static void Init(ServerContext ctx)
    {
        var conf = ctx.Conf;
        timeLimit = TimeLimit(conf, ctx.ServiceName);
        if (Msg.Verbose > 0)
            Msg.Info($"get_service_params: time_limit {timeLimit}");
        attr = PipeAttributes.Parse(ctx.Args, conf);
        expander = new ArgvExpander
        {
            ConfigDir = conf.ConfigDirectory,
            RecipientDelimiter = conf.Eval("recipient_delimiter"),
            DoubleBounceSender = conf.Eval("double_bounce_sender"),
            OwnerRequestSpecial = conf.Bool("owner_request_special"),
        };
    }

    // Report - eval_command_status(): every recipient's status.
    private static int Report(PipeStat commandStatus, string service, DeliverRequest request, CopyFlags flags,
        DsnBuf why, FileStream? queueFile)
    {
        var result = 0;
        var trace = DelReqFlags.TraceFlags(request.Flags);
        switch (commandStatus)
        {
            case PipeStat.Ok:
                var output = why.Reason.TrimEnd(' ', '\t', '\n', '\r', '\f', '\v');
                var saved = output.Length > 0 ? $" ({Truncate(output, 100)})" : "";
                why.Update("2.0.0", (flags & CopyFlags.FinalDelivery) != 0 ? "delivered" : "relayed", null, null,
                    null, null, $"delivered via {service} service{saved}");
                foreach (var rcpt in request.Recipients)
                {
                    var status = DeliveryStatus.Sent(trace, request.QueueId, request.Stats, rcpt, service, why.ToDsn());
                    if (status == 0 && (request.Flags & DelReqFlags.Success) != 0 && queueFile != null)
                        DeliverCompleted.Mark(queueFile, rcpt.Offset);
                    result |= status;
                }
                break;
            case PipeStat.Bounce:
            case PipeStat.Defer:
                foreach (var rcpt in request.Recipients)
                {
                    var status = why.Status.Length > 0 && why.Status[0] != '4'
                        ? DeliveryStatus.BounceAppend(trace, request.QueueId, request.Stats, rcpt, service, why.ToDsn())
                        : DeliveryStatus.DeferAppend(trace, request.QueueId, request.Stats, rcpt, service, why.ToDsn());
                    if (status == 0 && queueFile != null)
                        DeliverCompleted.Mark(queueFile, rcpt.Offset);
                    result |= status;
                }
                break;
            case PipeStat.Corrupt:
                result |= -1; // DEL_STAT_DEFER
                break;
        }
        return result;
    }

    private static string Truncate(string s, int n) => s.Length <= n ? s : s[..n];

    // DeliverMessage - deliver_message().
    private static int DeliverMessage(ServerContext ctx, DeliverRequest request)
    {
        var service = ctx.ServiceName;
        var why = new DsnBuf();
        var queueFile = request.QueueFile;
        if (Msg.Verbose > 0)
            Msg.Info($"deliver_message: from <{request.Sender}>");
        if (request.Nexthop.Length == 0)
            Msg.Fatal("empty nexthop hostname");
        if (request.Recipients.Count <= 0)
            Msg.Fatal($"recipient count: {request.Recipients.Count}");
        if (attr == null)
            Init(ctx);
        var a = attr!;

        if ((a.Flags & CopyFlags.Delivered) != 0 && request.Recipients.Count > 1)
        {
            why.Simple("4.3.5", "mail system configuration error");
            var st = Report(PipeStat.Defer, service, request, a.Flags, why, queueFile);
            Msg.Warn($"pipe flag `D' requires {service}_destination_recipient_limit = 1");
            return st;
        }
        if ((a.Flags & CopyFlags.OrigRcpt) != 0 && request.Recipients.Count > 1)
        {
            why.Simple("4.3.5", "mail system configuration error");
            var st = Report(PipeStat.Defer, service, request, a.Flags, why, queueFile);
            Msg.Warn($"pipe flag `O' requires {service}_destination_recipient_limit = 1");
            return st;
        }
        if (a.SizeLimit != 0 && request.DataSize > a.SizeLimit)
        {
            if (Msg.Verbose > 0)
                Msg.Info($"deliver_message: too big: size_limit = {a.SizeLimit}, request->data_size = {request.DataSize}");
            why.Simple("5.2.3", "message too large");
            return Report(PipeStat.Bounce, service, request, a.Flags, why, queueFile);
        }
        if (DelReqFlags.TraceOnly(request.Flags) != 0)
        {
            var result = 0;
            why.Simple("2.0.0", $"delivers to command: {a.Command[0]}");
            foreach (var rcpt in request.Recipients)
            {
                var status = DeliveryStatus.Sent(DelReqFlags.TraceFlags(request.Flags), request.QueueId, request.Stats,
                    rcpt, service, why.ToDsn());
                if (status == 0 && (request.Flags & DelReqFlags.Success) != 0 && queueFile != null)
                    DeliverCompleted.Mark(queueFile, rcpt.Offset);
                result |= status;
            }
            return result;
        }

        var data = ReadQueueFile(queueFile!);
        var queuePath = DeliverConfig.Queue.Path(request.QueueName, request.QueueId);
        if ((a.Flags & CopyFlags.Delivered) != 0)
        {
            var rcpt = request.Recipients[0];
            if (DeliveredHeaders.Find(data, request.DataOffset, queuePath, rcpt.Address))
            {
                why.Simple("5.4.6", $"mail forwarding loop for {rcpt.Address}");
                return Report(PipeStat.Bounce, service, request, a.Flags, why, queueFile);
            }
        }

        var x = expander!;
        var sender = request.Sender.Length > 0 ? request.Sender : a.NullSender;
        x.Set("sender", sender.Length > 0 && (a.Flags & CopyFlags.QuoteLocal) != 0 ? Quote822.Local(sender) : sender);
        x.Set("nexthop", (a.Flags & CopyFlags.FoldHost) != 0 ? request.Nexthop.ToLowerInvariant() : request.Nexthop);
        x.Set("size", request.DataSize.ToString(System.Globalization.CultureInfo.InvariantCulture));
        x.Set("client_address", request.Client.Addr);
        x.Set("client_helo", request.Client.Helo);
        x.Set("client_hostname", request.Client.Name);
        x.Set("client_port", request.Client.Port);
        x.Set("client_protocol", request.Client.Proto);
        x.Set("sasl_method", request.Sasl.Method);
        x.Set("sasl_username", request.Sasl.Username);
        x.Set("sasl_sender", request.Sasl.Sender);
        x.Set("queue_id", request.QueueId);
        var recipients = request.Recipients.ConvertAll(r => (r.Address, r.OrigAddr));
        var argv = x.Expand(service, a.Command, recipients, a.Flags);
        if (argv == null)
        {
            why.Simple("4.3.5", "mail system configuration error");
            return Report(PipeStat.Defer, service, request, a.Flags, why, queueFile);
        }
        var export = ctx.Conf.Eval("export_environment")
            .Split([' ', '\t', '\r', '\n', ','], StringSplitOptions.RemoveEmptyEntries);
        var commandStatus = PipeCommand.Run(new PipeCommandArgs
        {
            Argv = argv,
            Uid = a.Uid,
            Gid = a.Gid,
            Sender = sender,
            Flags = a.Flags,
            TimeLimit = timeLimit,
            Eol = a.Eol,
            Export = export,
            Cwd = a.ExecDir,
            Chroot = a.ChrootDir,
            OrigRcpt = request.Recipients[0].OrigAddr,
            Delivered = request.Recipients[0].Address,
            EnableOrcpt = ctx.Conf.Bool("enable_original_recipient"),
            ProcName = ctx.ProcessName,
            MarkCorrupt = () => MarkCorrupt(ctx, queueFile!, queuePath),
        }, data, request.DataOffset, queuePath, why);
        return Report(commandStatus, service, request, a.Flags, why, queueFile);
    }

    // MarkCorrupt - mark_corrupt(): make the queue file read-only for
    // its owner, which the queue manager treats as corrupt.
    private static void MarkCorrupt(ServerContext ctx, FileStream file, string path)
    {
        var owner = Sys.GetPwNam(ctx.Conf.Eval("mail_owner"));
        uint euid = Sys.GetEuid(), egid = Sys.GetEgid();
        var switchIds = owner != null && euid != owner.Uid && (Sys.GetUid() == 0 || euid == 0);
        if (switchIds)
            PipeCommand.SetEugid(owner!.Uid, owner.Gid);
        Msg.Warn($"corrupted queue file: {path}");
        if (Sys.Fchmod((int)file.SafeFileHandle.DangerousGetHandle(), Convert.ToInt32("400", 8)) != 0)
            Msg.Fatal($"mark_corrupt: fchmod {path}: {Sys.LastError()}");
        if (switchIds)
            PipeCommand.SetEugid(euid, egid);
    }

    private static byte[] ReadQueueFile(FileStream file)
    {
        file.Seek(0, SeekOrigin.Begin);
        var data = new byte[file.Length];
        var n = 0;
        while (n < data.Length)
        {
            var r = file.Read(data, n, data.Length - n);
            if (r <= 0)
                break;
            n += r;
        }
        return n == data.Length ? data : data[..n];
    }
}

// DeliveredHeaders - delivered_hdr_init()/delivered_hdr_find(): the
// Delivered-To: addresses of the message headers, folded.
public static class DeliveredHeaders
{
    private const int Limit = 1000;

    public static HashSet<string> Read(ReadOnlySpan<byte> queueFile, long offset, string path)
    {
        var table = new HashSet<string>(StringComparer.Ordinal);
        var reader = new Postfix.Global.Queue.RecordReader(queueFile, path);
        reader.Seek(offset);
        var prevType = Postfix.Global.Queue.RecordType.Norm;
        int type;
        while (table.Count < Limit
            && ((type = reader.Read(out var rec)) == Postfix.Global.Queue.RecordType.Norm
                || type == Postfix.Global.Queue.RecordType.Cont))
        {
            var wasCont = prevType == Postfix.Global.Queue.RecordType.Cont;
            prevType = type;
            if (wasCont)
                continue;
            var line = System.Text.Encoding.UTF8.GetString(rec);
            var nameLen = HeaderNameLength(line);
            if (nameLen > 0)
            {
                if (string.Compare(line, 0, "Delivered-To", 0, 12, StringComparison.OrdinalIgnoreCase) == 0
                    && nameLen == 12)
                {
                    var cp = 13;
                    while (cp < line.Length && char.IsWhiteSpace(line[cp]))
                        cp++;
                    table.Add(ArgvExpander.FoldAddr(line[Math.Min(cp, line.Length)..], CopyFlags.FoldAll));
                }
            }
            else if (line.Length > 0 && line[0] is ' ' or '\t')
            {
                continue;
            }
            else
            {
                break;
            }
        }
        return table;
    }

    // HeaderNameLength - is_header(): the name's length when the line is
    // "name:" with optional blanks before the colon, else 0.
    private static int HeaderNameLength(string line)
    {
        var i = 0;
        while (i < line.Length && line[i] > ' ' && line[i] < 127 && line[i] != ':')
            i++;
        if (i == 0)
            return 0;
        var j = i;
        while (j < line.Length && line[j] is ' ' or '\t')
            j++;
        return j < line.Length && line[j] == ':' ? i : 0;
    }

    public static bool Find(ReadOnlySpan<byte> queueFile, long offset, string path, string address) =>
        Read(queueFile, offset, path).Contains(ArgvExpander.FoldAddr(Quote822.Local(address), CopyFlags.FoldAll));
}
