// NAME
//	TableNames - the names under which the reference registers tables
// POSTFIX
//	src/util/dict.c (dict_register, dict_flags_str), src/global/maps.c,
//	src/util/match_list.c
// DESCRIPTION
//	The reference names an open table "type:name(open_flags,flag|...)"
//	(open flags in octal, dictionary flags by name), and reports that
//	name when the table changed. Register remembers it for a table
//	spec; Display gives it back for the "type:name" that
//	DictOpen.ChangedName() reports.
using System;
using System.Collections.Generic;
using System.Text;
using Postfix.Global.Dict;

namespace Postfix.Daemons.TrivialRewrite;

internal static class TableNames
{
    private static readonly string[] FlagNames =
    [
        "warn_dup", "ignore_dup", "try0null", "try1null", "fixed", "pattern", "lock", "replace", "sync_update",
        "debug", "", "no_regsub", "no_proxy", "no_unauth", "fold_fix", "fold_mul", "open_lock", "bulk_update",
        "multi_writer", "utf8_request", "utf8_active", "src_rhs_is_file",
    ];

    private static readonly Dictionary<string, string> Names = new(StringComparer.Ordinal);

    // FlagsStr - dict_flags_str().
    public static string FlagsStr(DictFlags flags)
    {
        var sb = new StringBuilder();
        for (var bit = 0; bit < FlagNames.Length; bit++)
        {
            if (FlagNames[bit].Length == 0 || ((int)flags & (1 << bit)) == 0)
                continue;
            if (sb.Length > 0)
                sb.Append('|');
            sb.Append(FlagNames[bit]);
        }
        return sb.ToString();
    }

    public static void Register(string spec, DictFlags flags) =>
        Names.TryAdd(spec, $"{spec}(0,{FlagsStr(flags)})");

    // RegisterMaps - every "type:name" of a maps_create() list.
    public static void RegisterMaps(string mapNames, DictFlags flags)
    {
        var pos = 0;
        while (RegexpSupport.NextToken(mapNames, ref pos, ", \t\r\n", out var spec))
            Register(spec, flags);
    }

    public static string Display(string name) => Names.TryGetValue(name, out var full) ? full : name;
}
