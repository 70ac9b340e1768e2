// NAME
//	CidrDict - the cidr: table (network address patterns)
// POSTFIX
//	src/util/dict_cidr.c
// DESCRIPTION
//	Rules "[!]net/len result", "[!]address result", "if [!]net/len",
//	"endif". The first match wins. Bad rules are reported as
//	"cidr map NAME, line N: REASON: skipping this rule".
using System.Collections.Generic;
using Postfix.Util;

namespace Postfix.Global.Dict;

public sealed class CidrDict : Dict
{
    public const string TypeName = "cidr";

    private readonly CidrMatch[] entries;
    private readonly string[] values;

    private CidrDict(string name, DictOpenFlags openFlags, DictFlags dictFlags, CidrMatch[] entries, string[] values, long owner)
        : base(TypeName, name, openFlags, dictFlags | DictFlags.Pattern)
    {
        this.entries = entries;
        this.values = values;
        OwnerUid = owner;
    }

    // Open - dict_cidr_open().
    public static Dict Open(string name, DictOpenFlags openFlags, DictFlags dictFlags)
    {
        if (openFlags != DictOpenFlags.ReadOnly)
            return RegexpSupport.Surrogate(TypeName, name, openFlags, dictFlags, $"{TypeName}:{name} map requires O_RDONLY access mode");
        var reader = RegexpSupport.OpenRules(TypeName, name, out var owner, out var why);
        if (reader == null)
            return RegexpSupport.Surrogate(TypeName, name, openFlags, dictFlags, why!);   // why is set when reader is null
        var list = new List<CidrMatch>();
        var vals = new List<string>();
        var lines = new List<int>();
        var stack = new List<int>();
        string? line;
        while ((line = reader.Next(out var lineNo)) != null)
        {
            var entry = ParseRule(line, stack.Count, dictFlags, out var value, out var reason);
            if (entry == null)
            {
                Msg.Warn($"cidr map {name}, line {lineNo}: {reason}: skipping this rule");
                continue;
            }
            if (entry.Op == CidrMatch.MatchOp.If)
            {
                stack.Add(list.Count);
            }
            else if (entry.Op == CidrMatch.MatchOp.EndIf)
            {
                list[stack[^1]].BlockEnd = list.Count;
                stack.RemoveAt(stack.Count - 1);
            }
            list.Add(entry);
            vals.Add(value);
            lines.Add(lineNo);
        }
        for (var i = stack.Count - 1; i >= 0; i--)
            Msg.Warn($"cidr map {name}, line {lines[stack[i]]}: IF has no matching ENDIF");
        if (reader.ReadError != null)
            Msg.Fatal($"cidr map {name}: read error: {reader.ReadError}");
        return new CidrDict(name, openFlags, dictFlags, list.ToArray(), vals.ToArray(), owner);
    }

    public override string? Lookup(string key)
    {
        if (Msg.Verbose > 0)
            Msg.Info($"dict_cidr_lookup: {Name}: {key}");
        Error = DictError.None;
        var i = CidrMatch.Execute(entries, key);
        return i < 0 ? null : values[i];
    }

    // ParseRule - dict_cidr_parse_rule(): one entry and its value, or null and why.
    private static CidrMatch? ParseRule(string p, int nesting, DictFlags dictFlags, out string value, out string? why)
    {
        value = "";
        var match = true;
        CidrMatch? entry;
        var pos = 0;
        if (RegexpDict.IsKeyword(p, "IF"))
        {
            pos = 2;
            for (; pos < p.Length; pos++)
            {
                if (p[pos] == '!')
                    match = !match;
                else if (!RegexpSupport.IsSpace(p[pos]))
                    break;
            }
            if (pos >= p.Length)
            {
                why = "no address pattern";
                return null;
            }
            entry = CidrMatch.ParseIf(RegexpSupport.TrimBlanks(p[pos..]), match, out why);
            if (entry == null)
                return null;
        }
        else if (RegexpDict.IsKeyword(p, "ENDIF"))
        {
            pos = 5;
            while (pos < p.Length && RegexpSupport.IsSpace(p[pos]))
                pos++;
            if (pos < p.Length)
            {
                why = "garbage after ENDIF";
                return null;
            }
            if (nesting == 0)
            {
                why = "ENDIF without IF";
                return null;
            }
            entry = CidrMatch.EndIf();
        }
        else
        {
            for (; pos < p.Length; pos++)
            {
                if (p[pos] == '!')
                    match = !match;
                else if (!RegexpSupport.IsSpace(p[pos]))
                    break;
            }
            var start = pos;
            while (pos < p.Length && !RegexpSupport.IsSpace(p[pos]))
                pos++;
            var pattern = p[start..pos];
            if (pos < p.Length)
                pos++;
            while (pos < p.Length && RegexpSupport.IsSpace(p[pos]))
                pos++;
            value = RegexpSupport.TrimBlanks(p[pos..]);
            if (pattern.Length == 0)
            {
                why = "no address pattern";
                return null;
            }
            entry = CidrMatch.Parse(pattern, match, out why);
            if (entry == null)
                return null;
            if (value.Length == 0)
            {
                why = "no lookup result";
                return null;
            }
        }
        if ((dictFlags & DictFlags.SrcRhsIsFile) != 0)
        {
            var b64 = RegexpSupport.FileToBase64(value, out why);
            if (b64 == null)
                return null;
            value = b64;
        }
        why = null;
        return entry;
    }
}
