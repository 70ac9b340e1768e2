// NAME
//	ControlContext - what every control command knows and how it logs
// POSTFIX
//	conf/postfix-script (its preamble), src/postlog/postlog.c
// DESCRIPTION
//	The installation parameters as exported, the instance list of the
//	default configuration (a secondary instance leaves shared files
//	alone), and the messages: every one goes to the maillog with the
//	tag "$MAIL_LOGTAG/postfix-script" and, when stderr is a terminal,
//	to stderr. Fatal() ends the command with status 1 after the usual
//	one-second pause; FatalNoExit() only logs (a failed sub-step whose
//	caller adds its own verdict).
using System;
using System.Collections.Generic;
using System.IO;
using Postfix.Global.Config;
using Postfix.Global.Log;
using Postfix.Util;

namespace Postfix.Commands.Control;

internal sealed class ControlContext
{
    // LastCompatLevel - LAST_COMPAT_LEVEL of Postfix 3.7.
    public const string LastCompatLevel = "3.6";

    public ControlContext(MailConf conf)
    {
        Conf = conf;
        string E(string name) => Environment.GetEnvironmentVariable(name) ?? "";
        CommandDirectory = E("command_directory");
        DaemonDirectory = E("daemon_directory");
        ConfigDirectory = E("config_directory");
        ShlibDirectory = E("shlib_directory");
        MetaDirectory = E("meta_directory");
        QueueDirectory = E("queue_directory");
        DataDirectory = E("data_directory");
        MailOwner = E("mail_owner");
        SetgidGroup = E("setgid_group");
        Tag = (Environment.GetEnvironmentVariable(MailLog.LogTagEnv) ?? "") + "/postfix-script";
    }

    public MailConf Conf { get; }

    public string CommandDirectory { get; }

    public string DaemonDirectory { get; }

    public string ConfigDirectory { get; }

    public string ShlibDirectory { get; }

    public string MetaDirectory { get; }

    public string QueueDirectory { get; }

    public string DataDirectory { get; }

    public string MailOwner { get; }

    public string SetgidGroup { get; }

    public string Tag { get; }

    public string Master => DaemonDirectory + "/master";

    public string PidFile => QueueDirectory + "/pid/master.pid";

    // Instances - multi_instance_directories of the default instance.
    public List<string> Instances { get; private set; } = new();

    // CheckSharedFiles - false for a secondary instance.
    public bool CheckSharedFiles { get; private set; } = true;

    // StartLogging - from here on messages carry the script's tag.
    public void StartLogging()
    {
        Msg.Tag = Tag;
        MailLog.Init(Tag, Conf, logwriterFallback: true);
    }

    public void Info(string text) => Msg.Info(text);

    public void Warn(string text) => Msg.Warn(text);

    // InfoBeforeSignal - a message that must reach postlogd before the
    // master (and with it postlogd) is signalled: wait until postlogd has
    // read it (the reference's script gets that time from the shell).
    public void InfoBeforeSignal(string text)
    {
        Msg.Info(text);
        Postfix.Global.Log.MailLog.WaitDelivered(500);
    }

    public void Fatal(string text) => Msg.Fatal(text);

    public void FatalNoExit(string text)
    {
        try
        {
            Msg.Fatal(text);
        }
        catch (FatalException)
        {
            // Logged, with the pause of a fatal message; the caller
            // decides how to go on.
            System.Threading.Thread.Sleep(1000);
        }
    }

    // Preamble - the directory checks every command starts with (the
    // shell's complaint about a failed cd included).
    public void Preamble()
    {
        ChangeDirectory(CommandDirectory, 56, "command");
        ChangeDirectory(DaemonDirectory, 60, "daemon");
        if (!File.Exists(Master))
            Fatal($"no Postfix master program {Master}!");
        ChangeDirectory(ConfigDirectory, 68, "configuration");
        if (ShlibDirectory != "no")
            ChangeDirectory(ShlibDirectory, 74, "shared-library");
        ChangeDirectory(MetaDirectory, 79, "meta");
        ChangeDirectory(QueueDirectory, 83, "queue");
        if (!PostconfRuns())
            Fatal($"cannot execute {CommandDirectory}/postconf!");
        // The shell's cd leaves these in the children's environment.
        Environment.SetEnvironmentVariable("OLDPWD", MetaDirectory);
        Environment.SetEnvironmentVariable("PWD", QueueDirectory);
        (Instances, CheckSharedFiles) = InstancesOf(ConfigDirectory);
    }

    // PostconfRuns - what one reference "postconf" query of this
    // instance would add: a warning per run about a missing master.cf,
    // or a fatal error (false) about a malformed one.
    public bool PostconfRuns(int runs = 1)
    {
        var path = ConfigDirectory + "/master.cf";
        var cf = MasterCf.Read(path);
        var postconf = CommandDirectory + "/postconf";
        if (cf.OpenError != null)
        {
            for (var i = 0; i < runs; i++)
                Msg.Err.Write($"{postconf}: warning: open {path}: {cf.OpenError}\n");
            return true;
        }
        if (cf.Error == null)
            return true;
        Msg.Err.Write($"{postconf}: fatal: {cf.Error}\n");
        System.Threading.Thread.Sleep(1000);
        return false;
    }

    // ScriptName - the name the shell would use in its own diagnostics.
    public string ScriptName => DaemonDirectory + "/postfix-script";

    // ChangeDirectory - cd DIR || fatal "no Postfix WHAT directory DIR!".
    public void ChangeDirectory(string dir, int line, string what)
    {
        if (dir.Length > 0 && Sys.Chdir(dir) == 0)
            return;
        if (dir.Length > 0)
            Msg.Err.Write($"{ScriptName}: {line}: cd: can't cd to {dir}\n");
        Fatal($"no Postfix {what} directory {dir}!");
    }

    // InstancesOf - the default instance's multi_instance_directories as
    // the scripts split them (only the first comma becomes a space), and
    // whether configDir is not one of the secondary instances.
    public static (List<string>, bool) InstancesOf(string configDir)
    {
        var list = new List<string>();
        var defMain = MailConf.DefConfigDir + "/" + MailConf.MainConfFile;
        if (File.Exists(defMain))
        {
            var def = MailConf.Read(MailConf.DefConfigDir);
            var value = def.Eval("multi_instance_directories");
            var comma = value.IndexOf(',', StringComparison.Ordinal);
            if (comma >= 0)
                value = value[..comma] + " " + value[(comma + 1)..];
            list.AddRange(value.Split([' ', '\t', '\n'], StringSplitOptions.RemoveEmptyEntries));
        }
        var shared = true;
        foreach (var name in list)
        {
            if (name == MailConf.DefConfigDir)
                continue;
            if (name == configDir)
            {
                shared = false;
                break;
            }
        }
        return (list, shared);
    }
}
