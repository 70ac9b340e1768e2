// NAME
//	RegexpDict - the regexp: table (POSIX regular expressions)
// POSTFIX
//	src/util/dict_regexp.c
// DESCRIPTION
//	Rules "/pattern/flags result", "/pat1/!/pat2/ result", "if /pat/",
//	"endif"; "!" negates. Flags toggle from the default
//	REG_EXTENDED|REG_ICASE: i (case), x (extended), m (REG_NEWLINE).
//	The first matching rule wins; $1..$n in the result take the matched
//	substrings. Patterns are compiled once at open time; a lookup walks
//	the rule list with regexec(), asking for substrings only when the
//	result uses them.
using System;
using System.Collections.Generic;
using Postfix.Util;

namespace Postfix.Global.Dict;

public sealed unsafe class RegexpDict : Dict
{
    private readonly object gate = new();

    public const string TypeName = "regexp";

    private enum Op
    {
        Match,
        If,
        EndIf,
    }

    private sealed class Rule
    {
        public Op Op;
        public int LineNo;
        public PosixRegex? First;      // match: first pattern; if: the condition
        public bool FirstMatch = true;
        public PosixRegex? Second;
        public bool SecondMatch = true;
        public RegexpSupport.Template? Result;
        public int EndIf = -1;          // if: index of the matching endif, -1 none
    }

    private struct Pattern
    {
        public string Text;
        public int Options;
        public bool Match;
    }

    // Hot - what the rule walk reads, packed in one array: walking
    // many rules per lookup is bound by memory, not by matching.
    private struct Hot
    {
        public nint First;
        public nint Second;
        public int EndIf;
        public int NSub;
        public Op Op;
        public bool FirstMatch;
        public bool SecondMatch;
    }

    private readonly Rule[] rules;
    private readonly Hot[] hot;
    private readonly PosixRegex.RegMatch[] pmatch;
    private readonly int[] offsets;
    private byte[] keyBuf = new byte[256];

    private RegexpDict(string name, DictOpenFlags openFlags, DictFlags dictFlags, Rule[] rules, int maxSub, long owner)
        : base(TypeName, name, openFlags, dictFlags | DictFlags.Pattern)
    {
        this.rules = rules;
        hot = new Hot[rules.Length];
        for (var i = 0; i < rules.Length; i++)
        {
            var r = rules[i];
            var maxSubOfRule = r.Result?.MaxSub ?? 0;
            hot[i] = new Hot
            {
                First = r.First?.Handle ?? 0,
                Second = r.Second?.Handle ?? 0,
                EndIf = r.EndIf,
                NSub = maxSubOfRule > 0 ? maxSubOfRule + 1 : 0,
                Op = r.Op,
                FirstMatch = r.FirstMatch,
                SecondMatch = r.SecondMatch,
            };
        }
        pmatch = new PosixRegex.RegMatch[maxSub + 1];
        offsets = new int[2 * (maxSub + 1)];
        OwnerUid = owner;
    }

    // Open - dict_regexp_open().
    public static Dict Open(string name, DictOpenFlags openFlags, DictFlags dictFlags)
    {
        if (openFlags != DictOpenFlags.ReadOnly)
            return RegexpSupport.Surrogate(TypeName, name, openFlags, dictFlags, $"{TypeName}:{name} map requires O_RDONLY access mode");
        var reader = RegexpSupport.OpenRules(TypeName, name, out var owner, out var why);
        if (reader == null)
            return RegexpSupport.Surrogate(TypeName, name, openFlags, dictFlags, why!);   // why is set when reader is null
        var list = new List<Rule>();
        var stack = new List<int>();
        var maxSub = 0;
        string? line;
        while ((line = reader.Next(out var lineNo)) != null)
        {
            line = RegexpSupport.TrimBlanks(line);
            if (line.Length == 0)
                continue;
            var rule = ParseLine(name, lineNo, line, stack.Count, dictFlags);
            if (rule == null)
                continue;
            switch (rule.Op)
            {
                case Op.Match:
                    maxSub = Math.Max(maxSub, rule.Result!.MaxSub);   // match rules always carry a result
                    break;
                case Op.If:
                    stack.Add(list.Count);
                    break;
                case Op.EndIf:
                    list[stack[^1]].EndIf = list.Count;
                    stack.RemoveAt(stack.Count - 1);
                    break;
            }
            list.Add(rule);
        }
        for (var i = stack.Count - 1; i >= 0; i--)
            Msg.Warn($"regexp map {name}, line {list[stack[i]].LineNo}: IF has no matching ENDIF");
        return new RegexpDict(name, openFlags, dictFlags, list.ToArray(), maxSub, owner);
    }

    // Lookup - one lookup at a time per table: the match buffers (and
    // connections) belong to the table, as in a Postfix process.
    public override string? Lookup(string key)
    {
        lock (gate)
            return LookupLocked(key);
    }

