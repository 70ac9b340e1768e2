// NAME
//	Maps - a list of tables searched in order
// POSTFIX
//	src/global/maps.c
// DESCRIPTION
//	A parameter such as "virtual_alias_maps = hash:/a, regexp:/b" names
//	tables that are searched in order until one has the key. Find()
//	skips tables that lack any of the requested flags (partial keys go
//	only to DictFlags.Fixed tables), treats an empty result as a
//	configuration error, and stops at the first table that fails, with
//	Error telling why, as maps_find() does.
using System;
using System.Collections.Generic;
using Postfix.Util;

namespace Postfix.Global.Dict;

public sealed class Maps
{
    private readonly Dict[] dicts;

    public Maps(string title, IEnumerable<Dict> dicts)
    {
        Title = title;
        this.dicts = new List<Dict>(dicts).ToArray();
    }

    // Title - the parameter name, for messages.
    public string Title { get; }

    public IReadOnlyList<Dict> Dicts => dicts;

    // Error - why the last Find returned null (None: not found).
    public DictError Error { get; private set; }

    // ClearError, SetError - for search orders that fail before any lookup.
    public void ClearError() => Error = DictError.None;

    public void SetError(DictError error) => Error = error;

    // Shared - tables by "type:name(open flags,dict flags)", opened once
    // per process and shared by all lists that name them (dict_register).
    private static readonly Dictionary<string, Dict> Shared = new(StringComparer.Ordinal);

    // Create - maps_create(): open each table with DictOpen, sharing
    // tables that are already open with the same flags.
    public static Maps Create(string title, string mapNames, DictFlags dictFlags) =>
        Create(title, mapNames, dictFlags, static (spec, openFlags, flags) =>
        {
            var key = $"{spec}({(int)openFlags},{(int)flags})";
            lock (Shared)
            {
                if (!Shared.TryGetValue(key, out var dict))
                {
                    dict = DictOpen.Open(spec, openFlags, flags);
                    Shared[key] = dict;
                }
                return dict;
            }
        });

    // Create - open each "type:name" of mapNames (comma/space separated,
    // {} grouping) read-only with open, as maps_create() does.
    public static Maps Create(string title, string mapNames, DictFlags dictFlags, Func<string, DictOpenFlags, DictFlags, Dict> open)
    {
        var list = new List<Dict>();
        var pos = 0;
        while (RegexpSupport.NextToken(mapNames, ref pos, ", \t\r\n", out var spec))
            list.Add(open(spec, DictOpenFlags.ReadOnly, dictFlags));
        return new Maps(title, list);
    }

    // Find - maps_find(): the first table's value for name, or null.
    public string? Find(string name, DictFlags flags = DictFlags.None)
    {
        Error = DictError.None;
        if (name.Length == 0)
            return null;
        foreach (var dict in dicts)
        {
            if (flags != 0 && (dict.Flags & flags) == 0)
                continue;
            var value = dict.Lookup(name);
            if (value != null)
            {
                if (value.Length == 0)
                {
                    Msg.Warn($"{Title} lookup of {name} returns an empty string result");
                    Msg.Warn($"{Title} should return NO RESULT in case of NOT FOUND");
                    Error = DictError.Config;
                    return null;
                }
                if (Msg.Verbose > 0)
                    Msg.Info($"maps_find: {Title}: {dict.FullName}: {name} = {Truncate(value)}");
                return value;
            }
            if ((Error = dict.Error) != DictError.None)
            {
                Msg.Warn($"{dict.Type}:{dict.Name} lookup error for \"{name}\"");
                break;
            }
        }
        if (Msg.Verbose > 0)
            Msg.Info($"maps_find: {Title}: {name}: {(Error != DictError.None ? "search aborted" : "not found")}");
        return null;
    }

    // FileFind - maps_file_find(): Find, then base64-decode the value
    // (tables opened with DictFlags.SrcRhsIsFile).
    public string? FileFind(string name, DictFlags flags = DictFlags.None)
    {
        Error = DictError.None;
        if (name.Length == 0)
            return null;
        foreach (var dict in dicts)
        {
            if (flags != 0 && (dict.Flags & flags) == 0)
                continue;
            var value = dict.Lookup(name);
            if (value != null)
            {
                if (value.Length == 0)
                {
                    Msg.Warn($"{Title} lookup of {name} returns an empty string result");
                    Msg.Warn($"{Title} should return NO RESULT in case of NOT FOUND");
                    Error = DictError.Config;
                    return null;
                }
                try
                {
                    return RegexpSupport.Decode(Convert.FromBase64String(value));
                }
                catch (FormatException)
                {
                    Msg.Warn($"table {dict.Type}:{dict.Name}: key {name}: malformed BASE64 value: {(value.Length > 30 ? value[..30] : value)}");
                    Error = DictError.Config;
                    return null;
                }
            }
            if ((Error = dict.Error) != DictError.None)
            {
                Msg.Warn($"{dict.Type}:{dict.Name} lookup error for \"{name}\"");
                break;
            }
        }
        return null;
    }

    private static string Truncate(string s) => s.Length > 100 ? s[..100] + "..." : s;
}
