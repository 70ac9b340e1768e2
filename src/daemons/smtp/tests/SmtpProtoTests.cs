// NAME
//	SmtpProtoTests - the SMTP/LMTP client against a scripted server
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Postfix.Global.Deliver;
using Postfix.Global.Queue;
using Shouldly;
using Xunit;

namespace Postfix.Daemons.Smtp.Tests;

internal sealed class RecordingReporter : IDeliveryReporter
{
    public List<(string Kind, string Rcpt, string Relay, Dsn Dsn)> Events { get; } = new();

    public int Sent(DeliverRequest r, Recipient rcpt, string relay, Dsn dsn) => Add("sent", rcpt, relay, dsn, 0);
    public int Bounce(DeliverRequest r, Recipient rcpt, string relay, Dsn dsn) => Add("bounced", rcpt, relay, dsn, 0);
    public int Defer(DeliverRequest r, Recipient rcpt, string relay, Dsn dsn) => Add("deferred", rcpt, relay, dsn, -1);

    private int Add(string kind, Recipient rcpt, string relay, Dsn dsn, int status)
    {
        Events.Add((kind, rcpt.Address, relay, dsn));
        return status;
    }
}

public sealed class SmtpProtoTests : System.IDisposable
{
    private readonly FakeSmtpServer server = new();

    public void Dispose() => server.Dispose();

    private static (DeliverRequest, byte[]) Request(string nexthop, string[] rcpts, params string[] lines)
    {
        var ms = new MemoryStream();
        var w = new RecordWriter(ms);
        w.Put(RecordType.Mesg, "");
        var offset = ms.Position;
        foreach (var line in lines)
            w.Put(RecordType.Norm, line);
        w.Put(RecordType.Xtra, "");
        w.Put(RecordType.End, "");
        var request = new DeliverRequest
        {
            QueueId = "ABC1234567",
            QueueName = "active",
            Nexthop = nexthop,
            Sender = "sender@example.org",
            Encoding = "7bit",
            DataOffset = offset,
            DataSize = 100,
        };
        foreach (var r in rcpts)
            request.Recipients.Add(new Recipient(r, r, 0, "", 0));
        return (request, ms.ToArray());
    }

    private static SmtpSettings Settings(bool lmtp = false) => new()
    {
        Lmtp = lmtp,
        HeloName = "client.example",
        MyHostname = "client.example",
        LookupDns = false,
        LookupNative = true,
        ConnectTimeout = 5,
        HeloTimeout = 5,
        MailTimeout = 5,
        RcptTimeout = 5,
        DataInitTimeout = 5,
        DataXferTimeout = 5,
        DataDoneTimeout = 5,
        RsetTimeout = 5,
        QuitTimeout = 5,
        MxAddressLimit = 5,
        MxSessionLimit = 2,
    };

    private RecordingReporter Run(DeliverRequest request, byte[] bytes, SmtpSettings? settings = null)
    {
        var reporter = new RecordingReporter();
        var state = new SmtpState(request, settings ?? Settings(), reporter);
        SmtpConnect.Deliver(state, null, bytes);
        return reporter;
    }

    private string Relay => $"127.0.0.1[127.0.0.1]:{server.Port}";

    [Fact]
    public void DeliversWithPipeliningAndDotStuffing()
    {
        var (req, bytes) = Request($"[127.0.0.1]:{server.Port}", new[] { "a@example.com", "b@example.com" },
            "Subject: hi", "", ".leading dot", "body");
        var rep = Run(req, bytes);
        rep.Events.Select(e => (e.Kind, e.Rcpt, e.Relay)).ShouldBe(new[]
        {
            ("sent", "a@example.com", Relay), ("sent", "b@example.com", Relay),
        });
        rep.Events[0].Dsn.Reason.ShouldBe("250 2.0.0 Ok: queued as ABC123");
        rep.Events[0].Dsn.Action.ShouldBe("relayed");
        server.Messages.Single().ShouldBe("Subject: hi\n\n.leading dot\nbody\n");
        var cmds = server.Commands.ToArray();
        cmds[0].ShouldBe("EHLO client.example");
        cmds[1].ShouldBe("MAIL FROM:<sender@example.org> SIZE=100 BODY=7BIT");
        cmds[2].ShouldBe("RCPT TO:<a@example.com> ORCPT=rfc822;a@example.com");
        cmds.Last().ShouldBe("QUIT");
    }