    // LookupLocked - dict_regexp_lookup(): first matching rule wins.
    private string? LookupLocked(string key)
    {
        Error = DictError.None;
        if (Msg.Verbose > 0)
            Msg.Info($"dict_regexp_lookup: {Name}: {key}");
        if ((Flags & DictFlags.FoldMul) != 0)
            key = RegexpSupport.FoldAscii(key);
        var len = RegexpSupport.Encode(key, ref keyBuf, true);
        var locale = PosixRegex.EnterCLocale();
        try
        {
            return Match(subject: keyBuf, len);
        }
        finally
        {
            PosixRegex.LeaveCLocale(locale);
        }
    }

    // Match - the rule walk of dict_regexp_lookup() over the encoded key.
    private string? Match(byte[] subject, int len)
    {
        fixed (byte* s = subject)
        fixed (PosixRegex.RegMatch* pm = pmatch)
        fixed (Hot* h = hot)
        {
            for (var i = 0; i < hot.Length; i++)
            {
                switch (h[i].Op)
                {
                    case Op.Match:
                        {
                            var nsub = h[i].NSub;
                            if (!Exec(i, h[i].First, h[i].FirstMatch, s, nsub, pm))
                                continue;
                            if (h[i].Second != 0 && !Exec(i, h[i].Second, h[i].SecondMatch, s, 0, null))
                                continue;
                            var result = rules[i].Result!;   // match rules always carry a result
                            if (nsub == 0)
                                return result.Literal;
                            for (var n = 0; n < nsub; n++)
                            {
                                offsets[2 * n] = pm[n].So;
                                offsets[2 * n + 1] = pm[n].Eo;
                            }
                            return result.Expand(new ReadOnlySpan<byte>(s, len), offsets);
                        }
                    case Op.If:
                        if (Exec(i, h[i].First, h[i].FirstMatch, s, 0, null))
                            continue;
                        if (h[i].EndIf < 0)
                            return null;
                        i = h[i].EndIf;
                        continue;
                    default:
                        continue;
                }
            }
        }
        return null;
    }

    // Exec - regexec() with positive/negative sense; errors warn and do not match.
    private bool Exec(int index, nint re, bool match, byte* subject, int nsub, PosixRegex.RegMatch* pm)
    {
        var err = PosixRegex.Exec(re, subject, nsub, pm);
        if (err == PosixRegex.RegNomatch)
            return !match;
        if (err == 0)
            return match;
        var rule = rules[index];
        var which = re == rule.First?.Handle ? rule.First : rule.Second;
        Msg.Warn($"regexp map {Name}, line {rule.LineNo}: {which!.Error(err)}");   // re came from this rule
        return false;
    }

    // GetPattern - one "[!]/pattern/flags"; advances pos.
    private static bool GetPattern(string mapName, int lineNo, string line, ref int pos, out Pattern pat)
    {
        pat = new Pattern { Match = true };
        for (; pos < line.Length; pos++)
        {
            if (line[pos] == '!')
                pat.Match = !pat.Match;
            else if (!RegexpSupport.IsSpace(line[pos]))
                break;
        }
        if (pos >= line.Length)
        {
            Msg.Warn($"regexp map {mapName}, line {lineNo}: no regexp: skipping this rule");
            return false;
        }
        var delim = line[pos++];
        var start = pos;
        while (pos < line.Length)
        {
            if (line[pos] == '\\')
            {
                if (pos + 1 < line.Length)
                    pos++;
                else
                    break;
            }
            else if (line[pos] == delim)
            {
                break;
            }
            pos++;
        }
        if (pos >= line.Length || line[pos] != delim)
        {
            Msg.Warn($"regexp map {mapName}, line {lineNo}: no closing regexp delimiter \"{delim}\": skipping this rule");
            return false;
        }
        pat.Text = line[start..pos];
        pos++;
        pat.Options = PosixRegex.RegExtended | PosixRegex.RegIcase;
        for (; pos < line.Length && !RegexpSupport.IsSpace(line[pos]) && line[pos] != '!'; pos++)
        {
            switch (line[pos])
            {
                case 'i':
                    pat.Options ^= PosixRegex.RegIcase;
                    break;
                case 'm':
                    pat.Options ^= PosixRegex.RegNewline;
                    break;
                case 'x':
                    pat.Options ^= PosixRegex.RegExtended;
                    break;
                default:
                    Msg.Warn($"regexp map {mapName}, line {lineNo}: unknown regexp option \"{line[pos]}\": skipping this rule");
                    return false;
            }
        }
        return true;
    }

    private static PosixRegex? CompilePattern(string mapName, int lineNo, Pattern pat)
    {
        var re = PosixRegex.Compile(RegexpSupport.Encode(pat.Text), pat.Options, out var error);
        if (re == null)
            Msg.Warn($"regexp map {mapName}, line {lineNo}: {error}");
        return re;
    }

