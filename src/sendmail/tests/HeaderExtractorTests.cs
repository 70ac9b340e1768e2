using System.Text;
using Postfix.Global.Queue;
using Shouldly;
using Xunit;

namespace Postfix.Commands.Sendmail.Tests;

public class HeaderExtractorTests
{
    private static (RecordList, HeaderExtractor) Run(string text, int lineLimit = 2048, int headerLimit = 102400)
    {
        var sink = new RecordList();
        var x = new HeaderExtractor(sink, lineLimit, headerLimit);
        var source = new LineSource(new System.IO.MemoryStream(Encoding.Latin1.GetBytes(text)));
        MessageCopier.Copy(source, sink, x, 0, StripCr.Do, lineLimit, e => "error " + e);
        return (sink, x);
    }

    [Fact]
    public void ToCcBccAreExtracted()
    {
        var (sink, x) = Run("To: a@x, B <b@x>\nCc: c@x\nBcc: d@x\nSubject: s\n\nbody\n");
        string.Join(",", x.Extracted).ShouldBe("a@x,b@x,c@x,d@x");
        x.Resent.ShouldBeFalse();
        sink.Dump().ShouldBe("N:To: a@x, B <b@x>|N:Cc: c@x|N:Bcc: d@x|N:Subject: s|N:|N:body");
    }

    [Fact]
    public void ResentHeadersWin()
    {
        var (_, x) = Run("To: t@x\nResent-To: r@x\nCc: c@x\nResent-Bcc: rb@x\n\nbody\n");
        string.Join(",", x.Extracted).ShouldBe("r@x,rb@x");
        string.Join(",", x.Recipients).ShouldBe("t@x");
    }

    [Fact]
    public void FoldedHeaderAndSpaceBeforeColon()
    {
        var (sink, x) = Run("To: a@x,\n\tb@x\nSubject : hi\n\nbody\n");
        string.Join(",", x.Extracted).ShouldBe("a@x,b@x");
        sink.Dump().ShouldBe("N:To: a@x,|N:\tb@x|N:Subject: hi|N:|N:body");
    }

    [Fact]
    public void MissingBlankLineIsInserted()
    {
        var (sink, _) = Run("To: a@x\nnot a header\n");
        sink.Dump().ShouldBe("N:To: a@x|N:|N:not a header");
    }

    [Fact]
    public void LastLineWithoutNewlineIsCompleted()
    {
        var (sink, _) = Run("To: a@x\n\nlast");
        sink.Dump().ShouldBe("N:To: a@x|N:|L:last|N:");
    }

    [Fact]
    public void LongHeaderIsCutAtTheLineLimit()
    {
        var (sink, _) = Run("X: " + new string('h', 10) + "\n\nb\n", lineLimit: 5);
        sink.Records[0].ShouldBe(('L', "X: hh"));
        sink.Records[1].ShouldBe(('L', "hhhhh"));
        sink.Records[2].ShouldBe(('N', "hhh"));
    }

    [Fact]
    public void HeaderOverTheLimitIsAnError()
    {
        var sink = new RecordList();
        var x = new HeaderExtractor(sink, 2048, 10);
        x.Update(RecordType.Norm, "To: a@x"u8);
        x.Update(RecordType.Norm, "\tb@x"u8).ShouldBe(0);
        x.Update(RecordType.Norm, "\tc@x"u8).ShouldBe(HeaderExtractor.TruncatedHeader);
    }

    [Theory]
    [InlineData("To: x", 2)]
    [InlineData("To : x", 2)]
    [InlineData("X-A-b:", 5)]
    [InlineData(" To: x", 0)]
    [InlineData("To x: y", 0)]
    [InlineData(": x", 0)]
    [InlineData("no colon", 0)]
    public void HeaderNames(string line, int length)
    {
        HeaderExtractor.HeaderNameLength(Encoding.Latin1.GetBytes(line)).ShouldBe(length);
    }
}
