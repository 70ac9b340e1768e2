// NAME
//	SessionTests - the records cleanup writes for typical submissions
using System.Linq;
using Shouldly;
using Xunit;

namespace Postfix.Daemons.Cleanup.Tests;

public class SessionTests
{
    [Fact]
    public void EnvelopeOrderAndSizeRecord()
    {
        var h = new Harness().Envelope().Lines("Received: by x", "Subject: hi", "", "body").End();
        var recs = h.Records();
        recs[0].Type.ShouldBe('C');
        recs.Select(r => r.Type).ShouldBe(
            ['C', 'T', 'A', 'A', 'S', 'A', 'O', 'R', 'M', 'N', 'N', 'N', 'N', 'N', 'N', 'N', 'X', 'E']);
        recs[1].Text.ShouldBe("1700000000 123456");
        recs[2].Text.ShouldStartWith("create_time=");
        recs[4].Text.ShouldBe("alice@example.com");
        recs[5].Text.ShouldBe("dsn_orig_rcpt=rfc822;bob@example.com");
        recs[6].Text.ShouldBe("bob");
        recs[7].Text.ShouldBe("bob@example.com");
        var size = recs[0].Text.Split(' ', System.StringSplitOptions.RemoveEmptyEntries).Select(long.Parse).ToArray();
        size[2].ShouldBe(1);                 // recipients
        size[0].ShouldBe(size[4]);           // content size == content length
        h.Session.Errs.ShouldBe(0);
    }

    [Fact]
    public void MissingHeadersAreAdded()
    {
        var h = new Harness().Envelope().Lines("Received: by x", "Subject: hi", "", "body").End();
        var c = h.Content();
        c.ShouldContain("Message-Id: <20231114221320.4ABC123@host.example.com>");
        c.ShouldContain(x => x.StartsWith("Date: "));
        c.ShouldContain("From: alice@example.com");
        c.IndexOf("").ShouldBeGreaterThan(c.IndexOf("From: alice@example.com"));
    }

    [Fact]
    public void FullNameInFromHeader()
    {
        var h = new Harness();
        h.Rec('T', "1700000000 0").Rec('F', "Alice Q. User").Rec('S', "alice").Rec('R', "bob").Rec('M')
         .Lines("Received: by x", "", "b").End();
        h.Content().ShouldContain("From: \"Alice Q. User\" <alice@example.com>");
    }

    [Fact]
    public void ResentHeadersGetResentAdditions()
    {
        var h = new Harness().Envelope().Lines("Received: by x", "Resent-To: carol", "Message-Id: <a@b>", "", "b").End();
        var c = h.Content();
        c.ShouldContain("Resent-To: carol@example.com");
        c.ShouldContain(x => x.StartsWith("Resent-Message-Id: <"));
        c.ShouldContain(x => x.StartsWith("Resent-Date: "));
        c.ShouldContain("Resent-From: alice@example.com");
    }

    [Fact]
    public void DropHeadersAndRewriteAddresses()
    {
        var h = new Harness().Envelope().Lines("Received: by x", "To: bob, carol (C) <carol>", "Bcc: secret",
            "Return-Path: <x>", "Content-Length: 5", "Subject: s", "", "b").End();
        var c = h.Content();
        c.ShouldContain("To: bob@example.com, carol (C) <carol@example.com>");
        c.ShouldNotContain(x => x.StartsWith("Bcc:"));
        c.ShouldNotContain(x => x.StartsWith("Return-Path:"));
        c.ShouldNotContain(x => x.StartsWith("Content-Length:"));
    }

    [Fact]
    public void NoRecipientIsAnError()
    {
        var h = new Harness();
        h.Rec('T', "1700000000 0").Rec('S', "alice").Rec('M').Lines("Received: x", "", "b").End();
        h.Records();
        h.Session.Errs.ShouldBe(CleanupStatus.Rcpt);
    }

