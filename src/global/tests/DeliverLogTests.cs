// NAME
//	DeliverLogTests - log_adhoc and format_tv formatting, DSN utilities
// DESCRIPTION
//	Expected strings follow log_adhoc.c's format ("%s: to=<%s>",
//	", orig_to=<%s>", ", relay=%s", ", conn_use=%d", ", delay=",
//	", delays=", "/", ", dsn=%s, status=%s (%s)") and format_tv.c's
//	precision rules, worked out by hand from the C code.
using System.Text;
using Postfix.Global.Deliver;
using Shouldly;
using Xunit;

namespace Postfix.Global.Tests;

public sealed class DeliverLogTests
{
    private static string Tv(long sec, long usec, int maxRes = 2) =>
        LogAdhoc.FormatTv(new StringBuilder(), sec, usec, 2, maxRes).ToString();

    [Theory]
    [InlineData(0, 0, 2, "0")]
    [InlineData(0, 12345, 2, "0.01")]
    [InlineData(0, 4999, 2, "0")]
    [InlineData(0, 5000, 2, "0.01")]
    [InlineData(0, 123456, 2, "0.12")]
    [InlineData(0, 996000, 2, "1")]
    [InlineData(1, 530000, 2, "1.5")]
    [InlineData(1, 960000, 2, "2")]
    [InlineData(9, 940000, 2, "9.9")]
    [InlineData(12, 345678, 2, "12")]
    [InlineData(12, 545678, 2, "13")]
    [InlineData(345, 999999, 2, "346")]
    [InlineData(0, 1234, 6, "0.0012")]
    [InlineData(0, 1234, 3, "0.001")]
    [InlineData(0, 1634, 3, "0.002")]
    [InlineData(0, 700000, 0, "1")]
    [InlineData(0, 300000, 0, "0")]
    [InlineData(2, 300000, 0, "2")]
    public void FormatTvFollowsTheReferencePrecision(long sec, long usec, int maxRes, string expected) =>
        Tv(sec, usec, maxRes).ShouldBe(expected);

    private static MsgStats Stats(double incoming, double active = 0, double handoff = 0, double conn = 0,
        double done = 0, int reuse = 0) => new()
    {
        IncomingArrival = T(incoming),
        ActiveArrival = T(active),
        AgentHandoff = T(handoff),
        ConnSetupDone = T(conn),
        DeliverDone = T(done),
        ReuseCount = reuse,
    };

    private static TimeVal T(double t) => new((long)t, (long)System.Math.Round((t - (long)t) * 1e6));

    [Fact]
    public void AgentWithoutConnection()
    {
        var line = LogAdhoc.Format("3F2A1B", Stats(1000, 1000.5, 1001.2), new Recipient("", "user@example.com", 120, "", 0),
            "none", Dsn.Simple("2.0.0", "example.com"), "sent", T(1003), 2, false);
        line.ShouldBe("3F2A1B: to=<user@example.com>, relay=none, delay=3, delays=0.5/0.7/0/1.8, dsn=2.0.0, status=sent (example.com)");
    }

    [Fact]
    public void NetworkClientWithReuseAndDeliveryTime()
    {
        var line = LogAdhoc.Format("ABC", Stats(100, 100.01, 100.02, 100.25, 100.5, reuse: 2),
            new Recipient("Alias@Example.com", "user@example.com", 1, "", 0), "mx.example.com[192.0.2.1]:25",
            new Dsn("2.0.0", "delivered", "250 ok"), "sent", T(999), 2, false);
        line.ShouldBe("ABC: to=<user@example.com>, orig_to=<Alias@Example.com>, relay=mx.example.com[192.0.2.1]:25, "
            + "conn_use=3, delay=0.5, delays=0.01/0.01/0.23/0.25, dsn=2.0.0, status=sent (250 ok)");
    }

    [Fact]
    public void OrigToOmittedWhenEqualIgnoringCase()
    {
        var line = LogAdhoc.Format("ID", Stats(10, 10, 10), new Recipient("User@EXAMPLE.com", "user@example.com", 1, "", 0),
            "none", Dsn.Simple("5.0.0", "no"), "bounced", T(10), 2, false);
        line.ShouldBe("ID: to=<user@example.com>, relay=none, delay=0, delays=0/0/0/0, dsn=5.0.0, status=bounced (no)");
    }

