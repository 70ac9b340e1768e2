// NAME
//	UpgradeConfig - bring an old main.cf and master.cf up to date
// POSTFIX
//	conf/post-install (the upgrade_conf part, Postfix 3.7)
// DESCRIPTION
//	Adds the master.cf services that later Postfix versions need
//	(relay, flush, trace, verify, proxymap, anvil, scache, discard,
//	tlsmgr, retry, proxywrite, the commented-out postscreen, smtpd,
//	dnsblog and tlsproxy entries, postlog), fixes old settings in place
//	(verify and proxywrite process limits, an unprivileged pickup, public
//	cleanup and flush, tlsmgr as a unix service), adds defer/deferred to
//	hash_queue_names, reports obsolete files and pins inet_protocols for
//	configurations that predate IPv6 defaults. Each change is announced
//	on stdout the way the installer does it; an in-place edit also shows
//	what ed(1) prints (sizes, the line before and after).
using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using System.Text.RegularExpressions;
using Postfix.Global.Config;
using Postfix.Global.Params;
using Postfix.Util;

namespace Postfix.Commands.Control;

internal sealed class UpgradeConfig
{
    private const string B = "[ \t]";

    // Services appended when "grep PATTERN master.cf" finds nothing.
    private static readonly (string Pattern, string What, string Entry)[] Missing1 =
    {
        ("^relay", "relay service", "relay\t  unix\t-\t-\tn\t-\t-\tsmtp"),
        ("^flush.*flush", "flush service", "flush     unix  -       -       n       1000?   0       flush"),
        ("trace.*bounce", "trace service", "trace\t  unix\t-\t-\tn\t-\t0\tbounce"),
        ("^verify.*verify", "verify service", "verify\t  unix\t-\t-\tn\t-\t1\tverify"),
    };

    private static readonly (string Pattern, string What, string Entry)[] Missing2 =
    {
        ("^proxymap.*proxymap", "proxymap service", "proxymap  unix\t-\t-\tn\t-\t-\tproxymap"),
        ("^anvil.*anvil", "anvil service", "anvil\t  unix\t-\t-\tn\t-\t1\tanvil"),
        ("^scache.*scache", "scache service", "scache\t  unix\t-\t-\tn\t-\t1\tscache"),
        ("^discard.*discard", "discard service", "discard\t  unix\t-\t-\tn\t-\t-\tdiscard"),
    };

    private static readonly (string Pattern, string What, string Entry)[] Missing3 =
    {
        ("^tlsmgr.*tlsmgr", "tlsmgr service", "tlsmgr    unix  -       -       n       1000?   1       tlsmgr"),
        ("^retry.*error", "retry service", "retry     unix  -       -       n       -       -       error"),
        ("^proxywrite.*proxymap", "proxywrite service", "proxywrite unix -       -       n       -       1       proxymap"),
    };

    private static readonly (string Pattern, string What, string Entry)[] Missing4 =
    {
        ("^#*smtp.*postscreen", "postscreen TCP service", "#smtp      inet  n       -       n       -       1       postscreen"),
        ("^#*smtpd.*smtpd", "smtpd unix-domain service", "#smtpd     pass  -       -       n       -       -       smtpd"),
        ("^#*dnsblog.*dnsblog", "dnsblog unix-domain service", "#dnsblog   unix  -       -       n       -       0       dnsblog"),
        ("^#*tlsproxy.*tlsproxy", "tlsproxy unix-domain service", "#tlsproxy  unix  -       -       n       -       0       tlsproxy"),
    };

    private readonly string configDir;
    private readonly string masterCf;
    private readonly string installerName;

    // UpgradeConfig - for configDir, editing main.cf with postconf (a
    // path) and naming itself installerName in shell-style errors.
    public UpgradeConfig(string configDir, string postconf, string installerName, Func<int, bool>? postconfRuns = null)
    {
        this.postconfRuns = postconfRuns ?? (_ => true);
        this.configDir = configDir;
        masterCf = configDir + "/master.cf";
        Postconf = postconf;
        this.installerName = installerName;
    }

    private string Postconf { get; }

    // postconfRuns - the side effects of a reference postconf query.
    private readonly Func<int, bool> postconfRuns;

    private static void Say(string text) => ProgramHost.Out.Write(text + "\n");

