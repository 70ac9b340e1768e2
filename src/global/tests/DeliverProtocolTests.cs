// NAME
//	DeliverProtocolTests - the delivery request and the bounce/defer/
//	trace/verify client calls on the wire
// DESCRIPTION
//	A request written by the queue-manager side (DeliverClient) is read
//	by the agent side (DeliverRequest.Read) over a UNIX-domain socket in
//	a scratch queue directory, and the reply goes back. The status calls
//	talk to small fake services that speak the reference's
//	delivery_status_protocol and record each request as a token list;
//	the expected attribute order is that of bounce.c, defer.c, trace.c,
//	rcpt_print.c, dsn_print.c and qmgr_deliver.c.
using System;
using System.Collections.Generic;
using System.IO;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using Postfix.Global.Attr;
using Postfix.Global.Deliver;
using Postfix.Util;
using Shouldly;
using Xunit;

namespace Postfix.Global.Tests;

[Collection("Msg")]
public sealed class DeliverProtocolTests : IDisposable
{
    private const string Id = "3F2A1B4C5D";
    private readonly DirectoryInfo dir = Directory.CreateTempSubdirectory("deliver");
    private readonly string savedCwd = Environment.CurrentDirectory;
    private readonly TextWriter savedErr = Msg.Err;
    private readonly StringWriter err = new();
    private readonly List<Socket> listeners = new();

