// NAME
//	BounceTemplateTests - bounce template files: load, dump, expand
using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using Postfix.Global.Bounce;
using Postfix.Util;
using Shouldly;
using Xunit;

namespace Postfix.Global.Tests;

[Collection("Msg")]
public sealed class BounceTemplateTests
{
    private static readonly Dictionary<string, string> Params = new(StringComparer.Ordinal)
    {
        ["myhostname"] = "mx.example.com",
        ["mydomain"] = "example.com",
        ["mail_name"] = "Postfix",
        ["soft_bounce"] = "no",
        ["tabbed"] = "a\tb",
        ["utf8"] = BounceTemplate.Octets("Pöstfix"),
    };

    private static BounceTemplateConfig Config(bool utf8 = false, int delay = 4 * 3600, int lifetime = 5 * 86400) =>
        new(name => Params.TryGetValue(name, out var v) ? v : null)
        {
            SmtpUtf8Enable = utf8,
            DelayWarnTime = delay,
            MaxQueueTime = lifetime,
            MyHostname = Params["myhostname"],
            MyDomain = Params["mydomain"],
        };

    // Run - call body with Msg.Err captured; returns the messages.
    private static string Run(Action body)
    {
        var saved = Msg.Err;
        var err = new StringWriter { NewLine = "\n" };
        Msg.Err = err;
        var savedTag = Msg.Tag;
        Msg.Tag = "postfix/bounce";
        try
        {
            body();
        }
        finally
        {
            Msg.Err = saved;
            Msg.Tag = savedTag;
        }
        return err.ToString();
    }

    private static BounceTemplates Load(string file, out string warnings)
    {
        var ts = BounceTemplates.Create();
        warnings = Run(() => ts.Load(Encoding.Latin1.GetBytes(file), "t.cf"));
        return ts;
    }

    private static string Dump(BounceTemplate tp, bool standardFrom = true)
    {
        var sw = new StringWriter { NewLine = "\n" };
        tp.Dump(sw, standardFrom);
        return sw.ToString();
    }

    private static string Expand(BounceTemplate tp, BounceTemplateConfig config, out string warnings)
    {
        var lines = new List<string>();
        warnings = Run(() => tp.Expand(lines.Add, config));
        return string.Join("\n", lines);
    }

    [Fact]
    public void BuiltinFailureTemplateDumpsAsPostfixPrintsIt()
    {
        var ts = BounceTemplates.Create();
        var dump = Dump(ts.Failure);
        dump.ShouldStartWith("Charset: us-ascii\nFrom: Mail Delivery System <MAILER-DAEMON>\n"
            + "Subject: Undelivered Mail Returned to Sender\nPostmaster-Subject: Postmaster Copy: Undelivered Mail\n\n"
            + "This is the mail system at host $myhostname.\n");
        dump.ShouldEndWith("\n                   The mail system\n");
        Dump(ts.Verify, standardFrom: false).ShouldContain("From: MAILER-DAEMON (Mail Delivery System)\n");
        Dump(ts.Success).ShouldNotContain("Postmaster-Subject");
    }

    [Fact]
    public void GroupDumpSeparatesTemplatesWithBlankLines()
    {
        var sw = new StringWriter { NewLine = "\n" };
        BounceTemplates.Create().Dump(sw, true);
        var text = sw.ToString();
        text.ShouldStartWith("failure_template = <<EOF\n");
        text.ShouldContain("EOF\n\ndelay_template = <<EOF\n");
        text.ShouldContain("EOF\n\nsuccess_template = <<EOF\n");
        text.ShouldContain("EOF\n\nverify_template = <<EOF\n");
        text.ShouldEndWith("The mail system\nEOF\n");
    }

    [Fact]
    public void BuiltinDelayTemplateExpandsTimeUnits()
    {
        var text = Expand(BounceTemplates.Create().Delay, Config(), out var warnings);
        text.ShouldStartWith("This is the mail system at host mx.example.com.\n");
        text.ShouldContain("for more than 4 hour(s).\nIt will be retried until it is 5 day(s) old.");
        warnings.ShouldBeEmpty();
    }

