// NAME
//	Postconf (lookup) - parameter values and $name expansion
// POSTFIX
//	src/postconf/postconf_lookup.c, src/postconf/postconf_node.c
// DESCRIPTION
//	A value comes from the master.cf entry's read-only settings, then its
//	-o settings, then main.cf, then the default; "-d" asks for defaults
//	only and "-n" for explicit settings only.
using System.Collections.Generic;
using System.Text;
using Postfix.Util;

namespace Postfix.Commands.Postconf;

internal static partial class Postconf
{
    // CmdMode - the global command mode (pcf_cmd_mode).
    public static Mode CmdMode;

    // ParamTable - every valid parameter name (pcf_param_table).
    public static Dictionary<string, ParamNode> ParamTable = new(System.StringComparer.Ordinal);

    // MasterTable - the parsed master.cf entries (pcf_master_table).
    public static List<MasterEntry> MasterTable = new();

    // MainConf - name = value settings from main.cf and -o (CONFIG_DICT).
    public static Dictionary<string, string> MainConf = new(System.StringComparer.Ordinal);

    // LookupParameterValue - pcf_lookup_parameter_value().
    public static string? LookupParameterValue(Mode mode, string name, MasterEntry? localScope, ParamNode? node)
    {
        string? value = null;
        if ((mode & Mode.ShowDefs) != 0
            || ((localScope == null
                 || (!localScope.RoParams.TryGetValue(name, out value)
                     && !localScope.AllParams.TryGetValue(name, out value)))
                && !MainConf.TryGetValue(name, out value)
                && (mode & Mode.ShowNonDef) == 0))
        {
            if (node != null || ParamTable.TryGetValue(name, out node))
                value = node.DefaultValue;
        }
        return value;
    }

    // ExpandParameterValue - pcf_expand_parameter_value(): recursive $name expansion.
    public static string ExpandParameterValue(Mode mode, string value, MasterEntry? localScope)
    {
        var evalMode = mode & ~Mode.ShowNonDef;
        var buf = new StringBuilder();
        var status = MacExpand.Expand(buf, value, MacExpand.FlagRecurse, null,
            (key, _) => LookupParameterValue(evalMode, key, localScope, null));
        if ((status & MacExpand.ParseError) != 0)
            Msg.Fatal("macro processing error");
        return buf.ToString();
    }
}
