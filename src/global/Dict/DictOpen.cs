// NAME
//	DictOpen - open a lookup table by type and name
// POSTFIX
//	src/util/dict_open.c, src/global/mail_dict.c
// DESCRIPTION
//	Open("type:name") finds the factory for the type and opens the
//	table; an unknown type is fatal in commands ("unsupported
//	dictionary type: X"). OpenDefault() accepts a bare file name and
//	then uses $default_database_type, as postmap and postalias do.
//	When UTF-8 support is on ($smtputf8_enable) and the caller asks
//	for it, the table gets the UTF-8 layer (DictUtf8).
//
//	The pattern and network types live in DictOpen.Patterns.cs, which
//	implements AddMoreTypes():
//
//	    static partial void AddMoreTypes(Dictionary<string, DictFactory> table)
//	    {
//	        table["regexp"] = RegexpDict.Open;   // DictFactory(name, openFlags, dictFlags)
//	        ...
//	    }
//
//	Types listed in Creatable also support bulk creation (MkMap).
using System;
using System.Collections.Generic;
using Postfix.Util;

namespace Postfix.Global.Dict;

public static partial class DictOpen
{
    public const string TypeProxy = "proxy";

    private static Dictionary<string, DictFactory>? table;

    // DefaultType - $default_database_type (var_db_type).
    public static string DefaultType { get; set; } = "hash";

    // Utf8Enable - util_utf8_enable: $smtputf8_enable.
    public static bool Utf8Enable { get; set; }

    // IsCreatable - types that "postmap type:file" can build.
    public static bool IsCreatable(string type) => MkMap.IsCreatable(type);

    // AddMoreTypes - pattern and network types (DictOpen.Patterns.cs).
    static partial void AddMoreTypes(Dictionary<string, DictFactory> table);

    private static Dictionary<string, DictFactory> Table
    {
        get
        {
            if (table != null)
                return table;
            var t = new Dictionary<string, DictFactory>(StringComparer.Ordinal)
            {
                ["btree"] = DictLmdb.OpenBtree,
                ["environ"] = DictEnv.Open,
                ["fail"] = DictFail.Open,
                ["hash"] = DictLmdb.OpenHash,
                ["inline"] = DictInline.Open,
                ["internal"] = DictHt.Open,
                [DictLmdb.TypeName] = DictLmdb.Open,
                ["pipemap"] = DictPipe.Open,
                [TypeProxy] = OpenProxy,
                ["randmap"] = DictRandom.Open,
                ["static"] = DictStatic.Open,
                [DictThash.TypeName] = DictThash.Open,
                ["unionmap"] = DictUnion.Open,
                [DictUnix.TypeName] = DictUnix.Open,
            };
            AddMoreTypes(t);
            table = t;
            return t;
        }
    }

    // Register - add or replace a type (plugins, tests).
    public static void Register(string type, DictFactory factory) => Table[type] = factory;

    // IsKnown - is there a factory for the type?
    public static bool IsKnown(string type) => Table.ContainsKey(type);

    // Types - the supported types, sorted (postconf -m).
    public static List<string> Types()
    {
        var list = new List<string>(Table.Keys);
        list.Sort(StringComparer.Ordinal);
        return list;
    }

    // NeedUtf8 - DICT_NEED_UTF8_ACTIVATION().
    public static bool NeedUtf8(DictFlags dictFlags) => Utf8Enable && (dictFlags & DictFlags.Utf8Request) != 0;

    // Open - dict_open(): "type:name".
    public static Dict Open(string spec, DictOpenFlags openFlags, DictFlags dictFlags)
    {
        var colon = spec.IndexOf(':');
        if (colon < 0)
            Msg.Fatal($"open dictionary: expecting \"type:name\" form instead of \"{spec}\"");
        return Open3(spec[..colon], spec[(colon + 1)..], openFlags, dictFlags);
    }

    // OpenDefault - "type:name", or a bare name of $default_database_type.
    public static Dict OpenDefault(string spec, DictOpenFlags openFlags, DictFlags dictFlags)
    {
        SplitDefault(spec, out var type, out var name);
        return Open3(type, name, openFlags, dictFlags);
    }

    // SplitDefault - "type:name", or a bare name of $default_database_type.
    public static void SplitDefault(string spec, out string type, out string name)
    {
        var colon = spec.IndexOf(':');
        if (colon < 0)
        {
            type = DefaultType;
            name = spec;
        }
        else
        {
            type = spec[..colon];
            name = spec[(colon + 1)..];
        }
    }

    // Open3 - dict_open3(): open name as type.
    // Tables opened through this registry, for ChangedName().
    private static readonly List<WeakReference<Dict>> Opened = new();

    // ChangedName - dict_changed_name(): "type:name" of an open table whose
    // file has changed since it was opened, or null. Daemons check this
    // before accepting work and exit so that master starts a fresh process.
    public static string? ChangedName()
    {
        Opened.RemoveAll(w => !w.TryGetTarget(out var d) || d.IsClosed);
        foreach (var weak in Opened)
        {
            if (weak.TryGetTarget(out var dict) && dict.Changed())
                return dict.FullName;
        }
        return null;
    }

    public static Dict Open3(string type, string name, DictOpenFlags openFlags, DictFlags dictFlags)
    {
        if (type.Length == 0 || name.Length == 0)
            Msg.Fatal($"open dictionary: expecting \"type:name\" form instead of \"{type}:{name}\"");
        if (!Table.TryGetValue(type, out var factory))
            return DictSurrogate.Create(type, name, openFlags, dictFlags, $"unsupported dictionary type: {type}");
        var dict = factory(name, openFlags, dictFlags);
        if (Msg.Verbose > 0)
            Msg.Info($"dict_open: {type}:{name}");
        if ((dict.Flags & DictFlags.Utf8Active) == 0 && NeedUtf8(dictFlags))
            dict = DictUtf8.Activate(dict);
        Opened.Add(new WeakReference<Dict>(dict));
        return dict;
    }

    // OpenProxy - proxy:type:name opens type:name directly (no proxymap
    // service in a command; the access is the same as the daemon's).
    private static Dict OpenProxy(string name, DictOpenFlags openFlags, DictFlags dictFlags)
    {
        var colon = name.IndexOf(':');
        if (colon <= 0)
            Msg.Fatal($"open dictionary: expecting \"type:name\" form instead of \"{name}\"");
        return Open3(name[..colon], name[(colon + 1)..], openFlags, dictFlags | DictFlags.NoProxy);
    }
}