    public DeliverProtocolTests()
    {
        Directory.CreateDirectory(Path.Combine(dir.FullName, "private"));
        Directory.CreateDirectory(Path.Combine(dir.FullName, "public"));
        Directory.CreateDirectory(Path.Combine(dir.FullName, "active"));
        var qf = Path.Combine(dir.FullName, "active", Id);
        File.WriteAllBytes(qf, Encoding.ASCII.GetBytes("C\u0001xR\u0005a@b.cE\0"));
        File.SetUnixFileMode(qf, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        Environment.CurrentDirectory = dir.FullName;
        DeliverConfig.QueueDirectory = null;
        DeliverConfig.SoftBounce = false;
        DeliverConfig.FlushDomains = "";
        DeliveryStatus.Filter = null;
        VerifyClient.Reset();
        Msg.Err = err;
    }

    public void Dispose()
    {
        Msg.Err = savedErr;
        foreach (var l in listeners)
            l.Dispose();
        VerifyClient.Reset();
        Environment.CurrentDirectory = savedCwd;
        dir.Delete(true);
    }

    private Socket Listen(string cls, string name)
    {
        var l = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        l.Bind(new UnixDomainSocketEndPoint(Path.Combine(dir.FullName, cls, name)));
        l.Listen(5);
        listeners.Add(l);
        return l;
    }

    // FakeService - announce PROTOCOL, record each request's tokens,
    // answer "status=STATUS"; one request per connection.
    private List<List<string>> FakeService(string cls, string name, string protocol, int status = 0,
        bool persistent = false)
    {
        var l = Listen(cls, name);
        var got = new List<List<string>>();
        new Thread(() =>
        {
            try
            {
                for (; ; )
                {
                    using var s = l.Accept();
                    s.Send(Encoding.UTF8.GetBytes($"protocol\0{protocol}\0\0"));
                    do
                    {
                        var tokens = ReadList(s);
                        if (tokens == null)
                            break;
                        lock (got)
                            got.Add(tokens);
                        s.Send(Encoding.UTF8.GetBytes($"status\0{status}\0\0"));
                    } while (persistent);
                }
            }
            catch (SocketException)
            {
            }
            catch (ObjectDisposedException)
            {
            }
        }) { IsBackground = true }.Start();
        return got;
    }

    // ReadList - one zero-encoded list: name, value, ... up to an empty name.
    private static List<string>? ReadList(Socket s)
    {
        var tokens = new List<string>();
        var cur = new List<byte>();
        var one = new byte[1];
        for (; ; )
        {
            if (s.Receive(one) != 1)
                return null;
            if (one[0] != 0)
            {
                cur.Add(one[0]);
                continue;
            }
            if (cur.Count == 0 && tokens.Count % 2 == 0)
                return tokens;
            tokens.Add(Encoding.UTF8.GetString(cur.ToArray()));
            cur.Clear();
        }
    }

    private static MsgStats Stats() => new()
    {
        IncomingArrival = new TimeVal(1_700_000_000, 250_000),
        ActiveArrival = new TimeVal(1_700_000_001, 0),
        AgentHandoff = new TimeVal(1_700_000_002, 500),
        ReuseCount = 0,
    };

    private static readonly Recipient Rcpt = new("orig@example.com", "user@example.com", 123, "rfc822;orig@example.com",
        DsnNotify.Failure | DsnNotify.Delay);

    private static string[] RcptTokens(Recipient r) =>
    [
        "original_recipient", r.OrigAddr, "recipient", r.Address, "offset", r.Offset.ToString(),
        "dsn_orig_rcpt", r.DsnOrcpt, "notify_flags", r.DsnNotify.ToString(),
    ];

    private static string[] DsnTokens(string status, string action, string reason) =>
    [
        "status", status, "diag_type", "", "diag_text", "", "mta_type", "", "mta_mname", "", "action", action,
        "reason", reason,
    ];

    private static List<string> Tokens(params string[][] parts)
    {
        var all = new List<string>();
        foreach (var p in parts)
            all.AddRange(p);
        return all;
    }

    private static void WaitFor(List<List<string>> got, int count)
    {
        for (var i = 0; i < 200; i++)
        {
            lock (got)
                if (got.Count >= count)
                    return;
            Thread.Sleep(10);
        }
    }

    [Fact]
    public void RequestRoundTripBetweenQueueManagerAndAgent()
    {
        var l = Listen("private", "discard");
        DeliverRequest? seen = null;
        var agent = new Thread(() =>
        {
            using var s = l.Accept();
            using var stream = new NetworkStream(s, ownsSocket: false);
            seen = DeliverRequest.Read(stream);
            if (seen != null)
            {
                seen.HopStatus = new Dsn("4.4.1", "delayed", "connect refused", "smtp", "421 busy", "dns", "mx.example");
                DeliverRequest.Done(stream, seen, 1);
            }
        });
        agent.Start();

        var request = new DeliverRequest
        {
            Flags = DelReqFlags.Deflt | DelReqFlags.Record,
            QueueName = "active",
            QueueId = Id,
            DataOffset = 456,
            DataSize = 789,
            Nexthop = "example.com",
            Encoding = "8bit",
            SmtpUtf8 = 0,
            Sender = "sender@example.org",
            DsnEnvid = "envid-1",
            DsnRet = DsnRet.Hdrs,
            Stats = Stats(),
            Client = new ClientInfo("client.example", "192.0.2.7", "4321", "ESMTP", "helo.example"),
            Sasl = new SaslInfo("PLAIN", "joe", ""),
            LogIdent = Id,
            RewriteContext = "remote",
        };
        var rcpts = new List<Recipient> { Rcpt, new("", "second@example.com", 200, "", 0) };
        using (var client = DeliverClient.Connect("private", "discard", out var errno)!)
        {
            errno.ShouldBe(0);
            client.InitialReply().ShouldBe(0);
            client.Send(request, rcpts).ShouldBeTrue();
            var dsb = new DsnBuf();
            client.FinalReply(dsb).ShouldBe(DeliverStat.Defer);
            dsb.ToDsn().ShouldBe(new Dsn("4.4.1", "delayed", "connect refused", "smtp", "421 busy", "dns", "mx.example"));
        }
        agent.Join(5000).ShouldBeTrue();
        seen.ShouldNotBeNull();
        seen.Flags.ShouldBe(request.Flags);
        seen.QueueName.ShouldBe("active");
        seen.QueueId.ShouldBe(Id);
        seen.DataOffset.ShouldBe(456);
        seen.DataSize.ShouldBe(789);
        seen.Nexthop.ShouldBe("example.com");
        seen.Encoding.ShouldBe("8bit");
        seen.Sender.ShouldBe("sender@example.org");
        seen.DsnEnvid.ShouldBe("envid-1");
        seen.DsnRet.ShouldBe(DsnRet.Hdrs);
        seen.Stats.IncomingArrival.ShouldBe(request.Stats.IncomingArrival);
        seen.Stats.ActiveArrival.ShouldBe(request.Stats.ActiveArrival);
        seen.Stats.AgentHandoff.ShouldBe(request.Stats.AgentHandoff);
        seen.Client.ShouldBe(request.Client);
        seen.Sasl.ShouldBe(request.Sasl);
        seen.LogIdent.ShouldBe(Id);
        seen.RewriteContext.ShouldBe("remote");
        seen.Recipients.Count.ShouldBe(2);
        seen.Recipients[0].Address.ShouldBe("user@example.com");
        seen.Recipients[0].OrigAddr.ShouldBe("orig@example.com");
        seen.Recipients[0].Offset.ShouldBe(123);
        seen.Recipients[0].DsnOrcpt.ShouldBe("rfc822;orig@example.com");
        seen.Recipients[0].DsnNotify.ShouldBe(DsnNotify.Failure | DsnNotify.Delay);
        seen.Recipients[1].Address.ShouldBe("second@example.com");
        seen.QueueFile.ShouldBeNull(); // closed by Done
    }

    [Fact]
    public void RequestWireOrderIsTheReferenceQueueManagers()
    {
        var request = new DeliverRequest
        {
            Flags = 3, QueueName = "active", QueueId = Id, DataOffset = 1, DataSize = 2, Nexthop = "h",
            Encoding = "", SmtpUtf8 = 0, Sender = "s", DsnEnvid = "", DsnRet = 0, LogIdent = Id, RewriteContext = "local",
        };
        var bytes = AttrWriter.ToBytes(AttrEncoding.Zero,
            w => DeliverRequestWriter.WriteRequest(w, request, [new Recipient("", "r@x", 9, "", 0)]), AttrFlags.More);
        var text = Encoding.Latin1.GetString(bytes);
        var names = new List<string>();
        var parts = text.Split('\0');
        for (var i = 0; i + 1 < parts.Length; i += 2)
        {
            if (parts[i].Length == 0)
            {
                names.Add("|");
                i--;
                continue;
            }
            names.Add(parts[i]);
        }
        string.Join(" ", names).ShouldBe(
            "flags queue_name queue_id offset size nexthop encoding smtputf8 sender envelope_id ret_flags time "
            + "log_client_name log_client_address log_client_port log_protocol_name log_helo_name sasl_method "
            + "sasl_username sasl_sender log_ident rewrite_context recipient_count | "
            + "original_recipient recipient offset dsn_orig_rcpt notify_flags |");
        request.Stats.ToBytes().Length.ShouldBe(88);
    }

    [Fact]
    public void AgentSaysNothingWhenTheQueueManagerHangsUp()
    {
        var l = Listen("private", "error");
        DeliverRequest? seen = null;
        var done = false;
        var agent = new Thread(() =>
        {
            using var s = l.Accept();
            using var stream = new NetworkStream(s, ownsSocket: false);
            seen = DeliverRequest.Read(stream);
            done = true;
        });
        agent.Start();
        using (var client = DeliverClient.Connect("private", "error", out _)!)
            client.InitialReply().ShouldBe(0);
        agent.Join(5000).ShouldBeTrue();
        done.ShouldBeTrue();
        seen.ShouldBeNull();
        err.ToString().ShouldBeEmpty();
    }

    [Fact]
    public void BadRequestIsWarnedAndDeferred()
    {
        var l = Listen("private", "error");
        var agent = new Thread(() =>
        {
            using var s = l.Accept();
            using var stream = new NetworkStream(s, ownsSocket: false);
            DeliverRequest.Read(stream).ShouldBeNull();
        });
        agent.Start();
        using (var client = DeliverClient.Connect("private", "error", out _)!)
        {
            client.InitialReply().ShouldBe(0);
            var request = new DeliverRequest { QueueName = "active", QueueId = Id, Nexthop = "x" };
            client.Send(request, []).ShouldBeTrue();
            client.FinalReply(new DsnBuf()).ShouldBe(DeliverStat.Defer);
        }
        agent.Join(5000).ShouldBeTrue();
        err.ToString().ShouldContain($"warning: {Id}: no recipients in delivery request for destination x");
    }

    [Fact]
    public void BounceAppendTalksToTheBounceServiceAndLogs()
    {
        var bounce = FakeService("private", "bounce", "delivery_status_protocol");
        DeliveryStatus.BounceAppend(0, Id, Stats(), Rcpt, "none", Dsn.Simple("5.1.1", "no such user")).ShouldBe(0);
        WaitFor(bounce, 1);
        bounce.Count.ShouldBe(1);
        bounce[0].ShouldBe(Tokens(["nrequest", "0", "flags", "0", "queue_id", Id], RcptTokens(Rcpt),
            DsnTokens("5.1.1", "failed", "no such user")));
        err.ToString().ShouldContain($"{Id}: to=<user@example.com>, orig_to=<orig@example.com>, relay=none, delay=");
        err.ToString().ShouldContain(", dsn=5.1.1, status=bounced (no such user)");
    }

    [Fact]
    public void BounceAppendFallsBackToDefer()
    {
        var defer = FakeService("private", "defer", "delivery_status_protocol");
        DeliveryStatus.BounceAppend(0, Id, Stats(), Rcpt, "none", Dsn.Simple("5.1.1", "no such user")).ShouldBe(-1);
        WaitFor(defer, 1);
        defer[0].ShouldBe(Tokens(["nrequest", "0", "flags", "0", "queue_id", Id], RcptTokens(Rcpt),
            DsnTokens("4.3.0", "delayed", "bounce or trace service failure")));
        var log = err.ToString();
        log.ShouldContain("warning: connect to private/bounce: No such file or directory");
        log.ShouldContain(", dsn=4.3.0, status=deferred (bounce or trace service failure)");
    }

    [Fact]
    public void BounceAppendWithCleanFlagDoesNotDefer()
    {
        DeliveryStatus.BounceAppend(BounceFlags.Clean, Id, Stats(), Rcpt, "none", Dsn.Simple("5.1.1", "x"))
            .ShouldBe(-1);
        err.ToString().ShouldNotContain("status=");
    }

    [Fact]
    public void SoftBounceDefersThroughTheDeferService()
    {
        DeliverConfig.SoftBounce = true;
        try
        {
            var defer = FakeService("private", "defer", "delivery_status_protocol");
            DeliveryStatus.BounceAppend(0, Id, Stats(), Rcpt, "none", Dsn.Simple("5.1.1", "no")).ShouldBe(-1);
            WaitFor(defer, 1);
            defer[0].ShouldContain("4.1.1");
            err.ToString().ShouldContain(", dsn=4.1.1, status=SOFTBOUNCE (no)");
        }
        finally
        {
            DeliverConfig.SoftBounce = false;
        }
    }

    [Fact]
    public void DeferAppendFixesTheStatusClassAndLogsEvenWhenTheServiceFails()
    {
        DeliveryStatus.DeferAppend(0, Id, Stats(), Rcpt, "none", Dsn.Simple("5.1.1", "later")).ShouldBe(-1);
        var log = err.ToString();
        log.ShouldContain("warning: defer_append: ignoring dsn code \"5.1.1\"");
        log.ShouldContain($"warning: {Id}: defer service failure");
        log.ShouldContain(", dsn=4.0.0, status=deferred (later)");
    }

    [Fact]
    public void DeferAppendTellsTheFlushServiceForEligibleDomains()
    {
        DeliverConfig.FlushDomains = "example.com";
        var defer = FakeService("private", "defer", "delivery_status_protocol");
        var flush = FakeService("public", "flush", "queue_flush_protocol");
        DeliveryStatus.DeferAppend(0, Id, Stats(), Rcpt, "none", Dsn.Simple("4.4.1", "later")).ShouldBe(-1);
        WaitFor(flush, 1);
        flush[0].ShouldBe(["request", "add", "site", "example.com", "queue_id", Id]);
        err.ToString().ShouldNotContain("warning");
    }

    [Fact]
    public void SentWithRecordFlagSendsATraceRecord()
    {
        var trace = FakeService("private", "trace", "delivery_status_protocol");
        var rcpt = new Recipient("", "user@example.com", 5, "", 0);
        DeliveryStatus.Sent(DelReqFlags.Record, Id, Stats(), rcpt, "mx.example[192.0.2.1]:25",
            Dsn.Simple("2.0.0", "250 ok")).ShouldBe(0);
        WaitFor(trace, 1);
        trace[0].ShouldBe(Tokens(["nrequest", "0", "flags", DelReqFlags.Record.ToString(), "queue_id", Id],
            RcptTokens(rcpt), DsnTokens("2.0.0", "delivered", "delivery via mx.example[192.0.2.1]:25: 250 ok")));
        err.ToString().ShouldContain("relay=mx.example[192.0.2.1]:25, delay=");
        err.ToString().ShouldContain(", dsn=2.0.0, status=sent (250 ok)");
    }

    [Fact]
    public void SentWithoutTraceServiceDefers()
    {
        var defer = FakeService("private", "defer", "delivery_status_protocol");
        var rcpt = new Recipient("", "user@example.com", 5, "", DsnNotify.Success);
        DeliveryStatus.Sent(0, Id, Stats(), rcpt, "none", Dsn.Simple("2.0.0", "ok")).ShouldBe(-1);
        WaitFor(defer, 1);
        err.ToString().ShouldContain($", dsn=4.3.0, status=deferred ({Id}: trace service failed)");
    }

    [Fact]
    public void SentWarnsAboutABadStatus()
    {
        DeliveryStatus.Sent(0, Id, Stats(), Rcpt, "none", Dsn.Simple("5.0.0", "x")).ShouldBe(0);
        err.ToString().ShouldContain("warning: sent: ignoring dsn code \"5.0.0\"");
        err.ToString().ShouldContain(", dsn=2.0.0, status=sent (x)");
    }

    [Fact]
    public void ProbesGoToTheVerifyService()
    {
        var verify = FakeService("private", "verify", "address_verification_prrotocol", persistent: true);
        DeliveryStatus.Sent(DelReqFlags.MtaVrfy, Id, Stats(), Rcpt, "none", Dsn.Simple("2.0.0", "ok")).ShouldBe(0);
        WaitFor(verify, 2);
        verify[0].ShouldBe(["request", "update", "address", "orig@example.com", "recipient_status", "0", "reason", "ok"]);
        verify[1].ShouldBe(["request", "update", "address", "user@example.com", "recipient_status", "0", "reason", "ok"]);
        err.ToString().ShouldContain(", dsn=2.0.0, status=deliverable (ok)");
    }

    [Fact]
    public void UserProbesGoToTheTraceService()
    {
        var trace = FakeService("private", "trace", "delivery_status_protocol");
        DeliveryStatus.BounceAppend(DelReqFlags.UsrVrfy, Id, Stats(), Rcpt, "none", Dsn.Simple("5.1.1", "unknown"))
            .ShouldBe(0);
        WaitFor(trace, 1);
        trace[0].ShouldContain("undeliverable");
        err.ToString().ShouldContain(", dsn=5.1.1, status=undeliverable (unknown)");
    }

    [Fact]
    public void FilterReplacesStatus()
    {
        var defer = FakeService("private", "defer", "delivery_status_protocol");
        DeliveryStatus.Filter = d => d.Status == "5.1.1" ? new Dsn("4.7.0", "delayed", "try later") : null;
        DeliveryStatus.BounceAppend(0, Id, Stats(), Rcpt, "none", Dsn.Simple("5.1.1", "unknown")).ShouldBe(-1);
        WaitFor(defer, 1);
        err.ToString().ShouldContain(", dsn=4.7.0, status=deferred (try later)");
    }

    [Fact]
    public void FlushAndWarnRequests()
    {
        var bounce = FakeService("private", "bounce", "delivery_status_protocol");
        var defer = FakeService("private", "defer", "delivery_status_protocol");
        var trace = FakeService("private", "trace", "delivery_status_protocol");
        BounceClient.Flush(0, "active", Id, "7bit", 0, "s@x", "", DsnRet.Full).ShouldBe(0);
        BounceClient.DeferFlush(0, "active", Id, "7bit", 0, "s@x", "", 0).ShouldBe(0);
        BounceClient.DeferWarn(0, "active", Id, "7bit", 0, "s@x", "", 0).ShouldBe(0);
        BounceClient.TraceFlush(0, "active", Id, "7bit", 0, "s@x", "", 0).ShouldBe(0);
        WaitFor(bounce, 1);
        WaitFor(defer, 2);
        WaitFor(trace, 1);
        bounce[0].ShouldBe(["nrequest", "1", "flags", "0", "queue_name", "active", "queue_id", Id, "encoding", "7bit",
            "smtputf8", "0", "sender", "s@x", "envelope_id", "", "ret_flags", "1"]);
        defer[0][1].ShouldBe("1");
        defer[0][3].ShouldBe("2"); // BOUNCE_FLAG_DELRCPT
        defer[1][1].ShouldBe("2");
        trace[0].ShouldBe(["nrequest", "5", "flags", "0", "queue_name", "active", "queue_id", Id, "encoding", "7bit",
            "smtputf8", "0", "sender", "s@x", "envelope_id", "", "ret_flags", "0"]);
    }

    [Fact]
    public void FailedFlushLogsDeferred()
    {
        BounceClient.Flush(0, "active", Id, "", 0, "s@x", "", 0).ShouldBe(-1);
        err.ToString().ShouldContain($"{Id}: status=deferred (bounce failed)");
    }

    [Fact]
    public void DeliverCompletedMarksTheRecord()
    {
        var qf = Path.Combine(dir.FullName, "active", Id);
        using (var fs = new FileStream(qf, FileMode.Open, FileAccess.ReadWrite))
            DeliverCompleted.Mark(fs, 3);
        File.ReadAllBytes(qf)[3].ShouldBe((byte)'D');
    }
}
