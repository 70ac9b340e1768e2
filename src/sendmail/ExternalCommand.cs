// NAME
//	ExternalCommand - the Postfix programs that sendmail hands over to
// POSTFIX
//	src/global/mail_run.c (mail_run_replace, mail_run_background)
// DESCRIPTION
//	Replace() execs dir/argv[0] in place of this process (postqueue
//	for -bp, -q, -qR, -qI; postalias for -bi; smtpd for -bs) and is
//	fatal when that fails. Background() starts it without waiting
//	(postfix start, for -bd); a command that cannot be executed is
//	reported as the child process would report it.
using System.Collections.Generic;
using System.Runtime.InteropServices;
using Postfix.Util;

namespace Postfix.Commands.Sendmail;

internal static class ExternalCommand
{
    public static void Replace(string dir, List<string> argv)
    {
        var path = dir + "/" + argv[0];
        ProgramHost.FlushOut();
        Native.Execv(path, argv);
        Msg.Fatal($"execv {path}: {Sys.StrError(Marshal.GetLastPInvokeError())}");
    }

    // Background - returns false when no process could be started.
    public static bool Background(string dir, List<string> argv)
    {
        var path = dir + "/" + argv[0];
        var pid = Sys.Spawn(path, argv, null, [], out var errno);
        if (pid < 0)
            Msg.Err.Write($"{Msg.Tag}: fatal: execv {path}: {Sys.StrError(errno)}\n");
        return true;
    }

    // Verbose - one "-v" per verbose level.
    public static void AddVerbose(List<string> argv)
    {
        for (var n = 0; n < Msg.Verbose; n++)
            argv.Add("-v");
    }
}
