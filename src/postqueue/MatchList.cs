// NAME
//	MatchList - the literal part of Postfix's string and domain lists
// POSTFIX
//	src/util/match_list.c, src/util/match_ops.c (match_string, match_hostname)
// DESCRIPTION
//	Patterns separated by commas or white space, "!" inverts, the first
//	matching pattern decides; case is folded. String patterns match
//	exactly; host patterns match the name itself, a parent domain
//	(parentStyle: parent_domain_matches_subdomains names the list) or a
//	".domain" suffix. Lookup tables ("type:name") and "/file" patterns
//	are not supported here: they never match.
using System;

namespace Postfix.Commands.Postqueue;

internal static class MatchList
{
    private static readonly char[] CommaSpace = { ',', ' ', '\t', '\r', '\n' };

    // Match - true when the list matches the name.
    public static bool Match(string patterns, string name, bool hostStyle, bool parentStyle)
    {
        name = name.ToLowerInvariant();
        foreach (var raw in patterns.Split(CommaSpace, StringSplitOptions.RemoveEmptyEntries))
        {
            var pattern = raw.ToLowerInvariant();
            var negate = false;
            while (pattern.StartsWith('!'))
            {
                negate = !negate;
                pattern = pattern[1..];
            }
            if (pattern.Length == 0 || pattern.StartsWith('/') || (pattern.Contains(':') && !pattern.StartsWith('[')))
                continue;
            if (hostStyle ? MatchHost(name, pattern, parentStyle) : name == pattern)
                return !negate;
        }
        return false;
    }

    private static bool MatchHost(string name, string pattern, bool parentStyle)
    {
        if (name == pattern)
            return true;
        var pd = name.Length - pattern.Length;
        if (parentStyle)
            return pd > 0 && name[pd - 1] == '.' && string.CompareOrdinal(name, pd, pattern, 0, pattern.Length) == 0;
        return pattern.StartsWith('.') && pd > 0 && string.CompareOrdinal(name, pd, pattern, 0, pattern.Length) == 0;
    }
}
