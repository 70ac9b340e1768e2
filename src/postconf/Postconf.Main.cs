// NAME
//	Postconf (main) - read main.cf, apply -o, show parameters
// POSTFIX
//	src/postconf/postconf_main.c
// DESCRIPTION
//	All parameters are listed sorted by name and filtered by class;
//	named parameters are shown in the order given, with a warning for
//	names that are not known.
using System;
using System.Collections.Generic;
using System.IO;
using Postfix.Global.Config;
using Postfix.Global.Params;
using Postfix.Util;

namespace Postfix.Commands.Postconf;

internal static partial class Postconf
{
    // ReadParameters - load $config_directory/main.cf into MainConf; fatal if absent.
    public static void ReadParameters()
    {
        SetConfigDir();
        var path = ConfigDir + "/" + MailConf.MainConfFile;
        if (!HotFileReader.Load(path, data => MailConf.LoadInto(data, path, MainConf), out var errno))
            Msg.Fatal($"open {path}: {Sys.StrError(errno)}");
    }

    // SetParameters - -o name=value overrides.
    public static void SetParameters(List<string> overrides)
    {
        foreach (var o in overrides)
        {
            var err = NameValue.Split(o, out var name, out var value);
            if (err != null)
                Msg.Fatal($"invalid parameter override: {o}: {err}");
            MainConf[name] = value;
        }
    }

    // PrintParameter - one "name = value" line (or value, or name).
    private static void PrintParameter(TextWriter fp, Mode mode, string name, ParamNode node)
    {
        var value = LookupParameterValue(mode, name, null, node);
        if (value == null)
            return;
        if ((mode & Mode.HideValue) != 0)
        {
            PrintLine(fp, mode, name);
            return;
        }
        if ((mode & Mode.ShowEval) != 0 && !node.IsRaw)
            value = ExpandParameterValue(mode, value, null);
        if ((mode & Mode.HideName) == 0)
            PrintLine(fp, mode, name + " = " + value);
        else
            PrintLine(fp, mode, value);
    }

    // ShowParameters - pcf_show_parameters().
    public static void ShowParameters(TextWriter fp, Mode mode, ParamFlags paramClass, string[] names)
    {
        if (names.Length == 0)
        {
            var list = new List<string>(ParamTable.Keys);
            list.Sort(StringComparer.Ordinal);
            foreach (var name in list)
            {
                var node = ParamTable[name];
                if ((paramClass & node.Flags) != 0)
                    PrintParameter(fp, mode, name, node);
            }
            return;
        }
        foreach (var name in names)
        {
            if (!ParamTable.TryGetValue(name, out var node))
            {
                fp.Flush();
                Msg.Warn($"{name}: unknown parameter");
            }
            else
            {
                PrintParameter(fp, mode, name, node);
            }
        }
    }
}
