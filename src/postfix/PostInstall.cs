// NAME
//	PostInstall - create-missing, set-permissions, upgrade-configuration
// POSTFIX
//	conf/post-install (Postfix 3.7)
// DESCRIPTION
//	The installer's work that "postfix check", "postfix set-permissions"
//	and "postfix upgrade-configuration" need: name=value arguments
//	override installation parameters (and are written to main.cf with
//	postconf -e when they differ from it), missing directories marked
//	"c" in postfix-files are created, and owner, group and mode are
//	applied to every entry (set-permissions), to "u" entries (upgrade-
//	permissions) or only to the directories just made. Messages and
//	exit statuses are the installer's, whose name ($daemon_directory/
//	post-install) prefixes its errors.
using System;
using System.Collections.Generic;
using System.IO;
using System.Text.RegularExpressions;
using Postfix.Global.Config;
using Postfix.Util;

namespace Postfix.Commands.Control;

internal sealed partial class PostInstall
{
    public static readonly string[] MostParameters =
    {
        "command_directory", "daemon_directory", "data_directory", "html_directory", "mail_owner", "mailq_path",
        "manpage_directory", "newaliases_path", "queue_directory", "readme_directory", "sample_directory",
        "sendmail_path", "setgid_group", "shlib_directory", "meta_directory",
    };

    // The order in which an override is written to main.cf.
    private static readonly string[] EditOrder =
    {
        "daemon_directory", "command_directory", "queue_directory", "data_directory", "mail_owner", "setgid_group",
        "sendmail_path", "mailq_path", "newaliases_path", "html_directory", "manpage_directory", "sample_directory",
        "readme_directory", "shlib_directory", "meta_directory",
    };

    private static readonly string[] NonShared = { "config_directory", "queue_directory", "data_directory" };

    private readonly ControlContext ctx;
    private readonly Dictionary<string, string> vars = new(StringComparer.Ordinal);
    private readonly string self;
    private bool create, setPerms, upgradePerms, upgradeConf, firstInstallReminder;
    private string obsolete = "";
    private MailConf? conf;

    private PostInstall(ControlContext ctx)
    {
        this.ctx = ctx;
        self = ctx.DaemonDirectory + "/post-install";
    }

    public string Usage => $"Usage: {self} [name=value] command\n"
        + "    create-missing          Create missing queue directories.\n"
        + "    upgrade-source          When installing or upgrading from source code.\n"
        + "    upgrade-package         When installing or upgrading from pre-built package.\n"
        + "    first-install-reminder  Remind of mandatory first-time configuration steps.\n"
        + "    name=value              Specify an installation parameter.";

    // Run - post-install ARGS; the installer's exit status.
    public static int Run(ControlContext ctx, IReadOnlyList<string> args) => new PostInstall(ctx).Execute(args);

    // Var - a shell variable: set here, else from the environment.
    internal string? Var(string name) =>
        vars.TryGetValue(name, out var v) ? v : Environment.GetEnvironmentVariable(name);

    private string V(string name) => Var(name) ?? "";

    private static void Error(string text) => Msg.Err.Write(text + "\n");

