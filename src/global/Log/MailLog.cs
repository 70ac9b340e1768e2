// NAME
//	MailLog - pick the logging channel for a daemon or command
// POSTFIX
//	src/global/maillog_client.c, src/global/mail_task.c
// DESCRIPTION
//	Init() is maillog_client_init(): with maillog_file empty every line
//	goes to syslog; otherwise to the postlogd(8) socket
//	$queue_directory/public/$postlog_service, and the path and host name
//	are exported (POSTLOG_SERVICE, POSTLOG_HOSTNAME) so that children
//	can log before they read main.cf. Programs that may run before
//	postlogd does (postfix(1), postlogd) append to maillog_file
//	themselves when nobody listens (LogwriterFallback).
//	Task() is mail_task(): "$syslog_name/program", where MAIL_LOGTAG
//	from the environment wins over main.cf.
using System;
using System.IO;
using System.Text;
using Postfix.Global.Config;
using Postfix.Util;

namespace Postfix.Global.Log;

public static class MailLog
{
    public const string PostlogServiceEnv = "POSTLOG_SERVICE";
    public const string PostlogHostnameEnv = "POSTLOG_HOSTNAME";
    public const string LogTagEnv = "MAIL_LOGTAG";

    private static SyslogClient? syslog;
    private static PostlogClient? postlog;
    private static bool registered;
    private static string? maillogFile;

    // Task - the syslog tag of a program.
    public static string Task(string argv0, MailConf? conf)
    {
        var slash = argv0.LastIndexOf('/');
        if (slash >= 0 && slash + 1 < argv0.Length)
            argv0 = argv0[(slash + 1)..];
        var tag = Environment.GetEnvironmentVariable(LogTagEnv);
        if (string.IsNullOrEmpty(tag))
            tag = conf?.Eval("syslog_name") ?? "postfix";
        return tag + "/" + argv0;
    }

    // Init - choose syslog or postlog for "progname" (already a task name).
    public static void Init(string progname, MailConf? conf, bool logwriterFallback = false)
    {
        var importPath = Environment.GetEnvironmentVariable(PostlogServiceEnv);
        if (importPath == "")
            importPath = null;
        var importHost = Environment.GetEnvironmentVariable(PostlogHostnameEnv);
        if (importHost == "")
            importHost = null;
        maillogFile = conf?.Eval("maillog_file");
        var usePostlog = maillogFile != null ? maillogFile.Length > 0 : importPath != null;
        if (!registered)
        {
            registered = true;
            Msg.Sinks.Add(Emit);
        }
        if (usePostlog)
        {
            if (!string.IsNullOrEmpty(maillogFile))
            {
                var ok = false;
                foreach (var prefix in conf!.Eval("maillog_file_prefixes").Split([',', ' ', '\t', '\r', '\n'], StringSplitOptions.RemoveEmptyEntries))
                {
                    if (maillogFile.StartsWith(prefix, StringComparison.Ordinal))
                    {
                        ok = true;
                        break;
                    }
                }
                if (!ok)
                    Msg.Fatal($"maillog_file value '{maillogFile}' does not match any prefix in maillog_file_prefixes");
            }
            var host = conf?.Eval("myhostname") is { Length: > 0 } h ? h : importHost ?? "amnesiac";
            var path = conf != null
                ? conf.Eval("queue_directory") + "/public/" + conf.Eval("postlog_service_name")
                : importPath!;
            Action<string>? fallback = logwriterFallback ? WriteOneShot : null;
            if (postlog == null)
                postlog = new PostlogClient(progname, host, path, fallback);
            else
            {
                postlog.Tag = progname;
                postlog.Hostname = host;
                postlog.ServicePath = path;
                postlog.Fallback = fallback;
                postlog.FallbackOnly = false;
                postlog.Disconnect();
            }
            postlog.Enabled = true;
            Environment.SetEnvironmentVariable(PostlogServiceEnv, path);
            Environment.SetEnvironmentVariable(PostlogHostnameEnv, host);
            postlog.Connect();
            if (syslog != null)
                syslog.Enabled = false;
        }
        else
        {
            if (postlog != null)
                postlog.Enabled = false;
            if (importPath != null)
                Environment.SetEnvironmentVariable(PostlogServiceEnv, null);
            if (importHost != null)
                Environment.SetEnvironmentVariable(PostlogHostnameEnv, null);
            syslog ??= new SyslogClient(progname);
            syslog.Tag = progname;
            syslog.Enabled = true;
        }
    }

    private static void Emit(string level, string text)
    {
        if (postlog is { Enabled: true })
            postlog.Log(level, text);
        else if (syslog is { Enabled: true })
            syslog.Log(level, text);
    }

    // WriteOneShot - logwriter_one_shot(): append one line to maillog_file.
    public static void WriteOneShot(string line)
    {
        if (string.IsNullOrEmpty(maillogFile))
            return;
        var fd = Sys.Open(maillogFile, Sys.O_WRONLY | Sys.O_APPEND | Sys.O_CREAT | Sys.O_NOFOLLOW | Sys.O_CLOEXEC, Convert.ToInt32("644", 8));
        if (fd < 0)
        {
            var path = maillogFile;
            maillogFile = null;
            Msg.Fatal($"logfile '{path}' write error: {Sys.LastError()}");
        }
        Sys.WriteAll(fd, Encoding.UTF8.GetBytes(line + "\n"));
        Sys.Close(fd);
    }

    // WaitDelivered - wait until postlogd has read what was logged (at
    // most timeoutMs); nothing to wait for with syslog.
    public static void WaitDelivered(int timeoutMs)
    {
        if (postlog is { Enabled: true })
            postlog.WaitDelivered(timeoutMs);
    }

    // FallbackOnly - never use the postlog socket; hand every formatted
    // line to writer (postlogd logs about itself straight into the file).
    public static void FallbackOnly(Action<string> writer)
    {
        if (postlog == null)
            return;
        postlog.Disconnect();
        postlog.FallbackOnly = true;
        postlog.Fallback = writer;
    }

    // Disable - stop logging to syslog and postlog (unit tests).
    public static void Disable()
    {
        if (syslog != null)
            syslog.Enabled = false;
        if (postlog != null)
            postlog.Enabled = false;
    }
}
