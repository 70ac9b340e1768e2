// NAME
//	DictEnv - environ:name, the process environment as a table
// POSTFIX
//	src/util/dict_env.c
// DESCRIPTION
//	Keys are environment variable names (folded to lower case unless
//	-f). Updates set variables in this process.
using System;

namespace Postfix.Global.Dict;

public sealed class DictEnv : Dict
{
    public const string TypeName = "environ";

    private DictEnv(string name, DictOpenFlags openFlags, DictFlags flags)
        : base(TypeName, name, openFlags, flags | DictFlags.Fixed)
    {
    }

    public static Dict Open(string name, DictOpenFlags openFlags, DictFlags dictFlags) => new DictEnv(name, openFlags, dictFlags);

    private string FoldKey(string key) => (Flags & DictFlags.FoldFix) != 0 ? DictText.Fold(key) : key;

    public override string? Lookup(string key)
    {
        SetError(DictError.None);
        return Environment.GetEnvironmentVariable(FoldKey(key));
    }

    public override DictStatus Update(string key, string value)
    {
        SetError(DictError.None);
        Environment.SetEnvironmentVariable(FoldKey(key), value);
        return DictStatus.Success;
    }
}
