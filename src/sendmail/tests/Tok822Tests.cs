using Postfix.Global.Address;
using Shouldly;
using Xunit;

namespace Postfix.Commands.Sendmail.Tests;

public class Tok822Tests
{
    [Theory]
    [InlineData("a@example.com", "a@example.com")]
    [InlineData("a@example.com, b@example.com", "a@example.com|b@example.com")]
    [InlineData("Some One <some@example.com>", "some@example.com")]
    [InlineData("\"Tee Two\" <t2@example.com>", "t2@example.com")]
    [InlineData("c1@example.com (comment)", "c1@example.com")]
    [InlineData("(c) a@example.com (more)", "a@example.com")]
    [InlineData("\"odd local\"@example.com", "odd local@example.com")]
    [InlineData("<@relay.example:a@example.com>", "@relay.example:a@example.com")]
    [InlineData("group: g1@example.com, g2@example.com;", "g1@example.com|g2@example.com")]
    [InlineData("foo bar@x", "foo|bar@x")]
    [InlineData("<>", "")]
    [InlineData("bare", "bare")]
    [InlineData("a\\ b@x", "a b@x")]
    [InlineData("[1.2.3.4]", "[1.2.3.4]")]
    public void AddressesAreInternalized(string text, string expected)
    {
        string.Join("|", Tok822.Addresses(text)).ShouldBe(expected);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("(just a comment)")]
    public void NoAddress(string text)
    {
        Tok822.Addresses(text).ShouldBeEmpty();
    }

    [Fact]
    public void EightBitBytesPassThrough()
    {
        string.Join("|", Tok822.Addresses("j\u00fcrgen@example.com")).ShouldBe("j\u00fcrgen@example.com");
    }

    [Fact]
    public void NulEndsTheText()
    {
        string.Join("|", Tok822.Addresses("a@b\0c@d")).ShouldBe("a@b");
    }
}
