// NAME
//	ActionTests - header_checks and body_checks actions
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Postfix.Global.Dict;
using Postfix.Util;
using Shouldly;
using Xunit;

namespace Postfix.Daemons.Cleanup.Tests;

public class ActionTests
{
    private static Maps Table(string text)
    {
        var path = Path.GetTempFileName();
        File.WriteAllText(path, text);
        return Maps.Create("header_checks", "regexp:" + path, DictFlags.Lock);
    }

    private static (Harness H, List<string> Log) Run(string header, string body, params string[] lines)
    {
        var cfg = new CleanupConfig { MessageLimit = 0, MyHostname = "h.example.com" };
        if (header.Length > 0)
        {
            cfg.HeaderChecks = Table(header);
            cfg.HeaderChecksNames = "x";
        }
        if (body.Length > 0)
            cfg.BodyChecks = Table(body);
        var log = new List<string>();
        void Sink(string level, string text) => log.Add(level + "|" + text);
        Msg.Sinks.Add(Sink);
        try
        {
            var h = new Harness(cfg).Envelope().Lines(["Received: by x", .. lines]).End();
            h.Records();
            return (h, log);
        }
        finally
        {
            Msg.Sinks.Remove(Sink);
        }
    }

    [Fact]
    public void RejectSetsReasonAndLogs()
    {
        var (h, log) = Run("/^Subject: spam/ REJECT no spam please\n", "", "Subject: spam", "", "b");
        (h.Session.Errs & CleanupStatus.Cont).ShouldNotBe(0);
        h.Session.Reason.ShouldBe("5.7.1 no spam please");
        log.ShouldContain(x => x.Contains("4ABC123: reject: header Subject: spam from local; from=<alice@example.com> to=<bob@example.com>: 5.7.1 no spam please"));
    }

    [Fact]
    public void RejectWith4xxDefers()
    {
        var (h, _) = Run("/^Subject: spam/ REJECT 4.7.0 later\n", "", "Subject: spam", "", "b");
        (h.Session.Errs & CleanupStatus.Defer).ShouldNotBe(0);
    }

    [Fact]
    public void WarnInfoHoldDiscard()
    {
        var (h, log) = Run("/^Subject: w/ WARN careful\n/^X-I:/ INFO noted\n/^X-H:/ HOLD\n", "", "Subject: w", "X-I: 1", "X-H: 1", "", "b");
        log.ShouldContain(x => x.Contains(": warning: header Subject: w from local;") && x.EndsWith(": careful"));
        log.ShouldContain(x => x.Contains(": info: header X-I: 1 from local;"));
        (h.Session.Flags & CleanupFlags.Hold).ShouldNotBe(0);
        var (d, _) = Run("/^X-D:/ DISCARD\n", "", "X-D: 1", "", "b");
        (d.Session.Flags & CleanupFlags.Discard).ShouldNotBe(0);
    }

    [Fact]
    public void PrependReplaceIgnoreStrip()
    {
        var (h, _) = Run("/^X-P:/ PREPEND X-Added: yes\n/^X-R: (.*)/ REPLACE X-Replaced: $1\n/^X-I:/ IGNORE\n/^X-S:/ STRIP\n",
            "", "X-P: 1", "X-R: old", "X-I: gone", "X-S: gone", "", "b");
        var c = h.Content();
        c.IndexOf("X-Added: yes").ShouldBeLessThan(c.IndexOf("X-P: 1"));
        c.ShouldContain("X-Replaced: old");
        c.ShouldNotContain("X-I: gone");
        c.ShouldNotContain("X-S: gone");
    }

    [Fact]
    public void FilterRedirectBcc()
    {
        var (h, _) = Run("/^X-F:/ FILTER smtp:[127.0.0.1]:10025\n/^X-Re:/ REDIRECT other@example.net\n/^X-B:/ BCC copy@example.net\n",
            "", "X-F: 1", "X-B: 1", "X-Re: 1", "", "b");
        var recs = h.Records();
        recs.ShouldContain(('L', "smtp:[127.0.0.1]:10025"));
        recs.ShouldContain(('>', "other@example.net"));
        recs.ShouldContain(('R', "copy@example.net"));
        recs.ShouldContain(('A', "notify_flags=1"));
    }

    [Fact]
    public void BodyChecks()
    {
        var (h, log) = Run("", "/^badword/ REJECT\n/^replace me/ REPLACE replaced\n", "", "replace me", "ok");
        h.Session.Errs.ShouldBe(0);
        h.Content().ShouldContain("replaced");
        var (r, rlog) = Run("", "/^badword/ REJECT\n", "", "badword here");
        r.Session.Reason.ShouldBe("5.7.1 message content rejected");
        rlog.ShouldContain(x => x.Contains(": reject: body badword here from local;"));
    }

    [Fact]
    public void UnknownActionWarns()
    {
        var (_, log) = Run("/^X-U:/ FROBNICATE\n", "", "X-U: 1", "", "b");
        log.ShouldContain("warning|unknown command in header_checks map: FROBNICATE");
    }
}
