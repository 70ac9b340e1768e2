// NAME
//	Logrotate - "postfix logrotate"
// POSTFIX
//	conf/postfix-script (logrotate)
// DESCRIPTION
//	Renames $maillog_file with a $maillog_file_rotate_suffix time stamp,
//	tells a running master to reopen it (SIGHUP), waits a second and
//	compresses the old file with $maillog_file_compressor. Files under
//	/dev are not rotated. A failed step ends the command with the
//	step's own error text in the fatal message.
using System.Collections.Generic;
using System.Threading;
using Postfix.Util;

namespace Postfix.Commands.Control;

internal static class Logrotate
{
    public static int Run(ControlContext ctx, string[] args)
    {
        if (args.Length != 1)
            ctx.Fatal($"usage postfix {args[0]} (no arguments)");
        var values = new Dictionary<string, string>();
        foreach (var name in new[] { "maillog_file", "maillog_file_compressor", "maillog_file_rotate_suffix" })
        {
            var value = ctx.PostconfRuns() ? ctx.Conf.Eval(name) : "";
            if (value.Length == 0)
                ctx.Fatal($"empty '{name}' parameter value - logfile rotation failed");
            values[name] = value;
        }
        var file = values["maillog_file"];
        if (file.StartsWith("/dev/", System.StringComparison.Ordinal))
            ctx.Fatal($"not rotating '{file}'");
        if (Rotate(ctx, file, values["maillog_file_rotate_suffix"], values["maillog_file_compressor"]) is { } error)
            ctx.Fatal($"logfile '{file}' rotation failed: {error}");
        return 0;
    }

    // Rotate - null on success, else what the failed step said.
    private static string? Rotate(ControlContext ctx, string file, string suffixFormat, string compressor)
    {
        var suffix = Native.FormatNow(suffixFormat);
        if (suffix == null)
            return "date: invalid date format";
        var rotated = file + "." + suffix;
        if (Sys.Rename(file, rotated) != 0)
        {
            var why = Sys.LastError();
            return Sys.LStat(file, out _)
                ? $"mv: cannot move '{file}' to '{rotated}': {why}"
                : $"mv: cannot stat '{file}': {why}";
        }
        if (ControlCommands.MasterRunning(ctx))
        {
            var words = ControlCommands.PidWords(ctx);
            if (words.Length == 0 || !int.TryParse(words[0], out var pid) || Sys.Kill(pid, 1) != 0)
                return $"{ctx.ScriptName}: 1: kill: {Sys.LastError()}";
        }
        Thread.Sleep(1000);
        var (status, output) = ChildProcess.Capture(ChildProcess.Resolve(compressor), [compressor, rotated]);
        return status == 0 ? null : output;
    }
}
