// NAME
//	SmtpdCheckerTests - unit tests of the restriction engine
// DESCRIPTION
//	Each test writes a main.cf (and texthash tables) into a scratch
//	directory, builds an SmtpdChecker with a fake address resolver and
//	checks the replies, the saved state and the log lines.
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using Postfix.Global.Attr;
using Postfix.Global.Config;
using Postfix.Util;
using Shouldly;
using Xunit;

namespace Postfix.Daemons.SmtpdCheck.Tests;

[Collection("msg")]
public sealed class SmtpdCheckerTests : IDisposable
{
    private readonly string dir = Path.Combine(Path.GetTempPath(), "smtpdcheck-" + Guid.NewGuid().ToString("N"));
    private readonly List<string> log = new();
    private readonly Action<string, string> sink;

    public SmtpdCheckerTests()
    {
        Directory.CreateDirectory(dir);
        sink = (level, text) =>
        {
            lock (log)
                log.Add(level is null or "info" ? text : $"{level}: {text}");
        };
        Msg.Sinks.Add(sink);
        Msg.StderrEnabled = false;
    }

    public void Dispose()
    {
        Msg.Sinks.Remove(sink);
        Directory.Delete(dir, true);
    }

    private string Table(string name, string content)
    {
        var path = Path.Combine(dir, name);
        File.WriteAllText(path, content);
        File.SetLastWriteTimeUtc(path, System.DateTime.UtcNow.AddMinutes(-1)); // cool: a fresh table is re-read after 300 ms pauses
        return "texthash:" + path;
    }

    private SmtpdChecker Checker(string mainCf)
    {
        File.WriteAllText(Path.Combine(dir, "main.cf"),
            "compatibility_level = 3.6\nmydestination = local.test\nmynetworks = 10.0.0.0/8\ninet_interfaces = loopback-only\ninet_protocols = ipv4\n"
            + "local_recipient_maps =\n" + mainCf);
        File.SetLastWriteTimeUtc(Path.Combine(dir, "main.cf"), System.DateTime.UtcNow.AddMinutes(-1)); // cool: a fresh main.cf is re-read after 300 ms pauses
        var conf = MailConf.Read(dir);
        return new SmtpdChecker(conf) { Resolver = FakeResolve };
    }

    // FakeResolve - local.test is final (local), relay.test relays, everything else goes out.
    private static ResolveReply? FakeResolve(string sender, string addr)
    {
        var at = addr.LastIndexOf('@');
        var domain = at < 0 ? "local.test" : addr[(at + 1)..].ToLowerInvariant();
        var full = at < 0 ? addr + "@local.test" : addr;
        if (domain == "local.test")
            return new ResolveReply("local", "local.test", full, MailProto.ResolveFlagFinal | MailProto.ResolveClassLocal);
        if (domain == "relay.test")
            return new ResolveReply("relay", "relay.test", full, MailProto.ResolveClassRelay);
        if (domain == "gone.test")
            return new ResolveReply("error", "5.1.1 user unknown", full, MailProto.ResolveClassDefault);
        return new ResolveReply("smtp", domain, full, MailProto.ResolveClassDefault);
    }

    private static SmtpdState Session(string addr = "192.0.2.1", string name = "client.example")
    {
        return new SmtpdState
        {
            Addr = addr,
            Name = name,
            ReverseName = name,
            NamAddr = $"{name}[{addr}]",
            Protocol = "ESMTP",
            HeloName = "helo.example",
            Sender = "s@example.com",
            Where = "RCPT",
        };
    }

    [Fact]
    public void SplitListKeepsBraces()
    {
        SmtpdChecker.SplitList("a, b {c, d} ,e").ShouldBe(new[] { "a", "b", "{c, d}", "e" });
    }

