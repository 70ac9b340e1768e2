// NAME
//	CompatCommand - "postfix compat": the compatibility report
// POSTFIX
//	(none: this command exists only here)
// DESCRIPTION
//	"postfix [-c config_dir] compat [options]" runs the compatibility
//	runner (compat-tests/run, see postfix-compat(1)) with the build this
//	postfix program belongs to as "ours" and config_dir (when given) as
//	the configuration. The runner is found through $POSTFIX_COMPAT_RUN,
//	beside the checkout (out/sbin/../../compat-tests/run) or in
//	/usr/share/postfix-compat/run. Read-only; any user may run it.
using System;
using System.Collections.Generic;
using System.IO;
using Postfix.Util;

namespace Postfix.Commands.Control;

internal static class CompatCommand
{
    // IsCompat - args name compat after the global options.
    public static bool IsCompat(string[] args)
    {
        for (var i = 0; i < args.Length; i++)
        {
            var a = args[i];
            if (a == "-c")
            {
                i++;
                continue;
            }
            if (a.StartsWith('-') && a != "--")
                continue;
            return a == "compat";
        }
        return false;
    }

    public static int Run(string[] args)
    {
        string? configDir = null;
        var i = 0;
        for (; i < args.Length && args[i] != "compat"; i++)
        {
            if (args[i] == "-c" && i + 1 < args.Length)
                configDir = args[++i];
            else if (args[i].StartsWith("-c", StringComparison.Ordinal))
                configDir = args[i][2..];
        }
        var self = Path.GetDirectoryName(Environment.ProcessPath ?? "/usr/sbin/postfix") ?? "/usr/sbin";
        var candidates = new List<string>();
        if (Environment.GetEnvironmentVariable("POSTFIX_COMPAT_RUN") is { Length: > 0 } env)
            candidates.Add(env);
        candidates.Add(Path.GetFullPath(Path.Combine(self, "..", "..", "compat-tests", "run")));
        candidates.Add("/usr/share/postfix-compat/run");
        var runner = candidates.Find(File.Exists);
        if (runner == null)
            Msg.Fatal($"compat: cannot find the compatibility runner (tried {string.Join(", ", candidates)}); set POSTFIX_COMPAT_RUN");
        var rest = args[(i + 1)..];
        var argv = new List<string> { runner! };
        if (configDir != null && Array.IndexOf(rest, "--config") < 0)
            argv.AddRange(["--config", configDir]);
        if (Array.IndexOf(rest, "--ours") < 0)
            argv.AddRange(["--ours", self]);
        argv.AddRange(rest);
        Environment.SetEnvironmentVariable("POSTFIX_COMPAT_PROG", "postfix compat");
        Native.Exec(runner!, argv);
        Msg.Fatal($"compat: execute {runner}: {Sys.LastError()}");
        return 1;
    }
}
