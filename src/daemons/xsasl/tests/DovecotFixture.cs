// NAME
//	DovecotFixture - a real Dovecot auth service for the xsasl tests
// DESCRIPTION
//	Starts /usr/sbin/dovecot through compat-tests/dovecot-auth.sh with the
//	users test:secret and other:pw2, and stops it by its PID afterwards.
using System;
using System.Diagnostics;
using System.IO;
using System.Runtime.CompilerServices;

namespace Postfix.Xsasl.Tests;

public sealed class DovecotFixture : IDisposable
{
    public DovecotFixture()
    {
        Dir = Path.Combine(Path.GetTempPath(), "xsasl-dovecot-" + Environment.ProcessId);
        Directory.CreateDirectory(Dir);
        Socket = Path.Combine(Dir, "auth-client");
        var rc = Script("start", Dir, Socket);
        if (rc != 0)
            throw new InvalidOperationException($"dovecot-auth.sh start failed: {rc}");
    }

    public string Dir { get; }

    public string Socket { get; }

    private static string ScriptPath([CallerFilePath] string here = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(here)!, "../../../../compat-tests/dovecot-auth.sh"));

    private static int Script(params string[] args)
    {
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = false };
        psi.ArgumentList.Add(ScriptPath());
        foreach (var a in args)
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        p.WaitForExit();
        return p.ExitCode;
    }

    public void Dispose()
    {
        Script("stop", Dir);
        try
        {
            Directory.Delete(Dir, true);
        }
        catch (IOException)
        {
            // Dovecot's leftovers: the temp directory is cleaned elsewhere.
        }
        catch (UnauthorizedAccessException)
        {
            // Same.
        }
    }
}
