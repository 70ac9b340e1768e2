// NAME
//	ForwardClient - submit a forwarded copy to the cleanup service
// POSTFIX
//	src/local/forward.c (forward_open, forward_send)
// DESCRIPTION
//	Send() connects to public/$cleanup_service, reads the new queue ID,
//	and writes the envelope (arrival time, sender, DSN and client
//	attributes of the original request, the recipients with their
//	original addresses and DSN settings), a Received: header, an
//	optional Delivered-To: header, and the original message content.
//	It returns the new queue ID when cleanup accepted the message.
using System;
using System.Globalization;
using System.IO;
using System.Net.Sockets;
using Postfix.Global.Attr;
using Postfix.Global.Post;
using Postfix.Global.Queue;
using Postfix.Util;

namespace Postfix.Daemons.Local;

internal static class ForwardClient
{
    private const int CleanupFlagBounce = 1 << 0;
    private const int CleanupFlagMapOk = 1 << 5;
    private const int CleanupFlagSmtpUtf8 = 1 << 8;

    public static LocalConfig? Config { get; set; }

    public static string? Send(LocalRequest req, ForwardBatch batch, bool withDelivered)
    {
        var cfg = Config!;
        var name = "public/" + cfg.CleanupService;
        Socket sock;
        try
        {
            sock = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            sock.Connect(new UnixDomainSocketEndPoint(name));
        }
        catch (SocketException e)
        {
            Msg.Warn($"connect to {name}: {Sys.StrError((int)e.SocketErrorCode == 10061 ? Sys.ECONNREFUSED : e.ErrorCode)}");
            return null;
        }
        using var net = new NetworkStream(sock, ownsSocket: true);
        using var attrs = new AttrStream(net, name);
        var v = new AttrValue[2];
        if (attrs.Receive([AttrSpec.StrEq(MailProto.AttrProto, MailProto.ProtoCleanup), AttrSpec.Str(MailProto.AttrQueueId)],
                v, AttrFlags.Strict) != 1)
            return null;
        var queueId = v[1].Str;
        var flags = CleanupFlagBounce | CleanupFlagMapOk | ((req.SmtpUtf8 & 1) != 0 ? CleanupFlagSmtpUtf8 : 0);
        if (!attrs.Send(w => w.Int(MailProto.AttrFlags, flags)))
            return null;
        try
        {
            var buffered = new BufferedStream(net, 8192);
            var w = new RecordWriter(buffered);
            var now = DateTimeOffset.UtcNow;
            w.PutTime(now.ToUnixTimeSeconds(), now.ToUnixTimeMilliseconds() % 1000 * 1000);
            w.Put(RecordType.From, batch.Sender);
            if (req.DsnRet != 0)
                w.PutAttr("dsn_ret", req.DsnRet.ToString(CultureInfo.InvariantCulture));
            void Pass(string n, string value)
            {
                if (value.Length > 0)
                    w.PutAttr(n, value);
            }
            Pass("dsn_envid", req.DsnEnvid);
            Pass("log_client_name", req.ClientName);
            Pass("log_client_address", req.ClientAddr);
            Pass("log_protocol_name", req.ClientProto);
            Pass("log_helo_name", req.ClientHelo);
            Pass("sasl_method", req.SaslMethod);
            Pass("sasl_username", req.SaslUsername);
            Pass("sasl_sender", req.SaslSender);
            Pass("log_ident", req.LogIdent);
            Pass("rewrite_context", req.RewriteContext);
            foreach (var r in batch.Recipients)
            {
                if (r.DsnOrcpt.Length > 0)
                    w.PutAttr("dsn_orig_rcpt", r.DsnOrcpt);
                if (r.DsnNotify != 0)
                    w.PutAttr("notify_flags", r.DsnNotify.ToString(CultureInfo.InvariantCulture));
                if (r.OrigAddr.Length > 0)
                    w.Put(RecordType.Orcp, r.OrigAddr);
                w.Put(RecordType.Rcpt, r.Address);
            }
            w.Put(RecordType.Mesg, ReadOnlySpan<byte>.Empty);
            w.Put(RecordType.Norm, $"Received: by {cfg.MyHostname} ({cfg.MailName})");
            w.Put(RecordType.Norm, $"\tid {queueId}; {MailDate.Format(now.ToUnixTimeSeconds())}");
            if (withDelivered)
                w.Put(RecordType.Norm, "Delivered-To: " + batch.Delivered.ToLowerInvariant());
            var reader = new RecordReader(req.QueueFile, req.QueuePath);
            reader.Seek(req.DataOffset);
            int type;
            while ((type = reader.Read(out var rec)) > 0)
            {
                if (type != RecordType.Norm && type != RecordType.Cont)
                    break;
                w.Put(type, rec);
            }
            if (type != RecordType.Xtra)
            {
                Msg.Warn($"{queueId}: bad record type: {type} in message content");
                return null;
            }
            w.Put(RecordType.Xtra, ReadOnlySpan<byte>.Empty);
            w.Put(RecordType.End, ReadOnlySpan<byte>.Empty);
            buffered.Flush();
        }
        catch (Exception e) when (e is IOException or SocketException)
        {
            return null;
        }
        var s = new AttrValue[1];
        if (attrs.Receive([AttrSpec.Int(MailProto.AttrStatus)], s, AttrFlags.Missing) != 1 || s[0].Int != 0)
            return null;
        return queueId;
    }
}
