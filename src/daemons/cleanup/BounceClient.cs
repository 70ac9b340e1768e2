// NAME
//	BounceClient - cleanup's bounce notices through the bounce service
// POSTFIX
//	src/cleanup/cleanup_bounce.c, src/global/bounce.c (bounce_append,
//	bounce_flush, bounce_flush_verp), mail_command_client.c,
//	rcpt_print.c, dsn_print.c, log_adhoc.c, src/util/format_tv.c
// DESCRIPTION
//	BounceAll() re-reads the queue file written so far and, for each
//	recipient (or "unknown" when there is none), asks private/bounce to
//	append a "failed" record, logging "QUEUEID: to=<...>, relay=none,
//	delay=..., delays=..., dsn=..., status=bounced (reason)". It then
//	asks the bounce service to send the notice to the sender. With
//	soft_bounce nothing is bounced and the message stays with the client.
using Postfix.Global.Address;
using System;
using System.Globalization;
using System.IO;
using System.Net.Sockets;
using System.Text;
using Postfix.Global.Attr;
using Postfix.Global.Config;
using Postfix.Global.Queue;
using Postfix.Util;

namespace Postfix.Daemons.Cleanup;

internal sealed class BounceClient(MailConf conf) : IBouncer
{
    private const int CmdAppend = 0, CmdFlush = 1, CmdVerp = 3;
    private const int FlagClean = 1;
    private const int DsnRetHdrs = 2;

    private readonly string service = conf.Eval("bounce_service_name");
    private readonly bool softBounce = conf.Bool("soft_bounce");
    private readonly bool verpBounceOff = conf.Bool("disable_verp_bounces");
    private readonly int delayMaxRes = int.TryParse(conf.Eval("delay_logging_resolution_limit"), out var r) ? r : 2;
    private readonly bool logInternal = string.Equals(conf.Eval("info_log_address_format"), "internal", StringComparison.OrdinalIgnoreCase);

    public bool BounceAll(CleanupSession session, QueueFile file, string dsnStatus, string dsnText)
    {
        byte[] data;
        try
        {
            var s = file.Stream;
            s.Flush();
            var pos = s.Position;
            s.Seek(0, SeekOrigin.Begin);
            data = new byte[s.Length];
            s.ReadExactly(data);
            s.Seek(pos, SeekOrigin.Begin);
        }
        catch (IOException)
        {
            return false;
        }
        var reader = new RecordReader(data, file.Path);
        string? dsnOrcpt = null, origRcpt = null, rcpt = null;
        var dsnNotify = 0;
        while (true)
        {
            var offset = reader.Position;
            var type = reader.Read(out var rec);
            if (type <= 0 || type == RecordType.End)
                break;
            var text = Raw.FromBytes(rec);
            if (type == RecordType.Attr)
            {
                if (Postfix.Global.Config.NameValue.Split(text, out var name, out var value) != null || value.Length == 0)
                    continue;
                var mapped = CleanupSession.RecAttrMap(name);
                if (mapped != 0)
                {
                    text = value;
                    type = mapped;
                }
            }
            if (type == RecordType.DsnOrcpt)
                dsnOrcpt = text;
            else if (type == RecordType.DsnNotify)
                dsnNotify = int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : 0;
            else if (type == RecordType.Orcp)
                origRcpt = text;
            else if (type is RecordType.Rcpt or RecordType.Drcp or RecordType.Done)
            {
                if (type == RecordType.Rcpt)
                {
                    rcpt = text;
                    if (!Append(session, offset, dsnOrcpt ?? "", dsnNotify, origRcpt ?? rcpt, rcpt, dsnStatus, dsnText))
                        session.Errs |= CleanupStatus.Write;
                }
                origRcpt = dsnOrcpt = null;
                dsnNotify = 0;
            }
            if ((session.Errs & CleanupStatus.Write) != 0)
                break;
        }
        if ((session.Errs & CleanupStatus.Write) == 0 && rcpt == null
            && !Append(session, 0, "", 0, "", "unknown", dsnStatus, dsnText))
            session.Errs |= CleanupStatus.Write;
        if ((session.Errs & CleanupStatus.Write) != 0)
            return true; // the write error speaks for itself
        if (softBounce)
            return false;
        var encoding = session.Attributes.TryGetValue("encoding", out var enc) ? enc : "";
        var ret = (session.Errs & (CleanupStatus.Cont | CleanupStatus.Size)) != 0 ? DsnRetHdrs : session.DsnRet;
        var verp = session.VerpDelims != null && !verpBounceOff;
        return Command(w =>
        {
            w.Int(MailProto.AttrNreq, verp ? CmdVerp : CmdFlush)
             .Int(MailProto.AttrFlags, FlagClean)
             .Str(MailProto.AttrQueue, session.QueueName)
             .Str(MailProto.AttrQueueId, session.QueueId)
             .Str("encoding", encoding)
             .Int("smtputf8", session.SmtpUtf8)
             .Str(MailProto.AttrSender, Raw.Text(session.Sender ?? ""))
             .Str("envelope_id", Raw.Text(session.DsnEnvid ?? ""))
             .Int("ret_flags", ret);
            if (verp)
                w.Str("verp_delimiters", session.VerpDelims!);
        }) == 0;
    }

