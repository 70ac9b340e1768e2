// NAME
//	SmtpdUnitTests - smtpd's parsers and formatters
// DESCRIPTION
//	The command tokenizer, EHLO keyword masks, xtext decoding, comment
//	sanitizing, header detection, the reject footer, and the line
//	reader's CR/LF and bare-LF handling, each against what the
//	reference's code does.
using System.IO;
using System.Linq;
using System.Text;
using Shouldly;
using Xunit;

namespace Postfix.Daemons.Smtpd.Tests;

public sealed class SmtpdUnitTests
{
    private static string[] Words(string line) => SmtpdTokenizer.Split(line).Select(t => t.Text).ToArray();

    [Fact]
    public void TokenizerSplitsFromAndToAtTheColon()
    {
        Words("MAIL FROM:<a@b> SIZE=10").ShouldBe(["MAIL", "FROM:", "<a@b>", "SIZE=10"]);
        Words("MAIL FROM: <a@b>").ShouldBe(["MAIL", "FROM:", "<a@b>"]);
        Words("rcpt to:<x y@z>").ShouldBe(["rcpt", "to:", "<x y@z>"]);
        Words("  NOOP  ").ShouldBe(["NOOP"]);
        Words("").ShouldBeEmpty();
    }

    [Fact]
    public void TokenizerKeepsQuotesAndFlagsUnterminatedGroups()
    {
        Words("MAIL FROM:<\"a b\"@c>").ShouldBe(["MAIL", "FROM:", "<\"a b\"@c>"]);
        var t = SmtpdTokenizer.Split("MAIL FROM:<a@b");
        t[2].Error.ShouldBeTrue();
        t[2].Text.ShouldBe("<a@b");
        SmtpdTokenizer.Split("MAIL FROM:<a@b>")[2].Error.ShouldBeFalse();
        Words("X a:b").ShouldBe(["X", "a:b"]);
    }

    [Fact]
    public void EhloMaskParsesAndFormatsInTableOrder()
    {
        var m = EhloMask.Parse("pipelining, dsn silent-discard bogus");
        (m & EhloMask.Pipelining).ShouldNotBe(0);
        (m & EhloMask.Dsn).ShouldNotBe(0);
        (m & EhloMask.Silent).ShouldNotBe(0);
        EhloMask.Format(EhloMask.Parse("dsn pipelining etrn")).ShouldBe("ETRN PIPELINING DSN");
        EhloMask.Format(EhloMask.Smtputf8).ShouldBe("EHLO_MASK_SMTPUTF8");
    }

    [Fact]
    public void XtextDecoding()
    {
        SmtpdSession.XtextUnquote("a+2Bb").ShouldBe("a+b");
        SmtpdSession.XtextUnquote("a+2").ShouldBeNull();
        SmtpdSession.XtextUnquote("a+zz").ShouldBeNull();
        SmtpdSession.UxtextUnquote("caf\\x{E9}").ShouldBe("café");
    }

    [Fact]
    public void CommentSanitizeBalancesParentheses()
    {
        SmtpdSession.CommentSanitize("us(er").ShouldBe("us(er)");
        SmtpdSession.CommentSanitize("us)er").ShouldBe("us?er");
        SmtpdSession.CommentSanitize("a\\b").ShouldBe("a?b");
    }

    [Fact]
    public void HeaderDetection()
    {
        SmtpdSession.IsHeader("Subject:").ShouldBeTrue();
        SmtpdSession.IsHeader("X-Foo:bar").ShouldBeTrue();
        SmtpdSession.IsHeader("MAIL").ShouldBeFalse();
        SmtpdSession.IsHeader(":").ShouldBeFalse();
    }

    [Fact]
    public void FooterAddsLinesWithCodeAndStatus()
    {
        SmtpdFooter.Apply("550 5.7.1 No", "see http://x", "", (n, m) => null)
            .ShouldBe("550-5.7.1 No\r\n550 5.7.1 see http://x");
        SmtpdFooter.Apply("550 5.7.1 No", "\\c more", "", (n, m) => null).ShouldBe("550 5.7.1 No more");
        SmtpdFooter.Apply("550 5.7.1 No", "a\\nb", "", (n, m) => null)
            .ShouldBe("550-5.7.1 No\r\n550-5.7.1 a\r\n550 5.7.1 b");
    }

    private static (int Last, string Text, int Bare) Read(SmtpdStream io, int bound = 0)
    {
        var buf = new ByteBuffer();
        var last = io.GetLine(buf, bound, skip: false);
        return (last, Encoding.Latin1.GetString(buf.Span), io.GotBareLf);
    }

    [Fact]
    public void LineReaderStripsCrLfAndSeesBareLf()
    {
        var io = new SmtpdStream(new MemoryStream(Encoding.ASCII.GetBytes("a\r\nb\nc\r\r\nxyz")), null) { DetectBareLf = 1 };
        Read(io).ShouldBe(('\n', "a", 0));
        Read(io).ShouldBe(('\n', "b", 1));
        Read(io).ShouldBe(('\n', "c\r", 0));
        Should.Throw<SmtpdJump>(() => Read(io));
    }

    [Fact]
    public void LineReaderBoundSplitsLongLines()
    {
        var io = new SmtpdStream(new MemoryStream(Encoding.ASCII.GetBytes("abcdef\r\n")), null);
        Read(io, 4).ShouldBe(('d', "abcd", 0));
        Read(io, 4).ShouldBe(('\n', "ef", 0));
    }
}
