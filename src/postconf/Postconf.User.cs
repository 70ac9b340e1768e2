// NAME
//	Postconf (user) - parameters defined by the user
// POSTFIX
//	src/postconf/postconf_user.c
// DESCRIPTION
//	A name becomes a valid user-defined parameter when it has a
//	name=value entry (in main.cf or in a master.cf -o) and is referenced
//	as $name in some other value, or is listed in
//	smtpd_restriction_classes. A $name with no value anywhere gets an
//	"undefined parameter" warning; an assignment to a read-only parameter
//	is reported and dropped.
using System;
using System.Collections.Generic;
using Postfix.Global.Config;
using Postfix.Global.Params;
using Postfix.Util;

namespace Postfix.Commands.Postconf;

internal static partial class Postconf
{
    // Global smtpd_restriction_classes names (pcf_rest_class_table).
    private static readonly HashSet<string> RestClassTable = new(StringComparer.Ordinal);

    private const string CharsCommaSp = ", \t\r\n";

    // FlagUserParameter - pcf_flag_user_parameter().
    private static void FlagUserParameter(string macName, ParamFlags paramClass, MasterEntry? localScope)
    {
        var source = localScope != null ? MailConf.MasterConfFile : MailConf.MainConfFile;
        var userSupplied = false;
        if (localScope != null && localScope.AllParams.ContainsKey(macName))
        {
            userSupplied = true;
            localScope.ValidNames ??= new HashSet<string>(StringComparer.Ordinal);
            localScope.ValidNames.Add(macName);
        }
        else if (MainConf.ContainsKey(macName))
        {
            userSupplied = true;
            if (!ParamTable.ContainsKey(macName))
                ParamTable[macName] = new ParamNode(paramClass, "");
        }
        if (localScope == null)
        {
            foreach (var entry in MasterTable)
            {
                if (entry.AllParams.Count > 0 && entry.AllParams.ContainsKey(macName))
                {
                    userSupplied = true;
                    entry.ValidNames ??= new HashSet<string>(StringComparer.Ordinal);
                    entry.ValidNames.Add(macName);
                }
            }
        }
        if (!userSupplied && (paramClass & ParamFlags.Dbms) == 0 && !ParamTable.ContainsKey(macName))
            Msg.Warn($"{ConfigDir}/{source}: undefined parameter: {macName}");
    }

    // ScanUserParameterValue - visit every $name in a value (both branches of ?:).
    private static void ScanUserParameterValue(string value, ParamFlags paramClass, MasterEntry? localScope)
    {
        var sb = new System.Text.StringBuilder();
        MacExpand.Expand(sb, value, MacExpand.FlagScan, null, (name, _) =>
        {
            FlagUserParameter(name, paramClass, localScope);
            return null;
        });
    }

    // LookupEval - main.cf (or -o) value of name, expanded in that name space.
    private static string? LookupEval(Dictionary<string, string> dict, string name)
    {
        if (!dict.TryGetValue(name, out var value))
            return null;
        var sb = new System.Text.StringBuilder();
        MacExpand.Expand(sb, value, MacExpand.FlagRecurse, null, (n, _) => dict.TryGetValue(n, out var v) ? v : null);
        return sb.ToString();
    }

    // ScanUserParameterNamespace - pcf_scan_user_parameter_namespace().
    private static void ScanUserParameterNamespace(Dictionary<string, string> dict, MasterEntry? localScope)
    {
        var source = localScope != null ? MailConf.MasterConfFile : MailConf.MainConfFile;
        var classList = LookupEval(dict, "smtpd_restriction_classes");
        if (classList != null)
        {
            foreach (var name in classList.Split(CharsCommaSp.ToCharArray(), StringSplitOptions.RemoveEmptyEntries))
            {
                if (localScope == null)
                    RestClassTable.Add(name);
                FlagUserParameter(name, ParamFlags.User, localScope);
            }
        }
        foreach (var (name, value) in new List<KeyValuePair<string, string>>(dict))
        {
            if (localScope != null
                && (localScope.ValidNames == null || !localScope.ValidNames.Contains(name))
                && RestClassTable.Contains(name))
            {
                localScope.ValidNames ??= new HashSet<string>(StringComparer.Ordinal);
                localScope.ValidNames.Add(name);
            }
            if (ParamTable.TryGetValue(name, out var node))
            {
                if ((node.Flags & ParamFlags.ReadOnly) != 0)
                {
                    Msg.Warn($"{ConfigDir}/{source}: read-only parameter assignment: {name}={value}");
                    dict.Remove(name);
                    continue;
                }
                if ((node.Flags & ParamFlags.Legacy) != 0)
                    node.SetClass(ParamFlags.User);
                if (node.IsRaw)
                    continue;
            }
            ScanUserParameterValue(value, ParamFlags.User, localScope);
            if (node != null && (node.Flags & (ParamFlags.Builtin | ParamFlags.Service)) != 0)
                RegisterDbmsParameters(value, localScope);
        }
    }

    // ScanDefaultParameterValues - $names in defaults that main.cf leaves alone.
    private static void ScanDefaultParameterValues()
    {
        foreach (var (name, node) in new List<KeyValuePair<string, ParamNode>>(ParamTable))
        {
            if (node.IsRaw || MainConf.ContainsKey(name))
                continue;
            ScanUserParameterValue(node.DefaultValue, ParamFlags.User, null);
        }
    }

    // RegisterUserParameters - pcf_register_user_parameters().
    public static void RegisterUserParameters()
    {
        // Entries with the same "service/type" share one -o table, as the
        // reference's dictionaries are named after the name space.
        var byNameSpace = new Dictionary<string, Dictionary<string, string>>(StringComparer.Ordinal);
        foreach (var entry in MasterTable)
        {
            if (!byNameSpace.TryGetValue(entry.NameSpace, out var table))
                table = null;
            var argv = entry.Argv;
            for (var field = MasterField.MinFields; field < argv.Count; field++)
            {
                var arg = argv[field];
                if (arg.Length == 0 || arg[0] != '-' || arg == "--")
                    break;
                if (!ExpectsValue(arg) || field + 1 >= argv.Count)
                    continue;
                if (arg == "-o" && NameValue.Split(argv[field + 1], out var pname, out var pvalue) == null)
                {
                    if (table == null)
                        byNameSpace[entry.NameSpace] = table = new Dictionary<string, string>(StringComparer.Ordinal);
                    table[pname] = pvalue;
                }
                field += 1;
            }
            entry.AllParams = table ?? new Dictionary<string, string>(StringComparer.Ordinal);
            entry.ValidNames = table != null ? new HashSet<string>(StringComparer.Ordinal) : null;
        }
        foreach (var entry in MasterTable)
            if (entry.AllParams.Count > 0)
                ScanUserParameterNamespace(entry.AllParams, entry);
        ScanDefaultParameterValues();
        ScanUserParameterNamespace(MainConf, null);
    }
}