    [Fact]
    public void HopCountLimit()
    {
        var cfg = new CleanupConfig { HopcountLimit = 2, MessageLimit = 0 };
        var h = new Harness(cfg).Envelope().Lines("Received: 1", "Received: 2", "", "b").End();
        h.Records();
        (h.Session.Errs & CleanupStatus.Hops).ShouldNotBe(0);
    }

    [Fact]
    public void MessageSizeLimit()
    {
        var cfg = new CleanupConfig { MessageLimit = 300 };
        var h = new Harness(cfg).Envelope().Lines("Received: 1", "", new string('x', 500)).End();
        h.Records();
        (h.Session.Errs & CleanupStatus.Size).ShouldNotBe(0);
    }

    [Fact]
    public void LongLinesAreSplit()
    {
        var cfg = new CleanupConfig { LineLimit = 10, MessageLimit = 0 };
        var h = new Harness(cfg).Envelope().Lines("Received: 1", "", "0123456789abcdefghij!").End();
        h.Content().ShouldContain("L:0123456789");
        h.Content().ShouldContain("L:abcdefghij");
        h.Content().ShouldContain("!");
    }

    [Fact]
    public void HeaderSizeLimitTruncates()
    {
        var cfg = new CleanupConfig { HeaderLimit = 100, MessageLimit = 0 };
        var h = new Harness(cfg).Envelope().Lines("Received: 1", "X-Long: " + new string('a', 60))
            .Lines(Enumerable.Repeat("\t" + new string('b', 30), 5).ToArray()).Lines("", "b").End();
        var c = h.Content();
        c.Count(x => x.StartsWith("\tbbb")).ShouldBeLessThan(5);
        h.Session.Errs.ShouldBe(0);
    }

    [Fact]
    public void NoReceivedHeaderIsRejected()
    {
        var h = new Harness().Envelope().Lines("Subject: s", "", "b").End();
        h.Records();
        (h.Session.Errs & CleanupStatus.Bad).ShouldNotBe(0);
    }

    [Fact]
    public void EightBitEncodingAttribute()
    {
        var h = new Harness().Envelope().Lines("Received: 1", "Content-Transfer-Encoding: 8bit", "", "b").End();
        h.Records().ShouldContain(('A', "encoding=8bit"));
    }

    [Fact]
    public void DuplicateRecipientsWrittenOnce()
    {
        var h = new Harness().Envelope("alice", "bob", "bob@example.com", "BOB").Lines("Received: 1", "", "b").End();
        h.Records().Count(r => r.Type == 'R').ShouldBe(2); // "BOB" folds onto "bob"
        var h2 = new Harness().Envelope("alice", "bob", "bob").Lines("Received: 1", "", "b").End();
        h2.Records().Count(r => r.Type == 'R').ShouldBe(1);
    }

    [Fact]
    public void MailerDaemonSenderBecomesNull()
    {
        var h = new Harness().Envelope("MAILER-DAEMON").Lines("Received: 1", "", "b").End();
        h.Records().ShouldContain(('S', ""));
        h.Content().ShouldContain("From: MAILER-DAEMON");
    }

    [Fact]
    public void BadEnvelopeRecordIsRejected()
    {
        var h = new Harness();
        h.Rec('T', "1700000000 0").Rec('N', "text in envelope");
        (h.Session.Errs & CleanupStatus.Bad).ShouldNotBe(0);
    }

    [Fact]
    public void UndisclosedRecipients()
    {
        var cfg = new CleanupConfig { RcptWitheld = "To: undisclosed-recipients:;", MessageLimit = 0 };
        var h = new Harness(cfg).Envelope().Lines("Received: 1", "", "b").End();
        h.Content().ShouldContain("To: undisclosed-recipients:;");
    }

    [Fact]
    public void DelayWarningRecord()
    {
        var cfg = new CleanupConfig { DelayWarnTime = 3600, MessageLimit = 0 };
        var h = new Harness(cfg).Envelope().Lines("Received: 1", "", "b").End();
        h.Records().ShouldContain(('W', "     1700003600"));
    }
}
