// NAME
//	DictInline - inline:{name=value, {name = value with spaces}, ...}
// POSTFIX
//	src/util/dict_inline.c
// DESCRIPTION
//	A read-only in-memory table given in the table name itself.
namespace Postfix.Global.Dict;

public static class DictInline
{
    public const string TypeName = "inline";

    public static Dict Open(string name, DictOpenFlags openFlags, DictFlags dictFlags)
    {
        if (openFlags != DictOpenFlags.ReadOnly)
            return DictSurrogate.Create(TypeName, name, openFlags, dictFlags, $"{TypeName}:{name} map requires O_RDONLY access mode");
        if (DictOpen.NeedUtf8(dictFlags) && !DictText.IsValidUtf8(name))
            return DictSurrogate.Create(TypeName, name, openFlags, dictFlags, $"bad UTF-8 syntax: \"{TypeName}:{name}\"; need \"{TypeName}:{{name=value...}}\"");
        var len = DictParse.BalPar(name);
        if (len == 0 || len != name.Length || len == 2)
            return DictSurrogate.Create(TypeName, name, openFlags, dictFlags, $"bad syntax: \"{TypeName}:{name}\"; need \"{TypeName}:{{name=value...}}\"");
        var body = name.Substring(1, len - 2);
        var dict = new DictHt(TypeName, name, openFlags, dictFlags);
        string? err = null;
        var count = 0;
        var pos = 0;
        string? nameval;
        while ((nameval = DictParse.TokQ(body, ref pos)) != null)
        {
            if (nameval[0] == '{')
                err = DictParse.ExtPar(ref nameval);
            if (err != null || (err = DictParse.SplitQNameVal(nameval, out var key, out var value)) != null)
                break;
            if ((dictFlags & DictFlags.SrcRhsIsFile) != 0)
            {
                var b64 = DictFile.ToBase64(value, out err);
                if (b64 == null)
                    break;
                value = b64;
            }
            dict.Update(key, value);
            count++;
        }
        if (err != null || count == 0)
            return DictSurrogate.Create(TypeName, name, openFlags, dictFlags,
                $"{err ?? "empty table"}: \"{TypeName}:{name}\"; need \"{TypeName}:{{name={((dictFlags & DictFlags.SrcRhsIsFile) != 0 ? "filename" : "value")}...}}\"");
        return dict;
    }
}
