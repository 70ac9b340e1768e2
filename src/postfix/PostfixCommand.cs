// NAME
//	PostfixCommand - options, environment and hand-off of postfix(1)
// POSTFIX
//	src/postfix/postfix.c
// DESCRIPTION
//	Superuser only. Parses -c, -D and -v, reads main.cf, trims the
//	environment to import_environment, notes a low compatibility level,
//	exports the installation parameters (the environment every child
//	of the control command sees, the master included), makes sure the
//	command, daemon and queue directories exist, and then runs the
//	command itself (ControlCommands) or, with multi-instance support
//	configured and no instance named, the multi_instance_wrapper.
using System;
using System.Collections.Generic;
using Postfix.Global.Bounce;
using Postfix.Global.Config;
using Postfix.Global.Log;
using Postfix.Util;

namespace Postfix.Commands.Control;

internal static class PostfixCommand
{
    // RootPath - ROOT_PATH of sys_defs.h (Linux).
    public const string RootPath = "/bin:/usr/bin:/sbin:/usr/sbin";

    // Exported - main.cf parameters exported by name, in postfix.c's order.
    public static readonly string[] Exported =
    {
        "command_directory", "daemon_directory", "data_directory", "meta_directory", "queue_directory",
        "config_directory", "shlib_directory", "mail_owner", "setgid_group", "sendmail_path", "mailq_path",
        "newaliases_path", "manpage_directory", "sample_directory", "readme_directory", "html_directory",
    };

    private static readonly string[] CompatNotice =
    {
        "Postfix is using backwards-compatible default settings",
        "See http://www.postfix.org/COMPATIBILITY_README.html for details",
    };

    public static int Run(string[] args)
    {
        OpenStandardDescriptors();
        Msg.StderrEnabled = Sys.IsATty(2) == 1;
        MailLog.Init(Msg.Tag, null, logwriterFallback: true);

        if (Sys.GetUid() != 0)
        {
            Msg.Error("to submit mail, use the Postfix sendmail command");
            Msg.Fatal("the postfix command is reserved for the superuser");
        }
        if (Sys.GetUid() != Sys.GetEuid() || Sys.GetGid() != Sys.GetEgid())
            Msg.Fatal("the postfix command must not run as a set-uid process");

        var getopt = new GetOpt(args, "+c:Dv", Msg.Tag);
        int ch;
        while ((ch = getopt.Next()) != -1)
        {
            switch (ch)
            {
                case 'c':
                    if (!getopt.Optarg!.StartsWith('/'))
                        Msg.Fatal("-c requires absolute pathname");
                    Environment.SetEnvironmentVariable(MailConf.ConfEnvPath, getopt.Optarg);
                    break;
                case 'D':
                    Environment.SetEnvironmentVariable("MAIL_DEBUG", "");
                    break;
                case 'v':
                    Msg.Verbose++;
                    Environment.SetEnvironmentVariable("MAIL_VERBOSE", "");
                    break;
                default:
                    Msg.Fatal($"usage: {Msg.Tag} [-c config_dir] [-Dv] command");
                    break;
            }
        }
        var forceSingleInstance = Environment.GetEnvironmentVariable(MailConf.ConfEnvPath) != null;

        var conf = MailConf.Read();
        MailParamsCheck.Run(conf, conf.ConfigDirectory, conf.Eval);
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable(MailLog.LogTagEnv)))
            Environment.SetEnvironmentVariable(MailLog.LogTagEnv, conf.Eval("syslog_name"));
        CleanEnvironment(conf.Eval("import_environment"));
        MailLog.Init(Msg.Tag, conf, logwriterFallback: true);

        var level = CompatLevel.FromString(conf.Eval("compatibility_level"), t => Msg.Fatal(t));
        if (level < CompatLevel.FromString(ControlContext.LastCompatLevel, t => Msg.Panic(t)))
        {
            foreach (var line in CompatNotice)
                Msg.Info(line);
            Msg.Info($"To disable backwards compatibility use \"postconf compatibility_level={ControlContext.LastCompatLevel}\" and \"postfix reload\"");
        }

        Environment.SetEnvironmentVariable("PATH", RootPath);
        Environment.SetEnvironmentVariable(MailConf.ConfEnvPath, conf.Eval("config_directory"));
        foreach (var name in Exported)
            Environment.SetEnvironmentVariable(name, conf.Eval(name));

        foreach (var name in new[] { "command_directory", "daemon_directory", "queue_directory" })
        {
            var dir = conf.Eval(name);
            if (Sys.Chdir(dir) != 0)
                Msg.Fatal($"chdir({dir}): {Sys.LastError()}");
        }

        var rest = args[getopt.Optind..];
        var wrapper = conf.Eval("multi_instance_wrapper");
        if (forceSingleInstance || SplitList(conf.Eval("multi_instance_directories")).Count == 0)
            return ControlCommands.Run(new ControlContext(conf), rest);
        if (wrapper.Length == 0)
            Msg.Fatal("multi-instance support is requested, but multi_instance_wrapper is empty");
        var argv = new List<string>(wrapper.Split([' ', '\t', '\r', '\n'], StringSplitOptions.RemoveEmptyEntries));
        argv.AddRange(rest);
        var path = ChildProcess.Resolve(argv[0]);
        Native.Exec(path, argv);
        Msg.Fatal($"{argv[0]}: {Sys.LastError()}");
        return 1;
    }

    // SplitList - a comma/space separated parameter value.
    public static List<string> SplitList(string value) =>
        new(value.Split([',', ' ', '\t', '\r', '\n'], StringSplitOptions.RemoveEmptyEntries));

    // OpenStandardDescriptors - descriptors 0-2 open before anything else.
    private static void OpenStandardDescriptors()
    {
        for (var fd = 0; fd < 3; fd++)
        {
            if (!Sys.FdIsOpen(fd) && Sys.Open("/dev/null", Sys.O_RDWR, 0) != fd)
                Msg.Fatal($"open /dev/null: {Sys.LastError()}");
        }
    }

    // CleanEnvironment - clean_env(): keep only the listed variables, and
    // set the name=value entries.
    internal static void CleanEnvironment(string list)
    {
        var keep = new List<(string, string)>();
        foreach (var item in SplitList(list))
        {
            if (item.Contains('=', StringComparison.Ordinal))
            {
                if (NameValue.Split(item, out var n, out var v) is { } err)
                    Msg.Fatal($"clean_env: {err} in: {item}");
                keep.Add((n, v));
            }
            else if (Environment.GetEnvironmentVariable(item) is { } value)
            {
                keep.Add((item, value));
            }
        }
        foreach (System.Collections.DictionaryEntry e in Environment.GetEnvironmentVariables())
            Environment.SetEnvironmentVariable((string)e.Key, null);
        foreach (var (n, v) in keep)
            Environment.SetEnvironmentVariable(n, v);
    }
}
