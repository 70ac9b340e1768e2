// NAME
//	DictRandom - randmap:{value, value, ...}, a random pick per lookup
// POSTFIX
//	src/util/dict_random.c
namespace Postfix.Global.Dict;

public sealed class DictRandom : Dict
{
    public const string TypeName = "randmap";
    private readonly string[] values;

    private DictRandom(string name, string[] values, DictOpenFlags openFlags, DictFlags flags)
        : base(TypeName, name, openFlags, flags | DictFlags.Pattern)
    {
        this.values = values;
    }

    public static Dict Open(string name, DictOpenFlags openFlags, DictFlags dictFlags)
    {
        if (openFlags != DictOpenFlags.ReadOnly)
            return DictSurrogate.Create(TypeName, name, openFlags, dictFlags, $"{TypeName}:{name} map requires O_RDONLY access mode");
        var len = DictParse.BalPar(name);
        var list = len == 0 || len != name.Length ? null : DictParse.SplitQ(name.Substring(1, len - 2));
        if (list == null || list.Count == 0)
            return DictSurrogate.Create(TypeName, name, openFlags, dictFlags, $"bad syntax: \"{TypeName}:{name}\"; need \"{TypeName}:{{value1,...}}\"");
        for (var i = 0; i < list.Count; i++)
        {
            if (list[i].StartsWith('{'))
            {
                var text = list[i];
                var err = DictParse.ExtPar(ref text);
                if (err != null)
                    return DictSurrogate.Create(TypeName, name, openFlags, dictFlags, $"{TypeName}:{name}: {err}");
                list[i] = text;
            }
        }
        return new DictRandom(name, list.ToArray(), openFlags, dictFlags);
    }

    public override string? Lookup(string key)
    {
        SetError(DictError.None);
        return values[System.Random.Shared.Next(values.Length)];
    }
}
