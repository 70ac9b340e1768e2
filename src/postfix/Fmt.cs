// NAME
//	Fmt - text through fmt(1), as the installer prints its notes
// DESCRIPTION
//	Write() pipes text into "fmt" (found in PATH) with this process's
//	stdout, and waits for it.
using System.Text;
using Postfix.Util;

namespace Postfix.Commands.Control;

internal static class Fmt
{
    public static void Write(string text)
    {
        ProgramHost.FlushOut();
        if (!Sys.Pipe(out var readFd, out var writeFd))
            return;
        var fmt = ChildProcess.Resolve("fmt");
        var pid = Sys.Spawn(fmt, ["fmt"], null, [(readFd, 0), (1, 1), (2, 2)], out _);
        Sys.Close(readFd);
        Sys.WriteAll(writeFd, Encoding.UTF8.GetBytes(text));
        Sys.Close(writeFd);
        if (pid > 0)
            ChildProcess.Wait(pid);
    }
}
