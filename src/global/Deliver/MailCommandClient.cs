// NAME
//	MailCommandClient - one request to a Postfix service, one status back
// POSTFIX
//	src/global/mail_command_client.c
// DESCRIPTION
//	Command(cls, service, protocol, print) connects to CLASS/SERVICE
//	(one try, no waiting), checks the server's protocol announcement,
//	sends one attribute list and reads "status". The result is that
//	status, or -1 after a warning naming the stage that failed
//	("connect to private/bounce: ...", "read private/bounce socket: ...",
//	"write ...", "write/read ...").
using System;
using System.IO;
using System.Net.Sockets;
using Postfix.Global.Attr;
using Postfix.Util;

namespace Postfix.Global.Deliver;

public static class MailCommandClient
{
    private static readonly AttrSpec[] StatusSpec = [AttrSpec.Int(MailProto.AttrStatus)];

    public static int Command(string cls, string service, string protocol, Action<AttrWriter> print)
    {
        var name = cls + "/" + service;
        var endpoint = DeliverConfig.ServicePath(cls, service);
        var sock = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            sock.Connect(new UnixDomainSocketEndPoint(endpoint));
        }
        catch (SocketException e)
        {
            sock.Dispose();
            Msg.Warn($"connect to {name}: {Sys.StrError(AttrClient.Errno(e))}");
            return -1;
        }
        var timeout = 3600 * 1000;
        sock.ReceiveTimeout = timeout;
        sock.SendTimeout = timeout;
        using var stream = new AttrStream(new NetworkStream(sock, ownsSocket: true), name + " socket");
        if (stream.Receive([AttrSpec.StrEq(MailProto.AttrProto, protocol)], new AttrValue[1], AttrFlags.Strict) != 0)
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
        if (stream.Receive(StatusSpec, v, AttrFlags.Strict) != 1)
        {
            Msg.Warn($"write/read {name} socket: {Sys.StrError(stream.LastErrno)}");
            return -1;
        }
        return v[0].Int;
    }
}