    // ParseLine - one rule, or null after a warning.
    private static Rule? ParseLine(string mapName, int lineNo, string line, int nesting, DictFlags dictFlags)
    {
        var pos = 0;
        if (!RegexpSupport.IsAlnum(line[0]))
        {
            if (!GetPattern(mapName, lineNo, line, ref pos, out var first))
                return null;
            var second = new Pattern();
            var hasSecond = false;
            if (pos < line.Length && line[pos] == '!')
            {
                if (!GetPattern(mapName, lineNo, line, ref pos, out second))
                    return null;
                hasSecond = true;
            }
            while (pos < line.Length && RegexpSupport.IsSpace(line[pos]))
                pos++;
            if (pos >= line.Length)
                Msg.Warn($"regexp map {mapName}, line {lineNo}: no replacement text: using empty string");
            var text = line[pos..];
            if ((dictFlags & DictFlags.SrcRhsIsFile) != 0)
            {
                var b64 = RegexpSupport.FileToBase64(text, out var err);
                if (b64 == null)
                {
                    Msg.Warn($"regexp map {mapName}, line {lineNo}: {err}: skipping this rule");
                    return null;
                }
                text = b64;
            }
            var result = RegexpSupport.Template.Compile(TypeName, mapName, lineNo, text);
            if (result == null)
                return null;
            if (result.MaxSub == 0)
                first.Options |= PosixRegex.RegNosub;
            if (result.MaxSub > 0 && !first.Match)
            {
                Msg.Warn($"regexp map {mapName}, line {lineNo}: $number found in negative match replacement text: skipping this rule");
                return null;
            }
            if (result.MaxSub > 0 && (dictFlags & DictFlags.NoRegsub) != 0)
            {
                Msg.Warn($"regexp map {mapName}, line {lineNo}: regular expression substitution is not allowed: skipping this rule");
                return null;
            }
            var firstExp = CompilePattern(mapName, lineNo, first);
            if (firstExp == null)
                return null;
            if (result.MaxSub > firstExp.SubCount)
            {
                Msg.Warn($"regexp map {mapName}, line {lineNo}: out of range replacement index \"{result.MaxSub}\": skipping this rule");
                firstExp.Dispose();
                return null;
            }
            PosixRegex? secondExp = null;
            if (hasSecond)
            {
                second.Options |= PosixRegex.RegNosub;
                secondExp = CompilePattern(mapName, lineNo, second);
                if (secondExp == null)
                {
                    firstExp.Dispose();
                    return null;
                }
            }
            return new Rule
            {
                Op = Op.Match,
                LineNo = lineNo,
                First = firstExp,
                FirstMatch = first.Match,
                Second = secondExp,
                SecondMatch = second.Match,
                Result = result,
            };
        }
        if (IsKeyword(line, "IF"))
        {
            pos = 2;
            while (pos < line.Length && RegexpSupport.IsSpace(line[pos]))
                pos++;
            if (!GetPattern(mapName, lineNo, line, ref pos, out var pattern))
                return null;
            while (pos < line.Length && RegexpSupport.IsSpace(line[pos]))
                pos++;
            if (pos < line.Length)
            {
                Msg.Warn($"regexp map {mapName}, line {lineNo}: ignoring extra text after IF statement: \"{line[pos..]}\"");
                Msg.Warn($"regexp map {mapName}, line {lineNo}: do not prepend whitespace to statements between IF and ENDIF");
            }
            var expr = CompilePattern(mapName, lineNo, pattern);
            if (expr == null)
                return null;
            return new Rule { Op = Op.If, LineNo = lineNo, First = expr, FirstMatch = pattern.Match };
        }
        if (IsKeyword(line, "ENDIF"))
        {
            if (nesting == 0)
            {
                Msg.Warn($"regexp map {mapName}, line {lineNo}: ignoring ENDIF without matching IF");
                return null;
            }
            pos = 5;
            while (pos < line.Length && RegexpSupport.IsSpace(line[pos]))
                pos++;
            if (pos < line.Length)
                Msg.Warn($"regexp map {mapName}, line {lineNo}: ignoring extra text after ENDIF");
            return new Rule { Op = Op.EndIf, LineNo = lineNo };
        }
        Msg.Warn($"regexp map {mapName}, line {lineNo}: ignoring unrecognized request");
        return null;
    }

    // IsKeyword - case-insensitive word at the start, not followed by a letter or digit.
    internal static bool IsKeyword(string line, string word) =>
        line.Length >= word.Length
        && line.AsSpan(0, word.Length).Equals(word, StringComparison.OrdinalIgnoreCase)
        && (line.Length == word.Length || !RegexpSupport.IsAlnum(line[word.Length]));

    protected override void Dispose(bool disposing)
    {
        foreach (var rule in rules)
        {
            rule.First?.Dispose();
            rule.Second?.Dispose();
        }
        base.Dispose(disposing);
    }
}
