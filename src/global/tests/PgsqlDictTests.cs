// NAME
//	PgsqlDictTests - pgsql: lookups against a scratch PostgreSQL server
// DESCRIPTION
//	When Debian's PostgreSQL server programs are installed, a private
//	server is started on loopback (temporary data directory, UNIX
//	socket in the same directory), used, stopped and removed. Without
//	them, only the settings checks run.
using System;
using System.Diagnostics;
#pragma warning disable CA2101, SYSLIB1054 // test-only P/Invoke with ASCII strings
using System.IO;
using Postfix.Global.Dict;
using Shouldly;
using Xunit;

namespace Postfix.Global.Tests;

public sealed class PgsqlServerFixture : IDisposable
{
    private const string Bin = "/usr/lib/postgresql/15/bin";

    public PgsqlServerFixture()
    {
        if (!File.Exists(Path.Combine(Bin, "initdb")) || !File.Exists("/usr/bin/psql"))
            return;
        Dir = Directory.CreateTempSubdirectory("pgsql-test").FullName;
        Port = 40000 + Environment.ProcessId % 20000;
        var asRoot = Postfix.Util.Sys.GetUid() == 0;
        if (asRoot && !Run("/bin/chown", $"postgres {Dir}", false))
            return;
        if (!Run(Path.Combine(Bin, "initdb"), $"-D {Dir}/data --auth=trust -U postgres", asRoot)
            || !Run(Path.Combine(Bin, "pg_ctl"), $"-D {Dir}/data -o \"-k {Dir} -p {Port} -c listen_addresses=127.0.0.1\" -w -l {Dir}/log start", asRoot))
            return;
        Started = true;
        Run("/usr/bin/psql", $"-h 127.0.0.1 -p {Port} -U postgres -q -c \"CREATE TABLE virt(addr text, dest text); "
            + "INSERT INTO virt VALUES ('a@example.com','b@example.net'), ('a@example.com','c@example.net'), "
            + "('o''brien@example.com','quoted'), ('x@example.org','y@example.org'); "
            + "CREATE FUNCTION lookup_virt(text) RETURNS SETOF text AS 'SELECT dest FROM virt WHERE addr = $1' LANGUAGE sql;\"", false);
        asRootStop = asRoot;
    }

    private readonly bool asRootStop;

    public string Dir { get; } = "";

    public int Port { get; }

    public bool Started { get; }

    private static bool Run(string program, string args, bool asPostgres)
    {
        var psi = asPostgres
            ? new ProcessStartInfo("/usr/sbin/runuser", $"-u postgres -- {program} {args}")
            : new ProcessStartInfo(program, args);
        psi.RedirectStandardOutput = psi.RedirectStandardError = true;
        psi.WorkingDirectory = "/tmp";
        using var p = Process.Start(psi);
        if (p == null)
            return false;
        p.StandardOutput.ReadToEnd();
        p.StandardError.ReadToEnd();
        p.WaitForExit();
        return p.ExitCode == 0;
    }

    public void Dispose()
    {
        if (Started)
            Run(Path.Combine(Bin, "pg_ctl"), $"-D {Dir}/data -m immediate -w stop", asRootStop);
        if (Dir.Length > 0)
            Directory.Delete(Dir, true);
    }
}

[Collection("Msg")]
public sealed class PgsqlDictTests : IClassFixture<PgsqlServerFixture>, IDisposable
{
    private readonly PgsqlServerFixture server;
    private readonly DirectoryInfo dir = Directory.CreateTempSubdirectory("pgsql-cf");

    public PgsqlDictTests(PgsqlServerFixture server)
    {
        this.server = server;
    }

