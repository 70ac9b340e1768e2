// NAME
//	MailConf - main.cf as the programs see it
// POSTFIX
//	src/global/mail_conf.c, src/util/dict.c (dict_load_fp)
// DESCRIPTION
//	Read() loads $config_directory/main.cf (MAIL_CONFIG or -c selects the
//	directory) into an ordered name-value table, warning about a name
//	set twice with different values. Lookup() returns a value as written
//	(or the compiled-in default); Eval() expands $name recursively, the
//	way mail_conf_eval() does. -o overrides go through Update().
using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using Postfix.Global.Params;
using Postfix.Util;

namespace Postfix.Global.Config;

public sealed class MailConf
{
    public const string DefConfigDir = "/etc/postfix";
    public const string ConfEnvPath = "MAIL_CONFIG";
    public const string MainConfFile = "main.cf";
    public const string MasterConfFile = "master.cf";

    // Entries in file order (the order "postconf -n" does not use, but edits do).
    private readonly Dictionary<string, string> values = new(StringComparer.Ordinal);

    public string ConfigDirectory { get; private set; } = DefConfigDir;

    // Values - the parameters set in main.cf and by overrides.
    public IReadOnlyDictionary<string, string> Values => values;

    // ConfigDirectoryFromEnvironment - $MAIL_CONFIG or the default.
    public static string ConfigDirectoryFromEnvironment()
    {
        var env = Environment.GetEnvironmentVariable(ConfEnvPath);
        return string.IsNullOrEmpty(env) ? DefConfigDir : env;
    }

    // Read - load main.cf from the configuration directory; fatal if absent.
    public static MailConf Read(string? configDir = null)
    {
        var conf = new MailConf { ConfigDirectory = configDir ?? ConfigDirectoryFromEnvironment() };
        var path = conf.ConfigDirectory + "/" + MainConfFile;
        // mail_conf_suck() enters config_directory before it reads main.cf,
        // so a main.cf that names another directory draws the reference's
        // "overriding earlier entry" warning. Only main.cf's own settings
        // stay in the table.
        conf.values["config_directory"] = conf.ConfigDirectory;
        conf.LoadFile(path);
        if (conf.values["config_directory"] == conf.ConfigDirectory)
            conf.values.Remove("config_directory");
        return conf;
    }

    // LoadFile - dict_load_file_xt(): name = value entries, fatal on bad syntax.
    public void LoadFile(string path)
    {
        if (!HotFileReader.Load(path, data => LoadBytes(data, path), out var errno))
            Msg.Fatal($"open {path}: {Sys.StrError(errno)}");
    }

    // LoadBytes - the parsing half of LoadFile.
    public void LoadBytes(byte[] data, string path) => LoadInto(data, path, values);

    // LoadInto - dict_load_fp(): "name = value" logical lines into a table;
    // fatal on a line without '=', a warning when a name changes value.
    public static void LoadInto(byte[] data, string path, Dictionary<string, string> table)
    {
        var reader = new LogicalLineReader(data, path);
        string? line;
        while ((line = reader.Next(out var lineNo)) != null)
        {
            var err = NameValue.Split(line, out var name, out var value);
            if (err != null)
                Msg.Fatal($"{path}, line {lineNo}: {err}: \"{line}\"");
            if (table.TryGetValue(name, out var old) && old != value)
                Msg.Warn($"{path}, line {lineNo}: overriding earlier entry: {name}={old}");
            table[name] = value;
        }
    }

    // Update - set a value (-o name=value, or a computed setting).
    public void Update(string name, string value) => values[name] = value;

    // SetOverrides - apply "-o name=value" arguments; fatal on bad syntax.
    public void SetOverrides(IEnumerable<string> overrides)
    {
        foreach (var o in overrides)
        {
            var err = NameValue.Split(o, out var name, out var value);
            if (err != null)
                Msg.Fatal($"invalid parameter override: {o}: {err}");
            values[name] = value;
        }
    }

    // LookupRaw - value as written in main.cf, or null.
    public string? LookupRaw(string name) => values.TryGetValue(name, out var v) ? v : null;

    // Lookup - main.cf value, else the compiled-in default (computed ones included).
    public string? Lookup(string name)
    {
        if (values.TryGetValue(name, out var v))
            return v;
        switch (name)
        {
            case "config_directory":
                return ConfigDirectory;
            case "myhostname":
                return ParamCatalog.HostName(n => LookupEvalOrNull(n, false));
            case "mydomain":
                return ParamCatalog.DomainOf(Eval("myhostname"));
            case "mynetworks":
                // mynetworks_core(): the networks of this machine's interfaces.
                return MyNetworks.Compute(Eval("mynetworks_style"), Eval("inet_interfaces"), Eval("inet_protocols"));
            case "process_id":
                return Sys.GetPid().ToString(System.Globalization.CultureInfo.InvariantCulture);
            case "process_name":
                return Msg.Tag;
            default:
                return ParamCatalog.Default(name);
        }
    }

    private string? LookupEvalOrNull(string name, bool useDefault)
    {
        var v = useDefault ? Lookup(name) : LookupRaw(name);
        return v == null ? null : Expand(v);
    }

    // Eval - recursively expanded value of a parameter ("" when unknown).
    public string Eval(string name)
    {
        var v = Lookup(name);
        return v == null ? "" : Expand(v);
    }

    // Expand - expand $name references recursively against this configuration.
    public string Expand(string value)
    {
        CompatLevel.Register();
        var sb = new StringBuilder();
        MacExpand.Expand(sb, value, MacExpand.FlagRecurse, null, (n, _) => Lookup(n));
        return sb.ToString();
    }

    // Bool - a yes/no parameter.
    public bool Bool(string name) => string.Equals(Eval(name), "yes", StringComparison.OrdinalIgnoreCase);
}
