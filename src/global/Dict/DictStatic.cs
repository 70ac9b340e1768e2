// NAME
//	DictStatic - static:value and static:{ value with spaces }
// POSTFIX
//	src/util/dict_static.c
// DESCRIPTION
//	Every lookup returns the table name (or the text inside braces).
namespace Postfix.Global.Dict;

public sealed class DictStatic : Dict
{
    public const string TypeName = "static";
    private readonly string value;

    private DictStatic(string name, string value, DictOpenFlags openFlags, DictFlags flags)
        : base(TypeName, name, openFlags, flags | DictFlags.Fixed)
    {
        this.value = value;
    }

    public static Dict Open(string name, DictOpenFlags openFlags, DictFlags dictFlags)
    {
        var value = name;
        if (name.StartsWith('{'))
        {
            var text = name;
            var err = DictParse.ExtPar(ref text);
            if (err != null)
                return DictSurrogate.Create(TypeName, name, openFlags, dictFlags, $"{TypeName}:{name}: {err}");
            value = text;
        }
        return new DictStatic(name, value, openFlags, dictFlags);
    }

    public override string? Lookup(string key)
    {
        SetError(DictError.None);
        return value;
    }
}
