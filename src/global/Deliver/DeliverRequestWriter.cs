// NAME
//	DeliverRequestWriter - the delivery request on the wire, both sides
// POSTFIX
//	src/qmgr/qmgr_deliver.c (qmgr_deliver_send_request,
//	qmgr_deliver_final_reply), src/global/deliver_request.c
//	(deliver_request_get), deliver_pass.c
// DESCRIPTION
//	One attribute schema for the queue manager (writer) and the
//	delivery agents (reader). The request is one list of common
//	attributes:
//
//	flags queue_name queue_id offset size nexthop encoding smtputf8
//	sender envelope_id ret_flags time(88 bytes) log_client_name
//	log_client_address log_client_port log_protocol_name log_helo_name
//	sasl_method sasl_username sasl_sender log_ident rewrite_context
//	recipient_count
//
//	then one list per recipient (original_recipient recipient offset
//	dsn_orig_rcpt notify_flags). The reply is one list: status
//	diag_type diag_text mta_type mta_mname action reason (the hop
//	status) and status (the number).
using System;
using System.Collections.Generic;
using Postfix.Global.Attr;
using Postfix.Util;

namespace Postfix.Global.Deliver;

public static class DeliverRequestWriter
{
    public const int CommonCount = 23;

    public static readonly AttrSpec[] CommonSpec =
    [
        AttrSpec.Int(MailProto.AttrFlags),
        AttrSpec.Str(MailProto.AttrQueue),
        AttrSpec.Str(MailProto.AttrQueueId),
        AttrSpec.Long(MailProto.AttrOffset),
        AttrSpec.Long(MailProto.AttrSize),
        AttrSpec.Str(MailProto.AttrNexthop),
        AttrSpec.Str(MailProto.AttrEncoding),
        AttrSpec.Int(MailProto.AttrSmtpUtf8),
        AttrSpec.Str(MailProto.AttrSender),
        AttrSpec.Str(MailProto.AttrDsnEnvid),
        AttrSpec.Int(MailProto.AttrDsnRet),
        AttrSpec.Func(1),
        AttrSpec.Data(MailProto.AttrTime),
        AttrSpec.Str(MailProto.AttrLogClientName),
        AttrSpec.Str(MailProto.AttrLogClientAddr),
        AttrSpec.Str(MailProto.AttrLogClientPort),
        AttrSpec.Str(MailProto.AttrLogProtoName),
        AttrSpec.Str(MailProto.AttrLogHeloName),
        AttrSpec.Str(MailProto.AttrSaslMethod),
        AttrSpec.Str(MailProto.AttrSaslUsername),
        AttrSpec.Str(MailProto.AttrSaslSender),
        AttrSpec.Str(MailProto.AttrLogIdent),
        AttrSpec.Str(MailProto.AttrRwrContext),
        AttrSpec.Int(MailProto.AttrRcptCount),
    ];

    // RecipientSpec - one recipient list: a Func group (values[1..5]).
    public static readonly AttrSpec[] RecipientSpec =
    [
        AttrSpec.Func(5),
        .. Recipient.Spec,
    ];

    // ReplySpec - the agent's reply: the hop status group (values[1..7])
    // and the status (values[8]).
    public static readonly AttrSpec[] ReplySpec =
    [
        AttrSpec.Func(7),
        .. Dsn.Spec,
        AttrSpec.Int(MailProto.AttrStatus),
    ];

    // WriteCommon - the common attributes of a request for rcptCount
    // recipients (the agent reads them with CommonSpec).
    public static void WriteCommon(AttrWriter w, DeliverRequest r, int rcptCount) => w
        .Int(MailProto.AttrFlags, r.Flags)
        .Str(MailProto.AttrQueue, r.QueueName)
        .Str(MailProto.AttrQueueId, r.QueueId)
        .Long(MailProto.AttrOffset, r.DataOffset)
        .Long(MailProto.AttrSize, r.DataSize)
        .Str(MailProto.AttrNexthop, r.Nexthop)
        .Str(MailProto.AttrEncoding, r.Encoding)
        .Int(MailProto.AttrSmtpUtf8, r.SmtpUtf8)
        .Str(MailProto.AttrSender, r.Sender)
        .Str(MailProto.AttrDsnEnvid, r.DsnEnvid)
        .Int(MailProto.AttrDsnRet, r.DsnRet)
        .Data(MailProto.AttrTime, r.Stats.ToBytes())
        .Str(MailProto.AttrLogClientName, r.Client.Name)
        .Str(MailProto.AttrLogClientAddr, r.Client.Addr)
        .Str(MailProto.AttrLogClientPort, r.Client.Port)
        .Str(MailProto.AttrLogProtoName, r.Client.Proto)
        .Str(MailProto.AttrLogHeloName, r.Client.Helo)
        .Str(MailProto.AttrSaslMethod, r.Sasl.Method)
        .Str(MailProto.AttrSaslUsername, r.Sasl.Username)
        .Str(MailProto.AttrSaslSender, r.Sasl.Sender)
        .Str(MailProto.AttrLogIdent, r.LogIdent)
        .Str(MailProto.AttrRwrContext, r.RewriteContext)
        .Int(MailProto.AttrRcptCount, rcptCount);

    // FromCommonValues - fill a request from CommonSpec's values; false
    // on a bad time profile (warned as msg_stats_scan does).
    public static bool FromCommonValues(DeliverRequest r, ReadOnlySpan<AttrValue> v, out int rcptCount)
    {
        rcptCount = v[23].Int;
        var data = v[12].Data ?? [];
        var stats = MsgStats.FromBytes(data);
        if (stats == null)
        {
            Msg.Warn($"msg_stats_scan: size mis-match: {data.Length} != {MsgStats.WireSize}");
            return false;
        }
        r.Flags = v[0].Int;
        r.QueueName = v[1].Str;
        r.QueueId = v[2].Str;
        r.DataOffset = v[3].Long;
        r.DataSize = v[4].Long;
        r.Nexthop = v[5].Str;
        r.Encoding = v[6].Str;
        r.SmtpUtf8 = v[7].Int;
        r.Sender = v[8].Str;
        r.DsnEnvid = v[9].Str;
        r.DsnRet = v[10].Int;
        r.Stats = stats;
        r.Client = new ClientInfo(v[13].Str, v[14].Str, v[15].Str, v[16].Str, v[17].Str);
        r.Sasl = new SaslInfo(v[18].Str, v[19].Str, v[20].Str);
        r.LogIdent = v[21].Str;
        r.RewriteContext = v[22].Str;
        return true;
    }

    // WriteRequest - the whole request: the common list, then one list
    // per recipient, written into one buffer (send it with AttrFlags.More:
    // every list here carries its own terminator).
    public static void WriteRequest(AttrWriter w, DeliverRequest r, IReadOnlyList<Recipient> rcpts)
    {
        WriteCommon(w, r, rcpts.Count);
        w.End();
        foreach (var rcpt in rcpts)
        {
            rcpt.Write(w);
            w.End();
        }
    }

    // WriteReply - deliver_request_final()'s list.
    public static void WriteReply(AttrWriter w, Dsn hop, int status)
    {
        hop.Write(w);
        w.Int(MailProto.AttrStatus, status);
    }
}