    [Fact]
    public void RelayAccessDeniedAndItsLogLine()
    {
        var c = Checker("smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination\n");
        var st = Session();
        c.CheckRcpt(st, "x@remote.test").ShouldBe("554 5.7.1 <x@remote.test>: Relay access denied");
        log.ShouldContain("NOQUEUE: reject: RCPT from client.example[192.0.2.1]: 554 5.7.1 <x@remote.test>: Relay access denied; from=<s@example.com> to=<x@remote.test> proto=ESMTP helo=<helo.example>");
        c.CheckRcpt(st, "x@local.test").ShouldBeNull();
        c.CheckRcpt(st, "x@relay.test").ShouldBeNull();
        c.CheckRcpt(Session("10.1.2.3"), "x@remote.test").ShouldBeNull();
        c.CheckRcpt(st, "postmaster").ShouldBeNull();
    }

    [Fact]
    public void DeferUnauthDestinationUses454()
    {
        var c = Checker("smtpd_relay_restrictions = defer_unauth_destination\n");
        c.CheckRcpt(Session(), "x@remote.test").ShouldBe("454 4.7.1 <x@remote.test>: Relay access denied");
    }

    [Fact]
    public void MissingRelayRestrictionIsFatal()
    {
        var e = Should.Throw<FatalException>(() => Checker("smtpd_relay_restrictions = permit_mynetworks\n"));
        e.Message.ShouldContain("in parameter smtpd_relay_restrictions or smtpd_recipient_restrictions, specify at least one working instance of: reject_unauth_destination, defer_unauth_destination, reject, defer, defer_if_permit or check_relay_domains");
    }

    [Fact]
    public void UnknownRestrictionIsAServerError()
    {
        var c = Checker("smtpd_relay_restrictions = reject_unauth_destination\nsmtpd_recipient_restrictions = frobnicate\n");
        c.CheckRcpt(Session(), "x@local.test").ShouldBe("451 4.3.5 Server configuration error");
        log.ShouldContain("warning: unknown smtpd restriction: \"frobnicate\"");
    }

    [Theory]
    [InlineData("REJECT", "554 5.7.1 <x@local.test>: Recipient address rejected: Access denied")]
    [InlineData("REJECT go away", "554 5.7.1 <x@local.test>: Recipient address rejected: go away")]
    [InlineData("DEFER", "450 4.7.1 <x@local.test>: Recipient address rejected: Access denied")]
    [InlineData("521 closed", "521 5.7.1 <x@local.test>: Recipient address rejected: closed")]
    [InlineData("421 4.7.0 bye now", "421 4.7.0 <x@local.test>: Recipient address rejected: bye now")]
    [InlineData("550 5.1.7 bad", "550 5.1.3 <x@local.test>: Recipient address rejected: bad")]
    [InlineData("defer_if_permit", "450 4.7.1 <x@local.test>: Recipient address rejected: Service unavailable")]
    [InlineData("OK", null)]
    [InlineData("12345", null)]
    [InlineData("DUNNO", null)]
    [InlineData("WARN hmm", null)]
    public void AccessActions(string action, string? expected)
    {
        var t = Table("rcpt", $"x@local.test {action}\n");
        var c = Checker($"smtpd_relay_restrictions = reject_unauth_destination\nsmtpd_recipient_restrictions = check_recipient_access {t}\n");
        c.CheckRcpt(Session(), "x@local.test").ShouldBe(expected);
    }

    [Fact]
    public void SenderDsnIsFixedForSenderRejects()
    {
        var t = Table("snd", "s@example.com 550 5.1.1 nope\n");
        var c = Checker($"smtpd_relay_restrictions = reject_unauth_destination\nsmtpd_sender_restrictions = check_sender_access {t}\n");
        var st = Session();
        st.Sender = null;
        c.CheckMail(st, "s@example.com").ShouldBe("550 5.1.7 <s@example.com>: Sender address rejected: nope");
        log.ShouldContain("mapping DSN status 5.1.1 into Sender address status 5.1.7");
    }

