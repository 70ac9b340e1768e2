// NAME
//	StandAlone - run the showq program directly when the system is down
// POSTFIX
//	src/postqueue/postqueue.c (show_queue), src/util/vstream_popen.c
// DESCRIPTION
//	Run() starts "PROGRAM -u -S [-v...]" with its standard output on a
//	pipe, hands the pipe to the listing code, and checks the exit
//	status: a program that cannot be started is reported as the
//	reference's child reports it (and its empty output is then a
//	malformed response); a non-zero status is "Error running PROGRAM".
using System;
using System.Collections.Generic;
using System.Diagnostics;
using Postfix.Global.Attr;
using Postfix.Util;

namespace Postfix.Commands.Postqueue;

internal static class StandAlone
{
    private const int ExSoftware = 70;

    public static void Run(string program, Action<AttrStream> client)
    {
        var psi = new ProcessStartInfo(program)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
        };
        psi.ArgumentList.Add("-u");
        psi.ArgumentList.Add("-S");
        for (var n = 0; n < Msg.Verbose; n++)
            psi.ArgumentList.Add("-v");
        Process? proc = null;
        try
        {
            proc = Process.Start(psi);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            Msg.Err.Write($"postqueue: fatal: vstream_popen: execvp {program}: {Sys.StrError(e.NativeErrorCode)}\n");
        }
        if (proc == null)
        {
            using var empty = new AttrStream(System.IO.Stream.Null, program);
            client(empty);
            Msg.FatalStatus(ExSoftware, $"Error running {program}");
        }
        using (var stream = new AttrStream(proc.StandardOutput.BaseStream, program))
            client(stream);
        proc.WaitForExit();
        if (proc.ExitCode != 0)
            Msg.FatalStatus(ExSoftware, $"Error running {program}");
    }
}
