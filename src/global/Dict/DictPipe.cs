// NAME
//	DictPipe - pipemap:{type:name, ...}: each result is the next query
// POSTFIX
//	src/util/dict_pipe.c
using System.Collections.Generic;

namespace Postfix.Global.Dict;

public sealed class DictPipe : Dict
{
    public const string TypeName = "pipemap";
    private readonly List<Dict> maps;

    private DictPipe(string name, List<Dict> maps, DictOpenFlags openFlags, DictFlags flags)
        : base(TypeName, name, openFlags, flags)
    {
        this.maps = maps;
    }

    public static Dict Open(string name, DictOpenFlags openFlags, DictFlags dictFlags)
    {
        var maps = DictUnion.OpenMembers(TypeName, name, openFlags, dictFlags, out var match, out var failure);
        return maps == null ? failure! /* set whenever maps is null */ : new DictPipe(name, maps, openFlags, dictFlags | match);
    }

    public override string? Lookup(string key)
    {
        var q = key;
        foreach (var map in maps)
        {
            var r = map.Lookup(q);
            if (r == null)
            {
                SetError(map.Error, map.ErrorText);
                return null;
            }
            q = r;
        }
        SetError(DictError.None);
        return q;
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
