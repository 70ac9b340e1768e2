// NAME
//	CleanupService - one cleanup protocol conversation
// POSTFIX
//	src/cleanup/cleanup.c (cleanup_service), cleanup_api.c
// DESCRIPTION
//	Serve() creates a queue file, sends "protocol=cleanup_protocol,
//	queue_id=ID", reads the client's flags, then passes records to the
//	session until the E record (or until the message can no longer be
//	accepted, after which it reads and ignores the rest up to E).
//	Flush() completes the file: it moves a held message to hold/, makes
//	the file ready with fsync before the success reply, bounces when the
//	client asked cleanup to do so, and removes the file after any error
//	or discard. The client gets "status=N, reason=TEXT".
using Postfix.Global.Address;
using System;
using System.IO;
using Postfix.Global.Attr;
using Postfix.Global.Queue;
using Postfix.Util;

namespace Postfix.Daemons.Cleanup;

internal sealed class CleanupService
{
    private static readonly AttrSpec[] FlagsSpec = [AttrSpec.Int(MailProto.AttrFlags)];

    private readonly CleanupConfig cfg;
    private readonly IAddressRewriter rewriter;
    private readonly string? queueDirectory;

    public CleanupService(CleanupConfig cfg, IAddressRewriter rewriter, string? queueDirectory = null)
    {
        this.cfg = cfg;
        this.rewriter = rewriter;
        this.queueDirectory = queueDirectory;
    }

    // Bouncer - bounce service client; null: bounces cannot be sent.
    public IBouncer? Bouncer { get; set; }

    // Current - the file being written, for removal on a fatal error.
    public static QueueFile? Current { get; private set; }

    public void Serve(Stream src, string path, int fd = -1)
    {
        var channel = new ClientChannel(src, path, fd);
        using var file = QueueFile.Create(cfg);
        Current = file;
        try
        {
            file.RemoveSpuriousLogs();
            var session = new CleanupSession(cfg, rewriter, file.Stream, file.Id, file.CreateTime) { Channel = channel };
            try
            {
                ServeSession(channel, session, file, path);
            }
            finally
            {
                session.MilterDisconnect();
            }
        }
        finally
        {
            Current = null;
        }
    }

    private void ServeSession(ClientChannel channel, CleanupSession session, QueueFile file, string path)
    {
        {
            channel.Send(w => w.Str(MailProto.AttrProto, MailProto.ProtoCleanup).Str(MailProto.AttrQueueId, file.Id));
            var values = new AttrValue[1];
            var flags = 0;
            if (channel.Receive(FlagsSpec, values, AttrFlags.Strict) != 1)
                session.Errs |= CleanupStatus.Bad;
            else
                flags = values[0].Int;
            session.Control(flags);

            var type = 0;
            while (session.OutOk)
            {
                if ((type = channel.ReadRecord(out var data)) < 0)
                {
                    session.Errs |= CleanupStatus.Bad;
                    break;
                }
                if (type == RecordType.Ptr || type == RecordType.Dtxt)
                {
                    Msg.Warn($"{file.Id}: record type {type} not allowed - discarding this message");
                    session.Errs |= CleanupStatus.Bad;
                    break;
                }
                session.Record(type, Raw.FromBytes(data));
                if (type == RecordType.End)
                    break;
            }
            if (!session.OutOk && type > 0)
            {
                while (type != RecordType.End && (type = channel.ReadRecord(out var junk)) > 0)
                {
                    // Keep reading until the client waits for our status;
                    // take milters that smtpd hands over, or it would hang.
                    if (type == RecordType.MiltCount)
                    {
                        var count = int.TryParse(Raw.FromBytes(junk), out var n) ? n : -1;
                        if (count >= 0)
                            session.MilterReceive(count);
                    }
                }
            }
            if (channel.TimedOut)
                Msg.Warn($"{file.Id}: read timeout on {path}");

            var status = Flush(session, file);
            var why = (session.Flags & CleanupFlags.SmtpReply) != 0 && session.SmtpReply != null
                ? session.SmtpReply : session.Reason ?? "";
            channel.Send(w => w.Int(MailProto.AttrStatus, status).Str(MailProto.AttrWhy, Raw.Text(why)));
        }
    }

    // Flush - cleanup_flush().
    internal int Flush(CleanupSession session, QueueFile file)
    {
        session.Finish();
        var canBounce = (session.Errs & CleanupStatus.MaskCantBounce) == 0 && session.Sender != null
            && (session.Flags & CleanupFlags.Bounce) != 0;
        if (session.Errs != 0 && canBounce)
            Bounce(session, file);

        if (session.Errs == 0 && (session.Flags & CleanupFlags.Discard) == 0)
        {
            if ((session.Flags & CleanupFlags.Hold) != 0)
            {
                file.MoveTo(MailQueue.Hold);
                session.QueueName = MailQueue.Hold;
                // Mail that skips the incoming queue gives its flow token back.
                Postfix.Server.MailFlow.Put(1);
            }
            session.Errs = file.Finish(queueDirectory);
        }
        else
        {
            file.Close();
        }
        if (session.Errs != 0 || (session.Flags & CleanupFlags.Discard) != 0)
        {
            if (session.TraceLogWritten)
                Sys.Unlink(cfg.Queue.Path(MailQueue.Trace, file.Id));
            file.Remove();
        }
        return session.Errs;
    }

    // Bounce - cleanup_bounce(): report the failure for every recipient
    // through the bounce service, then discard the message.
    private void Bounce(CleanupSession session, QueueFile file)
    {
        string dsnStatus, dsnText;
        if (session.Reason != null)
            (dsnStatus, dsnText) = CleanupSession.DsnSplit("5.0.0", session.Reason);
        else
        {
            var d = CleanupStatus.DetailOf(session.Errs);
            (dsnStatus, dsnText) = (d.Dsn, d.Text);
        }
        var ok = Bouncer != null && Bouncer.BounceAll(session, file, dsnStatus, dsnText);
        if (!ok)
        {
            Msg.Warn($"{file.Id}: bounce message failure");
            session.Errs |= CleanupStatus.Write;
        }
        if ((session.Errs &= CleanupStatus.Write) == 0)
            session.Flags |= CleanupFlags.Discard;
    }
}

// IBouncer - the bounce service as cleanup_bounce() uses it.
internal interface IBouncer
{
    bool BounceAll(CleanupSession session, QueueFile file, string dsnStatus, string dsnText);
}
