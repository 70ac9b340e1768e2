using System.IO;
using Postfix.Util;
using Shouldly;
using Xunit;

namespace Postfix.Commands.Sendmail.Tests;

public class DsnCodesTests
{
    [Theory]
    [InlineData("success", 2)]
    [InlineData("SUCCESS,delay failure", 14)]
    [InlineData("never", 1)]
    [InlineData("never,success", 0)]
    [InlineData("sometimes", 0)]
    public void NotifyMask(string text, int mask)
    {
        var saved = Msg.Err;
        Msg.Err = new StringWriter();
        try
        {
            DsnCodes.NotifyMask(text).ShouldBe(mask);
        }
        finally
        {
            Msg.Err = saved;
        }
    }

    [Fact]
    public void UnknownNotifyWordIsReported()
    {
        var saved = Msg.Err;
        var err = new StringWriter();
        Msg.Err = err;
        try
        {
            DsnCodes.NotifyMask("foo");
        }
        finally
        {
            Msg.Err = saved;
        }
        err.ToString().ShouldContain("warning: unknown DSN NOTIFY command value \"foo\" in \"foo\"");
    }

    [Theory]
    [InlineData("full", 1)]
    [InlineData("HDRS", 2)]
    [InlineData("both", 0)]
    public void RetCode(string text, int code) => DsnCodes.RetCode(text).ShouldBe(code);

    [Theory]
    [InlineData("+=", true)]
    [InlineData("-=", true)]
    [InlineData("ab", false)]
    [InlineData("+", false)]
    [InlineData("+=-", false)]
    public void Verp(string delims, bool ok) => DsnCodes.VerpDelimsOk(delims, "-=+").ShouldBe(ok);

    [Theory]
    [InlineData("env-id", true)]
    [InlineData("", false)]
    [InlineData("a\u0001", false)]
    [InlineData("caf\u00e9", false)]
    public void AllPrint(string s, bool ok) => DsnCodes.AllPrint(s).ShouldBe(ok);
}
