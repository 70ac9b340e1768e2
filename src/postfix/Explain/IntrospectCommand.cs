// NAME
//	IntrospectCommand - "postfix hooks" and "postfix explain"
// SYNOPSIS
//	postfix [-c config_dir] hooks [-c config_dir] [--all] [--format text|json|dot]
//	postfix [-c config_dir] explain address ADDR [--sender ADDR] [-c dir] [--format text|json]
//	postfix [-c config_dir] explain smtp [-c dir] [--service NAME] --client ADDR[,NAME] ...
// DESCRIPTION
//	Read-only commands: they read main.cf, master.cf and the tables,
//	change nothing, and need no superuser privileges, so they are
//	handled before the control command's own start-up. TryRun()
//	recognizes them after the global -c/-v/-D options.
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using Postfix.Commands.Control.Hooks;
using Postfix.Global.Config;
using Postfix.Util;

namespace Postfix.Commands.Control.Explain;

internal static class IntrospectCommand
{
    // IsIntrospection - args name hooks or explain after the global options.
    public static bool IsIntrospection(string[] args)
    {
        for (var i = 0; i < args.Length; i++)
        {
            var a = args[i];
            if (a == "-c")
            {
                i++;
                continue;
            }
            if (a.StartsWith("-c", StringComparison.Ordinal) || a is "-v" or "-D" or "-vv" or "-Dv" or "-vD")
                continue;
            return a is "hooks" or "explain";
        }
        return false;
    }

    public static int Run(string[] args)
    {
        string? configDir = null;
        var rest = new List<string>();
        var i = 0;
        for (; i < args.Length; i++)
        {
            if (args[i] == "-c" && i + 1 < args.Length)
                configDir = args[++i];
            else if (args[i].StartsWith("-c", StringComparison.Ordinal) && args[i].Length > 2)
                configDir = args[i][2..];
            else if (args[i].StartsWith('-'))
                continue;
            else
                break;
        }
        var command = args[i++];
        var options = new Options();
        for (; i < args.Length; i++)
        {
            var a = args[i];
            string Value()
            {
                if (i + 1 >= args.Length)
                    Msg.Fatal($"option {a} requires a value");
                return args[++i];
            }
            switch (a)
            {
                case "-c":
                    configDir = Value();
                    break;
                case "--all":
                    options.All = true;
                    break;
                case "--format":
                    options.Format = Value();
                    break;
                case "--sender":
                    options.Sender = Value();
                    break;
                case "--service":
                    options.Service = Value();
                    break;
                case "--client":
                    options.Client = Value();
                    break;
                case "--helo":
                    options.Helo = Value();
                    break;
                case "--from":
                    options.From = Value();
                    break;
                case "--to":
                    options.To.Add(Value());
                    break;
                case "--sasl":
                    options.Sasl = Value();
                    break;
                case "--tls":
                    options.Tls = true;
                    break;
                case "--no-external":
                    options.NoExternal = true;
                    break;
                default:
                    if (a.StartsWith('-'))
                        Msg.Fatal($"{command}: unknown option: {a}");
                    options.Words.Add(a);
                    break;
            }
        }
        if (configDir != null && !configDir.StartsWith('/'))
            Msg.Fatal("-c requires absolute pathname");
        configDir ??= MailConf.ConfigDirectoryFromEnvironment();
        if (!File.Exists(Path.Combine(configDir, MailConf.MainConfFile)))
            Msg.Fatal($"open {configDir}/{MailConf.MainConfFile}: No such file or directory");
        var conf = MailConf.Read(configDir);
        var services = MasterServices.Read(Path.Combine(configDir, MailConf.MasterConfFile));
        return command == "hooks" ? Hooks(conf, services, options) : Explain(conf, services, options);
    }

    private sealed class Options
    {
        public bool All;
        public string Format = "text";
        public string? Sender, Service, Client, Helo, From, Sasl;
        public bool Tls, NoExternal;
        public List<string> To = new();
        public List<string> Words = new();
    }

    private static int Hooks(MailConf conf, List<MasterService> services, Options o)
    {
        if (o.Words.Count > 0)
            Msg.Fatal($"usage: {Msg.Tag} hooks [-c config_dir] [--all] [--format text|json|dot]");
        var finder = new HookFinder(conf, services);
        var hooks = finder.Find();
        var unused = o.All ? HookCatalog.Points.Where(p => !finder.Used.Contains(p.Parameter)).ToList() : null;
        var dir = conf.ConfigDirectory;
        switch (o.Format)
        {
            case "text":
                HookReport.Text(ProgramHost.Out, dir, hooks, unused);
                break;
            case "json":
                ProgramHost.Out.Flush();
                var ms = new MemoryStream();
                HookReport.Json(ms, dir, hooks, unused);
                ProgramHost.Out.Write(Encoding.UTF8.GetString(ms.ToArray()));
                break;
            case "dot":
                HookReport.Dot(ProgramHost.Out, dir, hooks, services, conf.Eval("content_filter"));
                break;
            default:
                Msg.Fatal($"unknown format: {o.Format} (use text, json or dot)");
                break;
        }
        return 0;
    }

    private static int Explain(MailConf conf, List<MasterService> services, Options o)
    {
        if (o.Words.Count == 0)
            Msg.Fatal($"usage: {Msg.Tag} explain address ADDR [--sender ADDR] | explain smtp --client ADDR[,NAME] ...");
        if (o.Format is not ("text" or "json"))
            Msg.Fatal($"unknown format: {o.Format} (use text or json)");
        // A dry run goes on past a table that cannot be opened, as the
        // daemons do: it becomes a surrogate whose lookups fail (reported).
        Postfix.Global.Dict.DictSurrogate.AllowSurrogate = true;
        switch (o.Words[0])
        {
            case "address":
                if (o.Words.Count != 2)
                    Msg.Fatal($"usage: {Msg.Tag} explain address ADDR [--sender ADDR] [-c config_dir] [--format text|json]");
                var x = new AddressExplainer(conf, services).Explain(o.Words[1], o.Sender);
                if (o.Format == "json")
                    ExplainReport.Json(ProgramHost.Out, conf.ConfigDirectory, x);
                else
                    ExplainReport.Text(ProgramHost.Out, conf.ConfigDirectory, x);
                return 0;
            case "smtp":
                return SmtpExplainer.Run(conf, services, o.Service, o.Client, o.Helo, o.From, o.To, o.Sasl, o.Tls, o.NoExternal, o.Format);
            default:
                Msg.Fatal($"explain: unknown subject \"{o.Words[0]}\" (use address or smtp)");
                return 1;
        }
    }
}
