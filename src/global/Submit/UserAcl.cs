// NAME
//	UserAcl - may this user submit mail (authorized_submit_users)
// POSTFIX
//	src/global/user_acl.c, src/global/string_list.c, src/util/match_list.c,
//	src/util/match_ops.c (match_string)
// DESCRIPTION
//	CheckByUid() returns null when the login name of uid (or "unknown"
//	when the password file has none) matches the list, else that name.
//	A list whose text starts with "static:" permits everyone at once,
//	as Postfix's shortcut does. The list: names (case-insensitive),
//	"!name" (a match denies), "type:table" (a key that exists matches),
//	"/file/name" (one pattern per word in the file). The first match
//	decides; no match denies.
using System;
using System.Collections.Generic;
using System.IO;
using Postfix.Global.Dict;
using Postfix.Util;

namespace Postfix.Global.Submit;

public static class UserAcl
{
    private static readonly char[] Separators = [',', ' ', '\t', '\r', '\n'];

    // CheckByUid - check_user_acl_byuid(): null when allowed, else the name.
    public static string? CheckByUid(string paramName, string acl, uint uid)
    {
        if (acl.StartsWith("static:", StringComparison.Ordinal))
            return null;
        var name = Sys.GetPwUid(uid)?.Name ?? "unknown";
        return Matches(paramName, acl, name) ? null : name;
    }

    // Matches - string_list_match() of a name against the list text.
    public static bool Matches(string paramName, string list, string name)
    {
        var folded = name.ToLowerInvariant();
        foreach (var raw in Expand(paramName, list))
        {
            var pattern = raw;
            var negate = false;
            while (pattern.StartsWith('!'))
            {
                negate = !negate;
                pattern = pattern[1..].TrimStart(Separators);
            }
            if (pattern.Length == 0)
                continue;
            bool hit;
            if (pattern.Contains(':', StringComparison.Ordinal) && !pattern.StartsWith('['))
            {
                using var dict = DictOpen.OpenDefault(pattern, DictOpenFlags.ReadOnly, DictFlags.Lock | DictFlags.FoldFix);
                hit = dict.Lookup(folded) != null;
            }
            else
            {
                hit = string.Equals(folded, pattern.ToLowerInvariant(), StringComparison.Ordinal);
            }
            if (hit)
                return !negate;
        }
        return false;
    }

    // Expand - the list words, with "/file" entries replaced by the file's words.
    private static IEnumerable<string> Expand(string paramName, string list)
    {
        foreach (var word in list.Split(Separators, StringSplitOptions.RemoveEmptyEntries))
        {
            if (!word.StartsWith('/'))
            {
                yield return word;
                continue;
            }
            string text;
            try
            {
                text = File.ReadAllText(word);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Msg.Fatal($"{paramName}: open file {word}: {Sys.StrError(Sys.ErrnoOf(e))}");
                yield break;
            }
            foreach (var line in text.Split('\n'))
            {
                var l = line.Trim();
                if (l.Length == 0 || l.StartsWith('#'))
                    continue;
                foreach (var w in l.Split(Separators, StringSplitOptions.RemoveEmptyEntries))
                    yield return w;
            }
        }
    }
}
