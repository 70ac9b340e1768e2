// NAME
//	PostconfRunner - run postconf in-process against a temp configuration
using System;
using System.IO;
using Postfix.Util;

namespace Postfix.Commands.Postconf.Tests;

internal sealed class PostconfRunner : IDisposable
{
    public string Dir { get; } = Directory.CreateTempSubdirectory("pctest.").FullName;

    public PostconfRunner(string mainCf, string? masterCf = "")
    {
        File.WriteAllText(Path.Combine(Dir, "main.cf"), mainCf);
        if (masterCf != null)
            File.WriteAllText(Path.Combine(Dir, "master.cf"), masterCf);
        // Old files: no "hot file" re-reads.
        foreach (var f in Directory.GetFiles(Dir))
            File.SetLastWriteTimeUtc(f, DateTime.UtcNow.AddMinutes(-1));
    }

    // Run - (status, stdout, stderr) of "postconf -c Dir args...".
    public (int Status, string Out, string Err) Run(params string[] args)
    {
        Postconf.ResetForTests();
        var stdout = new StringWriter { NewLine = "\n" };
        var stderr = new StringWriter { NewLine = "\n" };
        ProgramHost.Out = stdout;
        Msg.Err = stderr;
        Msg.Tag = "postconf";
        var all = new string[args.Length + 2];
        all[0] = "-c";
        all[1] = Dir;
        args.CopyTo(all, 2);
        int status;
        try
        {
            status = Postconf.Run(all);
        }
        catch (FatalException e)
        {
            status = e.Status;
        }
        finally
        {
            Environment.SetEnvironmentVariable("MAIL_CONFIG", null);
        }
        return (status, stdout.ToString().Replace(Dir, "DIR", StringComparison.Ordinal), stderr.ToString().Replace(Dir, "DIR", StringComparison.Ordinal));
    }

    public void Dispose() => Directory.Delete(Dir, true);
}
