// NAME
//	ControlTests - the pieces of postfix(1) that need no running system:
//	postfix-files parsing and expansion, modes, master.cf lookups, the
//	find walks, the environment filter and the master.cf upgrade edits
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Postfix.Util;
using Shouldly;
using Xunit;

namespace Postfix.Commands.Control.Tests;

public sealed class ControlTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("pfxtest.").FullName;

    public void Dispose() => Directory.Delete(dir, true);

    [Fact]
    public void ParsesPostfixFilesFields()
    {
        var entries = PostfixFiles.Parse("pf", "# comment\n$queue_directory/maildrop:d:$mail_owner:$setgid_group:730:uc\n$x:f:root:-:644\n");
        entries.Count.ShouldBe(3);
        entries[0].Path.ShouldBe("# comment");
        var m = entries[1];
        (m.Path, m.Type, m.Owner, m.Group, m.Mode, m.Flags).ShouldBe(("$queue_directory/maildrop", "d", "$mail_owner", "$setgid_group", "730", "uc"));
        entries[2].Flags.ShouldBe("");
    }

    [Fact]
    public void ExpandsShellVariables()
    {
        var vars = new Dictionary<string, string> { ["queue_directory"] = "/q", ["mail_owner"] = "postfix" };
        string? Lookup(string n) => vars.TryGetValue(n, out var v) ? v : null;
        PostfixFiles.Expand("$queue_directory/active", Lookup).ShouldBe("/q/active");
        PostfixFiles.Expand("${queue_directory}x", Lookup).ShouldBe("/qx");
        PostfixFiles.Expand("$unknown/x", Lookup).ShouldBe("/x");
        PostfixFiles.Expand("plain", Lookup).ShouldBe("plain");
    }

    [Theory]
    [InlineData("755", 493)]
    [InlineData("2755", 1517)]
    [InlineData("0700", 448)]
    public void ParsesOctalModes(string mode, int bits)
    {
        Permissions.TryParseMode(mode, out var parsed).ShouldBeTrue();
        parsed.ShouldBe(bits);
    }

    [Theory]
    [InlineData("")]
    [InlineData("8")]
    [InlineData("u+x")]
    [InlineData("17777")]
    public void RejectsBadModes(string mode) => Permissions.TryParseMode(mode, out _).ShouldBeFalse();

    [Fact]
    public void FindsMasterCfServices()
    {
        var path = Path.Combine(dir, "master.cf");
        File.WriteAllText(path, "# postlog unix-dgram n - n - 1 postlogd\n"
            + "smtp inet n - n 100? - smtpd\n"
            + "postlog   unix-dgram n  -       n\n   -       1       postlogd\n");
        Checks.MasterCfHas(path, "postlog", "unix-dgram").ShouldBeTrue();
        Checks.MasterCfHas(path, "postlog", "unix").ShouldBeFalse();
        File.AppendAllText(path, "bad unix - - nx - - bad\n");
        Checks.MasterCfHas(path, "postlog", "unix-dgram").ShouldBeFalse(); // postconf -M dies
        Checks.MasterCfHas(Path.Combine(dir, "none"), "postlog", "unix-dgram").ShouldBeFalse();
    }

    [Fact]
    public void WalksPreOrderAndPrunes()
    {
        Directory.CreateDirectory(Path.Combine(dir, "a", "b"));
        File.WriteAllText(Path.Combine(dir, "a", "b", "f"), "x");
        File.CreateSymbolicLink(Path.Combine(dir, "a", "link"), "/etc");
        var all = Finder.Walk([dir + "/a"]).Select(f => f.Path).ToList();
        all[0].ShouldBe(dir + "/a");
        all.ShouldContain(dir + "/a/b/f");
        all.IndexOf(dir + "/a/b").ShouldBeLessThan(all.IndexOf(dir + "/a/b/f"));
        all.ShouldNotContain(dir + "/a/link/hosts");
        Finder.Walk([dir + "/a"]).Single(f => f.Path.EndsWith("/link", StringComparison.Ordinal)).Stat.Mode
            .ShouldSatisfyAllConditions(m => Finder.IsLink(m).ShouldBeTrue());
        Finder.Walk([dir + "/a"], prune: true).Count.ShouldBe(1);
        Finder.Walk([dir + "/a"], followLinks: true).Select(f => f.Path).ShouldContain(dir + "/a/link/hosts");
    }

    [Fact]
    public void ReportsMissingRootsLikeFind()
    {
        var err = new StringWriter();
        var saved = Msg.Err;
        Msg.Err = err;
        try
        {
            Finder.Walk([dir + "/missing"]).ShouldBeEmpty();
        }
        finally
        {
            Msg.Err = saved;
        }
        err.ToString().ShouldBe($"find: '{dir}/missing': No such file or directory\n");
    }

    [Fact]
    public void KeepsOnlyImportedEnvironment()
    {
        Environment.SetEnvironmentVariable("PFX_TEST_DROP", "1");
        Environment.SetEnvironmentVariable("PFX_TEST_KEEP", "2");
        var path = Environment.GetEnvironmentVariable("PATH");
        try
        {
            PostfixCommand.CleanEnvironment("PFX_TEST_KEEP, LANG=C");
            Environment.GetEnvironmentVariable("PFX_TEST_DROP").ShouldBeNull();
            Environment.GetEnvironmentVariable("PFX_TEST_KEEP").ShouldBe("2");
            Environment.GetEnvironmentVariable("LANG").ShouldBe("C");
        }
        finally
        {
            Environment.SetEnvironmentVariable("PATH", path);
        }
    }

    [Fact]
    public void UpgradesAnOldMasterCf()
    {
        File.WriteAllText(Path.Combine(dir, "main.cf"), "inet_protocols = ipv4\nhash_queue_names = deferred, defer\n");
        File.SetLastWriteTimeUtc(Path.Combine(dir, "main.cf"), System.DateTime.UtcNow.AddMinutes(-1)); // cool: a fresh main.cf is re-read after 300 ms pauses
        var cf = Path.Combine(dir, "master.cf");
        File.WriteAllText(cf, "pickup    fifo  n       n       n       60      1       pickup\n"
            + "verify    unix  -       -       n       -       0       verify\n"
            + "tlsmgr    fifo  -       -       n       300     1       tlsmgr\n");
        var saved = ProgramHost.Out;
        var output = new StringWriter();
        ProgramHost.Out = output;
        try
        {
            new UpgradeConfig(dir, "/nonexistent/postconf", "post-install").Run("").ShouldBeNull();
        }
        finally
        {
            ProgramHost.Out = saved;
        }
        var text = File.ReadAllText(cf);
        text.ShouldContain("verify    unix  -       -       n       -       1       verify\n");
        text.ShouldContain("pickup    fifo  n       -       n       60      1       pickup\n");
        text.ShouldContain("tlsmgr    unix  -       -       n       300?     1       tlsmgr\n");
        text.ShouldContain("relay\t  unix\t-\t-\tn\t-\t-\tsmtp\n");
        text.ShouldEndWith("postlog   unix-dgram n  -       n       -       1       postlogd\n");
        var lines = output.ToString().Split('\n');
        lines[0].ShouldBe($"Editing {cf}, adding missing entry for relay service");
        output.ToString().ShouldContain($"Editing {cf}, setting verify process limit to 1\n");
        // A second run finds nothing left to do.
        ProgramHost.Out = output = new StringWriter();
        try
        {
            new UpgradeConfig(dir, "/nonexistent/postconf", "post-install").Run("").ShouldBeNull();
        }
        finally
        {
            ProgramHost.Out = saved;
        }
        output.ToString().ShouldBeEmpty();
    }
}