    // Run - the upgrade; null when done, else the exit status.
    public int? Run(string obsolete)
    {
        foreach (var m in Missing1)
        {
            if (AddMissing(m) is { } s)
                return s;
        }
        if (Edit("^verify.*" + B + "0" + B + "*verify", "setting verify process limit to 1",
            "(" + B + ")0(" + B + ")", "${1}1${2}") is { } s1)
            return s1;
        if (Edit("^pickup" + B + "*fifo" + B + "*n" + B + "*n", "making the pickup service unprivileged",
            "(n" + B + "*)n", "${1}-") is { } s2)
            return s2;
        foreach (var name in new[] { "cleanup", "flush" })
        {
            if (Edit("^" + name + B + "*unix" + B + "*[-y]", $"making the {name} service public", "[-y]", "n") is { } s3)
                return s3;
        }
        if (FixHashQueueNames() is { } s4)
            return s4;
        foreach (var m in Missing2)
        {
            if (AddMissing(m) is { } s)
                return s;
        }
        if (Edit("^tlsmgr" + B + "*fifo" + B, "updating the tlsmgr from fifo to unix service", "fifo", "unix", "[0-9][0-9]*", "$0?") is { } s5)
            return s5;
        foreach (var m in Missing3)
        {
            if (AddMissing(m) is { } s)
                return s;
        }
        if (Edit("^proxywrite.*-" + B + "*proxymap", "setting proxywrite process limit to 1",
            "-(" + B + "*proxymap)", "1${1}") is { } s6)
            return s6;
        foreach (var m in Missing4)
        {
            if (AddMissing(m) is { } s)
                return s;
        }
        if (obsolete.Length > 0)
        {
            Fmt.Write("\n    Note: the following files or directories still exist but are\n"
                + "    no longer part of Postfix:\n\n"
                + $"    {obsolete}\n\n");
        }
        var conf = MailConf.Read(configDir);
        postconfRuns(1);
        var defaultIpv4 = ParamCatalog.Default("inet_protocols") == "ipv4";
        if (!defaultIpv4)
            postconfRuns(1);
        if (!defaultIpv4 && conf.LookupRaw("inet_protocols") == null)
        {
            Fmt.Write($"    COMPATIBILITY: editing {configDir}/main.cf, setting\n"
                + "    inet_protocols=ipv4.  Specify inet_protocols explicitly if you\n"
                + "    want to enable IPv6.\n"
                + "    In a future release IPv6 will be enabled by default.\n");
            if (ChildProcess.Run(Postconf, ["postconf", "-c", configDir, "inet_protocols=ipv4"]) != 0)
                return 1;
        }
        return AddMissing(("^postlog", "postlog unix-domain datagram service", "postlog   unix-dgram n  -       n       -       1       postlogd"));
    }

    private static List<string> Lines(string text)
    {
        var lines = new List<string>(text.Split('\n'));
        if (text.EndsWith('\n'))
            lines.RemoveAt(lines.Count - 1);
        return lines;
    }

    private string? ReadMasterCf()
    {
        try
        {
            return File.ReadAllText(masterCf);
        }
        catch (IOException)
        {
            return null;
        }
    }

    private bool Grep(string pattern)
    {
        var text = ReadMasterCf();
        if (text == null)
            return false;
        var re = new Regex(pattern, RegexOptions.CultureInvariant);
        foreach (var line in Lines(text))
        {
            if (re.IsMatch(line))
                return true;
        }
        return false;
    }

    private int? AddMissing((string Pattern, string What, string Entry) m)
    {
        if (Grep(m.Pattern))
            return null;
        Say($"Editing {masterCf}, adding missing entry for {m.What}");
        try
        {
            File.AppendAllText(masterCf, m.Entry + "\n");
        }
        catch (IOException e)
        {
            ProgramHost.FlushOut();
            Msg.Err.Write($"{installerName}: 1: cannot create {masterCf}: {Sys.StrError(Sys.ErrnoOf(e))}\n");
            return 1;
        }
        return null;
    }

    // Edit - when "grep find" matches: the ed session that goes to the
    // first matching line, applies each substitution, prints and writes.
    private int? Edit(string find, string what, params string[] substitutions)
    {
        if (!Grep(find))
            return null;
        Say($"Editing {masterCf}, {what}");
        var text = ReadMasterCf() ?? "";
        var lines = Lines(text);
        Say(Encoding.UTF8.GetByteCount(text).ToString(System.Globalization.CultureInfo.InvariantCulture));
        var re = new Regex(find, RegexOptions.CultureInvariant);
        var at = lines.FindIndex(l => re.IsMatch(l));
        Say(lines[at]);
        for (var i = 0; i + 1 < substitutions.Length; i += 2)
            lines[at] = new Regex(substitutions[i], RegexOptions.CultureInvariant).Replace(lines[at], substitutions[i + 1], 1);
        Say(lines[at]);
        var newText = string.Join("\n", lines) + "\n";
        File.WriteAllText(masterCf, newText);
        Say(Encoding.UTF8.GetByteCount(newText).ToString(System.Globalization.CultureInfo.InvariantCulture));
        return null;
    }

    private int? FixHashQueueNames()
    {
        postconfRuns(1);
        var found = MailConf.Read(configDir).Eval("hash_queue_names");
        var missing = "";
        if (!found.Contains("defer", StringComparison.Ordinal))
            missing += " defer";
        if (!found.Contains("deferred", StringComparison.Ordinal))
            missing += " deferred";
        if (missing.Length == 0)
            return null;
        Say("fixing main.cf hash_queue_names for missing " + missing.TrimStart());
        return ChildProcess.Run(Postconf, ["postconf", "-c", configDir, "-e", "hash_queue_names=" + found + missing]) == 0 ? null : 1;
    }
}
