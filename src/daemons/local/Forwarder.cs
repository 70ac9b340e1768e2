// NAME
//	Forwarder - forward a message to addresses found in aliases
// POSTFIX
//	src/local/forward.c
// DESCRIPTION
//	Append() collects the recipients of one expansion, grouped by the
//	Delivered-To: address and the sender (an owner- alias changes it);
//	Finish() submits one new message per group to the cleanup service
//	(Send) with a Received: header, Delivered-To: (unless
//	prepend_delivered_header leaves it out) and the original content,
//	and records "forwarded as QUEUEID" for the recipient. Without a
//	Send function nothing can be forwarded and Append() fails.
using System.Collections.Generic;
using Postfix.Global.Mailbox;
using Postfix.Global.Deliver;

namespace Postfix.Daemons.Local;

// ForwardBatch - one message to submit: the envelope and what to add.
internal sealed class ForwardBatch
{
    public required string Delivered { get; init; }
    public required string Sender { get; init; }
    public List<Rcpt> Recipients { get; } = [];
}

internal sealed class Forwarder
{
    private readonly LocalAgent agent;
    private readonly LocalRequest request;
    private readonly List<ForwardBatch> batches = [];

    public Forwarder(LocalAgent agent, LocalRequest request)
    {
        this.agent = agent;
        this.request = request;
    }

    // Send - submit a batch; the new queue ID, or null on failure.
    public static System.Func<LocalRequest, ForwardBatch, bool, string?>? Send { get; set; }

    // Append - forward_append(): 0, or -1 when forwarding is impossible.
    public int Append(in MsgAttr attr)
    {
        if (Send == null)
            return -1;
        var delivered = attr.Delivered ?? attr.Rcpt.Address;
        var sender = attr.Sender;
        var batch = batches.Find(b => b.Delivered == delivered && b.Sender == sender);
        if (batch == null)
        {
            batch = new ForwardBatch { Delivered = delivered, Sender = attr.Sender };
            batches.Add(batch);
        }
        batch.Recipients.Add(attr.Rcpt);
        return 0;
    }

    // Finish - forward_finish(): submit every batch unless cancel.
    public int Finish(MsgAttr attr, DsnBuf why, int cancel)
    {
        var status = cancel;
        foreach (var batch in batches)
        {
            if (status != 0)
                continue;
            var withDelivered = (agent.Config.DeliverHdrMask & DeliverHeader.Forward) != 0;
            var queueId = Send!(request, batch, withDelivered);
            if (queueId == null)
            {
                status = 1;
                continue;
            }
            var notify = attr.Rcpt.DsnNotify;
            attr.Rcpt.DsnNotify = notify == DsnNotifyFlags.Success ? DsnNotifyFlags.Never : notify & ~DsnNotifyFlags.Success;
            why.Simple("2.0.0", $"forwarded as {queueId}");
            why.Action = "relayed";
            status = agent.Report.Sent(request, attr, why);
        }
        batches.Clear();
        return status;
    }
}
