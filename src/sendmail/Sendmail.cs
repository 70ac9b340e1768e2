// NAME
//	Sendmail - the sendmail(1) command: set-up and mode dispatch
// POSTFIX
//	src/sendmail/sendmail.c (main)
// DESCRIPTION
//	Reads main.cf (after a look for -C), imports the environment
//	settings of import_environment, goes to the queue directory,
//	parses the command line and does what the mode says: enqueue a
//	message, or run postqueue, postalias, postfix or smtpd. Any fatal
//	error exits with EX_TEMPFAIL at once, as Postfix's run-time error
//	handler makes it.
using System;
using System.Collections.Generic;
using Postfix.Global.Config;
using Postfix.Global.Log;
using Postfix.Global.Submit;
using Postfix.Util;

namespace Postfix.Commands.Sendmail;

internal static class Sendmail
{
    private static readonly char[] CommaSpace = [',', ' ', '\t', '\r', '\n'];

    public static int Run(string[] args)
    {
        try
        {
            return Execute(args);
        }
        catch (FatalException)
        {
            ProgramHost.FlushOut();
            return ExitCodes.TempFail;
        }
    }

    private static int Execute(string[] args)
    {
        var progName = Msg.Tag;
        var trusted = !ConfigDirCheck.Unsafe();
        if (trusted && Environment.GetEnvironmentVariable("MAIL_VERBOSE") != null)
            Msg.Verbose = 1;
        MailLog.Init(MailLog.Task("sendmail", null), null);

        if (Sys.GetEuid() == 0 && Sys.GetUid() != 0)
        {
            Msg.Warn("the Postfix sendmail command has set-uid root file permissions");
            Msg.Warn("or the command is run from a set-uid root process");
            Msg.Warn("the Postfix sendmail command must be installed without set-uid root file permissions");
            Sys.SetGid(Sys.GetGid());
            Sys.SetUid(Sys.GetUid());
        }

        SendmailArgs.PreScanConfig((string[])args.Clone(), progName);
        var conf = MailConf.Read();
        var limits = SubmitParams.Load(conf);
        ImportEnvironment(conf.Eval("import_environment"));
        MailLog.Init(MailLog.Task("sendmail", conf), conf);

        var queueDir = conf.Eval("queue_directory");
        if (Sys.Chdir(queueDir) != 0)
            Msg.FatalStatus(ExitCodes.Unavailable, $"chdir {queueDir}: {Sys.LastError()}");

        var a = SendmailArgs.Parse(args, progName, conf);
        if (a.QueueTime != null && a.Mode != SendmailMode.Daemon)
            return 0;

        var commandDir = conf.Eval("command_directory");
        switch (a.Mode)
        {
            case SendmailMode.Enqueue:
                if (a.SiteToFlush != null)
                {
                    NoOperands(a, "flush site requires no recipient");
                    Replace(commandDir, ["postqueue", "-s", a.SiteToFlush]);
                }
                else if (a.IdToFlush != null)
                {
                    NoOperands(a, "flush queue_id requires no recipient");
                    Replace(commandDir, ["postqueue", "-i", a.IdToFlush]);
                }
                a.Request.Recipients = a.Operands;
                new Enqueue(conf, limits, a.Request).Run();
                return 0;
            case SendmailMode.MailQ:
                NoOperands(a, "display queue mode requires no recipient");
                Replace(commandDir, ["postqueue", "-p"]);
                return 0;
            case SendmailMode.FlushQ:
                NoOperands(a, "flush queue mode requires no recipient");
                Replace(commandDir, ["postqueue", "-f"]);
                return 0;
            case SendmailMode.Daemon:
            {
                NoOperands(a, "daemon mode requires no recipient");
                var argv = new List<string> { "postfix" };
                ExternalCommand.AddVerbose(argv);
                argv.Add("start");
                return ExternalCommand.Background(commandDir, argv) ? 0 : 1;
            }
            case SendmailMode.NewAlias:
            {
                NoOperands(a, "alias initialization mode requires no recipient");
                var aliasDb = conf.Eval("alias_database");
                if (a.AliasMapFromArgs == null && aliasDb.Length == 0)
                    return 0;
                var argv = new List<string> { "postalias" };
                ExternalCommand.AddVerbose(argv);
                argv.Add("--");
                if (a.AliasMapFromArgs != null)
                    argv.Add(a.AliasMapFromArgs);
                else
                    argv.AddRange(aliasDb.Split(CommaSpace, StringSplitOptions.RemoveEmptyEntries));
                ExternalCommand.Replace(commandDir, argv);
                return 0;
            }
            case SendmailMode.User:
            {
                NoOperands(a, "stand-alone mode requires no recipient");
                var uid = Sys.GetUid();
                if (UserAcl.CheckByUid("authorized_submit_users", conf.Eval("authorized_submit_users"), uid) is { } who)
                    Msg.FatalStatus(ExitCodes.NoPerm, $"User {who}({uid}) is not allowed to submit mail");
                Replace(conf.Eval("daemon_directory"), ["smtpd", "-S"]);
                return 0;
            }
            case SendmailMode.Ignore:
                return 0;
            default:
                Msg.Panic($"unknown operation mode: {(int)a.Mode}");
                return 1;
        }
    }

    private static void NoOperands(SendmailArgs a, string text)
    {
        if (a.Operands.Length > 0)
            Msg.FatalStatus(ExitCodes.Usage, text);
    }

    // Replace - exec a command with the -v options added at the end.
    private static void Replace(string dir, List<string> argv)
    {
        ExternalCommand.AddVerbose(argv);
        ExternalCommand.Replace(dir, argv);
    }

    // ImportEnvironment - update_env(): only the name=value entries.
    private static void ImportEnvironment(string list)
    {
        foreach (var item in list.Split(CommaSpace, StringSplitOptions.RemoveEmptyEntries))
        {
            if (!item.Contains('=', StringComparison.Ordinal))
                continue;
            if (NameValue.Split(item, out var name, out var value) is { } err)
                Msg.Fatal($"update_env: {err} in: {item}");
            Environment.SetEnvironmentVariable(name, value);
        }
    }
}
