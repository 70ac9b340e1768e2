// NAME
//	DeliverRequest - the delivery agent's side of the qmgr protocol
// POSTFIX
//	src/global/deliver_request.c, deliver_request.h
// DESCRIPTION
//	Read(stream) is deliver_request_read(): announce
//	"protocol=delivery_request_protocol", wait for the queue manager's
//	request (none when it hangs up first: null, silently), read the
//	common attributes and the recipients, check and open the queue
//	file (read-write, shared lock). On a bad request it warns, replies
//	with a "defer" status itself, and returns null.
//
//	Done(stream, request, status) is deliver_request_done(): send the
//	hop status (HopStatus, or an empty one) and the status (0: done,
//	else try again), wait until the queue manager closes, close the
//	queue file.
//
//	The attribute schema of the request lives in DeliverRequestWriter,
//	shared with qmgr.
using System;
using System.Collections.Generic;
using System.IO;
using Microsoft.Win32.SafeHandles;
using Postfix.Global.Attr;
using Postfix.Global.Queue;
using Postfix.Util;

namespace Postfix.Global.Deliver;

// ClientInfo - the original SMTP client, for logging and policy.
public sealed record ClientInfo(string Name, string Addr, string Port, string Proto, string Helo)
{
    public static readonly ClientInfo None = new("", "", "", "", "");
}

// SaslInfo - the original client's SASL login.
public sealed record SaslInfo(string Method, string Username, string Sender)
{
    public static readonly SaslInfo None = new("", "", "");
}

public sealed class DeliverRequest : IDisposable
{
    public int Flags { get; set; }
    public string QueueName { get; set; } = "";
    public string QueueId { get; set; } = "";
    public long DataOffset { get; set; }
    public long DataSize { get; set; }
    public string Nexthop { get; set; } = "";
    public string Encoding { get; set; } = "";
    public int SmtpUtf8 { get; set; }
    public string Sender { get; set; } = "";
    public string DsnEnvid { get; set; } = "";
    public int DsnRet { get; set; }
    public MsgStats Stats { get; set; } = new();
    public List<Recipient> Recipients { get; } = new();
    public ClientInfo Client { get; set; } = ClientInfo.None;
    public SaslInfo Sasl { get; set; } = SaslInfo.None;
    public string LogIdent { get; set; } = "";
    public string RewriteContext { get; set; } = "";

    // HopStatus - why the next hop should be avoided for a while; sent
    // back to the queue manager with the final status.
    public Dsn? HopStatus { get; set; }

    // QueueFile - the queue file opened by Read() (shared lock held).
    public FileStream? QueueFile { get; private set; }

    // Conn - the conversation with the queue manager.
    internal AttrStream? Conn { get; private set; }

    private static readonly AttrSpec[] InitialSpec = [AttrSpec.StrEq(MailProto.AttrProto, MailProto.ProtoDeliver)];

    // Read - deliver_request_read(); queue: the hashing of queue paths
    // (DeliverConfig.Queue by default).
    public static DeliverRequest? Read(Stream stream, MailQueue? queue = null, string path = "stream")
    {
        var conn = new AttrStream(stream, path);
        if (!conn.Send(w => w.Str(MailProto.AttrProto, MailProto.ProtoDeliver)))
        {
            if (Msg.Verbose > 0)
                Msg.Warn($"send initial response: {Sys.StrError(conn.LastErrno)}");
            return null;
        }
        // The queue manager may change its mind and hang up.
        if (conn.ScanMore() < 0)
            return null;
        var request = new DeliverRequest { Conn = conn };
        var values = new AttrValue[DeliverRequestWriter.CommonSpec.Length];
        var got = conn.Receive(DeliverRequestWriter.CommonSpec, values, AttrFlags.Strict);
        if (request.Get(conn, values, got, queue ?? DeliverConfig.Queue) < 0)
        {
            Done(stream, request, -1);
            return null;
        }
        return request;
    }

    private int Get(AttrStream conn, AttrValue[] v, int got, MailQueue queue)
    {
        if (got != DeliverRequestWriter.CommonCount || !DeliverRequestWriter.FromCommonValues(this, v, out var rcptCount))
        {
            Msg.Warn("deliver_request_get: error receiving common attributes");
            return -1;
        }
        if (!MailOpenOk.Check(queue, QueueName, QueueId, out _, out _))
            return -1;
        if (!Stats.AgentHandoff.IsSet)
            Stats.AgentHandoff = TimeVal.Now();
        var rv = new AttrValue[DeliverRequestWriter.RecipientSpec.Length];
        while (rcptCount-- > 0)
        {
            if (conn.Receive(DeliverRequestWriter.RecipientSpec, rv, AttrFlags.Strict) != 1)
            {
                Msg.Warn("deliver_request_get: error receiving recipient attributes");
                return -1;
            }
            Recipients.Add(Recipient.FromValues(rv.AsSpan(1)));
        }
        if (Recipients.Count <= 0)
        {
            Msg.Warn($"{QueueId}: no recipients in delivery request for destination {Nexthop}");
            return -1;
        }
        var file = queue.Path(QueueName, QueueId);
        if (DeliverConfig.QueueDirectory != null)
            file = Path.Combine(DeliverConfig.QueueDirectory, file);
        try
        {
            QueueFile = new FileStream(file, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            var errno = Sys.ErrnoOf(e);
            if (errno != Sys.ENOENT)
                Msg.Fatal($"open {QueueName} {QueueId}: {Sys.StrError(errno)}");
            Msg.Warn($"open {QueueName} {QueueId}: {Sys.StrError(errno)}");
            return -1;
        }
        if (Msg.Verbose > 0)
            Msg.Info($"deliver_request_get: file {file}");
        if (Sys.Flock((int)QueueFile.SafeFileHandle.DangerousGetHandle(), Sys.LOCK_SH | Sys.LOCK_NB) < 0)
            Msg.Fatal($"shared lock {file}: {Sys.LastError()}");
        return 0;
    }

    // OpenQueueFile - mail_queue_open(queue, id, O_RDWR): a second handle
    // on the queue file, as discard(8) and error(8) open it.
    public FileStream OpenQueueFile()
    {
        var file = DeliverConfig.Queue.Path(QueueName, QueueId);
        if (DeliverConfig.QueueDirectory != null)
            file = Path.Combine(DeliverConfig.QueueDirectory, file);
        return new FileStream(file, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
    }

    // Done - deliver_request_done(): the reply; 0 or -1 on a write error.
    public static int Done(Stream stream, DeliverRequest request, int status)
    {
        var conn = request.Conn ?? new AttrStream(stream, "stream");
        var hop = request.HopStatus ?? Dsn.Empty;
        if (Msg.Verbose > 0)
            Msg.Info($"deliver_request_final: send: \"{hop.Reason}\" {status}");
        var err = 0;
        if (!conn.Send(w => DeliverRequestWriter.WriteReply(w, hop, status)))
        {
            err = -1;
            if (Msg.Verbose > 0)
                Msg.Warn($"send final status: {Sys.StrError(conn.LastErrno)}");
        }
        else
        {
            // Wait until the queue manager hangs up.
            try
            {
                stream.ReadByte();
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException)
            {
            }
        }
        request.Dispose();
        return err;
    }

    public void Dispose()
    {
        QueueFile?.Dispose();
        QueueFile = null;
    }
}
