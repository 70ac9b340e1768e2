// NAME
//	MsgTests - diagnostic line format and printable() sanitizing
using System.IO;
using Postfix.Util;
using Shouldly;
using Xunit;

namespace Postfix.Util.Tests;

public sealed class MsgTests
{
    [Theory]
    [InlineData("plain text", "plain text")]
    [InlineData("tab\there", "tab?here")]
    [InlineData("new\nline", "new?line")]
    [InlineData("caf\u00e9", "caf??")]
    public void NonPrintableCharactersBecomeQuestionMarks(string text, string want)
    {
        Msg.Utf8Enable = false;
        Msg.Printable(text).ShouldBe(want);
    }

    [Fact]
    public void WarningLineHasTagAndLevel()
    {
        var err = new StringWriter();
        Msg.Err = err;
        Msg.Tag = "postmap";
        Msg.Warn("x\ty");
        err.ToString().ShouldBe("postmap: warning: x?y\n");
    }
}