    [Fact]
    public void FileOverridesOnlyTheTemplatesItNames()
    {
        var ts = Load("# comment\n\n  delay_template = <<END\nSubject: Late\n\n\nStill $mail_name.\nEND\n", out var warnings);
        warnings.ShouldBeEmpty();
        Dump(ts.Delay).ShouldBe("Charset: us-ascii\nFrom: Mail Delivery System <MAILER-DAEMON>\nSubject: Late\n"
            + "Postmaster-Subject: Postmaster Warning: Delayed Mail\n\nStill $mail_name.\n");
        ts.Delay.Origin.ShouldBe("t.cf");
        ts.Failure.Origin.ShouldBe("[built-in]");
        Expand(ts.Delay, Config(), out _).ShouldBe("Still Postfix.");
    }

    [Fact]
    public void OneLineValueIsATemplate()
    {
        var ts = Load("verify_template = hello $myhostname  \n", out _);
        Expand(ts.Verify, Config(), out _).ShouldBe("hello mx.example.com");
    }

    [Fact]
    public void LaterDefinitionWins()
    {
        var ts = Load("success_template = <<EOF\nfirst\nEOF\nsuccess_template = <<EOF\nsecond\nEOF\n", out _);
        Dump(ts.Success).ShouldEndWith("\n\nsecond\n");
    }

    public static TheoryData<string, string, string> FileWarnings => new()
    {
        {
            "unknown name",
            "bogus_template = <<EOF\nx\nEOF\n",
            "postfix/bounce: warning: t.cf, line 4: unknown template name: bogus_template -- ignoring this template\n"
        },
        {
            "missing end marker",
            "failure_template = <<EOF\nx\n",
            "postfix/bounce: warning: t.cf, line 3: missing \"EOF\" end marker\n"
        },
        {
            "end marker without newline",
            "failure_template = <<EOF\nx\nEOF",
            "postfix/bounce: warning: t.cf, line 4: missing \"EOF\" end marker\n"
        },
        {
            // Postfix prints the marker from its reused line buffer.
            "stale end marker text",
            "failure_template = <<EOF\nthis line is longer than the marker line is\n",
            "postfix/bounce: warning: t.cf, line 3: missing \"han the marker line is\" end marker\n"
        },
    };

    [Theory]
    [MemberData(nameof(FileWarnings))]
    public void FileProblemsAreWarnings(string name, string file, string want)
    {
        _ = name;
        Load(file, out var warnings);
        warnings.ShouldBe(want);
    }

    public static TheoryData<string, string> FileFatals => new()
    {
        { "failure_template <<EOF\n", "postfix/bounce: fatal: t.cf, line 2: missing '=' after attribute name: \"failure_template <<EOF\"\n" },
        { "failure_template = <<\n", "postfix/bounce: fatal: t.cf, line 2: missing end marker after <<\n" },
        { "\nfailure_template = << -x\n", "postfix/bounce: fatal: t.cf, line 3: malformed end marker after <<\n" },
    };

    [Theory]
    [MemberData(nameof(FileFatals))]
    public void FileSyntaxErrorsAreFatal(string file, string want)
    {
        var ts = BounceTemplates.Create();
        string? warnings = null;
        warnings = Run(() => Should.Throw<FatalException>(() => ts.Load(Encoding.Latin1.GetBytes(file), "t.cf")));
        warnings.ShouldBe(want);
    }

    public static TheoryData<string, string, string> HeaderWarnings => new()
    {
        { "failure", "X-Foo: bar\n\ntext", "unknown \"X-Foo\" header label in failure template -- ignoring this template" },
        { "delay", "Subject:  \n\ntext", "empty \"Subject\" header value in delay template -- ignoring this template" },
        { "success", "Postmaster-Subject: x\n\ntext", "inapplicable \"Postmaster-Subject\" header label in success template -- ignoring this template" },
        { "verify", "Subject: x\n\n\n", "missing message text in verify template -- ignoring this template" },
        { "failure", "Subject: caf\u00e9\n\ntext", "non-ASCII \"Subject\" header value in failure template -- ignoring this template" },
    };

    [Theory]
    [MemberData(nameof(HeaderWarnings))]
    public void BadHeadersRestoreTheBuiltinTemplate(string cls, string text, string want)
    {
        var ts = Load($"{cls}_template = <<EOF\n{text}\nEOF\n", out _);
        var tp = cls switch { "failure" => ts.Failure, "delay" => ts.Delay, "success" => ts.Success, _ => ts.Verify };
        var builtin = Dump(cls switch
        {
            "failure" => BounceTemplates.Create().Failure,
            "delay" => BounceTemplates.Create().Delay,
            "success" => BounceTemplates.Create().Success,
            _ => BounceTemplates.Create().Verify,
        });
        string dump = "";
        var warnings = Run(() => dump = Dump(tp));
        warnings.ShouldBe($"postfix/bounce: warning: t.cf: {want}\n");
        dump.ShouldBe(builtin);
        tp.Origin.ShouldBe("[built-in]");
    }

