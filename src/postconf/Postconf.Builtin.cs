// NAME
//	Postconf (builtin) - register the built-in parameters
// POSTFIX
//	src/postconf/postconf_builtin.c
// DESCRIPTION
//	The compiled-in table (ParamCatalog), the legacy names, and the
//	parameters whose defaults are computed: myhostname, mydomain,
//	mynetworks (from the interfaces), process_name, process_id.
using System.Globalization;
using Postfix.Global.Config;
using Postfix.Global.Params;

namespace Postfix.Commands.Postconf;

internal static partial class Postconf
{
    private static string? cachedHostName;
    private static string? cachedDomainName;
    private static string? cachedNetworks;
    private static string? varMyHostname;

    public static void RegisterBuiltinParameters(string procName, int pid)
    {
        foreach (var p in ParamCatalog.Table)
            ParamTable[p.Name] = new ParamNode(p.Flags, p.Default);
        ParamTable["myhostname"] = new ParamNode(ParamFlags.Builtin, CheckMyHostname);
        ParamTable["mydomain"] = new ParamNode(ParamFlags.Builtin, CheckMyDomainName);
        ParamTable["mynetworks"] = new ParamNode(ParamFlags.Builtin, MyNetworksDefault);
        ParamTable["process_name"] = new ParamNode(ParamFlags.Builtin | ParamFlags.ReadOnly, procName);
        ParamTable["process_id"] = new ParamNode(ParamFlags.Builtin | ParamFlags.ReadOnly, pid.ToString(CultureInfo.InvariantCulture));
    }

    // MainConfLookupEval - mail_conf_lookup_eval(): main.cf value, expanded, or null.
    private static string? MainConfLookupEval(string name)
    {
        if (!MainConf.TryGetValue(name, out var value))
            return null;
        var sb = new System.Text.StringBuilder();
        Postfix.Util.MacExpand.Expand(sb, value, Postfix.Util.MacExpand.FlagRecurse, null,
            (n, _) => MainConf.TryGetValue(n, out var v) ? v : null);
        return sb.ToString();
    }

    // CheckMyHostname - gethostname(), qualified with $mydomain when needed.
    private static string CheckMyHostname()
    {
        if (cachedHostName != null)
            return cachedHostName;
        var name = Postfix.Util.Sys.GetHostName();
        if (!name.Contains('.', System.StringComparison.Ordinal))
            name = name + "." + (MainConfLookupEval("mydomain") ?? ParamCatalog.DefMyDomain);
        return cachedHostName = name;
    }

    private static void GetMyHostname() =>
        varMyHostname = MainConfLookupEval("myhostname") ?? CheckMyHostname();

    // CheckMyDomainName - the part of myhostname after the first dot.
    private static string CheckMyDomainName()
    {
        if (cachedDomainName != null)
            return cachedDomainName;
        if (varMyHostname == null)
            GetMyHostname();
        var dot = varMyHostname!.IndexOf('.', System.StringComparison.Ordinal);
        return cachedDomainName = dot < 0 ? ParamCatalog.DefMyDomain : varMyHostname[(dot + 1)..];
    }

    // MyNetworksDefault - networks of this host per mynetworks_style.
    private static string MyNetworksDefault()
    {
        if (cachedNetworks != null)
            return cachedNetworks;
        string Setting(string name)
        {
            string? v = null;
            if ((CmdMode & Mode.ShowDefs) == 0)
                v = MainConfLookupEval(name);
            return v ?? ExpandParameterValue(CmdMode, ParamCatalog.Default(name) ?? "", null);
        }
        var interfaces = Setting("inet_interfaces");
        var style = Setting("mynetworks_style");
        var protocols = Setting("inet_protocols");
        return cachedNetworks = MyNetworks.Compute(style, interfaces, protocols);
    }
}
