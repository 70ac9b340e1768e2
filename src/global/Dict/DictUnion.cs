// NAME
//	DictUnion - unionmap:{type:name, ...}: all results, comma-joined
// POSTFIX
//	src/util/dict_union.c
// DESCRIPTION
//	Queries every table in order; results are joined with ",". A table
//	error ends the query with that error.
using System.Collections.Generic;
using System.Text;

namespace Postfix.Global.Dict;

public sealed class DictUnion : Dict
{
    public const string TypeName = "unionmap";
    private readonly List<Dict> maps;

    private DictUnion(string name, List<Dict> maps, DictOpenFlags openFlags, DictFlags flags)
        : base(TypeName, name, openFlags, flags)
    {
        this.maps = maps;
    }

    // OpenMembers - shared by unionmap and pipemap: parse "{type:name ...}".
    internal static List<Dict>? OpenMembers(string type, string name, DictOpenFlags openFlags, DictFlags dictFlags, out DictFlags matchFlags, out Dict? failure)
    {
        matchFlags = DictFlags.None;
        failure = null;
        if (openFlags != DictOpenFlags.ReadOnly)
        {
            failure = DictSurrogate.Create(type, name, openFlags, dictFlags, $"{type}:{name} map requires O_RDONLY access mode");
            return null;
        }
        var len = DictParse.BalPar(name);
        var list = len == 0 || len != name.Length ? null : DictParse.SplitQ(name.Substring(1, len - 2));
        var bad = $"bad syntax: \"{type}:{name}\"; need \"{type}:{{type:name...}}\"";
        if (list == null || list.Count == 0)
        {
            failure = DictSurrogate.Create(type, name, openFlags, dictFlags, bad);
            return null;
        }
        var maps = new List<Dict>();
        foreach (var spec in list)
        {
            if (!spec.Contains(':'))
            {
                failure = DictSurrogate.Create(type, name, openFlags, dictFlags, bad);
                return null;
            }
            var d = DictOpen.Open(spec, openFlags, dictFlags);
            if (maps.Count == 0)
                matchFlags = d.Flags & (DictFlags.Fixed | DictFlags.Pattern);
            maps.Add(d);
        }
        return maps;
    }

    public static Dict Open(string name, DictOpenFlags openFlags, DictFlags dictFlags)
    {
        var maps = OpenMembers(TypeName, name, openFlags, dictFlags, out var match, out var failure);
        return maps == null ? failure! /* set whenever maps is null */ : new DictUnion(name, maps, openFlags, dictFlags | match);
    }

    public override string? Lookup(string key)
    {
        StringBuilder? sb = null;
        foreach (var map in maps)
        {
            var r = map.Lookup(key);
            if (r != null)
            {
                sb ??= new StringBuilder();
                if (sb.Length > 0)
                    sb.Append(',');
                sb.Append(r);
            }
            else if (map.Error != DictError.None)
            {
                SetError(map.Error, map.ErrorText);
                return null;
            }
        }
        SetError(DictError.None);
        return sb != null && sb.Length > 0 ? sb.ToString() : null;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            foreach (var m in maps)
                m.Dispose();
        }
        base.Dispose(disposing);
    }
}