    [Fact]
    public void QueueManagerOnlyAndNoQueueManager()
    {
        // No hand-off to an agent: the active queue time runs until now.
        LogAdhoc.Format("ID", Stats(10, 11), new Recipient("", "a@b", 1, "", 0), "none",
                Dsn.Simple("4.0.0", "x"), "deferred", T(14.5), 2, false)
            .ShouldContain("delay=4.5, delays=1/3.5/0/0,");
        // Never reached the active queue (cleanup bounce).
        LogAdhoc.Format("ID", Stats(10), new Recipient("", "a@b", 1, "", 0), "none",
                Dsn.Simple("5.0.0", "x"), "bounced", T(12), 2, false)
            .ShouldContain("delay=2, delays=2/0/0/0,");
        // A clock that went backwards shows zero.
        LogAdhoc.Format("ID", Stats(10, 12, 11), new Recipient("", "a@b", 1, "", 0), "none",
                Dsn.Simple("2.0.0", "x"), "sent", T(9), 2, false)
            .ShouldContain("delay=0, delays=2/0/0/0,");
    }

    [Fact]
    public void ExternalFormQuotesTheLocalPart()
    {
        var rcpt = new Recipient("", "john smith@example.com", 1, "", 0);
        LogAdhoc.Format("ID", Stats(1, 1, 1), rcpt, "none", Dsn.Simple("2.0.0", "x"), "sent", T(1), 2, false)
            .ShouldStartWith("ID: to=<\"john smith\"@example.com>,");
        LogAdhoc.Format("ID", Stats(1, 1, 1), rcpt, "none", Dsn.Simple("2.0.0", "x"), "sent", T(1), 2, true)
            .ShouldStartWith("ID: to=<john smith@example.com>,");
        LogAdhoc.Format("ID", Stats(1, 1, 1), new Recipient("", "", 1, "", 0), "none", Dsn.Simple("2.0.0", "x"), "sent",
            T(1), 2, false).ShouldStartWith("ID: to=<>,");
    }

    [Theory]
    [InlineData("5.1.1", 5)]
    [InlineData("5.1.1 user unknown", 5)]
    [InlineData("4.123.456\tx", 9)]
    [InlineData("2.0.0", 5)]
    [InlineData("3.0.0", 0)]
    [InlineData("5.1234.1", 0)]
    [InlineData("5.1.1234", 0)]
    [InlineData("5.1.1x", 0)]
    [InlineData("5..1", 0)]
    [InlineData("5.1", 0)]
    [InlineData("", 0)]
    public void DsnValid(string text, int length) => DsnUtil.Valid(text).ShouldBe(length);

    [Theory]
    [InlineData("5.0.0", "4.7.1 go away", "4.7.1", "go away")]
    [InlineData("5.0.0", "  plain text", "5.0.0", "plain text")]
    [InlineData("4.0.0", "5.1.1", "5.1.1", "")]
    [InlineData("2.0.0", "example.com", "2.0.0", "example.com")]
    [InlineData("5.0.0", "", "5.0.0", "")]
    public void DsnSplit(string def, string text, string status, string rest)
    {
        DsnUtil.Split(def, text).ShouldBe((status, rest));
        DsnUtil.Prepend(def, text).ShouldBe(status + " " + rest);
    }

    [Fact]
    public void DsnBufBuildsStatuses()
    {
        var b = new DsnBuf().Unix("5.1.1", "unknown user: \"x\"", "unknown user: \"x\"");
        b.ToDsn().ShouldBe(new Dsn("5.1.1", "", "unknown user: \"x\"", "x-unix", "unknown user: \"x\""));
        b.Update("4.4.1", null, null, "ignored", "smtp", "421 busy", "host busy");
        b.Mname.ShouldBe("");
        b.Dtext.ShouldBe("421 busy");
        b.Formal("5.0.0", "failed", "dns", "mx.example", null, "x");
        b.Reason.ShouldBe("host busy");
        b.Mname.ShouldBe("mx.example");
        b.Dtext.ShouldBe("");
        b.Reset();
        b.ToDsn().ShouldBe(new Dsn("", "", ""));
    }

    [Fact]
    public void DelReqFlagsMasks()
    {
        DelReqFlags.TraceFlags(DelReqFlags.Deflt | DelReqFlags.Record | DelReqFlags.ConnStore).ShouldBe(DelReqFlags.Record);
        DelReqFlags.TraceOnly(DelReqFlags.MtaVrfy | DelReqFlags.Record).ShouldBe(DelReqFlags.MtaVrfy);
        DelReqFlags.MtaVrfy.ShouldBe(256);
        DelReqFlags.RecDlySent.ShouldBe(8192);
        DsnNotify.Ok(DsnNotify.Never).ShouldBeTrue();
        DsnNotify.Ok(DsnNotify.Never | DsnNotify.Success).ShouldBeFalse();
    }
}
