// NAME
//	DeliverReferenceTests - our queue-manager side against the reference
//	Postfix delivery agents
// DESCRIPTION
//	The reference's discard(8) and error(8) run stand-alone (-S) on a
//	UNIX-domain connection (a small perl wrapper accepts it and execs the
//	daemon with the socket as stdin), in a scratch queue directory. Our
//	DeliverClient writes the request; the reference reads it, logs to
//	stderr (-V), marks recipients done and replies. The request carries
//	a delivery-done time stamp, which makes the reference's delay fields
//	deterministic: its log lines must equal what our LogAdhoc and
//	DeliveryStatus produce for the same request. Skipped without root,
//	perl or the reference daemons.
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading;
using Postfix.Global.Deliver;
using Postfix.Util;
using Shouldly;
using Xunit;

namespace Postfix.Global.Tests;

[Collection("Msg")]
public sealed class DeliverReferenceTests : IDisposable
{
    private const string RefDaemons = "/usr/lib/postfix/sbin";
    private const string Id = "5B6C7D8E9F";
    private readonly DirectoryInfo dir = Directory.CreateTempSubdirectory("deliver-ref");
    private readonly TextWriter savedErr = Msg.Err;
    private readonly StringWriter err = new();

    public DeliverReferenceTests()
    {
        var q = Path.Combine(dir.FullName, "q");
        Directory.CreateDirectory(Path.Combine(q, "active"));
        Directory.CreateDirectory(Path.Combine(q, "private"));
        Directory.CreateDirectory(Path.Combine(dir.FullName, "conf"));
        File.WriteAllText(Path.Combine(dir.FullName, "conf", "main.cf"),
            $"queue_directory = {q}\ncompatibility_level = 3.6\nmydestination =\ninet_protocols = ipv4\n");
        File.SetLastWriteTimeUtc(Path.Combine(dir.FullName, "conf", "main.cf"), System.DateTime.UtcNow.AddMinutes(-1)); // cool: a fresh main.cf is re-read after 300 ms pauses
        File.WriteAllBytes(QueueFile, Encoding.ASCII.GetBytes("C\u0001xR\u0003a@bR\u0003c@dR\u0003e@fE\0"));
        File.SetUnixFileMode(QueueFile, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        DeliverConfig.QueueDirectory = q;
        DeliverConfig.FlushDomains = "";
        DeliverConfig.SoftBounce = false;
        DeliveryStatus.Filter = null;
    }

    private string QueueFile => Path.Combine(dir.FullName, "q", "active", Id);

    public void Dispose()
    {
        Msg.Err = savedErr;
        DeliverConfig.QueueDirectory = null;
        dir.Delete(true);
    }

    private static bool Available() =>
        Sys.GetEuid() == 0 && File.Exists("/usr/bin/perl") && File.Exists(Path.Combine(RefDaemons, "discard"));

    private static DeliverRequest Request(string nexthop) => new()
    {
        Flags = DelReqFlags.Deflt,
        QueueName = "active",
        QueueId = Id,
        Nexthop = nexthop,
        Sender = "s@example.org",
        Stats = new MsgStats
        {
            IncomingArrival = new TimeVal(1_700_000_000, 0),
            ActiveArrival = new TimeVal(1_700_000_000, 123_456),
            AgentHandoff = new TimeVal(1_700_000_001, 500_000),
            DeliverDone = new TimeVal(1_700_000_013, 987_654),
        },
        Recipients =
        {
            new Recipient("", "a@b", 3, "", 0),
            new Recipient("Other@X", "c@d", 8, "rfc822;Other@X", DsnNotify.Failure),
            new Recipient("C@D", "john smith@d", 13, "", 0),
        },
    };

    // RunReference - one request to the reference daemon NAME run as
    // SERVICE; its stderr lines and the queue manager's verdict.
    private (List<string> Log, int Verdict, Dsn Hop) RunReference(string name, string service, DeliverRequest request)
    {
        var sock = Path.Combine(dir.FullName, "q", "private", service);
        var wrapper = "use Socket; my $p = shift; socket(L, PF_UNIX, SOCK_STREAM, 0) or die; "
            + "bind(L, sockaddr_un($p)) or die \"bind: $!\"; listen(L, 1); accept(C, L) or die; "
            + "open(STDIN, '<&', \\*C) or die; open(STDOUT, '>&', \\*C) or die; close(C); close(L); exec @ARGV or die;";
        var psi = new ProcessStartInfo("/usr/bin/perl")
        {
            RedirectStandardError = true,
            RedirectStandardInput = false,
            UseShellExecute = false,
        };
        foreach (var a in new[] { "-e", wrapper, sock, Path.Combine(RefDaemons, name), "-S", "-V", "-n", service })
            psi.ArgumentList.Add(a);
        psi.Environment["MAIL_CONFIG"] = Path.Combine(dir.FullName, "conf");
        using var proc = Process.Start(psi)!;
        var stderr = proc.StandardError.ReadToEndAsync();
        for (var i = 0; i < 100 && !File.Exists(sock); i++)
            Thread.Sleep(20);
        int verdict;
        var dsb = new DsnBuf();
        using (var client = DeliverClient.Connect("private", service, out var errno))
        {
            client.ShouldNotBeNull($"connect: {errno}");
            client.InitialReply().ShouldBe(0);
            client.Send(request, request.Recipients).ShouldBeTrue();
            verdict = client.FinalReply(dsb);
        }
        proc.WaitForExit(10_000).ShouldBeTrue();
        var lines = stderr.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l[(l.IndexOf(": ", StringComparison.Ordinal) + 2)..]).ToList();
        return (lines, verdict, dsb.ToDsn());
    }

