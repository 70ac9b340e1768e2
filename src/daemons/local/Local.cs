// NAME
//	Local - the local(8) daemon: deliver to local mailboxes
// POSTFIX
//	src/local/local.c (main, local_service, pre_init, post_init)
// DESCRIPTION
//	A privileged single-threaded server: each connection carries one
//	delivery request from the queue manager. The agent runs as
//	mail_owner between deliveries and switches to the recipient (or
//	alias/include file owner, or default_privs) to write mailboxes and
//	files and to run commands. DeliveryReport turns the agent's results
//	into the delivery library's sent/bounce/defer/trace records.
using System;
using System.IO;
using Postfix.Global.Attr;
using Postfix.Global.Config;
using Postfix.Global.Deliver;
using Postfix.Global.Mailbox;
using Postfix.Server;
using Postfix.Util;

namespace Postfix.Daemons.Local;

public static class Local
{
    private static LocalConfig? config;
    private static LocalAgent? agent;

    public static int Run(string[] args) =>
        SingleServer.Run(args, Serve, new ServerOptions
        {
            PreInit = PreInit,
            PostInit = PostInit,
            Privileged = true,
        });

    private static void PreInit(ServerContext ctx)
    {
        DeliverConfig.Init(ctx.Conf);
        // The master runs daemons with umask 077: commands inherit it.
        Sys.Umask(0x3f);
        config = LocalConfig.FromConf(ctx.Conf);
        var messageLimit = long.TryParse(ctx.Conf.Eval("message_size_limit"), out var m) ? m : 0;
        if (config.MailboxLimit > 0)
        {
            if (messageLimit <= 0)
                Msg.Fatal("configuration error: mailbox_size_limit is limited but message_size_limit is unlimited");
            if (config.MailboxLimit < messageLimit)
                Msg.Fatal("configuration error: mailbox_size_limit is smaller than message_size_limit");
            MailboxNative.SetFileLimit(config.MailboxLimit);
        }
        agent = new LocalAgent(config, new DeliveryReport());
        _ = agent.AliasMaps;
        var rewrite = new RewriteClient(null);
        var resolve = new ResolveClient(null);
        agent.Resolver = external =>
        {
            var canon = rewrite.Rewrite("local", external);
            if (canon == null)
                return null;
            var tree = Postfix.Global.Address.Tok822.Scan(canon, out _);
            var intern = Postfix.Global.Address.Tok822.Internalize(tree);
            var reply = resolve.Resolve("", intern);
            return reply == null ? null : (reply.Value.Transport, reply.Value.Recipient, reply.Value.Flags);
        };
        agent.CanonicalRewrite = addr =>
        {
            var ext = Postfix.Global.Address.Quote822.Local(addr);
            var canon = rewrite.Rewrite("local", ext);
            return canon == null ? addr : Postfix.Global.Address.Quote822.Unquote(canon);
        };
        Forwarder.Send = ForwardClient.Send;
        ForwardClient.Config = config;
    }

    private static void PostInit(ServerContext ctx) => Eugid.Set(config!.OwnerUid, config.OwnerGid);

    private static void Serve(ServerContext ctx, ClientConnection conn)
    {
        if (ctx.Args.Length > 0)
            Msg.Fatal($"unexpected command-line argument: {ctx.Args[0]}");
        var request = DeliverRequest.Read(conn.Stream, path: conn.Fd >= 0 ? "socket" : "stdin");
        if (request == null)
            return;
        var status = agent!.Deliver(ToLocal(request), ctx.ServiceName);
        DeliverRequest.Done(conn.Stream, request, status);
    }

    private static LocalRequest ToLocal(DeliverRequest r)
    {
        var file = r.QueueFile!;
        file.Seek(0, SeekOrigin.Begin);
        using var ms = new MemoryStream();
        file.CopyTo(ms);
        var lr = new LocalRequest
        {
            QueueName = r.QueueName,
            QueueId = r.QueueId,
            QueuePath = file.Name,
            QueueFile = ms.ToArray(),
            DataOffset = r.DataOffset,
            Encoding = r.Encoding,
            SmtpUtf8 = r.SmtpUtf8,
            Sender = r.Sender,
            DsnEnvid = r.DsnEnvid,
            DsnRet = r.DsnRet,
            Flags = r.Flags,
            ClientName = r.Client.Name,
            ClientAddr = r.Client.Addr,
            ClientHelo = r.Client.Helo,
            ClientProto = r.Client.Proto,
            SaslMethod = r.Sasl.Method,
            SaslUsername = r.Sasl.Username,
            SaslSender = r.Sasl.Sender,
            LogIdent = r.LogIdent,
            RewriteContext = r.RewriteContext,
            Native = r,
        };
        foreach (var rcpt in r.Recipients)
            lr.Recipients.Add(new Rcpt(rcpt.OrigAddr, rcpt.Address, rcpt.Offset, rcpt.DsnOrcpt, rcpt.DsnNotify));
        return lr;
    }

    // DeliveryReport - results through the delivery library.
    private sealed class DeliveryReport : IDeliveryReport
    {
        private static DeliverRequest Native(LocalRequest req) => (DeliverRequest)req.Native!;

        private static Recipient R(in MsgAttr a) =>
            new(a.Rcpt.OrigAddr, a.Rcpt.Address, a.Rcpt.Offset, a.Rcpt.DsnOrcpt, a.Rcpt.DsnNotify);

        public int Sent(LocalRequest req, in MsgAttr a, DsnBuf why) =>
            DeliveryStatus.Sent(req.BounceFlags, req.QueueId, Native(req).Stats, R(a), a.Relay, why.ToDsn());

        public int Bounce(LocalRequest req, in MsgAttr a, DsnBuf why) =>
            DeliveryStatus.BounceAppend(req.BounceFlags, req.QueueId, Native(req).Stats, R(a), a.Relay, why.ToDsn());

        public int Defer(LocalRequest req, in MsgAttr a, DsnBuf why) =>
            DeliveryStatus.DeferAppend(req.BounceFlags, req.QueueId, Native(req).Stats, R(a), a.Relay, why.ToDsn());

        public int Trace(LocalRequest req, in MsgAttr a, DsnBuf why) =>
            DeliveryStatus.TraceAppend(BounceFlags.None, req.QueueId, Native(req).Stats, R(a), a.Relay, why.ToDsn());

        public int BounceOne(LocalRequest req, in MsgAttr a, DsnBuf why) =>
            DeliveryStatus.BounceOne(req.BounceFlags, req.QueueName, req.QueueId, req.Encoding, req.SmtpUtf8, a.Sender,
                a.DsnEnvid, a.DsnRet, Native(req).Stats, R(a), a.Relay, why.ToDsn());

        public int DeferOne(LocalRequest req, in MsgAttr a, DsnBuf why) =>
            DeliveryStatus.DeferOne(req.BounceFlags, req.QueueName, req.QueueId, req.Encoding, req.SmtpUtf8, a.Sender,
                a.DsnEnvid, a.DsnRet, Native(req).Stats, R(a), a.Relay, why.ToDsn());

        public int Pass(LocalRequest req, string transport, in MsgAttr a) =>
            DeliverPass.Pass(MailProto.ClassPrivate, transport, Native(req), R(a));

        public int ForwardAppend(LocalRequest req, in MsgAttr a) => -1;

        public void Completed(LocalRequest req, long offset) => DeliverCompleted.Mark(Native(req).QueueFile!, offset);
    }
}
