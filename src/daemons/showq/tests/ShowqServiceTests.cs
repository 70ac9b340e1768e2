// NAME
//	ShowqServiceTests - the attribute stream showq sends for queue files
//	and defer logfiles in a temporary queue directory
using System.Collections.Generic;
using System.IO;
using System.Text;
using Postfix.Global.Queue;
using Postfix.Util;
using Shouldly;
using Xunit;

[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace Postfix.Daemons.Showq.Tests;

public sealed class ShowqServiceTests
{
    // Tokens - the NUL-separated names and values (an empty token is a terminator).
    private static List<string> Tokens(ShowqService svc)
    {
        var ms = new MemoryStream();
        svc.Serve(ms).ShouldBeTrue();
        var text = Encoding.Latin1.GetString(ms.ToArray());
        var list = new List<string>(text.Split('\0'));
        list.RemoveAt(list.Count - 1);
        return list;
    }

    [Fact]
    public void EmptyQueueIsAnnouncementAndTerminator()
    {
        using var q = new TestQueue();
        Tokens(new ShowqService(new MailQueue())).ShouldBe(new[] { "protocol", "mail_queue_list_protocol", "", "" });
    }

    [Fact]
    public void DeferLogReasonsComeFirstAndAreNotRepeated()
    {
        using var q = new TestQueue();
        q.Message("deferred/A/ABCDE123", "s@example.com", 1700000000, "a@example.org", "b@example.org");
        Directory.CreateDirectory(Path.Combine(q.Dir, "defer/A"));
        File.WriteAllText(Path.Combine(q.Dir, "defer/A/ABCDE123"), "recipient=b@example.org\nreason=try later\n\n");
        var t = Tokens(new ShowqService(new MailQueue()));
        t.ShouldBe(new[]
        {
            "protocol", "mail_queue_list_protocol", "",
            "queue_name", "deferred", "queue_id", "ABCDE123", "time", "1700000000", "size", "77",
            "forced_expire", "0", "sender", "s@example.com",
            "recipient", "b@example.org", "reason", "try later",
            "recipient", "a@example.org", "reason", "",
            "", "",
        });
    }

    [Fact]
    public void EmptySenderQuotedAddressesAndNotReadyFiles()
    {
        using var q = new TestQueue();
        q.Message("hold/ABCDE124", "", 1700000001, "a b@example.org");
        q.Message("incoming/ABCDE125", "x@example.com", 1700000002, "c@example.org");
        Sys.Chmod(Path.Combine(q.Dir, "incoming/ABCDE125"), 0x180);
        var t = Tokens(new ShowqService(new MailQueue(), "MAILER-DAEMON"));
        t.ShouldContain("MAILER-DAEMON");
        t.ShouldContain("\"a b\"@example.org");
        t.ShouldNotContain("ABCDE125");
    }

    [Fact]
    public void ExpireBitIsForcedExpire()
    {
        using var q = new TestQueue();
        q.Message("active/ABCDE126", "s@example.com", 1700000003, "r@example.org");
        Sys.Chmod(Path.Combine(q.Dir, "active/ABCDE126"), 0x1c8);
        var t = Tokens(new ShowqService(new MailQueue()));
        t[t.IndexOf("forced_expire") + 1].ShouldBe("1");
    }

    [Fact]
    public void AtolReadsLeadingNumber()
    {
        ShowqService.Atol("  123 456").ShouldBe(123);
        ShowqService.Atol("-7x").ShouldBe(-7);
        ShowqService.Atol("x").ShouldBe(0);
    }
}