    [Fact]
    public void RecipientRejectionsBounceOrDefer()
    {
        server.Replies["RCPT TO:<bad@"] = "550 5.1.1 <bad@example.com>: Recipient address rejected";
        server.Replies["RCPT TO:<later@"] = "450 4.2.0 <later@example.com>: try later";
        var (req, bytes) = Request($"[127.0.0.1]:{server.Port}", new[] { "bad@example.com", "later@example.com", "ok@example.com" }, "x");
        var rep = Run(req, bytes);
        rep.Events.Select(e => (e.Kind, e.Rcpt)).ShouldBe(new[]
        {
            ("bounced", "bad@example.com"), ("deferred", "later@example.com"), ("sent", "ok@example.com"),
        });
        rep.Events[0].Dsn.Reason.ShouldBe("host 127.0.0.1[127.0.0.1] said: 550 5.1.1 <bad@example.com>: Recipient address rejected (in reply to RCPT TO command)");
        rep.Events[0].Dsn.Status.ShouldBe("5.1.1");
        rep.Events[0].Dsn.Mtype.ShouldBe("dns");
        rep.Events[0].Dsn.Mname.ShouldBe("127.0.0.1");
        rep.Events[0].Dsn.Dtype.ShouldBe("smtp");
        rep.Events[1].Dsn.Status.ShouldBe("4.2.0");
    }

    [Fact]
    public void MailFromRejectedFailsAll()
    {
        server.Replies["MAIL"] = "553 5.7.1 sender rejected";
        server.Replies["DATA"] = "503 5.5.1 Error: need MAIL command";
        var (req, bytes) = Request($"[127.0.0.1]:{server.Port}", new[] { "a@example.com", "b@example.com" }, "x");
        var rep = Run(req, bytes);
        rep.Events.Select(e => e.Kind).ShouldBe(new[] { "bounced", "bounced" });
        rep.Events[0].Dsn.Reason.ShouldBe("host 127.0.0.1[127.0.0.1] said: 553 5.7.1 sender rejected (in reply to MAIL FROM command)");
        server.Messages.ShouldBeEmpty();
        server.Commands.ShouldContain("RSET");
    }

    [Fact]
    public void WithoutPipeliningOneCommandAtATime()
    {
        server.Features = new List<string> { "8BITMIME" };
        server.Replies["RCPT"] = "550 5.1.1 no such user";
        var (req, bytes) = Request($"[127.0.0.1]:{server.Port}", new[] { "a@example.com" }, "x");
        var rep = Run(req, bytes);
        rep.Events.Single().Kind.ShouldBe("bounced");
        server.Commands.ShouldNotContain("DATA");
        server.Commands.ToArray()[1].ShouldBe("MAIL FROM:<sender@example.org> BODY=7BIT");
    }

    [Fact]
    public void DataAndDotReplies()
    {
        server.DotReplies.Enqueue("554 5.7.1 message content rejected");
        var (req, bytes) = Request($"[127.0.0.1]:{server.Port}", new[] { "a@example.com" }, "x");
        var rep = Run(req, bytes);
        rep.Events.Single().Dsn.Reason.ShouldBe("host 127.0.0.1[127.0.0.1] said: 554 5.7.1 message content rejected (in reply to end of DATA command)");
        server.Replies["DATA"] = "451 4.3.0 not now";
        (req, bytes) = Request($"[127.0.0.1]:{server.Port}", new[] { "a@example.com" }, "x");
        rep = Run(req, bytes);
        rep.Events.Single().Kind.ShouldBe("deferred");
        rep.Events.Single().Dsn.Reason.ShouldEndWith("451 4.3.0 not now (in reply to DATA command)");
    }

