// NAME
//	ConfigDirCheck - may an untrusted caller name this config directory
// POSTFIX
//	src/global/mail_conf.c (mail_conf_checkdir, mail_conf_suck)
// DESCRIPTION
//	A set-gid program (postdrop) and a non-root sendmail -C accept a
//	non-default configuration directory only when the default main.cf
//	lists it in alternate_config_directories or
//	multi_instance_directories. Check() is fatal otherwise.
using System;
using System.IO;
using Postfix.Global.Config;
using Postfix.Util;

namespace Postfix.Global.Submit;

public static class ConfigDirCheck
{
    private static readonly char[] CommaSpace = [',', ' ', '\t', '\r', '\n'];

    // Unsafe - unsafe(): not the super-user, and running with other than
    // the real user and group ids.
    public static bool Unsafe()
    {
        if (Sys.GetUid() == 0 && Sys.GetEuid() == 0)
            return false;
        return Sys.GetEuid() != Sys.GetUid() || Sys.GetEgid() != Sys.GetGid();
    }

    public static void Check(string configDir)
    {
        var path = MailConf.DefConfigDir + "/" + MailConf.MainConfFile;
        byte[] data;
        try
        {
            data = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Msg.Fatal($"open file {path}: {Sys.StrError(Sys.ErrnoOf(e))}");
            return;
        }
        var reader = new LogicalLineReader(data, path);
        string? line;
        while ((line = reader.Next(out _)) != null)
        {
            if (NameValue.Split(line, out var name, out var value) != null)
                continue;
            if (name != "alternate_config_directories" && name != "multi_instance_directories")
                continue;
            foreach (var dir in value.Split(CommaSpace, StringSplitOptions.RemoveEmptyEntries))
            {
                if (dir == configDir)
                    return;
            }
        }
        Msg.Error($"unauthorized configuration directory name: {configDir}");
        Msg.Fatal($"specify \"alternate_config_directories = {configDir}\" or \"multi_instance_directories = {configDir}\" in {path}");
    }
}
