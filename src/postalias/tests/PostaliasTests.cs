// NAME
//	PostaliasTests - aliases(5) parsing and the postalias command
using System;
using System.IO;
using Postfix.Util;
using Shouldly;
using Xunit;

namespace Postfix.Commands.Postalias.Tests;

public sealed class PostaliasTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("postalias").FullName;
    private readonly StringWriter err = new();
    private StringWriter output = new();

    public PostaliasTests()
    {
        File.WriteAllText(Path.Combine(dir, "main.cf"), "myhostname = host.example\n");
        File.SetLastWriteTimeUtc(Path.Combine(dir, "main.cf"), System.DateTime.UtcNow.AddMinutes(-1)); // cool: a fresh main.cf is re-read after 300 ms pauses
        Msg.Err = err;
        Msg.Tag = "postalias";
        Postalias.Now = () => 1234567890;
    }

    public void Dispose() => Directory.Delete(dir, true);

    private int Run(params string[] args)
    {
        output = new StringWriter();
        ProgramHost.Out = output;
        var all = new string[args.Length + 2];
        all[0] = "-c";
        all[1] = dir;
        args.CopyTo(all, 2);
        var status = Postalias.RunOptions(all);
        ByteOut.Flush();
        return status;
    }

    public static TheoryData<string, string> Values => new()
    {
        { "a, b,c", "a, b, c" },
        { "\"|/usr/bin/cmd arg\", |/bin/x", "\"|/usr/bin/cmd arg\", |/bin/x" },
        { ":include:/etc/file", ":include:/etc/file" },
        { "a (comment) b", "a (comment) b" },
        { "Foo Bar <a@b.c>, <d@e>", "Foo Bar <a@b.c>, <d@e>" },
        { "one,  two\tthree", "one, two three" },
        { "user@[192.0.2.1]", "user@[192.0.2.1]" },
    };

    [Theory]
    [MemberData(nameof(Values))]
    public void ValuesAreWrittenInExternalForm(string input, string want)
    {
        var toks = Tok822.Scan(input);
        Tok822.Externalize(toks, 0, toks.Count).ShouldBe(want);
    }

    [Fact]
    public void QuotedNamesAreStoredUnquoted()
    {
        var toks = Tok822.Scan("\"quoted name\"");
        Tok822.Internalize(toks, 0, toks.Count).ShouldBe("quoted name");
    }

    [Fact]
    public void BuildAddsSentinelAndNisKeys()
    {
        var src = Path.Combine(dir, "aliases");
        File.WriteAllText(src, "Root: admin,\n  other\nbad line\na@b: x\n");
        Run("lmdb:" + src).ShouldBe(0);
        err.ToString().ShouldContain("line 3: need name:value pair");
        err.ToString().ShouldContain("line 4: name must be local");
        Run("-s", "lmdb:" + src).ShouldBe(0);
        output.ToString().ShouldBe("@:\t@\nYP_LAST_MODIFIED:\t1234567890\nYP_MASTER_NAME:\thost.example\nroot:\tadmin, other\n");
        Run("-q", "ROOT", "lmdb:" + src).ShouldBe(0);
        output.ToString().ShouldBe("admin, other\n");
    }
}
