// NAME
//	DupFilter - recipient duplicate filter
// POSTFIX
//	src/util/been_here.c (BH_FLAG_FOLD)
// DESCRIPTION
//	Seen() remembers case-folded keys, up to a limit (0: no limit);
//	once full it remembers nothing more and reports every new key as
//	unseen, as been_here() does.
using System;
using System.Collections.Generic;

namespace Postfix.Daemons.Cleanup;

internal sealed class DupFilter(int limit)
{
    private readonly HashSet<string> seen = new(StringComparer.Ordinal);

    // Drop - been_here_drop(): forget a key.
    public void Drop(string key) => seen.Remove(key.ToLowerInvariant());

    public bool Seen(string key)
    {
        var folded = key.ToLowerInvariant();
        if (seen.Contains(folded))
            return true;
        if (limit <= 0 || seen.Count < limit)
            seen.Add(folded);
        return false;
    }
}