    [Fact]
    public void HeaderLabelsIgnoreCaseAndExtraColons()
    {
        var ts = Load("failure_template = <<EOF\nsubject:: Hi  \nFROM : me\ncharset:utf-8\n\nbody\nEOF\n", out _);
        Dump(ts.Failure).ShouldBe("Charset: utf-8\nFrom: me\nSubject: Hi  \nPostmaster-Subject: Postmaster Copy: Undelivered Mail\n\nbody\n");
    }

    [Fact]
    public void EightBitTextNeedsACharset()
    {
        var body = BounceTemplate.Octets("Zurück");
        var ts = Load($"failure_template = <<EOF\n{body}\nEOF\ndelay_template = <<EOF\nCharset: utf-8\n\n{body}\nEOF\n", out _);
        var warnings = Run(() => Dump(ts.Failure));
        warnings.ShouldBe("postfix/bounce: warning: t.cf: 8-bit message text in failure template\n"
            + "postfix/bounce: warning: please specify a charset value other than us-ascii\n"
            + "postfix/bounce: warning: -- ignoring this template for now\n");
        ts.Failure.Encoding.ShouldBe(BounceTemplate.Encoding7Bit);
        ts.Delay.Encoding.ShouldBe(BounceTemplate.Encoding8Bit);
        ts.Delay.Charset.ShouldBe("utf-8");
        Dump(ts.Delay).ShouldEndWith("\n\n" + body + "\n");
    }

    [Fact]
    public void Latin1BytesPassThrough()
    {
        var text = "failure_template = <<EOF\nCharset: iso-8859-1\n\ncaf\u00e9\nEOF\n";
        var ts = BounceTemplates.Create();
        Run(() => ts.Load(Encoding.Latin1.GetBytes(text), "t.cf"));
        Encoding.Latin1.GetBytes(Dump(ts.Failure)).ShouldContain((byte)0xe9);
    }

    public static TheoryData<int, string, string, string> TimeUnits => new()
    {
        { 90 * 60, "$delay_warning_time_minutes", "90", "" },
        { 90 * 60, "$delay_warning_time_seconds", "5400", "excessive result \"5400\" in failure template conversion of parameter \"delay_warning_time_seconds\"" },
        { 90 * 60, "$delay_warning_time_days", "0", "zero result in failure template conversion of parameter \"delay_warning_time_days\"" },
        { 0, "$delay_warning_time_weeks", "0", "" },
        { 3 * 7 * 86400, "$delay_warning_time_weeks", "3", "" },
    };

    [Theory]
    [MemberData(nameof(TimeUnits))]
    public void TimeParametersScaleByUnit(int delay, string text, string want, string warning)
    {
        var ts = Load($"failure_template = {text}\n", out _);
        Expand(ts.Failure, Config(delay: delay), out var warnings).ShouldBe(want);
        if (warning.Length == 0)
            warnings.ShouldBeEmpty();
        else
            warnings.ShouldStartWith($"postfix/bounce: warning: t.cf: {warning}\n");
    }

    [Fact]
    public void UnknownTimeSuffixIsFatal()
    {
        var ts = Load("failure_template = $maximal_queue_lifetime_fortnights\n", out _);
        var warnings = Run(() => Should.Throw<FatalException>(() => ts.Failure.Expand(_ => { }, Config())));
        warnings.ShouldBe("postfix/bounce: fatal: t.cf: unrecognized suffix \"fortnights\" in parameter \"maximal_queue_lifetime_fortnights\"\n");
    }

    [Theory]
    [InlineData("X $nosuch X", "undefined $name in failure template: X $nosuch X")]
    [InlineData("X ${nosuch X", "bad $name syntax in failure template: X ${nosuch X")]
    public void ExpansionErrorsAreFatal(string line, string want)
    {
        var ts = Load($"failure_template = <<EOF\n{line}\nEOF\n", out _);
        var warnings = Run(() => Should.Throw<FatalException>(() => ts.Failure.Expand(_ => { }, Config())));
        warnings.ShouldEndWith($"postfix/bounce: fatal: t.cf: {want}\n");
    }

