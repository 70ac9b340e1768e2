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

public sealed class SmtpdProtocolPieceTests
{
    private static (string? Err, SmtpdHaproxy.Endpoints Ep, int Len) Parse(string text)
    {
        var ep = new SmtpdHaproxy.Endpoints();
        var data = Encoding.Latin1.GetBytes(text);
        var len = data.Length;
        var err = SmtpdHaproxy.Parse(data, ref len, ep, true, true);
        return (err, ep, len);
    }

    [Fact]
    public void HaproxyVersion1()
    {
        var (err, ep, len) = Parse("PROXY TCP4 01.02.03.04 4.3.2.1 123 321\nEHLO x\r\n");
        err.ShouldBeNull();
        ep.ClientAddr.ShouldBe("1.2.3.4");
        ep.ServerAddr.ShouldBe("4.3.2.1");
        ep.ClientPort.ShouldBe("123");
        len.ShouldBe(39);
        Parse("PROXY TCP6 ::ffff:1.2.3.4 ::ffff:4.3.2.1 123 321\n").Ep.ClientAddr.ShouldBe("1.2.3.4");
        Parse("PROXY TCP4 1.2.3.4 4.3.2.1 0123 321\n").Err.ShouldBe("bad or missing client port");
        Parse("PROXY TCP4 1.2.3.4 4.3.2.1 123 654321\n").Err.ShouldBe("bad or missing server port");
        Parse("PROXY TCP6 1.2.3.4 4.3.2.1 123 321\n").Err.ShouldBe("bad or missing client address");
        Parse("PROXY BLAH\n").Err.ShouldBe("bad or missing protocol type");
        Parse("PROXY\n").Err.ShouldBe("short protocol header");
        Parse("PROXY TCP4 1.2.3.4").Err.ShouldBe("missing protocol header terminator");
    }

    [Fact]
    public void HaproxyVersion2Local()
    {
        var hdr = new byte[16];
        "\r\n\r\n\0\r\nQUIT\n"u8.CopyTo(hdr);
        hdr[12] = 0x20;
        var ep = new SmtpdHaproxy.Endpoints();
        var len = hdr.Length;
        SmtpdHaproxy.Parse(hdr, ref len, ep, true, true).ShouldBeNull();
        ep.NonProxy.ShouldBeTrue();
        len.ShouldBe(16);
    }

    [Fact]
    public void XtextQuoting()
    {
        SmtpdSession.XtextQuote("a b+c=d").ShouldBe("a+20b+2Bc+3Dd");
    }

    [Fact]
    public void LineWrapIndentsContinuations()
    {
        var lines = SmtpdNotify.Wrap("aaa bbb ccc ddd", 8, 4);
        lines.Select(l => (l.Text, l.Indent)).ShouldBe([("aaa bbb", 0), ("ccc", 4), ("ddd", 4)]);
    }

    [Fact]
    public void OpenSslCipherNames()
    {
        SmtpdSession.OpenSslCipherName("TLS_AES_256_GCM_SHA384").ShouldBe(("TLS_AES_256_GCM_SHA384", 256));
        SmtpdSession.OpenSslCipherName("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256").ShouldBe(("ECDHE-RSA-AES128-GCM-SHA256", 128));
    }
}
