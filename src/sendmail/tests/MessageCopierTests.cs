using System.Text;
using Shouldly;
using Xunit;

namespace Postfix.Commands.Sendmail.Tests;

public class MessageCopierTests
{
    private static string Copy(string text, int flags = SendmailFlags.ArchaicEof, StripCr strip = StripCr.Do, int limit = 2048)
    {
        var sink = new RecordList();
        var source = new LineSource(new System.IO.MemoryStream(Encoding.Latin1.GetBytes(text)));
        MessageCopier.Copy(source, sink, null, flags, strip, limit, e => "x");
        return sink.Dump();
    }

    [Fact]
    public void DotEndsTheInput() => Copy("a\n.\nb\n").ShouldBe("N:a");

    [Fact]
    public void DotIgnoredWithI() => Copy("a\n.\nb\n", 0).ShouldBe("N:a|N:.|N:b");

    [Fact]
    public void DotWithCrEndsTheInput() => Copy("a\n.\r\nb\n").ShouldBe("N:a");

    [Fact]
    public void DotAfterContinuedLineIsText() => Copy("abc.\nz\n", limit: 3).ShouldBe("L:abc|N:.|N:z");

    [Fact]
    public void FromLinesAtTheStartAreDropped() =>
        Copy("From x\n>From y\nSubject: s\nFrom z\n").ShouldBe("N:Subject: s|N:From z");

    [Fact]
    public void CrIsStripped() => Copy("a\r\nb\r\r\nc\n").ShouldBe("N:a|N:b|N:c");

    [Fact]
    public void CrKeptWhenNever() => Copy("a\r\nb\n", strip: StripCr.Dont).ShouldBe("N:a\r|N:b");

    [Fact]
    public void StrictFollowsTheFirstLine()
    {
        Copy("a\nb\r\n", strip: StripCr.Dunno).ShouldBe("N:a|N:b\r");
        Copy("a\r\nb\n", strip: StripCr.Dunno).ShouldBe("N:a|N:b");
    }

    [Fact]
    public void LongLinesArePieces() => Copy("abcdefg\nxyz\n", limit: 3).ShouldBe("L:abc|L:def|N:g|L:xyz|N:");

    [Fact]
    public void ExactLimitGivesEmptyLine() => Copy("abc\n", limit: 3).ShouldBe("L:abc|N:");

    [Fact]
    public void LastLineWithoutNewline() => Copy("a\nlast").ShouldBe("N:a|L:last");

    [Fact]
    public void EmptyInput() => Copy("").ShouldBe("");

    [Theory]
    [InlineData("always", (int)StripCr.Do)]
    [InlineData("strict", (int)StripCr.Dunno)]
    [InlineData("never", (int)StripCr.Dont)]
    public void FixEolModes(string value, int mode) => MessageCopier.FixEolMode(value).ShouldBe((StripCr)mode);
}
