// NAME
//	Postconf (unused) - warn about parameters that nothing uses
// POSTFIX
//	src/postconf/postconf_unused.c
using System.Collections.Generic;
using Postfix.Global.Config;
using Postfix.Util;

namespace Postfix.Commands.Postconf;

internal static partial class Postconf
{
    private static void FlagUnusedParameters(Dictionary<string, string> dict, string confName, MasterEntry? localScope)
    {
        foreach (var (name, value) in dict)
        {
            if (!ParamTable.ContainsKey(name)
                && (localScope == null || localScope.ValidNames == null || !localScope.ValidNames.Contains(name)))
            {
                ProgramHost.FlushOut();
                Msg.Warn($"{ConfigDir}/{confName}: unused parameter: {name}={value}");
            }
        }
    }

    public static void FlagUnusedMainParameters() => FlagUnusedParameters(MainConf, MailConf.MainConfFile, null);

    public static void FlagUnusedMasterParameters()
    {
        foreach (var entry in MasterTable)
            if (entry.AllParams.Count > 0)
                FlagUnusedParameters(entry.AllParams, MailConf.MasterConfFile, entry);
    }
}
