// NAME
//	Postconf (match) - service, field and parameter patterns
// POSTFIX
//	src/postconf/postconf_match.c
// DESCRIPTION
//	A pattern is "name[/type[/field-or-parameter]]"; each part is a
//	literal or "*", which matches anything. A "*" inside a longer part
//	is a syntax error, and so is a pattern that starts with "/".
//	Missing trailing parts default to "*".
using System;
using System.Collections.Generic;
using Postfix.Util;

namespace Postfix.Commands.Postconf;

internal static partial class Postconf
{
    public const string MatchWildcard = "*";

    // MatchAny - the part is the wildcard all by itself.
    public static bool MatchAny(string pattern) => pattern == MatchWildcard;

    // MatchString - wildcard, or exact (case-sensitive) equality.
    public static bool MatchString(string pattern, string text) =>
        MatchAny(pattern) || string.Equals(pattern, text, StringComparison.Ordinal);

    // MatchServicePattern - the pattern's name and type parts match the entry.
    public static bool MatchServicePattern(string[] pattern, string name, string type) =>
        MatchString(pattern[0], name) && MatchString(pattern[1], type);

    // ParseServicePattern - split "a/b/c" into min..max parts, or null if malformed.
    public static string[]? ParseServicePattern(string pattern, int minExpr, int maxExpr)
    {
        // Like argv_split(): empty parts between slashes vanish, but a
        // leading slash is rejected outright.
        if (pattern.StartsWith('/'))
            return null;
        var parts = new List<string>(pattern.Split('/', StringSplitOptions.RemoveEmptyEntries));
        if (parts.Count < minExpr || parts.Count > maxExpr)
            return null;
        foreach (var part in parts)
        {
            if (!MatchAny(part) && part.Contains('*', StringComparison.Ordinal))
                return null;
        }
        while (parts.Count < maxExpr)
            parts.Add(MatchWildcard);
        return parts.ToArray();
    }

    // ParseFieldPattern - field name or "*" to its index; anything else is fatal.
    public static int ParseFieldPattern(string fieldName)
    {
        if (fieldName == MatchWildcard)
            return MasterField.Wildcard;
        var index = Array.IndexOf(MasterField.Names, fieldName);
        if (index < 0)
            Msg.Fatal($"invalid service attribute name: \"{fieldName}\"");
        return index;
    }

    // IsMagicFieldPattern - the field pattern was the wildcard.
    public static bool IsMagicFieldPattern(int field) => field == MasterField.Wildcard;

    // StrFieldPattern - field index back to its name.
    public static string StrFieldPattern(int field) =>
        field == MasterField.Wildcard ? MatchWildcard : MasterField.Names[field];
}