    [Fact]
    public void GreetingRefusals()
    {
        server.Greeting = "554 5.7.1 go away";
        var (req, bytes) = Request($"[127.0.0.1]:{server.Port}", new[] { "a@example.com" }, "x");
        var rep = Run(req, bytes);
        rep.Events.Single().Kind.ShouldBe("deferred");
        rep.Events.Single().Dsn.Status.ShouldBe("4.7.1");
        rep.Events.Single().Dsn.Reason.ShouldBe("host 127.0.0.1[127.0.0.1] refused to talk to me: 554 5.7.1 go away");
        var s = Settings();
        rep = Run(Request($"[127.0.0.1]:{server.Port}", new[] { "a@example.com" }, "x").Item1, bytes, new SmtpSettings
        {
            HeloName = s.HeloName, MyHostname = s.MyHostname, LookupDns = false, LookupNative = true, Skip5xxGreeting = false,
        });
        rep.Events.Single().Kind.ShouldBe("bounced");
    }

    [Fact]
    public void EhloRejectedFallsBackToHelo()
    {
        server.Replies["EHLO"] = "502 5.5.2 command not recognized";
        var (req, bytes) = Request($"[127.0.0.1]:{server.Port}", new[] { "a@example.com" }, "x");
        var rep = Run(req, bytes);
        rep.Events.Single().Kind.ShouldBe("sent");
        server.Commands.ShouldContain("HELO client.example");
        server.Commands.ShouldContain("MAIL FROM:<sender@example.org>");
    }

    [Fact]
    public void LostConnection()
    {
        server.HangUpAfter = "RCPT";
        server.Features = new List<string>();
        var (req, bytes) = Request($"[127.0.0.1]:{server.Port}", new[] { "a@example.com" }, "x");
        var rep = Run(req, bytes);
        rep.Events.Single().Kind.ShouldBe("deferred");
        rep.Events.Single().Dsn.Reason.ShouldBe("lost connection with 127.0.0.1[127.0.0.1] while sending RCPT TO");
        rep.Events.Single().Dsn.Status.ShouldBe("4.4.2");
    }

    [Fact]
    public void ConnectionRefusedDefersWithRelayNone()
    {
        var port = server.Port;
        server.Dispose();
        var (req, bytes) = Request($"[127.0.0.1]:{port}", new[] { "a@example.com" }, "x");
        var rep = Run(req, bytes);
        rep.Events.Single().Kind.ShouldBe("deferred");
        rep.Events.Single().Relay.ShouldBe("none");
        rep.Events.Single().Dsn.Reason.ShouldBe($"connect to 127.0.0.1[127.0.0.1]:{port}: Connection refused");
    }

    [Fact]
    public void DsnParameters()
    {
        var (req, bytes) = Request($"[127.0.0.1]:{server.Port}", new[] { "a@example.com" }, "x");
        req.DsnEnvid = "id+1=2";
        req.DsnRet = DsnRet.Hdrs;
        req.Recipients[0].DsnNotify = DsnNotify.Success | DsnNotify.Failure;
        req.Recipients[0].DsnOrcpt = "rfc822;orig@example.com";
        Run(req, bytes);
        var cmds = server.Commands.ToArray();
        cmds[1].ShouldBe("MAIL FROM:<sender@example.org> SIZE=100 BODY=7BIT ENVID=id+2B1+3D2 RET=HDRS");
        cmds[2].ShouldBe("RCPT TO:<a@example.com> ORCPT=rfc822;orig@example.com NOTIFY=SUCCESS,FAILURE");
    }

    [Fact]
    public void LmtpPerRecipientDotReplies()
    {
        server.Lmtp = true;
        server.DotReplies.Enqueue("250 2.0.0 a delivered");
        server.DotReplies.Enqueue("452 4.2.2 b over quota");
        var (req, bytes) = Request($"inet:127.0.0.1:{server.Port}", new[] { "a@example.com", "b@example.com" }, "x");
        var rep = Run(req, bytes, Settings(lmtp: true));
        rep.Events.Select(e => (e.Kind, e.Rcpt)).ShouldBe(new[] { ("sent", "a@example.com"), ("deferred", "b@example.com") });
        rep.Events[1].Dsn.Reason.ShouldBe("host 127.0.0.1[127.0.0.1] said: 452 4.2.2 b over quota (in reply to end of DATA command)");
        server.Commands.First().ShouldBe("LHLO client.example");
    }