    [Fact]
    public void NullSenderUsesTheNullAccessKey()
    {
        var t = Table("snd", "<> REJECT no bounces\n");
        var c = Checker($"smtpd_relay_restrictions = reject_unauth_destination\nsmtpd_sender_restrictions = check_sender_access {t}\n");
        c.CheckMail(Session(), "").ShouldBe("554 5.7.1 <>: Sender address rejected: no bounces");
    }

    [Fact]
    public void SavedActionsAreRecorded()
    {
        var t = Table("rcpt", "a@local.test HOLD\nb@local.test FILTER smtp:[127.0.0.1]:10025\nc@local.test REDIRECT r@example.org\nd@local.test BCC b@example.org\ne@local.test PREPEND X-Tag: yes\nf@local.test DISCARD\n");
        var c = Checker($"smtpd_relay_restrictions = reject_unauth_destination\nsmtpd_recipient_restrictions = check_recipient_access {t}\n");
        var st = Session();
        foreach (var r in new[] { "a", "b", "c", "d", "e" })
            c.CheckRcpt(st, r + "@local.test").ShouldBeNull();
        (st.SavedFlags & SmtpdChecker.CleanupFlagHold).ShouldNotBe(0);
        st.SavedFilter.ShouldBe("smtp:[127.0.0.1]:10025");
        st.SavedRedirect.ShouldBe("r@example.org");
        st.SavedBcc.ShouldBe(new[] { "b@example.org" });
        st.Prepend.ShouldBe(new[] { "X-Tag: yes" });
        c.CheckRcpt(st, "f@local.test").ShouldBeNull();
        st.Discard.ShouldBeTrue();
        log.ShouldContain("NOQUEUE: hold: RCPT from client.example[192.0.2.1]: <a@local.test>: Recipient address triggers HOLD action; from=<s@example.com> to=<a@local.test> proto=ESMTP helo=<helo.example>");
        log.ShouldContain("NOQUEUE: filter: RCPT from client.example[192.0.2.1]: <b@local.test>: Recipient address triggers FILTER smtp:[127.0.0.1]:10025; from=<s@example.com> to=<b@local.test> proto=ESMTP helo=<helo.example>");
        c.Rewind(st);
        st.Discard.ShouldBeFalse();
        st.SavedFilter.ShouldBeNull();
    }

    [Fact]
    public void WarnIfRejectOnlyLogs()
    {
        var c = Checker("smtpd_relay_restrictions = reject_unauth_destination\nsmtpd_client_restrictions = warn_if_reject reject\n");
        c.CheckClient(Session()).ShouldBeNull();
        log.ShouldContain(l => l.StartsWith("NOQUEUE: reject_warning: RCPT from client.example[192.0.2.1]: 554 5.7.1 <client.example[192.0.2.1]>: Client host rejected: Access denied;"));
    }

    [Fact]
    public void DeferIfPermitTurnsAPermitIntoADefer()
    {
        var c = Checker("smtpd_relay_restrictions = reject_unauth_destination\nsmtpd_recipient_restrictions = defer_if_permit permit\n");
        c.CheckRcpt(Session(), "x@local.test").ShouldBe("450 4.7.0 <x@local.test>: Recipient address rejected: defer_if_permit requested");
    }

    [Fact]
    public void DeferIfRejectTurnsARejectIntoADefer()
    {
        var c = Checker("smtpd_relay_restrictions = reject_unauth_destination\nsmtpd_recipient_restrictions = defer_if_reject reject\n");
        c.CheckRcpt(Session(), "x@local.test").ShouldBe("450 4.7.0 <x@local.test>: Recipient address rejected: defer_if_reject requested");
    }

    [Fact]
    public void SoftBounceMakesRejectsTemporary()
    {
        var c = Checker("soft_bounce = yes\nsmtpd_relay_restrictions = reject_unauth_destination\n");
        c.CheckRcpt(Session(), "x@remote.test").ShouldBe("454 4.7.1 <x@remote.test>: Relay access denied");
    }