    public void Dispose() => dir.Delete(true);

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "setenv")]
    private static extern int SetEnv(string name, string value, int overwrite);

    private Dict.Dict Open(string settings)
    {
        var cf = Path.Combine(dir.FullName, "pg.cf");
        File.WriteAllText(cf, "dbname = postgres\nuser = postgres\n" + settings);
        return PgsqlDict.Open(cf, DictOpenFlags.ReadOnly, DictFlags.FoldFix);
    }

    // ServerRuns - make test installs PostgreSQL (tools/install-deps.sh):
    // without a server the lookups below would prove nothing.
    [Fact]
    public void ServerRuns()
    {
        server.Started.ShouldBeTrue("the scratch PostgreSQL server did not start; run tools/install-deps.sh");
    }

    [Theory]
    [InlineData("inet:127.0.0.1:{port}", "a@example.com", "b@example.net,c@example.net")]
    [InlineData("127.0.0.1:{port}", "A@EXAMPLE.COM", "b@example.net,c@example.net")]
    [InlineData("postgresql://postgres@127.0.0.1:{port}/postgres", "o'brien@example.com", "quoted")]
    [InlineData("unix:{dir}:{port}", "x@example.org", "y@example.org")]
    [InlineData("inet:127.0.0.1:{port}", "nobody@example.com", null)]
    public void QueryResults(string hosts, string key, string? want)
    {
        if (!server.Started)
            return;
        // A UNIX-domain host is a directory; libpq finds the socket by port.
        var h = hosts.Replace("{port}", server.Port.ToString(), StringComparison.Ordinal).Replace("{dir}", server.Dir, StringComparison.Ordinal);
        if (h.StartsWith("unix:", StringComparison.Ordinal))
            h = "unix:" + server.Dir;
        var settings = $"hosts = {h}\nquery = SELECT dest FROM virt WHERE addr='%s'\n";
        if (hosts.StartsWith("unix:", StringComparison.Ordinal))
            settings = $"hosts = {h}\nquery = SELECT dest FROM virt WHERE addr='%s'\n";
        // libpq reads the port of a UNIX-domain host from $PGPORT.
        SetEnv("PGPORT", server.Port.ToString(), 1);
        using var dict = Open(settings);
        dict.Lookup(key).ShouldBe(want);
        dict.Error.ShouldBe(DictError.None);
    }

    [Fact]
    public void SelectFunctionAndResultFormat()
    {
        if (!server.Started)
            return;
        using var dict = Open($"hosts = 127.0.0.1:{server.Port}\nselect_function = lookup_virt\nresult_format = %u at %d\n");
        dict.Lookup("a@example.com").ShouldBe("b at example.net,c at example.net");
    }

    [Fact]
    public void DeadHostIsSkipped()
    {
        if (!server.Started)
            return;
        var saved = Postfix.Util.Msg.Err;
        try
        {
            var err = new StringWriter();
            Postfix.Util.Msg.Err = err;
            using var dict = Open($"hosts = inet:127.0.0.1:1, inet:127.0.0.1:{server.Port}\nquery = SELECT dest FROM virt WHERE addr='%s'\n");
            for (var i = 0; i < 4; i++)
                dict.Lookup("x@example.org").ShouldBe("y@example.org");
        }
        finally
        {
            Postfix.Util.Msg.Err = saved;
        }
    }

    [Fact]
    public void NoServerIsATemporaryError()
    {
        var saved = Postfix.Util.Msg.Err;
        try
        {
            var err = new StringWriter();
            Postfix.Util.Msg.Err = err;
            using var dict = Open("hosts = inet:127.0.0.1:1\nquery = SELECT dest FROM virt WHERE addr='%s'\n");
            dict.Lookup("x@example.org").ShouldBeNull();
            dict.Error.ShouldBe(DictError.Retry);
            err.ToString().ShouldContain("connect to pgsql server inet:127.0.0.1:1: ");
        }
        finally
        {
            Postfix.Util.Msg.Err = saved;
        }
    }

    [Fact]
    public void BadQueryIsATemporaryError()
    {
        if (!server.Started)
            return;
        var saved = Postfix.Util.Msg.Err;
        try
        {
            var err = new StringWriter();
            Postfix.Util.Msg.Err = err;
            using var dict = Open($"hosts = 127.0.0.1:{server.Port}\nquery = SELECT dest FROM nosuchtable WHERE addr='%s'\n");
            dict.Lookup("x@example.org").ShouldBeNull();
            dict.Error.ShouldBe(DictError.Retry);
            err.ToString().ShouldContain($"pgsql query failed: fatal error from host 127.0.0.1:{server.Port}: ERROR:  relation \"nosuchtable\" does not exist");
        }
        finally
        {
            Postfix.Util.Msg.Err = saved;
        }
    }
}
