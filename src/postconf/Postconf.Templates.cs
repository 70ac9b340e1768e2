// NAME
//	Postconf (templates) - -b and -t: bounce message templates
// POSTFIX
//	src/postconf/postconf.c (-b, -t), src/bounce/bounce.c (dump_templates,
//	expand_templates)
// DESCRIPTION
//	Postfix runs "bounce -SVnexpand_templates" (-b) or
//	"bounce -SVndump_templates" (-t) with -o bounce_template_file=FILE
//	when a file is named, and -o queue_directory=. so that a relative
//	file name works. We do in-process what that bounce(8) process does:
//	read main.cf as a daemon would, log as "$syslog_name/bounce", load
//	the templates, and print them. Output is written only on success,
//	as the daemon's buffered stdout is lost when it dies.
using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using Postfix.Global.Bounce;
using Postfix.Global.Config;
using Postfix.Util;

namespace Postfix.Commands.Postconf;

internal static partial class Postconf
{
    // ShowTemplates - -t dumps the templates as stored, -b expands them.
    public static void ShowTemplates(TextWriter fp, bool expand, string? file, List<string>? overrides)
    {
        // postconf runs mail_conf_read() itself first: its warnings and
        // fatal errors carry postconf's own tag.
        // mail_conf_suck() enters config_directory before main.cf, so that
        // main.cf setting it draws the "overriding earlier entry" warning.
        var configDir = MailConf.ConfigDirectoryFromEnvironment();
        var conf = new MailConf();
        conf.Update("config_directory", configDir);
        conf.LoadFile(configDir + "/" + MailConf.MainConfFile);
        BounceConfig.CheckMainCf(conf, configDir);
        var bounce = BounceConfig.LookupEval(conf, "", "daemon_directory") + "/" + BounceConfig.ProcessName;
        if (CannotExecute(bounce, out var errno))
            Msg.Fatal($"execv {bounce}: {Sys.StrError(errno)}");

        // The bounce(8) command line.
        var serviceName = expand ? "expand_templates" : "dump_templates";
        var settings = new List<string>();
        if (overrides != null)
            settings.AddRange(overrides);
        if (file != null)
            settings.Add("bounce_template_file=" + file);
        settings.Add("queue_directory=.");
        conf.SetOverrides(settings);
        Msg.Tag = BounceConfig.LogTag(conf, serviceName);

        var config = BounceConfig.ForTemplates(conf, serviceName);
        var templates = BounceTemplates.Create();
        var path = BounceConfig.LookupEval(conf, serviceName, "bounce_template_file") ?? "";
        if (path.Length > 0)
            templates.LoadFile(path);
        config.StandardFrom = BounceConfig.StandardFrom(conf, serviceName);

        var buf = new StringWriter { NewLine = "\n" };
        if (expand)
            templates.Expand(buf, config);
        else
            templates.Dump(buf, config.StandardFrom);
        var bytes = Encoding.Latin1.GetBytes(buf.ToString());
        if (fp is StreamWriter sw)
        {
            // Raw bytes: a template in another charset must not be re-encoded.
            try
            {
                sw.Flush();
                sw.BaseStream.Write(bytes);
                sw.BaseStream.Flush();
            }
            catch (IOException)
            {
                // A closed pipe on stdout: nothing more to say.
            }
        }
        else
        {
            fp.Write(ByteText.Decode(bytes));
        }
    }

    // CannotExecute - would execv() of path fail, and with what errno?
    private static bool CannotExecute(string path, out int errno)
    {
        const int enoent = 2, eacces = 13, enotdir = 20;
        errno = 0;
        if (File.Exists(path))
        {
            const UnixFileMode anyExec = UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
            if (!OperatingSystem.IsWindows() && (File.GetUnixFileMode(path) & anyExec) == 0)
                errno = eacces;
        }
        else if (Directory.Exists(path))
        {
            errno = eacces;
        }
        else
        {
            var parent = Path.GetDirectoryName(path);
            errno = parent != null && File.Exists(parent) ? enotdir : enoent;
        }
        return errno != 0;
    }
}