    [Fact]
    public void ConditionalsAndPrintableValues()
    {
        // A first line that looks like "label:" would be a header.
        var ts = Load("failure_template = <<EOF\nText\n${soft_bounce?{on}:{off}} ${nosuch?x}${nosuch:y} [$tabbed] [$utf8]\nEOF\n", out _);
        Expand(ts.Failure, Config(), out _).ShouldBe("Text\non y [a_b] [P__stfix]");
        Expand(ts.Failure, Config(utf8: true), out _).ShouldBe("Text\non y [a_b] [" + BounceTemplate.Octets("Pöstfix") + "]");
    }

    [Theory]
    [InlineData("mx.example.com", "mx.example.com")]
    [InlineData("MX.Example.COM", "mx.example.com")]
    [InlineData("mx.xn--bcher-kva.example", "mx.bücher.example")]
    public void HostNamesShowInUtf8FormWithSmtpUtf8(string host, string want)
    {
        var config = new BounceTemplateConfig(_ => null) { SmtpUtf8Enable = true, MyHostname = host, MyDomain = "d" };
        var ts = Load("verify_template = $myhostname\n", out _);
        Expand(ts.Verify, config, out var warnings).ShouldBe(BounceTemplate.Octets(want));
        warnings.ShouldBeEmpty();
    }

    [Fact]
    public void BadPunycodeIsShownAsIs()
    {
        var config = new BounceTemplateConfig(_ => null) { SmtpUtf8Enable = true, MyHostname = "xn--zz.unit.test", MyDomain = "d" };
        var ts = Load("verify_template = $myhostname\n", out _);
        Expand(ts.Verify, config, out var warnings).ShouldBe("xn--zz.unit.test");
        warnings.ShouldContain("conversion \"myhostname\" failed: input value: \"xn--zz.unit.test\"");
    }

    [Fact]
    public void HeadersUsePostmasterSubjectForPostmasterCopies()
    {
        var tp = BounceTemplates.Create().Delay;
        var lines = new List<string>();
        tp.Headers(lines.Add, "<user@example.com>", postmasterCopy: true, standardFrom: true);
        lines.ShouldBe(new[]
        {
            "From: Mail Delivery System <MAILER-DAEMON>", "Subject: Postmaster Warning: Delayed Mail", "To: <user@example.com>",
        });
        lines.Clear();
        BounceTemplates.Create().Success.Headers(lines.Add, "u", postmasterCopy: true, standardFrom: false);
        lines[0].ShouldBe("From: MAILER-DAEMON (Mail Delivery System)");
        lines[1].ShouldBe("Subject: Successful Mail Delivery Report");
    }

    [Theory]
    [InlineData(false, "Zur\u00c3\u00bcck", "Zur??ck")]
    [InlineData(false, "Zur\u00fcck", "Zur?ck")]
    [InlineData(true, "Zur\u00c3\u00bcck", "Zur\u00fcck")]
    [InlineData(true, "Zur\u00fcck", "Zur?ck")]
    [InlineData(false, "tab\there", "tab?here")]
    public void DiagnosticsShowBytesAsMsgOutputDoes(bool utf8, string octets, string want)
    {
        var saved = Msg.Utf8Enable;
        Msg.Utf8Enable = utf8;
        try
        {
            Msg.Printable(BounceTemplate.Text(octets)).ShouldBe(want);
        }
        finally
        {
            Msg.Utf8Enable = saved;
        }
    }

    [Theory]
    [InlineData("4", 'h', 4 * 3600)]
    [InlineData("90m", 'h', 5400)]
    [InlineData("2w", 'd', 14 * 86400)]
    [InlineData("h", 'd', 0)]
    [InlineData("3hx", 'd', 3 * 3600)]
    public void ConvTimeFollowsPostfix(string text, char unit, int want)
    {
        Postfix.Util.ConvTime.TryParse(text, unit, out var seconds).ShouldBeTrue();
        seconds.ShouldBe(want);
    }

    [Theory]
    [InlineData("")]
    [InlineData("later")]
    [InlineData("3x")]
    [InlineData("-1h")]
    [InlineData("99999999999")]
    public void ConvTimeRejectsGarbage(string text)
    {
        Postfix.Util.ConvTime.TryParse(text, 'h', out _).ShouldBeFalse();
    }

    [Theory]
    [InlineData("mail.example.com", true)]
    [InlineData("bad..example", false)]
    [InlineData("-x.example", false)]
    [InlineData("123.456", false)]
    [InlineData("under_score.example", true)]
    public void ValidHostnameFollowsRfc1035(string name, bool want)
    {
        MailParamsCheck.ValidHostname(name, gripe: false).ShouldBe(want);
    }
}
