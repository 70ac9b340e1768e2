// NAME
//	LogicalLineReaderTests - continuation, comments and line numbers
using System.Text;
using Postfix.Util;
using Shouldly;
using Xunit;

namespace Postfix.Util.Tests;

public sealed class LogicalLineReaderTests
{
    [Fact]
    public void JoinsContinuationLinesAndSkipsComments()
    {
        var r = new LogicalLineReader(Encoding.ASCII.GetBytes("# c\na = b\n  c\n# mid\n\td\ne = f"), "t");
        r.Next(out var l1).ShouldBe("a = b  c\td");
        l1.ShouldBe(2);
        r.Next(out var l2).ShouldBe("e = f");
        l2.ShouldBe(6);
        r.Next(out _).ShouldBeNull();
    }
}