    // Ours - our log lines for the same work, without the program prefix.
    private List<string> Ours(Action work)
    {
        err.GetStringBuilder().Clear();
        Msg.Err = err;
        try
        {
            work();
        }
        finally
        {
            Msg.Err = savedErr;
        }
        return err.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l[(l.IndexOf(": ", StringComparison.Ordinal) + 2)..]).ToList();
    }

    [Fact]
    public void ReferenceDiscardAcceptsOurRequestAndLogsAsWeDo()
    {
        if (!Available())
            return;
        var request = Request("2.7.0 dropped by policy");
        var (log, verdict, hop) = RunReference("discard", "discard", request);
        verdict.ShouldBe(DeliverStat.Ok);
        hop.ShouldBe(new Dsn("", "", ""));
        var bytes = File.ReadAllBytes(QueueFile);
        ((char)bytes[3]).ShouldBe('D');
        ((char)bytes[8]).ShouldBe('D');
        ((char)bytes[13]).ShouldBe('D');
        var dsn = Dsn.Simple("2.7.0", "dropped by policy");
        var ours = Ours(() =>
        {
            foreach (var r in request.Recipients)
                DeliveryStatus.Sent(0, Id, request.Stats, r, "none", dsn).ShouldBe(0);
        });
        log.ShouldBe(ours);
        log[0].ShouldBe($"{Id}: to=<a@b>, relay=none, delay=14, delays=0.12/1.4/0/12, dsn=2.7.0, status=sent (dropped by policy)");
        log[2].ShouldStartWith($"{Id}: to=<\"john smith\"@d>, orig_to=<C@D>, relay=none,");
    }

    [Fact]
    public void ReferenceErrorFallsBackToDeferAsWeDo()
    {
        if (!Available())
            return;
        var request = Request("5.1.1 no such place");
        var (log, verdict, _) = RunReference("error", "error", request);
        verdict.ShouldBe(DeliverStat.Defer);
        ((char)File.ReadAllBytes(QueueFile)[3]).ShouldBe('R');
        var dsn = Dsn.Simple("5.1.1", "no such place");
        var ours = Ours(() =>
        {
            foreach (var r in request.Recipients)
                DeliveryStatus.BounceAppend(0, Id, request.Stats, r, "none", dsn).ShouldBe(-1);
        });
        log.ShouldBe(ours);
        log.ShouldContain("warning: connect to private/bounce: No such file or directory");
        log.ShouldContain($"{Id}: to=<a@b>, relay=none, delay=14, delays=0.12/1.4/0/12, dsn=4.3.0, status=deferred (bounce or trace service failure)");
    }

    [Fact]
    public void ReferenceRetryDefersAsWeDo()
    {
        if (!Available())
            return;
        var request = Request("5.2.2 mailbox full");
        var (log, verdict, _) = RunReference("error", "retry", request);
        verdict.ShouldBe(DeliverStat.Defer);
        var dsn = Dsn.Simple("5.2.2", "mailbox full");
        var ours = Ours(() =>
        {
            foreach (var r in request.Recipients)
                DeliveryStatus.DeferAppend(0, Id, request.Stats, r, "none", dsn).ShouldBe(-1);
        });
        log.ShouldBe(ours);
        log.ShouldContain("warning: defer_append: ignoring dsn code \"5.2.2\"");
    }
}
