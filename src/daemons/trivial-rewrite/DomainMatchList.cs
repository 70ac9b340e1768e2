// NAME
//	DomainMatchList - string_list and domain_list pattern lists
// POSTFIX
//	src/util/match_list.c, src/util/match_ops.c (match_string,
//	match_hostname), src/global/string_list.c, src/global/domain_list.c
// DESCRIPTION
//	A list of patterns separated by commas or white space ({} groups).
//	"!" inverts a pattern; the first pattern that matches decides.
//	"/file" patterns are replaced by the file's lines; "type:table"
//	patterns are looked up. Other patterns compare case-insensitively:
//	exactly (string lists), or (domain lists) the name itself, a parent
//	domain when parent_domain_matches_subdomains lists the parameter,
//	else a ".domain" suffix. Tables are asked for the name, and in a
//	domain list for its parent domains when the table takes partial
//	keys. A table error stops the search: Match returns false with
//	Error set, after a warning.
using System;
using System.Collections.Generic;
using System.IO;
using Postfix.Global.Dict;
using Postfix.Util;

namespace Postfix.Daemons.TrivialRewrite;

internal sealed class DomainMatchList
{
    private readonly record struct Pattern(bool Match, string Text, Dict? Table);

    private readonly string paramName;
    private readonly bool hostStyle;
    private readonly bool parentStyle;
    private readonly List<Pattern> patterns = new();
    private static readonly Dictionary<string, Dict> Tables = new(StringComparer.Ordinal);

    public DictError Error { get; private set; }

    // TableRegistered - told of each table a list opens (type:name, flags).
    public static Action<string, DictFlags>? TableRegistered { get; set; }

    private DomainMatchList(string paramName, string text, bool hostStyle, bool parentStyle)
    {
        this.paramName = paramName;
        this.hostStyle = hostStyle;
        this.parentStyle = parentStyle;
        Parse(text, true);
    }

    // StringList - string_list_init().
    public static DomainMatchList StringList(string paramName, string text) => new(paramName, text, false, false);

    // DomainList - domain_list_init() with match_parent_style().
    public static DomainMatchList DomainList(string paramName, string text, bool parentStyle) =>
        new(paramName, text, true, parentStyle);

    private void Parse(string text, bool initMatch)
    {
        var pos = 0;
        while (RegexpSupport.NextToken(text, ref pos, ", \t\r\n", out var start))
        {
            if (start[0] == '#')
            {
                Msg.Warn($"{paramName}: comment at end of line is not supported: {start} {text[pos..].TrimStart(", \t\r\n".ToCharArray())}");
                break;
            }
            var match = initMatch;
            var i = 0;
            while (i < start.Length && start[i] == '!')
            {
                match = !match;
                i++;
            }
            var item = start[i..];
            if (item.Length == 0)
                Msg.Fatal($"{paramName}: no pattern after '!'");
            if (item[0] == '/')
            {
                string[] lines;
                try
                {
                    lines = File.ReadAllLines(item);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    patterns.Add(new Pattern(match, item, DictSurrogate.Create("nofile", item, DictOpenFlags.ReadOnly,
                        DictFlags.Lock | DictFlags.Utf8Request, $"open file {item}: {Postfix.Util.Sys.ErrorText(e)}")));
                    continue;
                }
                foreach (var line in lines)
                    if (!line.StartsWith('#'))
                        Parse(line, match);
            }
            else if (item[0] != '[' && item.Contains(':'))
            {
                var key = $"{item}(0,{(int)(DictFlags.Lock | DictFlags.Utf8Request)})";
                if (!Tables.TryGetValue(key, out var dict))
                {
                    dict = DictOpen.Open(item, DictOpenFlags.ReadOnly, DictFlags.Lock | DictFlags.Utf8Request);
                    Tables[key] = dict;
                    TableRegistered?.Invoke(item, DictFlags.Lock | DictFlags.Utf8Request);
                }
                patterns.Add(new Pattern(match, item, dict));
            }
            else
            {
                patterns.Add(new Pattern(match, item.ToLowerInvariant(), null));
            }
        }
    }

    // Match - match_list_match(): the first matching pattern decides.
    public bool Match(string name)
    {
        Error = DictError.None;
        var folded = name.ToLowerInvariant();
        foreach (var p in patterns)
        {
            if (hostStyle ? MatchHostname(folded, p) : MatchString(folded, p))
                return p.Match;
            if (Error != DictError.None)
                return false;
        }
        return false;
    }

    private bool MatchString(string name, Pattern p)
    {
        if (p.Table is { } dict)
        {
            if (dict.Lookup(name) != null)
                return true;
            return TableError(dict);
        }
        return name == p.Text;
    }

    private bool MatchHostname(string name, Pattern p)
    {
        if (p.Table is { } dict)
        {
            for (var entry = 0; entry < name.Length;)
            {
                if (entry == 0 || (dict.Flags & DictFlags.Fixed) != 0)
                {
                    if (dict.Lookup(name[entry..]) != null)
                        return true;
                    if (TableError(dict) || Error != DictError.None)
                        return false;
                }
                var next = name.IndexOf('.', entry + 1);
                if (next < 0)
                    break;
                entry = parentStyle ? next + 1 : next;
            }
            return false;
        }
        var pattern = p.Text;
        if (name == pattern)
            return true;
        if (parentStyle)
        {
            var pd = name.Length - pattern.Length;
            return pd > 0 && name[pd - 1] == '.' && string.CompareOrdinal(name, pd, pattern, 0, pattern.Length) == 0;
        }
        if (pattern.Length > 0 && pattern[0] == '.')
        {
            var pd = name.Length - pattern.Length;
            return pd > 0 && string.CompareOrdinal(name, pd, pattern, 0, pattern.Length) == 0;
        }
        return false;
    }

    // TableError - record a lookup error (false when there is none).
    private bool TableError(Dict dict)
    {
        if ((Error = dict.Error) == DictError.None)
            return false;
        Msg.Warn($"{paramName}: {dict.Type}:{dict.Name}: table lookup problem");
        return false;
    }
}
