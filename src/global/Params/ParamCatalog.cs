// NAME
//	ParamCatalog - every built-in parameter and its compiled-in default
// POSTFIX
//	src/global/mail_params.c, src/postconf/postconf_builtin.c
// DESCRIPTION
//	The table in ParamDefaults plus the defaults that depend on the host:
//	myhostname (gethostname, with ".localdomain" appended when it has no
//	dot), mydomain, mynetworks (from the interfaces, per
//	mynetworks_style), process_id and process_name.
using System;
using System.Collections.Generic;

namespace Postfix.Global.Params;

public static class ParamCatalog
{
    public const string DefMyDomain = "localdomain";

    private static Dictionary<string, ParamInfo>? byName;

    public static IReadOnlyList<ParamInfo> Table => ParamDefaults.Table;

    // Names of the parameters whose defaults are computed at run time.
    public static readonly string[] ComputedNames = { "myhostname", "mydomain", "mynetworks", "process_id", "process_name" };

    public static IReadOnlyDictionary<string, ParamInfo> ByName
    {
        get
        {
            if (byName == null)
            {
                var d = new Dictionary<string, ParamInfo>(ParamDefaults.Table.Length + 8, StringComparer.Ordinal);
                foreach (var p in ParamDefaults.Table)
                    d[p.Name] = p;
                byName = d;
            }
            return byName;
        }
    }

    // Default - the literal default of a table parameter, or null.
    public static string? Default(string name) => ByName.TryGetValue(name, out var p) ? p.Default : null;

    // HostName - myhostname's default: the host name, made fully qualified.
    public static string HostName(Func<string, string?> mydomainLookup)
    {
        var name = Postfix.Util.Sys.GetHostName();
        if (!name.Contains('.', StringComparison.Ordinal))
            name = name + "." + (mydomainLookup("mydomain") ?? DefMyDomain);
        return name;
    }

    // DomainOf - mydomain's default given myhostname.
    public static string DomainOf(string myhostname)
    {
        var dot = myhostname.IndexOf('.', StringComparison.Ordinal);
        return dot < 0 ? DefMyDomain : myhostname[(dot + 1)..];
    }
}