    private int Execute(IReadOnlyList<string> args)
    {
        foreach (var arg in args)
        {
            if (arg.Contains(' ', StringComparison.Ordinal) || arg.Contains('\t', StringComparison.Ordinal))
            {
                ProgramHost.Out.Write($"{self}: Error: argument contains whitespace: '{arg}'\n");
                return 1;
            }
            var eq = arg.IndexOf('=', StringComparison.Ordinal);
            if (eq >= 0)
                vars[arg[..eq]] = arg[(eq + 1)..];
            else if (arg == "create-missing")
                create = true;
            else if (arg.StartsWith("set-perm", StringComparison.Ordinal))
                create = setPerms = true;
            else if (arg.StartsWith("upgrade-perm", StringComparison.Ordinal))
                create = upgradePerms = true;
            else if (arg.StartsWith("upgrade-conf", StringComparison.Ordinal))
                upgradeConf = true;
            else if (arg == "upgrade-source")
                create = upgradeConf = upgradePerms = true;
            else if (arg == "upgrade-package")
                create = upgradeConf = setPerms = true;
            else if (arg.StartsWith("first-install", StringComparison.Ordinal))
                firstInstallReminder = true;
            else
                return Fail($"{self}: Error: {Usage}");
        }
        if (!create && !upgradeConf && !firstInstallReminder)
            return Fail($"{self}: Error: {Usage}");

        var postconf = V("command_directory").Length > 0 ? V("command_directory") + "/postconf" : "postconf";
        if (!File.Exists(ChildProcess.Resolve(postconf)))
        {
            Error($"{self}: Error: no {postconf} command found.");
            Error($"Re-run this command as {self} command_directory=/some/where.");
            return 1;
        }
        if (!ctx.PostconfRuns())
            return 1;
        if (V("config_directory").Length == 0)
            vars["config_directory"] = MailConf.DefConfigDir;
        var configDir = V("config_directory");
        if (!Directory.Exists(configDir))
            return Fail($"{self}: Error: {configDir} is not a directory.");
        var (_, updateShared) = ControlContext.InstancesOf(configDir);
        var meta = V("meta_directory");
        if (!File.Exists(meta + "/postfix-files"))
            return Fail($"{self}: Error: {meta}/postfix-files is not a file.");

        if (File.Exists(configDir + "/main.cf"))
        {
            conf = configDir == ctx.ConfigDirectory ? ctx.Conf : MailConf.Read(configDir);
            foreach (var name in MostParameters)
            {
                if (V(name).Length == 0)
                    vars[name] = conf.Eval(name);
            }
        }
        if (V("manpage_directory") == "no")
            return Fail($"{self}: Error: manpage_directory no longer accepts \"no\" values.\nTry again with \"{self} manpage_directory=/pathname ...\".");
        if (V("setgid_group") == "no")
            return Fail($"{self}: Error: setgid_group no longer accepts \"no\" values.\nTry again with \"{self} setgid_group=groupname ...\"");
        foreach (var name in new[] { "daemon_directory", "command_directory", "queue_directory", "sendmail_path", "newaliases_path", "mailq_path", "manpage_directory", "meta_directory" })
        {
            if (!V(name).StartsWith('/'))
                return Fail($"{self}: Error: \"{V(name)}\" should be an absolute path name.");
        }
        foreach (var name in new[] { "html_directory", "readme_directory", "shlib_directory" })
        {
            if (!V(name).StartsWith('/') && V(name) != "no")
                return Fail($"{self}: Error: \"{V(name)}\" should be \"no\" or an absolute path name.");
        }
        if (UpdateMainCf() is { } failed)
            return failed;
        if (create && CreateAndSetPermissions(updateShared, configDir) is { } status)
            return status;
        if (upgradeConf && new UpgradeConfig(configDir, V("command_directory") + "/postconf", self, ctx.PostconfRuns).Run(obsolete) is { } upStatus)
            return upStatus;
        if (firstInstallReminder)
            FirstInstallReminder(configDir);
        return 0;
    }

    private static int Fail(string text)
    {
        Error(text);
        return 1;
    }

    // UpdateMainCf - name=value overrides that differ from main.cf are
    // written back with postconf -e (the installer does that in a subshell).
    private int? UpdateMainCf()
    {
        var configDir = V("config_directory");
        // postconf -dhx mail_version, then one postconf -h per parameter.
        if (!ctx.PostconfRuns())
            return 1;
        if (!ctx.PostconfRuns(MostParameters.Length))
            return 1;
        var current = MailConf.Read(configDir);
        var mailVersion = current.Eval("mail_version");
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        var differs = false;
        foreach (var name in MostParameters)
        {
            var v = V(name);
            // A value ending in the version string is written symbolically.
            if (mailVersion.Length > 0 && v.EndsWith(mailVersion, StringComparison.Ordinal))
                v = v[..^mailVersion.Length] + "${mail_version}";
            values[name] = v;
            if (!differs && v != current.Eval(name))
                differs = true;
        }
        if (!differs)
            return null;
        var argv = new List<string> { "postconf", "-c", configDir, "-e" };
        foreach (var name in EditOrder)
            argv.Add($"{name} = {values[name]}");
        return ChildProcess.Run(V("command_directory") + "/postconf", argv) == 0 ? null : 1;
    }

