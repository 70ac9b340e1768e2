// NAME
//	ProgramHost - common start and exit path of every command
// DESCRIPTION
//	Sets the message tag from argv[0], makes sure descriptors 0-2 are
//	open, sets umask 022 (not for daemons, which keep the umask that
//	master(8) gave them, 077), runs the program body, and turns a
//	FatalException into the exit status after the one-second pause
//	that Postfix's msg_fatal() makes. Stdout is flushed on every exit.
using System;
using System.IO;
using System.Text;
using System.Threading;

namespace Postfix.Util;

public static class ProgramHost
{
    // Out - buffered UTF-8 stdout (Console.Out is slow and line-buffered).
    private static TextWriter? stdout;

    public static TextWriter Out
    {
        get => stdout ??= new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false), 65536) { AutoFlush = false, NewLine = "\n" };
        set => stdout = value;
    }

    // KeepUmask - set by the daemons' multi-call host: a daemon keeps the
    // umask it inherits from master(8), as the reference's daemons do.
    public static bool KeepUmask { get; set; }

    // Run - run body(args) as program "name"; return the exit status.
    // Argv0 verbatim: some programs (postconf, postcat) print argv[0] as given.
    public static int Run(string defaultName, string[] args, Func<string[], int> body, bool verbatimArgv0 = false)
    {
        Msg.Tag = verbatimArgv0 ? (Argv0() is { Length: > 0 } a ? a : defaultName) : ProgramName(defaultName);
        if (!KeepUmask)
            Sys.Umask(Convert.ToInt32("022", 8));
        int status;
        try
        {
            status = body(args);
        }
        catch (FatalException e)
        {
            FlushOut();
            Thread.Sleep(1000);
            return e.Status;
        }
        FlushOut();
        return status;
    }

    public static void FlushOut()
    {
        try
        {
            stdout?.Flush();
        }
        catch (IOException)
        {
            // A closed pipe on stdout: nothing more to say.
        }
    }

    // ProgramName - basename of argv[0] as the kernel saw it.
    public static string ProgramName(string fallback)
    {
        var argv0 = Argv0();
        if (string.IsNullOrEmpty(argv0))
            return fallback;
        var slash = argv0.LastIndexOf('/');
        return slash >= 0 ? argv0[(slash + 1)..] : argv0;
    }

    // Argv0 - argv[0] verbatim (GetCommandLineArgs()[0] may be a .dll path).
    public static string? Argv0()
    {
        try
        {
            var raw = File.ReadAllBytes("/proc/self/cmdline");
            var end = Array.IndexOf(raw, (byte)0);
            var first = Encoding.UTF8.GetString(raw, 0, end < 0 ? raw.Length : end);
            // Under "dotnet x.dll" the first word is the host: use the dll name.
            if (first.EndsWith("/dotnet", StringComparison.Ordinal) || first == "dotnet")
            {
                var name = Environment.GetCommandLineArgs()[0];
                name = Path.GetFileNameWithoutExtension(name);
                return name;
            }
            return first;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }
}
