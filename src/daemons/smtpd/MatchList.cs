// NAME
//	MatchList - string and host/address pattern lists
// POSTFIX
//	src/util/match_list.c, match_ops.c, src/global/string_list.c,
//	namadr_list.c
// DESCRIPTION
//	A list of patterns from a parameter value: literal strings,
//	"type:table" lookups, "/file/name" (patterns read from the file),
//	and for host lists: host names, .domain (sub-domains), IP
//	addresses, [address] and network/mask. A leading "!" negates a
//	pattern; the first pattern that matches decides. Lookups share one
//	lock because the sessions of one process run on several threads.
using System;
using System.Collections.Generic;
using System.IO;
using System.Net;
using Postfix.Global.Dict;
using Postfix.Util;

namespace Postfix.Daemons.Smtpd;

internal sealed class MatchList
{
    // Gate - serializes table lookups made by smtpd sessions.
    public static readonly object Gate = new();

    private readonly List<(string Pattern, bool Negate, Maps? Table, CidrMatch? Net)> items = new();
    private readonly bool hostList;
    private readonly bool parentMatchesSub;

    public MatchList(string title, string value, bool hostList, bool parentMatchesSub = false)
    {
        this.hostList = hostList;
        this.parentMatchesSub = parentMatchesSub;
        Title = title;
        foreach (var raw in Split(value))
            Add(title, raw);
    }

    public string Title { get; }

    // Error - a table lookup failed in the last match.
    public bool Error { get; private set; }

    public bool IsEmpty => items.Count == 0;

    private static IEnumerable<string> Split(string value)
    {
        var pos = 0;
        while (RegexpSupport.NextToken(value, ref pos, ", \t\r\n", out var token))
            yield return token;
    }

    private void Add(string title, string raw)
    {
        var pattern = raw;
        var negate = false;
        while (pattern.StartsWith('!'))
        {
            negate = !negate;
            pattern = pattern[1..].TrimStart();
        }
        if (pattern.Length == 0)
            return;
        if (pattern[0] == '/')
        {
            string text;
            try
            {
                text = File.ReadAllText(pattern);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Msg.Fatal($"{title}: open file {pattern}: {Postfix.Util.Sys.ErrorText(e)}");
                return;
            }
            foreach (var line in text.Split('\n'))
            {
                var t = line.Trim();
                if (t.Length == 0 || t[0] == '#')
                    continue;
                foreach (var p in Split(t))
                    Add(title, negate ? "!" + p : p);
            }
            return;
        }
        if (pattern[0] != '[' && pattern.Contains(':'))
        {
            var flags = DictFlags.Lock | DictFlags.FoldFix;
            items.Add((pattern, negate, Maps.Create(title, pattern, flags), null));
            return;
        }
        CidrMatch? net = null;
        if (hostList && pattern.Contains('/'))
        {
            var p = pattern;
            if (p.StartsWith('['))
                p = p.Replace("[", "").Replace("]", "");
            net = CidrMatch.Parse(p, true, out var why);
            if (net == null)
                Msg.Fatal($"{title}: bad net/mask pattern: \"{pattern}\"{(why != null ? "" : "")}");
        }
        items.Add((pattern, negate, null, net));
    }

    // Match - string_list_match(string).
    public bool MatchString(string s)
    {
        Error = false;
        foreach (var item in items)
        {
            bool hit;
            if (item.Table != null)
            {
                lock (Gate)
                {
                    hit = item.Table.Find(s) != null;
                    if (!hit && item.Table.Error != DictError.None)
                    {
                        Error = true;
                        return false;
                    }
                }
            }
            else
            {
                hit = string.Equals(item.Pattern, s, StringComparison.OrdinalIgnoreCase);
            }
            if (hit)
                return !item.Negate;
        }
        return false;
    }

    // MatchHost - namadr_list_match(name, addr).
    public bool MatchHost(string name, string addr)
    {
        Error = false;
        foreach (var item in items)
        {
            var hit = MatchName(item, name) || MatchAddr(item, addr);
            if (Error)
                return false;
            if (hit)
                return !item.Negate;
        }
        return false;
    }

    private bool Lookup(Maps table, string key)
    {
        lock (Gate)
        {
            var hit = table.Find(key) != null;
            if (!hit && table.Error != DictError.None)
                Error = true;
            return hit;
        }
    }

    private bool MatchName(in (string Pattern, bool Negate, Maps? Table, CidrMatch? Net) item, string name)
    {
        if (item.Net != null || name.Length == 0)
            return false;
        if (item.Table != null)
        {
            if (Lookup(item.Table, name))
                return true;
            if (Error)
                return false;
            for (var dot = name.IndexOf('.'); dot >= 0; dot = name.IndexOf('.', dot + 1))
            {
                var parent = parentMatchesSub ? name[(dot + 1)..] : name[dot..];
                if (parent.Length == 0 || parent == ".")
                    break;
                if (Lookup(item.Table, parent))
                    return true;
                if (Error)
                    return false;
            }
            return false;
        }
        var pattern = item.Pattern;
        if (string.Equals(name, pattern, StringComparison.OrdinalIgnoreCase))
            return true;
        if (pattern.StartsWith('.'))
            return name.Length > pattern.Length && name.EndsWith(pattern, StringComparison.OrdinalIgnoreCase);
        if (parentMatchesSub)
            return name.Length > pattern.Length + 1 && name.EndsWith("." + pattern, StringComparison.OrdinalIgnoreCase);
        return false;
    }

    private bool MatchAddr(in (string Pattern, bool Negate, Maps? Table, CidrMatch? Net) item, string addr)
    {
        if (addr.Length == 0)
            return false;
        if (item.Table != null)
            return Lookup(item.Table, addr);
        if (item.Net != null)
        {
            Span<byte> bytes = stackalloc byte[16];
            var family = CidrMatch.FamilyOf(addr);
            if (family != item.Net.Family || !CidrMatch.Pton(family, addr, bytes))
                return false;
            return item.Net.Matches(bytes[..item.Net.ByteCount]);
        }
        var pattern = item.Pattern;
        if (pattern.StartsWith('[') && pattern.EndsWith(']'))
            pattern = pattern[1..^1];
        if (string.Equals(pattern, addr, StringComparison.OrdinalIgnoreCase))
            return true;
        if (IPAddress.TryParse(pattern, out var p) && IPAddress.TryParse(addr, out var a))
            return p.Equals(a);
        return false;
    }
}
