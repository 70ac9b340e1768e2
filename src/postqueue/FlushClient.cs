// NAME
//	FlushClient - requests to the fast flush service
// POSTFIX
//	src/global/flush_clnt.c (flush_send_site, flush_send_file),
//	src/global/mail_command_client.c
// DESCRIPTION
//	SendSite() asks the flush service to deliver the mail of a site
//	that fast_flush_domains lists (else StatDeny, without asking);
//	SendFile() to deliver one queue file. Each request is one
//	connection to public/$flush_service_name: the server's protocol
//	announcement, the request, the status reply. Failures warn as
//	mail_command_client() does and return StatFail.
using System;
using System.Net.Sockets;
using Postfix.Global.Attr;
using Postfix.Global.Config;
using Postfix.Util;

namespace Postfix.Commands.Postqueue;

internal static class FlushClient
{
    public const int StatFail = -1;
    public const int StatOk = 0;
    public const int StatBad = 3;
    public const int StatDeny = 4;

    public static int SendSite(MailConf conf, string site)
    {
        if (Msg.Verbose > 0)
            Msg.Info($"flush_send_site: site {site}");
        var parent = MatchList.Match(conf.Eval("parent_domain_matches_subdomains"), "fast_flush_domains", false, false);
        int status;
        if (MatchList.Match(conf.Eval("fast_flush_domains"), site, hostStyle: true, parentStyle: parent))
            status = Command(conf, w => w.Str(MailProto.AttrReq, "send_site").Str("site", site));
        else
            status = StatDeny;
        if (Msg.Verbose > 0)
            Msg.Info($"flush_send_site: site {site} status {status}");
        return status;
    }

    public static int SendFile(MailConf conf, string queueId)
    {
        if (Msg.Verbose > 0)
            Msg.Info($"flush_send_file: queue_id {queueId}");
        var status = Command(conf, w => w.Str(MailProto.AttrReq, "send_file").Str(MailProto.AttrQueueId, queueId));
        if (Msg.Verbose > 0)
            Msg.Info($"flush_send_file: queue_id {queueId} status {status}");
        return status;
    }

    // Command - mail_command_client(): one request, one status.
    private static int Command(MailConf conf, Action<AttrWriter> request)
    {
        var name = MailProto.ClassPublic + "/" + conf.Eval("flush_service_name");
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(name));
        }
        catch (SocketException e)
        {
            socket.Dispose();
            Msg.Warn($"connect to {name}: {Sys.StrError(Postqueue.SocketErrno(e))}");
            return StatFail;
        }
        using var stream = new AttrStream(new NetworkStream(socket, ownsSocket: true), name + " socket");
        var v = new AttrValue[1];
        if (stream.Receive([AttrSpec.StrEq(MailProto.AttrProto, MailProto.ProtoFlush)], v, AttrFlags.Strict) != 0)
        {
            Msg.Warn($"read {stream.Path}: {Sys.StrError(stream.LastErrno)}");
            return StatFail;
        }
        if (!stream.Send(request))
        {
            Msg.Warn($"write {stream.Path}: {Sys.StrError(stream.LastErrno)}");
            return StatFail;
        }
        if (stream.Receive([AttrSpec.Int(MailProto.AttrStatus)], v, AttrFlags.Strict) != 1)
        {
            Msg.Warn($"write/read {stream.Path}: {Sys.StrError(stream.LastErrno)}");
            return StatFail;
        }
        return v[0].Int;
    }
}