    [Fact]
    public void RestrictionClassesAndNoDelayReject()
    {
        var t = Table("cls", "x@local.test strict\n");
        var c = Checker($"smtpd_restriction_classes = strict\nstrict = reject_non_fqdn_helo_hostname, reject\nsmtpd_relay_restrictions = reject_unauth_destination\nsmtpd_recipient_restrictions = check_recipient_access {t}\n");
        var st = Session();
        st.HeloName = "bare";
        c.CheckRcpt(st, "x@local.test").ShouldBe("504 5.5.2 <bare>: Helo command rejected: need fully-qualified hostname");
    }

    [Fact]
    public void UndefinedClassIsFatal()
    {
        Should.Throw<FatalException>(() => Checker("smtpd_restriction_classes = nothing\nsmtpd_relay_restrictions = reject_unauth_destination\n"))
            .Message.ShouldBe("restriction class `nothing' needs a definition");
    }

    [Fact]
    public void HeloSyntaxChecks()
    {
        var c = Checker("smtpd_relay_restrictions = reject_unauth_destination\nsmtpd_helo_restrictions = reject_invalid_helo_hostname\n");
        var st = Session();
        c.CheckHelo(st, "bad_name!").ShouldBe("501 5.5.2 <bad_name!>: Helo command rejected: Invalid name");
        c.CheckHelo(st, "[1.2.3.999]").ShouldBe("501 5.5.2 <[1.2.3.999]>: Helo command rejected: invalid ip address");
        c.CheckHelo(st, "[1.2.3.4]").ShouldBeNull();
        c.CheckHelo(st, "good.example.").ShouldBeNull();
    }

    [Fact]
    public void NonFqdnAddressesAndUnknownClient()
    {
        var c = Checker("smtpd_relay_restrictions = reject_unauth_destination\nsmtpd_sender_restrictions = reject_non_fqdn_sender\nsmtpd_client_restrictions = reject_unknown_client_hostname\n");
        var st = Session();
        c.CheckMail(st, "user@bare").ShouldBe("504 5.5.2 <user@bare>: Sender address rejected: need fully-qualified address");
        st.NameStatus = 4;
        st.Name = "unknown";
        c.CheckClient(st).ShouldBe("450 4.7.25 Client host rejected: cannot find your hostname, [192.0.2.1]");
    }

    [Fact]
    public void UnknownRecipientsAreRejected()
    {
        var users = Table("users", "known@local.test x\n");
        var c = Checker($"smtpd_relay_restrictions = reject_unauth_destination\nlocal_recipient_maps = {users}\n");
        var st = Session();
        c.CheckRcpt(st, "known@local.test").ShouldBeNull();
        c.CheckRcpt(st, "who@local.test").ShouldBe("550 5.1.1 <who@local.test>: Recipient address rejected: User unknown in local recipient table");
        c.CheckRcpt(st, "postmaster@local.test").ShouldBeNull();
    }

    [Fact]
    public void ErrorTransportRejects()
    {
        var c = Checker("smtpd_relay_restrictions = permit_mynetworks reject_unauth_destination\n");
        c.CheckRcpt(Session("10.0.0.1"), "x@gone.test").ShouldBe("550 5.1.1 <x@gone.test>: Recipient address rejected: user unknown");
    }

    [Fact]
    public void MultiRecipientBounce()
    {
        var c = Checker("smtpd_relay_restrictions = reject_unauth_destination\nsmtpd_data_restrictions = reject_multi_recipient_bounce\n");
        var st = Session();
        st.Sender = "";
        st.RcptCount = 2;
        st.Where = "DATA";
        c.CheckData(st).ShouldBe("550 5.5.3 <DATA>: Data command rejected: Multi-recipient bounce");
    }