    private bool Append(CleanupSession session, long offset, string dsnOrcpt, int notify, string orig, string rcpt,
        string status, string reason)
    {
        if (softBounce)
            return false;
        var ok = Command(w => w.Int(MailProto.AttrNreq, CmdAppend)
            .Int(MailProto.AttrFlags, FlagClean)
            .Str(MailProto.AttrQueueId, session.QueueId)
            .Str(MailProto.AttrOrigRcpt, Raw.Text(orig))
            .Str(MailProto.AttrRecip, Raw.Text(rcpt))
            .Long(MailProto.AttrOffset, offset)
            .Str(MailProto.AttrDsnOrcpt, Raw.Text(dsnOrcpt))
            .Int(MailProto.AttrDsnNotify, notify)
            .Str("status", status)
            .Str("diag_type", "")
            .Str("diag_text", "")
            .Str("mta_type", "")
            .Str("mta_mname", "")
            .Str("action", "failed")
            .Str(MailProto.AttrWhy, Raw.Text(reason))) == 0;
        if (ok)
            LogAdhoc(session, orig, rcpt, status, reason);
        return ok;
    }

    // Command - mail_command_client(): the server's status, or -1.
    private int Command(Action<AttrWriter> print)
    {
        var name = MailProto.ClassPrivate + "/" + service;
        Socket sock;
        try
        {
            sock = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            sock.Connect(new UnixDomainSocketEndPoint(name));
        }
        catch (SocketException e)
        {
            Msg.Warn($"connect to {name}: {Sys.StrError(NativeErrno(e))}");
            return -1;
        }
        using var stream = new AttrStream(new NetworkStream(sock, ownsSocket: true), name + " socket");
        if (stream.Receive([AttrSpec.StrEq(MailProto.AttrProto, MailProto.ProtoBounce)], new AttrValue[1], AttrFlags.Strict) != 0)
        {
            Msg.Warn($"read {name} socket: {Sys.StrError(stream.LastErrno)}");
            return -1;
        }
        if (!stream.Send(print))
        {
            Msg.Warn($"write {name} socket: {Sys.StrError(stream.LastErrno)}");
            return -1;
        }
        var v = new AttrValue[1];
        if (stream.Receive([AttrSpec.Int(MailProto.AttrStatus)], v, AttrFlags.Strict) != 1)
        {
            Msg.Warn($"write/read {name} socket: {Sys.StrError(stream.LastErrno)}");
            return -1;
        }
        return v[0].Int;
    }

    // NativeErrno - the errno behind a socket exception.
    private static int NativeErrno(SocketException e) => e.SocketErrorCode switch
    {
        SocketError.AddressNotAvailable => 2,
        SocketError.ConnectionRefused => 111,
        SocketError.AccessDenied => 13,
        _ => e.NativeErrorCode,
    };

    // LogAdhoc - log_adhoc() for a message that never left incoming/.
    private void LogAdhoc(CleanupSession session, string orig, string rcpt, string status, string reason)
    {
        var sb = new StringBuilder();
        sb.Append(session.QueueId).Append(": to=<").Append(Raw.Text(LogAddr(rcpt))).Append('>');
        if (orig.Length > 0 && !string.Equals(rcpt, orig, StringComparison.OrdinalIgnoreCase))
            sb.Append(", orig_to=<").Append(Raw.Text(LogAddr(orig))).Append('>');
        sb.Append(", relay=none");
        var now = DateTimeOffset.UtcNow;
        var nowUs = now.ToUnixTimeMilliseconds() * 1000 + now.Ticks / 10 % 1000;
        var arrivalUs = session.ArrivalSeconds * 1_000_000 + session.ArrivalMicros;
        var delay = Math.Max(0, nowUs - arrivalUs);
        sb.Append(", delay=");
        FormatTv(sb, delay / 1_000_000, delay % 1_000_000, 2, delayMaxRes);
        sb.Append(", delays=");
        FormatTv(sb, delay / 1_000_000, delay % 1_000_000, 2, delayMaxRes);
        sb.Append("/0/0/0");
        sb.Append(", dsn=").Append(status).Append(", status=bounced (").Append(Raw.Text(reason)).Append(')');
        Msg.Info(sb.ToString());
    }

    private string LogAddr(string addr) => logInternal || addr.Length == 0 ? addr : Quote822.Local(addr);

    // FormatTv - format_tv(), shared with the delivery agents' status lines.
    internal static void FormatTv(StringBuilder buf, long sec, long usec, int sigDig, int maxDig) =>
        Postfix.Global.Deliver.LogAdhoc.FormatTv(buf, sec, usec, sigDig, maxDig);
}
