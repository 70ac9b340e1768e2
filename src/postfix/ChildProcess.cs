// NAME
//	ChildProcess - run the programs the control command depends on
// DESCRIPTION
//	Run() starts a program with the current (exported) environment and
//	the standard descriptors of this process, optionally with stderr
//	on /dev/null, and waits for it; the result is the exit status a
//	shell would report (128 + signal after a signal). Start() does not
//	wait (reload's background postsuper). Resolve() searches PATH.
using System;
using System.Collections.Generic;
using System.IO;
using Postfix.Util;

namespace Postfix.Commands.Control;

internal static class ChildProcess
{
    // Script - the script name and line a failed start is reported
    // with, as dash reports it ("script: line: path: not found").
    public static string ScriptName { get; set; } = "sh";

    // Run - run path with argv (argv[0] included); the exit status.
    public static int Run(string path, IReadOnlyList<string> argv, bool stderrToNull = false, int line = 1)
    {
        var pid = Start(path, argv, stderrToNull, out var errno);
        if (pid < 0)
        {
            var why = errno == 2 ? "not found" : Sys.StrError(errno);
            Msg.Err.Write($"{ScriptName}: {line}: {path}: {why}\n");
            return errno == 2 ? 127 : 126;
        }
        var status = Wait(pid, out var coreDumped);
        // A shell names the signal that ended a foreground command.
        if (status > 128 && status - 128 is not (2 or 13))
            Msg.Err.Write(Native.StrSignal(status - 128) + (coreDumped ? " (core dumped)" : "") + "\n");
        return status;
    }

    // Capture - run path with stdout and stderr into a pipe; the exit
    // status and what it wrote (as `...` would see it, trailing newlines gone).
    public static (int Status, string Output) Capture(string path, IReadOnlyList<string> argv)
    {
        ProgramHost.FlushOut();
        if (!Sys.Pipe(out var readFd, out var writeFd))
            return (126, "");
        var pid = Sys.Spawn(path, argv, null, [(0, 0), (writeFd, 1), (writeFd, 2)], out var errno);
        Sys.Close(writeFd);
        var output = new System.IO.MemoryStream();
        var buf = new byte[4096];
        nint n;
        while ((n = Sys.Read(readFd, buf)) > 0)
            output.Write(buf, 0, (int)n);
        Sys.Close(readFd);
        var text = System.Text.Encoding.UTF8.GetString(output.ToArray()).TrimEnd('\n');
        if (pid < 0)
            return (errno == 2 ? 127 : 126, $"{ScriptName}: 1: {path}: {(errno == 2 ? "not found" : Sys.StrError(errno))}");
        return (Wait(pid), text);
    }

    // Start - start path with argv; the pid, or -1 (errno in errnoOut).
    public static int Start(string path, IReadOnlyList<string> argv, bool stderrToNull, out int errnoOut)
    {
        ProgramHost.FlushOut();
        var map = new List<(int, int)>();
        var nullFd = -1;
        if (stderrToNull)
        {
            nullFd = Sys.Open("/dev/null", Sys.O_WRONLY | Sys.O_CLOEXEC, 0);
            if (nullFd >= 0)
            {
                map.Add((0, 0));
                map.Add((1, 1));
                map.Add((nullFd, 2));
            }
        }
        var pid = Sys.Spawn(path, argv, null, map, out errnoOut);
        if (nullFd >= 0)
            Sys.Close(nullFd);
        return pid;
    }

    // Wait - the shell-style exit status of a child.
    public static int Wait(int pid) => Wait(pid, out _);

    public static int Wait(int pid, out bool coreDumped)
    {
        coreDumped = false;
        while (true)
        {
            var r = Sys.WaitPid(pid, out var status, 0);
            if (r == pid)
            {
                coreDumped = (status & 0x80) != 0;
                if (Sys.WIfExited(status))
                    return Sys.WExitStatus(status);
                if (Sys.WIfSignaled(status))
                    return 128 + Sys.WTermSig(status);
                continue;
            }
            if (System.Runtime.InteropServices.Marshal.GetLastPInvokeError() != 4)
                return 127;
        }
    }

    // Resolve - a command name searched in PATH (names with '/' as given).
    public static string Resolve(string name)
    {
        if (name.Contains('/', StringComparison.Ordinal))
            return name;
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? PostfixCommand.RootPath).Split(':'))
        {
            var candidate = (dir.Length == 0 ? "." : dir) + "/" + name;
            if (File.Exists(candidate))
                return candidate;
        }
        return name;
    }
}
