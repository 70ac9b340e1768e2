// NAME
//	DictFail - fail:name, a table whose every access fails
// POSTFIX
//	src/util/dict_fail.c
// DESCRIPTION
//	Each operation reports a "try again" error; %m reads "Application error".
namespace Postfix.Global.Dict;

public sealed class DictFail : Dict
{
    public const string TypeName = "fail";
    private const string Why = "Application error";

    private DictFail(string name, DictOpenFlags openFlags, DictFlags flags)
        : base(TypeName, name, openFlags, flags | DictFlags.Pattern)
    {
    }

    public static Dict Open(string name, DictOpenFlags openFlags, DictFlags dictFlags) => new DictFail(name, openFlags, dictFlags);

    public override string? Lookup(string key)
    {
        SetError(DictError.Retry, Why);
        return null;
    }

    public override DictStatus Update(string key, string value)
    {
        SetError(DictError.Retry, Why);
        return DictStatus.Error;
    }

    public override DictStatus Delete(string key)
    {
        SetError(DictError.Retry, Why);
        return DictStatus.Error;
    }

    public override DictStatus Sequence(DictSeq function, out string key, out string value)
    {
        key = value = "";
        SetError(DictError.Retry, Why);
        return DictStatus.Error;
    }
}