    [Fact]
    public void SizeLimit()
    {
        var c = Checker("smtpd_relay_restrictions = reject_unauth_destination\nmessage_size_limit = 1000\n");
        c.CheckSize(Session(), 1001).ShouldBe("552 5.3.4 Message size exceeds fixed limit");
        c.CheckSize(Session(), 1000).ShouldBeNull();
    }

    [Fact]
    public void LookupTableInsideAccessValueIsAnError()
    {
        var t = Table("rcpt", "x@local.test hash:/etc/foo\n");
        var c = Checker($"smtpd_relay_restrictions = reject_unauth_destination\nsmtpd_recipient_restrictions = check_recipient_access {t}\n");
        c.CheckRcpt(Session(), "x@local.test").ShouldBe("451 4.3.5 Server configuration error");
        log.ShouldContain("warning: do not specify lookup tables inside SMTPD access maps");
    }

    [Fact]
    public void ClientAccessByParentNetwork()
    {
        var t = Table("cli", "192.0.2 REJECT net blocked\n");
        var c = Checker($"smtpd_relay_restrictions = reject_unauth_destination\nsmtpd_client_restrictions = check_client_access {t}\n");
        c.CheckClient(Session()).ShouldBe("554 5.7.1 <client.example[192.0.2.1]>: Client host rejected: net blocked");
        c.CheckClient(Session("198.51.100.1")).ShouldBeNull();
    }

    [Fact]
    public void RblReplyTemplates()
    {
        var t = Table("rblreply", "custom.test=127.0.0.2 $rbl_code 5.7.9 [$rbl_what] in $rbl_domain${rbl_reason?: $rbl_reason} from $client_address\nbroken.test ${oops\nnocode.test blocked\n");
        var c = Checker($"smtpd_relay_restrictions = reject_unauth_destination\nrbl_reply_maps = {t}\nmaps_rbl_reject_code = 521\n");
        var st = Session();
        c.RblRejectReply(st, new SmtpdChecker.RblResult { Txt = "see http://x/?a=1" }, "rbl.test", "192.0.2.1", SmtpdChecker.NameClient).ShouldBe(2);
        st.ErrorText.ShouldBe("521 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using rbl.test; see http://x/?a=1");
        c.RblRejectReply(st, new SmtpdChecker.RblResult(), "custom.test=127.0.0.2", "x@spam.example", SmtpdChecker.NameSender).ShouldBe(2);
        st.ErrorText.ShouldBe("521 5.7.9 [x@spam.example] in custom.test from 192.0.2.1");
        c.RblRejectReply(st, new SmtpdChecker.RblResult(), "nocode.test", "192.0.2.1", SmtpdChecker.NameClient);
        st.ErrorText.ShouldBe("450 4.7.1 Service unavailable");
        log.ShouldContain("warning: rbl response code configuration error: blocked");
    }

    [Fact]
    public void PermitLogging()
    {
        var t = Table("rcpt", "x@local.test OK\n");
        var c = Checker($"smtpd_log_access_permit_actions = static:all\nsmtpd_relay_restrictions = permit_mynetworks reject_unauth_destination\nsmtpd_recipient_restrictions = check_recipient_access {t}\n");
        c.CheckRcpt(Session("10.0.0.1"), "x@local.test").ShouldBeNull();
        log.ShouldContain($"NOQUEUE: permit: RCPT from client.example[10.0.0.1]: action=OK for Recipient address=x@local.test from {t}; from=<s@example.com> to=<x@local.test> proto=ESMTP helo=<helo.example>");
        log.ShouldContain("NOQUEUE: permit: RCPT from client.example[10.0.0.1]: action=permit_mynetworks for Client host=client.example[10.0.0.1] ; from=<s@example.com> to=<x@local.test> proto=ESMTP helo=<helo.example>");
    }

    [Fact]
    public void ReverseClientHostnameAccess()
    {
        var t = Table("rev", "client.example REJECT reverse blocked\n");
        var c = Checker($"smtpd_relay_restrictions = reject_unauth_destination\nsmtpd_client_restrictions = check_reverse_client_hostname_access {t}\n");
        c.CheckClient(Session()).ShouldBe("554 5.7.1 <client.example>: Unverified Client host rejected: reverse blocked");
    }

