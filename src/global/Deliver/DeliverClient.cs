// NAME
//	DeliverClient - the queue manager's side of one delivery
// POSTFIX
//	src/qmgr/qmgr_deliver.c (qmgr_deliver_initial_reply,
//	qmgr_deliver_send_request, qmgr_deliver_final_reply)
// DESCRIPTION
//	One connection to a delivery agent (CLASS/TRANSPORT, or any stream
//	the caller connected). InitialReply() waits for the agent's
//	protocol announcement; Send() writes the request and its
//	recipients (DeliverRequestWriter's schema); FinalReply() reads the
//	hop status into a DsnBuf and returns DeliverStat.Ok, Defer (the
//	agent asked to try again) or Crash (disconnect or garbage), with
//	the reference's warnings ("PATH: premature disconnect", "PATH:
//	malformed response").
using System;
using System.Collections.Generic;
using System.IO;
using System.Net.Sockets;
using Postfix.Global.Attr;
using Postfix.Util;

namespace Postfix.Global.Deliver;

public sealed class DeliverClient : IDisposable
{
    private const int Etimedout = 110;

    private readonly AttrStream conn;

    public DeliverClient(Stream stream, string path)
    {
        conn = new AttrStream(stream, path);
        Path = path;
    }

    public string Path { get; }

    public AttrStream Stream => conn;

    public int LastErrno => conn.LastErrno;

    // Connect - mail_connect(CLASS, TRANSPORT): null (errno in errno)
    // when nobody listens. The path is "CLASS/TRANSPORT socket".
    public static DeliverClient? Connect(string cls, string transport, out int errno)
    {
        errno = 0;
        var sock = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            sock.Connect(new UnixDomainSocketEndPoint(DeliverConfig.ServicePath(cls, transport)));
        }
        catch (SocketException e)
        {
            sock.Dispose();
            errno = AttrClient.Errno(e);
            return null;
        }
        return new DeliverClient(new NetworkStream(sock, ownsSocket: true), cls + "/" + transport + " socket");
    }

    // InitialReply - 0, DeliverStat.Defer (malformed) or Crash.
    public int InitialReply()
    {
        // The reference peeks at the descriptor first (only a read error
        // fails that); an agent that just went away gives an empty reply,
        // which is malformed.
        if (conn.ScanMore() < 0 && conn.LastErrno != 0)
        {
            Msg.Warn($"{Path}: premature disconnect");
            return DeliverStat.Crash;
        }
        var v = new AttrValue[1];
        if (conn.Receive([AttrSpec.StrEq(MailProto.AttrProto, MailProto.ProtoDeliver)], v, AttrFlags.Strict) != 0)
        {
            Msg.Warn($"{Path}: malformed response");
            return DeliverStat.Defer;
        }
        return 0;
    }

    // Send - qmgr_deliver_send_request(); false after a write error
    // (the caller warns "write to process (TRANSPORT): ...").
    public bool Send(DeliverRequest request, IReadOnlyList<Recipient> rcpts) =>
        conn.Send(w => DeliverRequestWriter.WriteRequest(w, request, rcpts), AttrFlags.More);

    // FinalReply - qmgr_deliver_final_reply().
    public int FinalReply(DsnBuf dsb)
    {
        // As InitialReply: a killed agent's end of input is a malformed
        // response; a timeout is the caller's to report (LastErrno).
        if (conn.ScanMore() < 0 && conn.LastErrno != 0)
        {
            if (conn.LastErrno != Etimedout)
                Msg.Warn($"{Path}: premature disconnect");
            return DeliverStat.Crash;
        }
        var spec = DeliverRequestWriter.ReplySpec;
        var v = new AttrValue[spec.Length];
        if (conn.Receive(spec, v, AttrFlags.Strict) != 2)
        {
            Msg.Warn($"{Path}: malformed response");
            return DeliverStat.Crash;
        }
        dsb.Set(Dsn.FromValues(v.AsSpan(1, 7)));
        return v[8].Int != 0 ? DeliverStat.Defer : DeliverStat.Ok;
    }

    public void Dispose() => conn.Dispose();
}
