// NAME
//	PostmapTests - postmap in process: build, query, dump, delete, errors
using System;
using System.IO;
using System.Text;
using Postfix.Util;
using Shouldly;
using Xunit;

namespace Postfix.Commands.Postmap.Tests;

public sealed class PostmapTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("postmap").FullName;
    private readonly StringWriter err = new();
    private StringWriter output = new();

    public PostmapTests()
    {
        File.WriteAllText(Path.Combine(dir, "main.cf"), "");
        File.SetLastWriteTimeUtc(Path.Combine(dir, "main.cf"), System.DateTime.UtcNow.AddMinutes(-1)); // cool: a fresh main.cf is re-read after 300 ms pauses
        Msg.Err = err;
        Msg.Tag = "postmap";
        ProgramHost.Out = output;
    }

    public void Dispose() => Directory.Delete(dir, true);

    private int Run(string? stdin, params string[] args)
    {
        output = new StringWriter();
        ProgramHost.Out = output;
        Postmap.Stdin = () => new MemoryStream(Encoding.UTF8.GetBytes(stdin ?? ""));
        var all = new string[args.Length + 2];
        all[0] = "-c";
        all[1] = dir;
        args.CopyTo(all, 2);
        var status = Postmap.RunOptions(all);
        ByteOut.Flush();
        return status;
    }

    private string Source(string name, string text)
    {
        var path = Path.Combine(dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void BuildThenQueryFoldsKeys()
    {
        var src = Source("t", "Alpha 1\nbeta two words\n");
        Run(null, "lmdb:" + src).ShouldBe(0);
        Run(null, "-q", "ALPHA", "lmdb:" + src).ShouldBe(0);
        output.ToString().ShouldBe("1\n");
        Run(null, "-q", "gamma", "lmdb:" + src).ShouldBe(1);
        output.ToString().ShouldBe("");
    }

    [Fact]
    public void QueriesFromStdinPrintKeyAndValue()
    {
        var src = Source("t", "a 1\nb 2\n");
        Run(null, "lmdb:" + src);
        Run("a\nc\nB\n", "-q", "-", "lmdb:" + src).ShouldBe(0);
        output.ToString().ShouldBe("a\t1\nB\t2\n");
    }

    [Fact]
    public void DuplicatesAndBadLinesAreReported()
    {
        var src = Source("t", "a 1\nlonely\na 2\nk: v\n");
        Run(null, "lmdb:" + src).ShouldBe(0);
        var text = err.ToString();
        text.ShouldContain($"postmap: warning: {src}, line 2: expected format: key whitespace value\n");
        text.ShouldContain($"postmap: warning: lmdb:{src}: duplicate entry: \"a\"\n");
        text.ShouldContain($"postmap: warning: {src}, line 4: record is in \"key: value\" format; is this an alias file?\n");
        Run(null, "-s", "lmdb:" + src);
        output.ToString().ShouldBe("a\t1\nk:\tv\n");
    }

    [Fact]
    public void ReplaceKeepsTheLastValue()
    {
        var src = Source("t", "a 1\na 2\n");
        Run(null, "-r", "lmdb:" + src);
        Run(null, "-q", "a", "lmdb:" + src);
        output.ToString().ShouldBe("2\n");
    }

    [Fact]
    public void DeleteFindsOnce()
    {
        var src = Source("t", "a 1\n");
        Run(null, "lmdb:" + src);
        Run(null, "-d", "a", "lmdb:" + src).ShouldBe(0);
        Run(null, "-d", "a", "lmdb:" + src).ShouldBe(1);
    }

    [Fact]
    public void HeaderKeysComeFromTheMessage()
    {
        Run("Subject: hello\n world\nX-Other : x\n\nbody\n", "-h", "-q", "-", "static:found").ShouldBe(0);
        output.ToString().ShouldBe("Subject: hello\n world\tfound\nX-Other: x\tfound\n");
    }

    [Theory]
    [InlineData("Subject: x", 7)]
    [InlineData("X-Mailer : y", 8)]
    [InlineData(" folded", 0)]
    [InlineData(":nope", 0)]
    [InlineData("no header", 0)]
    public void IsHeaderMeasuresTheName(string line, int want)
    {
        Postmap.IsHeader(line).ShouldBe(want);
    }

    [Fact]
    public void BadOptionPrintsUsage()
    {
        var e = Should.Throw<FatalException>(() => Run(null, "-Z"));
        e.Status.ShouldBe(1);
        err.ToString().ShouldBe("postmap: invalid option -- 'Z'\npostmap: fatal: usage: postmap [-bfFhimnNoprsuUvw] [-c config_dir] [-d key] [-q key] [map_type:]file...\n");
    }

    [Fact]
    public void TexthashCannotBeBuilt()
    {
        var src = Source("t", "a 1\n");
        Should.Throw<FatalException>(() => Run(null, "texthash:" + src));
        err.ToString().ShouldContain("fatal: unsupported dictionary type: texthash does not support bulk-mode creation.");
    }
}
