// NAME
//	CfgParser - settings of a database client table
// POSTFIX
//	src/global/cfg_parser.c, src/util/dict.c (dict_load_file_xt)
// DESCRIPTION
//	"pgsql:/etc/postfix/pg.cf" reads "name = value" lines from the file
//	(no $name expansion); "pgsql:prefix" (a name not starting with "/"
//	or ".") reads main.cf parameters "prefix_name" through MainConf.
//	Bad numbers, booleans and string lengths are fatal, with Postfix's
//	texts.
using System;
using System.Collections.Generic;
using System.IO;
using Postfix.Global.Config;
using Postfix.Util;

namespace Postfix.Global.Dict;

public sealed class CfgParser
{
    private readonly Dictionary<string, string>? values;

    // MainConf - main.cf parameter lookup (expanded value, or null when
    // unset) for parsers named by prefix; set by the program at start-up.
    public static Func<string, string?>? MainConf { get; set; }

    private CfgParser(string name, Dictionary<string, string>? values, long owner)
    {
        Name = name;
        this.values = values;
        OwnerUid = owner;
    }

    public string Name { get; }

    // OwnerUid - owner of the settings file (0 for main.cf settings).
    public long OwnerUid { get; }

    // Alloc - cfg_parser_alloc(); null when the file cannot be opened
    // (the caller reports "open NAME: %m" from errno).
    public static CfgParser? Alloc(string name, out int errno)
    {
        errno = 0;
        if (name.Length == 0)
            Msg.Fatal("cfg_parser_alloc: null parser name");
        if (name[0] != '/' && name[0] != '.')
            return new CfgParser(name, null, 0);
        byte[] data;
        try
        {
            data = File.ReadAllBytes(name);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            errno = Sys.ErrnoOf(e);
            return null;
        }
        var table = new Dictionary<string, string>(StringComparer.Ordinal);
        var reader = new RegexpSupport.Rules(data, name);
        string? line;
        while ((line = reader.Next(out var lineNo)) != null)
        {
            var err = NameValue.Split(line, out var member, out var value);
            if (err != null)
                Msg.Fatal($"{name}, line {lineNo}: {err}: \"{line}\"");
            if (table.TryGetValue(member, out var old) && old != value)
                Msg.Warn($"{name}, line {lineNo}: overriding earlier entry: {member}={old}");
            table[member] = value;
        }
        return new CfgParser(name, table, RegexpSupport.FileOwner(name));
    }

    // FromValues - a parser over given settings (tests, in-memory configs).
    public static CfgParser FromValues(string name, IDictionary<string, string> settings) =>
        new(name, new Dictionary<string, string>(settings, StringComparer.Ordinal), 0);

    private string? Raw(string name)
    {
        if (values != null)
            return values.TryGetValue(name, out var v) ? v : null;
        return MainConf?.Invoke(Name + "_" + name);
    }

    private string Where(string name) => values != null ? $"{Name}: " : "";

    // GetStr - cfg_get_str(): null when unset (or empty) and defval is null.
    public string? GetStr(string name, string? defval, int min, int max)
    {
        var s = Raw(name) ?? defval ?? "";
        if (min > 0 && s.Length < min)
            Msg.Fatal(values != null
                ? $"{Name}: bad string length {s.Length} < {min}: {name} = {s}"
                : $"bad string length {s.Length} < {min}: {Name}_{name} = {s}");
        if (max > 0 && s.Length > max)
            Msg.Fatal(values != null
                ? $"{Name}: bad string length {s.Length} > {max}: {name} = {s}"
                : $"bad string length {s.Length} > {max}: {Name}_{name} = {s}");
        if (Msg.Verbose > 0)
            Msg.Info($"cfg_get_str: {Name}: {name} = {(defval == null && s.Length == 0 ? "<NULL>" : s)}");
        return defval == null && s.Length == 0 ? null : s;
    }

    // GetInt - cfg_get_int().
    public int GetInt(string name, int defval, int min, int max)
    {
        var raw = Raw(name);
        int v;
        if (raw != null)
        {
            if (raw.Length == 0 || !long.TryParse(raw, System.Globalization.NumberStyles.AllowLeadingSign | System.Globalization.NumberStyles.AllowLeadingWhite,
                    System.Globalization.CultureInfo.InvariantCulture, out var l) || l < int.MinValue || l > int.MaxValue)
            {
                Msg.Fatal(values != null
                    ? $"{Name}: bad numerical configuration: {name} = {raw}"
                    : $"bad numerical configuration: {Name}_{name} = {raw}");
                return 0;
            }
            v = (int)l;
        }
        else
        {
            v = defval;
        }
        if (min != 0 && v < min)
            Msg.Fatal($"{Where(name)}invalid {(values != null ? name : Name + "_" + name)} parameter value {v} < {min}");
        if (max != 0 && v > max)
            Msg.Fatal($"{Where(name)}invalid {(values != null ? name : Name + "_" + name)} parameter value {v} > {max}");
        if (Msg.Verbose > 0)
            Msg.Info($"cfg_get_int: {Name}: {name} = {v}");
        return v;
    }

    // GetBool - cfg_get_bool().
    public bool GetBool(string name, bool defval)
    {
        var raw = Raw(name);
        var v = defval;
        if (raw != null)
        {
            if (raw.Equals("yes", StringComparison.OrdinalIgnoreCase))
                v = true;
            else if (raw.Equals("no", StringComparison.OrdinalIgnoreCase))
                v = false;
            else
                Msg.Fatal(values != null
                    ? $"{Name}: bad boolean configuration: {name} = {raw}"
                    : $"bad boolean configuration: {Name}_{name} = {raw}");
        }
        if (Msg.Verbose > 0)
            Msg.Info($"cfg_get_bool: {Name}: {name} = {(v ? "on" : "off")}");
        return v;
    }
}
