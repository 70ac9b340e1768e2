// NAME
//	Virtual - the virtual(8) daemon: deliver to table-driven mailboxes
// POSTFIX
//	src/virtual/virtual.c (main, local_service, pre_init, post_init)
// DESCRIPTION
//	A privileged single-threaded server, one delivery request per
//	connection. Parameters: virtual_mailbox_base, virtual_mailbox_maps,
//	virtual_uid_maps, virtual_gid_maps, virtual_minimum_uid,
//	virtual_mailbox_limit, virtual_mailbox_lock,
//	strict_mailbox_ownership.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using Postfix.Global.Deliver;
using Postfix.Global.Dict;
using Postfix.Global.Mailbox;
using Postfix.Server;
using Postfix.Util;

namespace Postfix.Daemons.Virtual;

public static class Virtual
{
    private static VirtualAgent? agent;

    public static int Run(string[] args) =>
        SingleServer.Run(args, Serve, new ServerOptions { PreInit = PreInit, PostInit = PostInit, Privileged = true });

    private static long Number(Postfix.Global.Config.MailConf conf, string name)
    {
        var v = conf.Eval(name);
        if (!long.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n))
            Msg.Fatal($"bad numerical configuration: {name} = {v}");
        return n;
    }

    private static void PreInit(ServerContext ctx)
    {
        DeliverConfig.Init(ctx.Conf);
        Sys.Umask(0x3f);
        var limit = Number(ctx.Conf, "virtual_mailbox_limit");
        var messageLimit = Number(ctx.Conf, "message_size_limit");
        if (limit > 0)
        {
            if (messageLimit <= 0)
                Msg.Fatal("configuration error: virtual_mailbox_limit is limited but message_size_limit is unlimited");
            if (limit < messageLimit)
                Msg.Fatal("configuration error: virtual_mailbox_limit is smaller than message_size_limit");
            MailboxNative.SetFileLimit(limit);
        }
    }

    private static void PostInit(ServerContext ctx)
    {
        var conf = ctx.Conf;
        var owner = Sys.GetPwNam(conf.Eval("mail_owner"));
        var minUid = Number(conf, "virtual_minimum_uid");
        if (minUid < 1)
            Msg.Fatal($"invalid virtual_minimum_uid parameter value {minUid} < 1");
        var local = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var d in conf.Eval("mydestination").Split([',', ' ', '\t', '\r', '\n'], StringSplitOptions.RemoveEmptyEntries))
            if (!d.Contains(':', StringComparison.Ordinal))
                local.Add(d.TrimEnd('.'));
        var cfg = new VirtualConfig
        {
            MailboxBase = conf.Eval("virtual_mailbox_base"),
            MinimumUid = (int)minUid,
            StrictMailboxOwnership = conf.Bool("strict_mailbox_ownership"),
            OwnerUid = owner?.Uid ?? 0,
            OwnerGid = owner?.Gid ?? 0,
            FindOptions = new AccessFindOptions
            {
                RecipientDelimiter = conf.Eval("recipient_delimiter"),
                MyOrigin = conf.Eval("myorigin"),
                DoubleBounceSender = conf.Eval("double_bounce_sender"),
                OwnerRequestSpecial = conf.Bool("owner_request_special"),
                ResolveLocal = domain => local.Contains(domain.TrimEnd('.')) ? 1 : 0,
            },
        };
        Eugid.Set(cfg.OwnerUid, cfg.OwnerGid);
        const DictFlags flags = DictFlags.Lock | DictFlags.Utf8Request;
        var mailboxMaps = Maps.Create("virtual_mailbox_maps", conf.Eval("virtual_mailbox_maps"), flags);
        var uidMaps = Maps.Create("virtual_uid_maps", conf.Eval("virtual_uid_maps"), flags);
        var gidMaps = Maps.Create("virtual_gid_maps", conf.Eval("virtual_gid_maps"), flags);
        cfg.LockMask = MboxLock.Mask("virtual_mailbox_lock", conf.Eval("virtual_mailbox_lock"));
        agent = new VirtualAgent(cfg, report, mailboxMaps, uidMaps, gidMaps);
    }

    private static void Serve(ServerContext ctx, ClientConnection conn)
    {
        if (ctx.Args.Length > 0)
            Msg.Fatal($"unexpected command-line argument: {ctx.Args[0]}");
        var request = DeliverRequest.Read(conn.Stream, path: conn.Fd >= 0 ? "socket" : "stdin");
        if (request == null)
            return;
        var file = request.QueueFile!;
        file.Seek(0, SeekOrigin.Begin);
        using var ms = new MemoryStream();
        file.CopyTo(ms);
        var vr = new VirtualRequest
        {
            QueueId = request.QueueId,
            QueuePath = file.Name,
            QueueFile = ms.ToArray(),
            DataOffset = request.DataOffset,
            Sender = request.Sender,
            Flags = request.Flags,
            Recipients = request.Recipients,
        };
        report.Current = request;
        report.Relay = ctx.ServiceName;
        var status = agent!.Deliver(vr);
        DeliverRequest.Done(conn.Stream, request, status);
    }

    private static readonly Report report = new();

    private sealed class Report : IVirtualReport
    {
        public DeliverRequest? Current;
        public string Relay = "virtual";

        private int Flags => DelReqFlags.TraceFlags(Current!.Flags);

        public int Sent(VirtualRequest req, Recipient rcpt, DsnBuf why) =>
            DeliveryStatus.Sent(Flags, req.QueueId, Current!.Stats, rcpt, Relay, why.ToDsn());

        public int Bounce(VirtualRequest req, Recipient rcpt, DsnBuf why) =>
            DeliveryStatus.BounceAppend(Flags, req.QueueId, Current!.Stats, rcpt, Relay, why.ToDsn());

        public int Defer(VirtualRequest req, Recipient rcpt, DsnBuf why) =>
            DeliveryStatus.DeferAppend(Flags, req.QueueId, Current!.Stats, rcpt, Relay, why.ToDsn());

        public void Completed(VirtualRequest req, long offset) => DeliverCompleted.Mark(Current!.QueueFile!, offset);
    }
}