    [Fact]
    public void LongLinesAreBrokenWithCrLfSpace()
    {
        var (req, bytes) = Request($"[127.0.0.1]:{server.Port}", new[] { "a@example.com" }, new string('x', 25), ".dot", "end");
        var s = Settings();
        var rep = Run(req, bytes, new SmtpSettings
        {
            HeloName = s.HeloName, MyHostname = s.MyHostname, LookupDns = false, LookupNative = true, LineLengthLimit = 10,
        });
        rep.Events.Single().Kind.ShouldBe("sent");
        server.Messages.Single().ShouldBe("xxxxxxxxxx\n xxxxxxxxx\n xxxxxx\n.dot\nend\n");
    }

    private static System.Security.Cryptography.X509Certificates.X509Certificate2 SelfSigned()
    {
        using var rsa = System.Security.Cryptography.RSA.Create(2048);
        var req = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=fake.example", rsa,
            System.Security.Cryptography.HashAlgorithmName.SHA256, System.Security.Cryptography.RSASignaturePadding.Pkcs1);
        using var cert = req.CreateSelfSigned(System.DateTimeOffset.Now.AddDays(-1), System.DateTimeOffset.Now.AddDays(1));
        return System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadPkcs12(cert.Export(
            System.Security.Cryptography.X509Certificates.X509ContentType.Pfx), null);
    }

    private static SmtpSettings TlsSettings(string level)
    {
        var s = Settings();
        return new SmtpSettings
        {
            HeloName = s.HeloName, MyHostname = s.MyHostname, LookupDns = false, LookupNative = true, TlsSecurityLevel = level,
        };
    }

    [Fact]
    public void StartTlsWhenOffered()
    {
        server.Certificate = SelfSigned();
        server.Features = new List<string> { "PIPELINING", "STARTTLS" };
        var (req, bytes) = Request($"[127.0.0.1]:{server.Port}", new[] { "a@example.com" }, "secret");
        var rep = Run(req, bytes, TlsSettings("encrypt"));
        rep.Events.Single().Kind.ShouldBe("sent");
        server.TlsActive.ShouldBeTrue();
        server.Commands.Count(c => c.StartsWith("EHLO")).ShouldBe(2);
        server.Messages.Single().ShouldBe("secret\n");
    }

    [Fact]
    public void TlsRequiredButNotOffered()
    {
        var (req, bytes) = Request($"[127.0.0.1]:{server.Port}", new[] { "a@example.com" }, "x");
        var rep = Run(req, bytes, TlsSettings("encrypt"));
        rep.Events.Single().Kind.ShouldBe("deferred");
        rep.Events.Single().Dsn.Status.ShouldBe("4.7.4");
        rep.Events.Single().Dsn.Reason.ShouldBe("TLS is required, but was not offered by host 127.0.0.1[127.0.0.1]");
        (req, bytes) = Request($"[127.0.0.1]:{server.Port}", new[] { "a@example.com" }, "x");
        Run(req, bytes, TlsSettings("may")).Events.Single().Kind.ShouldBe("sent");
    }

    [Fact]
    public void VerifyRejectsASelfSignedCertificate()
    {
        server.Certificate = SelfSigned();
        server.Features = new List<string> { "STARTTLS" };
        var (req, bytes) = Request($"[127.0.0.1]:{server.Port}", new[] { "a@example.com" }, "x");
        var rep = Run(req, bytes, TlsSettings("secure"));
        rep.Events.Single().Kind.ShouldBe("deferred");
        rep.Events.Single().Dsn.Status.ShouldBe("4.7.5");
    }

    // A message that waited (active - incoming arrival) this long.
    private static void Waited(DeliverRequest req, long seconds)
    {
        var now = TimeVal.Now();
        req.Stats.ActiveArrival = now;
        req.Stats.IncomingArrival = new TimeVal(now.Sec - seconds, 0);
    }

    [Fact]
    public void FailedOpportunisticHandshakeIsRetriedInPlaintext()
    {
        server.BreakTls = true;
        server.Features = new List<string> { "PIPELINING", "STARTTLS" };
        var (req, bytes) = Request($"[127.0.0.1]:{server.Port}", new[] { "a@example.com" }, "x");
        Waited(req, 301);
        var rep = Run(req, bytes, TlsSettings("may"));
        rep.Events.Single().Kind.ShouldBe("sent");
        server.Connections.ShouldBe(2);
        server.Commands.Count(c => c == "STARTTLS").ShouldBe(1);
        server.Messages.Single().ShouldBe("x\n");
    }

    [Fact]
    public void BrokenOpportunisticTlsSessionIsRetriedInPlaintext()
    {
        server.Certificate = SelfSigned();
        server.Features = new List<string> { "PIPELINING", "STARTTLS" };
        server.HangUpAfter = "MAIL";
        var (req, bytes) = Request($"[127.0.0.1]:{server.Port}", new[] { "a@example.com" }, "x");
        Waited(req, 301);
        var rep = Run(req, bytes, TlsSettings("may"));
        // The plaintext session breaks down too: deferred after two tries.
        rep.Events.Single().Kind.ShouldBe("deferred");
        server.Connections.ShouldBe(2);
        server.Commands.Count(c => c == "STARTTLS").ShouldBe(1);
        server.Commands.Count(c => c.StartsWith("MAIL")).ShouldBe(2);
    }

    [Fact]
    public void FailedHandshakeOfNewMailOrMandatoryTlsDefers()
    {
        server.BreakTls = true;
        server.Features = new List<string> { "STARTTLS" };
        // New mail at "may": deferred, not retried in plaintext.
        var (req, bytes) = Request($"[127.0.0.1]:{server.Port}", new[] { "a@example.com" }, "x");
        Waited(req, 10);
        var rep = Run(req, bytes, TlsSettings("may"));
        rep.Events.Single().Kind.ShouldBe("deferred");
        rep.Events.Single().Dsn.Status.ShouldBe("4.7.5");
        rep.Events.Single().Dsn.Reason.ShouldBe("Cannot start TLS: handshake failure");
        req.HopStatus.ShouldBeNull();
        server.Connections.ShouldBe(1);
        // Mandatory TLS: never in plaintext, and the destination is throttled.
        (req, bytes) = Request($"[127.0.0.1]:{server.Port}", new[] { "a@example.com" }, "x");
        Waited(req, 1000);
        rep = Run(req, bytes, TlsSettings("encrypt"));
        rep.Events.Single().Kind.ShouldBe("deferred");
        req.HopStatus.ShouldNotBeNull();
        server.Connections.ShouldBe(2);
        server.Messages.ShouldBeEmpty();
    }

    [Fact]
    public void FailedHandshakeWithSaslCredentialsIsNotRetriedInPlaintext()
    {
        server.BreakTls = true;
        server.Features = new List<string> { "STARTTLS", "AUTH PLAIN" };
        var (req, bytes) = Request($"[127.0.0.1]:{server.Port}", new[] { "a@example.com" }, "x");
        Waited(req, 1000);
        var s = SaslSettings();
        var settings = new SmtpSettings
        {
            HeloName = s.HeloName, MyHostname = s.MyHostname, LookupDns = false, LookupNative = true, TlsSecurityLevel = "may",
            Sasl = s.Sasl,
        };
        var rep = Run(req, bytes, settings);
        rep.Events.Single().Kind.ShouldBe("deferred");
        server.Connections.ShouldBe(1);
    }

    private static SmtpSettings SaslSettings(string options = "noanonymous")
    {
        var s = Settings();
        return new SmtpSettings
        {
            HeloName = s.HeloName, MyHostname = s.MyHostname, LookupDns = false, LookupNative = true,
            Sasl = new SmtpSaslSettings
            {
                Enable = true, SecurityOptions = options,
                Lookup = k => k.StartsWith("[127.0.0.1]") ? "user:secret" : null,
            },
        };
    }

    [Fact]
    public void SaslPlainAndLogin()
    {
        server.Features = new List<string> { "PIPELINING", "AUTH PLAIN LOGIN" };
        var (req, bytes) = Request($"[127.0.0.1]:{server.Port}", new[] { "a@example.com" }, "x");
        Run(req, bytes, SaslSettings()).Events.Single().Kind.ShouldBe("sent");
        server.Commands.ShouldContain("AUTH PLAIN AHVzZXIAc2VjcmV0");
        server.Features = new List<string> { "AUTH LOGIN" };
        server.Replies["AUTH LOGIN"] = "334 VXNlcm5hbWU6";
        server.Replies["dXNlcg=="] = "334 UGFzc3dvcmQ6";
        server.Replies["c2VjcmV0"] = "235 2.7.0 Authentication successful";
        (req, bytes) = Request($"[127.0.0.1]:{server.Port}", new[] { "a@example.com" }, "x");
        Run(req, bytes, SaslSettings()).Events.Single().Kind.ShouldBe("sent");
        server.Commands.ShouldContain("dXNlcg==");
    }

    [Fact]
    public void SaslFailures()
    {
        server.Features = new List<string> { "AUTH PLAIN" };
        server.Replies["AUTH"] = "535 5.7.8 Error: authentication failed";
        var (req, bytes) = Request($"[127.0.0.1]:{server.Port}", new[] { "a@example.com" }, "x");
        var rep = Run(req, bytes, SaslSettings());
        rep.Events.Single().Kind.ShouldBe("deferred");
        rep.Events.Single().Dsn.Reason.ShouldBe("SASL authentication failed; server 127.0.0.1[127.0.0.1] said: 535 5.7.8 Error: authentication failed");
        rep.Events.Single().Dsn.Status.ShouldBe("4.7.8");
        (req, bytes) = Request($"[127.0.0.1]:{server.Port}", new[] { "a@example.com" }, "x");
        rep = Run(req, bytes, SaslSettings("noplaintext, noanonymous"));
        rep.Events.Single().Dsn.Reason.ShouldBe("SASL authentication failed; cannot authenticate to server 127.0.0.1[127.0.0.1]: no mechanism available");
    }

    [Fact]
    public void QuotingAndXtext()
    {
        SmtpText.Quote821("a b@example.com").ShouldBe("\"a b\"@example.com");
        SmtpText.Quote821("plain.user@example.com").ShouldBe("plain.user@example.com");
        SmtpText.Quote821("").ShouldBe("");
        SmtpText.Xtext("a+b=c d", "=").ShouldBe("a+2Bb+3Dc+20d");
    }

    [Fact]
    public void DestinationForms()
    {
        SmtpDestination.Parse("example.com", false, "smtp", out _).ShouldBe(new SmtpDestination(false, "example.com", 25, false));
        SmtpDestination.Parse("[mail.example.com]", false, "smtp", out _).ShouldBe(new SmtpDestination(false, "mail.example.com", 25, true));
        SmtpDestination.Parse("example.com:2525", false, "smtp", out _).ShouldBe(new SmtpDestination(false, "example.com", 2525, false));
        SmtpDestination.Parse("[192.0.2.1]:587", false, "smtp", out _).ShouldBe(new SmtpDestination(false, "192.0.2.1", 587, true));
        SmtpDestination.Parse("[ipv6:2001:db8::1]:25", false, "smtp", out _).ShouldBe(new SmtpDestination(false, "2001:db8::1", 25, true));
        SmtpDestination.Parse("unix:/var/run/lmtp", true, "24", out _).ShouldBe(new SmtpDestination(true, "/var/run/lmtp", 0, true));
        SmtpDestination.Parse("inet:host.example", true, "24", out _).ShouldBe(new SmtpDestination(false, "host.example", 24, true));
        SmtpDestination.Parse("[host", false, "smtp", out var error).ShouldBeNull();
        error.ShouldBe("missing \"]\"");
    }
}
