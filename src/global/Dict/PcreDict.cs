// NAME
//	PcreDict - the pcre: table (Perl-compatible regular expressions)
// POSTFIX
//	src/util/dict_pcre.c
// DESCRIPTION
//	Rules "/pattern/flags result", "if /pattern/flags", "endif", with
//	"!" negation. Flags toggle from the default CASELESS|DOTALL:
//	i, m (MULTILINE), s, x (EXTENDED), A (ANCHORED), E (DOLLAR_ENDONLY),
//	U (UNGREEDY); X is obsolete with PCRE2 and only warns. The first
//	matching rule wins; $1..$n take captured substrings. Patterns are
//	compiled once at open time, each with its own match data.
using System;
using System.Collections.Generic;
using Postfix.Util;

namespace Postfix.Global.Dict;

public sealed unsafe class PcreDict : Dict
{
    private readonly object gate = new();

    public const string TypeName = "pcre";

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
        public nint Code;
        public nint MatchData;
        public bool Match = true;
        public RegexpSupport.Template? Result;
        public int EndIf = -1;
    }

    // Hot - what the rule walk reads, packed in one array: walking
    // thousands of rules per lookup is bound by memory, not by matching.
    private struct Hot
    {
        public nint Code;
        public nint MatchData;
        public int EndIf;
        public Op Op;
        public bool Match;
    }

    private readonly Rule[] rules;
    private readonly Hot[] hot;
    private readonly int[] offsets;
    private byte[] keyBuf = new byte[256];

    private PcreDict(string name, DictOpenFlags openFlags, DictFlags dictFlags, Rule[] rules, int maxSub, long owner)
        : base(TypeName, name, openFlags, dictFlags | DictFlags.Pattern)
    {
        this.rules = rules;
        hot = new Hot[rules.Length];
        for (var i = 0; i < rules.Length; i++)
            hot[i] = new Hot { Code = rules[i].Code, MatchData = rules[i].MatchData, EndIf = rules[i].EndIf, Op = rules[i].Op, Match = rules[i].Match };
        offsets = new int[2 * (maxSub + 1)];
        OwnerUid = owner;
    }

    // Open - dict_pcre_open().
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
            var rule = ParseRule(name, lineNo, line, stack.Count, dictFlags);
            if (rule == null)
                continue;
            if (rule.Op == Op.Match)
            {
                maxSub = Math.Max(maxSub, rule.Result!.MaxSub);   // match rules always carry a result
            }
            else if (rule.Op == Op.If)
            {
                stack.Add(list.Count);
            }
            else
            {
                list[stack[^1]].EndIf = list.Count;
                stack.RemoveAt(stack.Count - 1);
            }
            list.Add(rule);
        }
        for (var i = stack.Count - 1; i >= 0; i--)
            Msg.Warn($"pcre map {name}, line {list[stack[i]].LineNo}: IF has no matching ENDIF");
        return new PcreDict(name, openFlags, dictFlags, list.ToArray(), maxSub, owner);
    }

    // Lookup - one lookup at a time per table: the match buffers (and
    // connections) belong to the table, as in a Postfix process.
    public override string? Lookup(string key)
    {
        lock (gate)
            return LookupLocked(key);
    }

    // LookupLocked - dict_pcre_lookup(): first matching rule wins.
    private string? LookupLocked(string key)
    {
        Error = DictError.None;
        if (Msg.Verbose > 0)
            Msg.Info($"dict_pcre_lookup: {Name}: {key}");
        if ((Flags & DictFlags.FoldMul) != 0)
            key = RegexpSupport.FoldAscii(key);
        var len = RegexpSupport.Encode(key, ref keyBuf, true);
        // pcre2_match() gets strlen(): the subject ends at the first NUL.
        var nul = Array.IndexOf(keyBuf, (byte)0, 0, len);
        if (nul >= 0)
            len = nul;
        fixed (byte* subject = keyBuf)
        fixed (Hot* h = hot)
        {
            for (var i = 0; i < hot.Length; i++)
            {
                switch (h[i].Op)
                {
                    case Op.Match:
                        {
                            if (!Exec(ref h[i], i, subject, len))
                                continue;
                            var result = rules[i].Result!;   // match rules always carry a result
                            if (result.MaxSub == 0)
                                return result.Literal;
                            var ov = PcreNative.GetOvectorPointer(h[i].MatchData);
                            for (var n = 0; n <= result.MaxSub; n++)
                            {
                                var so = ov[2 * n];
                                var eo = ov[2 * n + 1];
                                if (so == PcreNative.Unset || eo == PcreNative.Unset)
                                {
                                    offsets[2 * n] = -1;
                                    offsets[2 * n + 1] = -1;
                                }
                                else
                                {
                                    offsets[2 * n] = (int)so;
                                    offsets[2 * n + 1] = (int)eo;
                                }
                            }
                            return result.Expand(new ReadOnlySpan<byte>(subject, len), offsets);
                        }
                    case Op.If:
                        if (Exec(ref h[i], i, subject, len))
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

    // Exec - pcre2_match() with positive/negative sense; errors warn and do not match.
    private bool Exec(ref Hot rule, int index, byte* subject, int len)
    {
        var rc = PcreNative.Match(rule.Code, subject, (nuint)len, 0, 0, rule.MatchData, 0);
        if (rc > 0)
            return rule.Match;
        if (rc == PcreNative.ErrorNomatch)
            return !rule.Match;
        Msg.Warn($"pcre map {Name}, line {rules[index].LineNo}: {PcreNative.ErrorText(rc)}");
        return false;
    }

    // GetPattern - one "[!]/pattern/flags"; advances pos.
    private static bool GetPattern(string mapName, int lineNo, string line, ref int pos, out string text, out uint options, out bool match)
    {
        text = "";
        options = 0;
        match = true;
        for (; pos < line.Length; pos++)
        {
            if (line[pos] == '!')
                match = !match;
            else if (!RegexpSupport.IsSpace(line[pos]))
                break;
        }
        if (pos >= line.Length)
        {
            Msg.Warn($"pcre map {mapName}, line {lineNo}: no regexp: skipping this rule");
            return false;
        }
        var delim = line[pos++];
        var start = pos;
        while (pos < line.Length)
        {
            if (line[pos] == '\\')
            {
                if (++pos >= line.Length)
                    break;
            }
            else if (line[pos] == delim)
            {
                break;
            }
            pos++;
        }
        if (pos >= line.Length)
        {
            Msg.Warn($"pcre map {mapName}, line {lineNo}: no closing regexp delimiter \"{delim}\": ignoring this rule");
            return false;
        }
        text = line[start..pos];
        pos++;
        options = PcreNative.Caseless | PcreNative.Dotall;
        for (; pos < line.Length && !RegexpSupport.IsSpace(line[pos]); pos++)
        {
            switch (line[pos])
            {
                case 'i':
                    options ^= PcreNative.Caseless;
                    break;
                case 'm':
                    options ^= PcreNative.Multiline;
                    break;
                case 's':
                    options ^= PcreNative.Dotall;
                    break;
                case 'x':
                    options ^= PcreNative.Extended;
                    break;
                case 'A':
                    options ^= PcreNative.Anchored;
                    break;
                case 'E':
                    options ^= PcreNative.DollarEndonly;
                    break;
                case 'U':
                    options ^= PcreNative.Ungreedy;
                    break;
                case 'X':
                    Msg.Warn($"pcre map {mapName}, line {lineNo}: ignoring obsolete regexp option \"{line[pos]}\"");
                    break;
                default:
                    Msg.Warn($"pcre map {mapName}, line {lineNo}: unknown regexp option \"{line[pos]}\": skipping this rule");
                    return false;
            }
        }
        return true;
    }

    // Compile - pcre2_compile() plus match data; false after a warning.
    private static bool Compile(string mapName, int lineNo, string text, uint options, out nint code, out nint matchData)
    {
        var bytes = RegexpSupport.Encode(text);
        int error;
        nuint errorOffset;
        // The reference passes PCRE2_ZERO_TERMINATED: the pattern ends at a NUL.
        var nul = Array.IndexOf(bytes, (byte)0);
        var length = nul >= 0 ? nul : bytes.Length;
        fixed (byte* p = bytes)
            code = PcreNative.Compile(p == null ? (byte*)&error : p, (nuint)length, options, out error, out errorOffset, 0);
        if (code == 0)
        {
            matchData = 0;
            Msg.Warn($"pcre map {mapName}, line {lineNo}: error in regex at offset {errorOffset}: {PcreNative.ErrorText(error)}");
            return false;
        }
        matchData = PcreNative.MatchDataCreateFromPattern(code, 0);
        return true;
    }

    // ParseRule - one rule, or null after a warning.
    private static Rule? ParseRule(string mapName, int lineNo, string line, int nesting, DictFlags dictFlags)
    {
        var pos = 0;
        if (!RegexpSupport.IsAlnum(line[0]))
        {
            if (!GetPattern(mapName, lineNo, line, ref pos, out var text, out var options, out var match))
                return null;
            while (pos < line.Length && RegexpSupport.IsSpace(line[pos]))
                pos++;
            if (pos >= line.Length)
                Msg.Warn($"pcre map {mapName}, line {lineNo}: no replacement text: using empty string");
            var rhs = line[pos..];
            if ((dictFlags & DictFlags.SrcRhsIsFile) != 0)
            {
                var b64 = RegexpSupport.FileToBase64(rhs, out var err);
                if (b64 == null)
                {
                    Msg.Warn($"pcre map {mapName}, line {lineNo}: {err}: skipping this rule");
                    return null;
                }
                rhs = b64;
            }
            var result = RegexpSupport.Template.Compile(TypeName, mapName, lineNo, rhs);
            if (result == null)
                return null;
            if (result.MaxSub > 0 && !match)
            {
                Msg.Warn($"pcre map {mapName}, line {lineNo}: $number found in negative match replacement text: skipping this rule");
                return null;
            }
            if (result.MaxSub > 0 && (dictFlags & DictFlags.NoRegsub) != 0)
            {
                Msg.Warn($"pcre map {mapName}, line {lineNo}: regular expression substitution is not allowed: skipping this rule");
                return null;
            }
            if (!Compile(mapName, lineNo, text, options, out var code, out var matchData))
                return null;
            uint actualSub = 0;
            PcreNative.PatternInfo(code, PcreNative.InfoCaptureCount, &actualSub);
            if (result.MaxSub > actualSub)
            {
                Msg.Warn($"pcre map {mapName}, line {lineNo}: out of range replacement index \"{result.MaxSub}\": skipping this rule");
                PcreNative.MatchDataFree(matchData);
                PcreNative.CodeFree(code);
                return null;
            }
            return new Rule { Op = Op.Match, LineNo = lineNo, Code = code, MatchData = matchData, Match = match, Result = result };
        }
        if (RegexpDict.IsKeyword(line, "IF"))
        {
            pos = 2;
            while (pos < line.Length && RegexpSupport.IsSpace(line[pos]))
                pos++;
            if (!GetPattern(mapName, lineNo, line, ref pos, out var text, out var options, out var match))
                return null;
            while (pos < line.Length && RegexpSupport.IsSpace(line[pos]))
                pos++;
            if (pos < line.Length)
            {
                Msg.Warn($"pcre map {mapName}, line {lineNo}: ignoring extra text after IF statement: \"{line[pos..]}\"");
                Msg.Warn($"pcre map {mapName}, line {lineNo}: do not prepend whitespace to statements between IF and ENDIF");
            }
            if (!Compile(mapName, lineNo, text, options, out var code, out var matchData))
                return null;
            return new Rule { Op = Op.If, LineNo = lineNo, Code = code, MatchData = matchData, Match = match };
        }
        if (RegexpDict.IsKeyword(line, "ENDIF"))
        {
            if (nesting == 0)
            {
                Msg.Warn($"pcre map {mapName}, line {lineNo}: ignoring ENDIF without matching IF");
                return null;
            }
            pos = 5;
            while (pos < line.Length && RegexpSupport.IsSpace(line[pos]))
                pos++;
            if (pos < line.Length)
                Msg.Warn($"pcre map {mapName}, line {lineNo}: ignoring extra text after ENDIF");
            return new Rule { Op = Op.EndIf, LineNo = lineNo };
        }
        Msg.Warn($"pcre map {mapName}, line {lineNo}: ignoring unrecognized request");
        return null;
    }

    protected override void Dispose(bool disposing)
    {
        foreach (var rule in rules)
        {
            if (rule.MatchData != 0)
                PcreNative.MatchDataFree(rule.MatchData);
            if (rule.Code != 0)
                PcreNative.CodeFree(rule.Code);
            rule.MatchData = rule.Code = 0;
        }
        base.Dispose(disposing);
    }
}
