// NAME
//	DictHt - in-memory table (type "internal")
// POSTFIX
//	src/util/dict_ht.c
// DESCRIPTION
//	A per-process hash table; texthash: and inline: load into one.
//	Updates replace, keys fold when the table folds. Sequence walks
//	the entries in insertion order (Postfix walks its randomized hash
//	order, so no caller can depend on an order).
using System.Collections.Generic;

namespace Postfix.Global.Dict;

public sealed class DictHt : Dict
{
    private readonly Dictionary<string, string> table = new(System.StringComparer.Ordinal);
    private readonly List<string> order = new();
    private List<KeyValuePair<string, string>>? seq;
    private int seqPos;

    public DictHt(string type, string name, DictOpenFlags openFlags, DictFlags flags)
        : base(type, name, openFlags, flags | DictFlags.Fixed)
    {
    }

    public static Dict Open(string name, DictOpenFlags openFlags, DictFlags dictFlags) =>
        new DictHt("internal", name, openFlags, dictFlags);

    public int Count => table.Count;

    private string FoldKey(string key) => (Flags & DictFlags.FoldFix) != 0 ? DictText.Fold(key) : key;

    public override string? Lookup(string key)
    {
        SetError(DictError.None);
        return table.TryGetValue(FoldKey(key), out var v) ? v : null;
    }

    public override DictStatus Update(string key, string value)
    {
        SetError(DictError.None);
        var k = FoldKey(key);
        if (!table.ContainsKey(k))
            order.Add(k);
        table[k] = value;
        return DictStatus.Success;
    }

    public override DictStatus Delete(string key)
    {
        SetError(DictError.None);
        var k = FoldKey(key);
        if (!table.Remove(k))
            return DictStatus.Fail;
        order.Remove(k);
        return DictStatus.Success;
    }

    public override DictStatus Sequence(DictSeq function, out string key, out string value)
    {
        SetError(DictError.None);
        if (function == DictSeq.First)
        {
            seq = new List<KeyValuePair<string, string>>(order.Count);
            foreach (var k in order)
                seq.Add(new(k, table[k]));
            seqPos = 0;
        }
        if (seq == null || seqPos >= seq.Count)
        {
            seq = null;
            key = value = "";
            return DictStatus.Fail;
        }
        key = seq[seqPos].Key;
        value = seq[seqPos].Value;
        seqPos++;
        return DictStatus.Success;
    }
}
