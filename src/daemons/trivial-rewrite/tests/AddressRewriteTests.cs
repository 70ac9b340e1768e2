// NAME
//	AddressRewriteTests - the rewrite rules of trivial-rewrite
using System;
using System.IO;
using Postfix.Global.Config;
using Shouldly;
using Xunit;

namespace Postfix.Daemons.TrivialRewrite.Tests;

public sealed class AddressRewriteTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("rewrite").FullName;

    public void Dispose() => Directory.Delete(dir, true);

    private AddressRewrite Make(string mainCf)
    {
        var path = Path.Combine(dir, "main.cf");
        File.WriteAllText(path, "myhostname = host.example.com\nmydomain = example.com\n" + mainCf);
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddMinutes(-1));
        return new AddressRewrite(MailConf.Read(dir));
    }

    [Theory]
    [InlineData("joe", "joe@host.example.com")]
    [InlineData("joe@host", "joe@host.example.com")]
    [InlineData("joe@host.", "joe@host")]
    [InlineData("joe@a.b.", "joe@a.b")]
    [InlineData("joe@[127.0.0.1]", "joe@[127.0.0.1]")]
    [InlineData("@a,@b:x@c", "x@c.example.com")]
    [InlineData("a!b", "b@a.example.com")]
    [InlineData("a!b!c", "b!c@a.example.com")]
    [InlineData("user%dom", "user@dom.example.com")]
    [InlineData("foo bar", "\"foo bar\"@host.example.com")]
    [InlineData("\"x y\"@host", "\"x y\"@host.example.com")]
    [InlineData("@", "\"\"")]
    [InlineData("\"\"", "\"\"")]
    public void LocalContextDefaults(string input, string expected) =>
        Make("").Rewrite("local", input).ShouldBe(expected);

    [Fact]
    public void PercentHackAndNoBangSwap()
    {
        var r = Make("swap_bangpath = no\nallow_percent_hack = no\n");
        r.Rewrite("local", "user%dom").ShouldBe("user%dom@host.example.com");
        r.Rewrite("local", "a!b").ShouldBe("a!b@host.example.com");
    }

    [Fact]
    public void RemoteContextUsesRemoteHeaderRewriteDomain()
    {
        Make("").Rewrite("remote", "joe").ShouldBe("joe");
        Make("remote_header_rewrite_domain = rw.example.net\n").Rewrite("remote", "joe@h").ShouldBe("joe@h.rw.example.net");
    }

    [Fact]
    public void NoAppending()
    {
        var r = Make("append_at_myorigin = no\nappend_dot_mydomain = no\n");
        r.Rewrite("local", "joe").ShouldBe("joe");
        r.Rewrite("local", "joe@host").ShouldBe("joe@host");
    }

    [Fact]
    public void UnknownContext() => Make("").Rewrite("other", "joe").ShouldBeNull();
}