    [Fact]
    public void HangupDropsTheConnection()
    {
        var t = Table("rcpt", "x@local.test HANGUP bye\n");
        var c = Checker($"smtpd_relay_restrictions = reject_unauth_destination\nsmtpd_recipient_restrictions = check_recipient_access {t}\n");
        c.CheckRcpt(Session(), "x@local.test").ShouldBe(SmtpdChecker.HangupReply);
        log.ShouldContain(l => l.StartsWith("NOQUEUE: hangup: RCPT from client.example[192.0.2.1]: bye;"));
    }

    [Fact]
    public void SenderLoginMismatch()
    {
        var owners = Table("owners", "s@example.com alice, bob\n");
        var c = Checker($"smtpd_relay_restrictions = reject_unauth_destination\nsmtpd_sasl_auth_enable = yes\nsmtpd_sender_login_maps = {owners}\n"
            + "smtpd_sender_restrictions = reject_sender_login_mismatch\n");
        var st = Session();
        st.Sender = null;
        c.CheckMail(st, "s@example.com").ShouldBe("553 5.7.1 <s@example.com>: Sender address rejected: not logged in");
        st.SaslUsername = "carol";
        c.CheckMail(st, "s@example.com").ShouldBe("553 5.7.1 <s@example.com>: Sender address rejected: not owned by user carol");
        c.CheckMail(st, "other@example.com").ShouldBe("553 5.7.1 <other@example.com>: Sender address rejected: not owned by user carol");
        st.SaslUsername = "Bob";
        c.CheckMail(st, "s@example.com").ShouldBeNull();
    }

    [Fact]
    public void SaslAccessAndPermit()
    {
        var t = Table("sasl", "mallory REJECT go away\n");
        var c = Checker($"smtpd_relay_restrictions = permit_sasl_authenticated reject_unauth_destination\nsmtpd_sasl_auth_enable = yes\n"
            + $"smtpd_client_restrictions = check_sasl_access {t}\n");
        var st = Session();
        st.SaslUsername = "alice";
        c.CheckRcpt(st, "x@remote.test").ShouldBeNull();
        st.SaslUsername = "mallory";
        c.CheckRcpt(st, "x@remote.test").ShouldBe("554 5.7.1 <mallory>: SASL login name rejected: go away");
    }

    [Fact]
    public void IpMatchPatterns()
    {
        var m = IpMatch.Parse("127.0.0.[2..4;9]", out var err)!;
        err.ShouldBeNull();
        m.Match([127, 0, 0, 3]).ShouldBeTrue();
        m.Match([127, 0, 0, 9]).ShouldBeTrue();
        m.Match([127, 0, 0, 5]).ShouldBeFalse();
        IpMatch.Parse("127.0.0", out err).ShouldBeNull();
    }

    [Fact]
    public void NamadrListMatchesNetworksAndNames()
    {
        var l = new NamadrList("mynetworks", "!10.1.0.0/16 10.0.0.0/8 [::1]/128 .example.com", false);
        l.Match("unknown", "10.2.3.4").ShouldBeTrue();
        l.Match("unknown", "10.1.3.4").ShouldBeFalse();
        l.Match("unknown", "::1").ShouldBeTrue();
        l.Match("a.example.com", "192.0.2.1").ShouldBeTrue();
        l.Match("example.com", "192.0.2.1").ShouldBeFalse();
    }

