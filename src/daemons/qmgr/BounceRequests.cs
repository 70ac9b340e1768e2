// NAME
//	BounceRequests - what the queue manager asks of the bounce services
// POSTFIX
//	src/global/abounce.c, src/qmgr/qmgr_defer.c (qmgr_defer_recipient)
// DESCRIPTION
//	Flush() sends the bounce log (bounce service), DeferFlush() returns
//	a message that expired (defer service), Warn() sends a delay
//	warning, TraceFlush() a delivery report (trace service), all through
//	the Deliver library's clients. A failure gives the reference's
//	"status=deferred (bounce failed)" style log line. DeferAppend() and
//	Sent() dispose of a recipient without a delivery agent (the retry
//	service is unavailable too; an undeliverable postmaster notice).
using System;
using System.Globalization;
using System.Net.Sockets;
using Postfix.Global.Attr;
using Postfix.Global.Deliver;
using Postfix.Util;

namespace Postfix.Daemons.Qmgr;

internal static class BounceRequests
{
    public const int CmdAppend = 0;
    public const int CmdFlush = 1;
    public const int CmdWarn = 2;
    public const int CmdTrace = 5;

    public static int Flush(QueuedMessage m) => Notify(DeliverConfig.BounceService, CmdFlush, m);

    public static int DeferFlush(QueuedMessage m) => Notify(DeliverConfig.DeferService, CmdFlush, m);

    public static int Warn(QueuedMessage m) => Notify(DeliverConfig.DeferService, CmdWarn, m);

    public static int TraceFlush(QueuedMessage m) => Notify(DeliverConfig.TraceService, CmdTrace, m);

    private static int Notify(string service, int command, QueuedMessage m)
    {
        var sender = m.Sender ?? "";
        var status = command switch
        {
            // The library's bounce_flush() logs its own failure.
            CmdFlush when service == DeliverConfig.BounceService =>
                BounceClient.Flush(0, m.QueueName, m.QueueId, m.Encoding, m.SmtpUtf8, sender, m.DsnEnvid, m.DsnRet) == 0 ? 0 : -2,
            CmdFlush => BounceClient.DeferFlush(0, m.QueueName, m.QueueId, m.Encoding, m.SmtpUtf8, sender, m.DsnEnvid, m.DsnRet),
            CmdWarn => BounceClient.DeferWarn(0, m.QueueName, m.QueueId, m.Encoding, m.SmtpUtf8, sender, m.DsnEnvid, m.DsnRet),
            _ => BounceClient.TraceFlush(m.TraceFlags, m.QueueName, m.QueueId, m.Encoding, m.SmtpUtf8, sender, m.DsnEnvid, m.DsnRet),
        };
        if (status == -2)
            return -1;
        if (status != 0)
        {
            // abounce_done(): the queue manager's own note.
            var what = command switch
            {
                CmdFlush => "bounce",
                CmdWarn => "delay warning",
                CmdTrace => "trace",
                _ => "whatever",
            };
            Msg.Info($"{m.QueueId}: status=deferred ({what} failed)");
        }
        return status;
    }

    // DeferAppend - qmgr_defer_recipient(): defer_append() with relay "none".
    public static int DeferAppend(QueuedMessage m, QueuedRecipient r, string dsnStatus, string reason) =>
        DeliveryStatus.DeferAppend(m.TraceFlags, m.QueueId, Stats(m), AgentClient.ToRecipient(r), "none",
            Dsn.Simple(dsnStatus, reason)) == 0 ? 0 : 1;

    // Sent - sent() for a recipient the queue manager disposes of itself.
    public static int Sent(QueuedMessage m, QueuedRecipient r, string dsnStatus, string reason) =>
        DeliveryStatus.Sent(m.TraceFlags, m.QueueId, Stats(m), AgentClient.ToRecipient(r), "none",
            Dsn.Simple(dsnStatus, reason));

    private static MsgStats Stats(QueuedMessage m) => AgentClient.Stats(m.ArrivalSec, m.ArrivalUsec, m.ActiveSec, m.ActiveUsec);
}