    private int? CreateAndSetPermissions(bool updateShared, string configDir)
    {
        foreach (var source in PostfixFiles.Sources(V("meta_directory")))
        {
            string text;
            try
            {
                text = File.ReadAllText(source);
            }
            catch (IOException e)
            {
                Error($"{self}: {Sys.StrError(Sys.ErrnoOf(e))}: {source}");
                return 1;
            }
            foreach (var e in PostfixFiles.Parse(source, text))
            {
                if (ApplyEntry(e, updateShared, configDir) is { } status)
                    return status;
            }
        }
        return null;
    }

    private int? ApplyEntry(PostfixFileEntry e, bool updateShared, string configDir)
    {
        if (!e.Path.StartsWith('$'))
            return null;
        if (!updateShared)
        {
            var nonShared = false;
            foreach (var name in NonShared)
                nonShared |= e.Path.StartsWith("$" + name, StringComparison.Ordinal);
            if (!nonShared)
                return null;
        }
        if (e.Type is "h" or "l")
            return null;
        if (e.Type is not ("d" or "f"))
            return Fail($"unknown type {e.Type} for {e.Path} in {e.Source}");
        string X(string field) => field.StartsWith('$') ? PostfixFiles.Expand(field, Var) : field == "-" ? "" : field;
        var path = X(e.Path);
        var owner = X(e.Owner);
        var group = X(e.Group);
        var flags = X(e.Flags);
        if (path == "no" || path.StartsWith("no/", StringComparison.Ordinal))
            return null;
        var recursive = flags.Contains('r', StringComparison.Ordinal);
        if ((flags.Contains('1', StringComparison.Ordinal) || flags.Contains('i', StringComparison.Ordinal))
            && !Readable(path) && configDir != MailConf.DefConfigDir)
            return null;
        if (flags.Contains('o', StringComparison.Ordinal))
        {
            if (Readable(path) && e.Type != "d")
                obsolete += " " + path;
            return null;
        }
        var setPermission = false;
        if (create && e.Type == "d" && flags.Contains('c', StringComparison.Ordinal) && !Directory.Exists(path))
        {
            if (Native.Mkdir(path, Convert.ToInt32("777", 8)) != 0)
                return Fail($"mkdir: cannot create directory '{path}': {Sys.LastError()}");
            setPermission = true;
        }
        else if (setPerms || (upgradePerms && flags.Contains('u', StringComparison.Ordinal)))
        {
            setPermission = true;
        }
        if (!setPermission)
            return null;
        return Permissions.Apply(path, e.Type == "d", owner, group, e.Mode, recursive) ? null : 1;
    }

    private static bool Readable(string path) => Native.Access(path, 4);

    private void FirstInstallReminder(string configDir)
    {
        ctx.PostconfRuns(2);
        var c = conf ?? MailConf.Read(configDir);
        var aliases = MapNamePrefix().Replace(c.Eval("alias_database"), "", 1);
        var text = "\n    Warning: you still need to edit myorigin/mydestination/mynetworks\n"
            + $"    parameter settings in {configDir}/main.cf.\n\n"
            + "    See also http://www.postfix.org/STANDARD_CONFIGURATION_README.html\n"
            + "    for information about dialup sites or about sites inside a\n"
            + "    firewalled network.\n\n"
            + $"    BTW: Check your {aliases} file and be sure to set up aliases\n"
            + "    that send mail for root and postmaster to a real person, then\n"
            + $"    run {c.Eval("newaliases_path")}.\n\n";
        Fmt.Write(text);
    }

    [GeneratedRegex("^[^:]*:")]
    private static partial Regex MapNamePrefix();
}
