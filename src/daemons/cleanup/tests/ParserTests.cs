// NAME
//	ParserTests - RFC 822 tokens, quoting, DSN text
using Postfix.Global.Address;
using System;
using System.Collections.Generic;
using System.Text;
using Postfix.Global.Queue;
using Shouldly;
using Xunit;

namespace Postfix.Daemons.Cleanup.Tests;

public class ParserTests
{
    [Theory]
    [InlineData("a@b, c@d", "a@b, c@d")]
    [InlineData("Name <a@b>", "Name <a@b>")]
    [InlineData("a@b c@d", "a@b, c@d")]
    [InlineData("\"x y\"@z", "\"x y\"@z")]
    [InlineData("group: a, b;", "group: a, b;")]
    [InlineData("a (comment) ", "a (comment)")]
    public void ParseAndExternalize(string input, string expected) =>
        Tok822.Externalize(Tok822.Parse(input), Tok822.Str.Defl).ShouldBe(expected);

    [Fact]
    public void ParseFindsAddresses()
    {
        var tree = Tok822.Parse("Joe <joe@x>, (c) ann, grp: p@q;");
        var addrs = Tok822.Grep(tree, Tok822.Addr);
        addrs.Count.ShouldBe(3); // the group name is not an address
        Tok822.Internalize(addrs[0].Head).ShouldBe("joe@x");
        Tok822.Internalize(addrs[1].Head).ShouldBe("ann");
    }

    [Theory]
    [InlineData("user@dom", "user@dom")]
    [InlineData("a b@dom", "\"a b\"@dom")]
    [InlineData("a..b", "\"a..b\"")]
    [InlineData("", "\"\"")]
    [InlineData("@r:x y@d", "@r:\"x y\"@d")]
    public void QuoteLocal(string input, string expected)
    {
        Quote822.Local(input).ShouldBe(expected);
        Quote822.Unquote(expected).ShouldBe(input);
    }

    [Fact]
    public void DsnSplit()
    {
        CleanupSession.DsnPrepend("5.7.1", "go away").ShouldBe("5.7.1 go away");
        CleanupSession.DsnPrepend("5.7.1", "4.2.0 later").ShouldBe("4.2.0 later");
        CleanupSession.DsnPrepend("5.7.1", "  5.1.1   no").ShouldBe("5.1.1 no");
    }

    [Fact]
    public void RawText()
    {
        Raw.Text("r\u00e9sum\u00e9").ShouldBe("r?sum?");
        Raw.Text(Raw.FromBytes(Encoding.UTF8.GetBytes("caf\u00e9"))).ShouldBe("caf\u00e9");
        Raw.FromText("caf\u00e9").Length.ShouldBe(5);
    }

    [Fact]
    public void FormatTv()
    {
        var sb = new StringBuilder();
        BounceClient.FormatTv(sb, 0, 12345, 2, 2);
        sb.ToString().ShouldBe("0.01");
        sb.Clear();
        // Two significant digits, as the reference's format_tv(): 12 s has
        // no room left for decimals, 1.456 s keeps one.
        BounceClient.FormatTv(sb, 12, 345678, 2, 2);
        sb.ToString().ShouldBe("12");
        sb.Clear();
        BounceClient.FormatTv(sb, 1, 456000, 2, 2);
        sb.ToString().ShouldBe("1.5");
    }
}