    [Fact]
    public void PolicyServiceRequestAndReply()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var received = new List<string>();
        var server = new Thread(() =>
        {
            using var conn = listener.AcceptTcpClient();
            var s = conn.GetStream();
            for (var n = 0; n < 2; n++)
            {
                var buf = new StringBuilder();
                while (!buf.ToString().EndsWith("\n\n"))
                {
                    var b = s.ReadByte();
                    if (b < 0)
                        return;
                    buf.Append((char)b);
                }
                lock (received)
                    received.Add(buf.ToString());
                var reply = n == 0 ? "action=REJECT policy says no\n\n" : "action=DUNNO\n\n";
                s.Write(Encoding.ASCII.GetBytes(reply));
            }
        });
        server.Start();
        var c = Checker($"smtpd_relay_restrictions = reject_unauth_destination\nsmtpd_recipient_restrictions = check_policy_service {{ inet:127.0.0.1:{port}, policy_context=ctx }}\n");
        var st = Session();
        st.Instance = "abc.1";
        st.Port = "4711";
        st.DestAddr = "127.0.0.1";
        st.DestPort = "25";
        c.CheckRcpt(st, "x@local.test").ShouldBe("554 5.7.1 <x@local.test>: Recipient address rejected: policy says no");
        c.CheckRcpt(st, "y@local.test").ShouldBeNull();
        server.Join();
        listener.Stop();
        received.Count.ShouldBe(2);
        received[0].ShouldBe("request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\nclient_address=192.0.2.1\n"
            + "client_name=client.example\nclient_port=4711\nreverse_client_name=client.example\nserver_address=127.0.0.1\nserver_port=25\n"
            + "helo_name=helo.example\nsender=s@example.com\nrecipient=x@local.test\nrecipient_count=0\nqueue_id=\ninstance=abc.1\nsize=0\n"
            + "etrn_domain=\nstress=\nsasl_method=\nsasl_username=\nsasl_sender=\nccert_subject=\nccert_issuer=\nccert_fingerprint=\n"
            + "ccert_pubkey_fingerprint=\nencryption_protocol=\nencryption_cipher=\nencryption_keysize=0\npolicy_context=ctx\n\n");
    }

    [Fact]
    public void PolicyServiceDownUsesTheDefaultAction()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var c = Checker($"smtpd_relay_restrictions = reject_unauth_destination\nsmtpd_recipient_restrictions = check_policy_service {{ inet:127.0.0.1:{port}, try_limit=1, default_action={{DEFER_IF_PERMIT busy}} }}\n");
        c.CheckRcpt(Session(), "x@local.test").ShouldBe("450 4.7.1 <x@local.test>: Recipient address rejected: busy");
        log.ShouldContain($"warning: connect to 127.0.0.1:{port}: Connection refused");
        log.ShouldContain($"warning: problem talking to server 127.0.0.1:{port}: Connection refused");
    }

    [Fact]
    public void TracerSeesRestrictionsAndLookups()
    {
        var t = Table("rcpt", "x@local.test REJECT\n");
        var c = Checker($"smtpd_relay_restrictions = reject_unauth_destination\nsmtpd_recipient_restrictions = check_recipient_access {t}\n");
        var tracer = new Tracer();
        c.Tracer = tracer;
        c.CheckRcpt(Session(), "x@local.test");
        tracer.Lines.ShouldContain("list smtpd_recipient_restrictions");
        tracer.Lines.ShouldContain($"lookup {t} x@local.test -> REJECT");
        tracer.Lines.ShouldContain(l => l.StartsWith("restriction check_recipient_access " + t + " -> 554 5.7.1"));
    }

    private sealed class Tracer : ICheckTracer
    {
        public readonly List<string> Lines = new();
        public void List(string name) => Lines.Add("list " + name);
        public void Restriction(string restriction, string outcome) => Lines.Add($"restriction {restriction} -> {outcome}");
        public void Lookup(string table, string key, string? result) => Lines.Add($"lookup {table} {key} -> {result}");
        public void Dns(string query, string type, string outcome) => Lines.Add($"dns {query} {type} {outcome}");
        public void Policy(string endpoint, string request, string? reply) => Lines.Add($"policy {endpoint} {reply}");
    }
}
