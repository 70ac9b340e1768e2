// NAME
//	MacExpand - $name, ${name?text}, ${name:text} and {a} op {b} expansion
// POSTFIX
//	src/util/mac_parse.c, src/util/mac_expand.c
// DESCRIPTION
//	Parse splits a value into literal text and $name / ${...} / $(...)
//	references; Expand replaces references through a lookup function.
//	Conditional forms: ${name?text}, ${name:text}, ${name?{t}:{f}} and
//	relational forms ${{left} op {right}?{t}:{f}} (== != < <= >= >, and
//	suffixed operators registered with AddRelop, such as <level). The
//	warnings on bad syntax are Postfix's, word for word.
using System;
using System.Collections.Generic;
using System.Text;

namespace Postfix.Util;

public static class MacExpand
{
    public const int ParseError = 1 << 0;
    public const int ParseUndef = 1 << 1;

    public const int FlagNone = 0;
    public const int FlagRecurse = 1 << 0;
    public const int FlagAppend = 1 << 1;
    public const int FlagScan = 1 << 2;
    public const int FlagPrintable = 1 << 3;

    public const int ModeTest = 0;
    public const int ModeUse = 1;

    public enum Op
    {
        None = 0,
        Eq,
        Ne,
        Lt,
        Le,
        Ge,
        Gt,
    }

    public enum OpResult
    {
        False,
        True,
        Error,
    }

    // Lookup - (name, mode) -> value, or null when undefined.
    public delegate string? Lookup(string name, int mode);

    // Relop - evaluate "left op right" for a registered operator suffix.
    public delegate OpResult Relop(string left, Op op, string right);

    private static readonly (string Text, Op Op)[] OpTable =
    {
        ("==", Op.Eq), ("!=", Op.Ne), ("<", Op.Lt), ("<=", Op.Le), (">=", Op.Ge), (">", Op.Gt),
    };

    private const string OpAny = "\"==\" or \"!=\"\" or \"<\"\" or \"<=\"\" or \">=\"\" or \">\"";

    private static Dictionary<string, Relop>? extensions;

    // AddRelop - register operators such as "<level" (compat_level_relop_register).
    public static void AddRelop(Op[] ops, string suffix, Relop eval)
    {
        extensions ??= new Dictionary<string, Relop>(StringComparer.Ordinal);
        foreach (var op in ops)
        {
            var name = Array.Find(OpTable, e => e.Op == op).Text + suffix;
            extensions.TryAdd(name, eval);
        }
    }

    // Parse - split value into literal and expression parts (mac_parse).
    public static int Parse(string value, Func<bool, string, int> action)
    {
        var buf = new StringBuilder();
        var status = 0;
        var vp = 0;
        while (vp < value.Length)
        {
            if (value[vp] != '$')
            {
                buf.Append(value[vp]);
                vp += 1;
            }
            else if (vp + 1 < value.Length && value[vp + 1] == '$')
            {
                buf.Append('$');
                vp += 2;
            }
            else
            {
                if (buf.Length > 0)
                {
                    status |= action(false, buf.ToString());
                    buf.Clear();
                }
                vp += 1;
                if (vp < value.Length && (value[vp] == '(' || value[vp] == '{'))
                {
                    var open = value[vp];
                    var close = open == '(' ? ')' : '}';
                    var level = 1;
                    vp += 1;
                    var ep = vp;
                    for (; level > 0; ep++)
                    {
                        if (ep >= value.Length)
                        {
                            Msg.Warn($"truncated macro reference: \"{value}\"");
                            status |= ParseError;
                            break;
                        }
                        if (value[ep] == open)
                            level++;
                        if (value[ep] == close)
                            level--;
                    }
                    if ((status & ParseError) != 0)
                        break;
                    buf.Append(value, vp, level > 0 ? ep - vp : ep - vp - 1);
                    vp = ep;
                }
                else
                {
                    var ep = vp;
                    while (ep < value.Length && (IsAlnum(value[ep]) || value[ep] == '_'))
                        ep++;
                    buf.Append(value, vp, ep - vp);
                    vp = ep;
                }
                if (buf.Length == 0)
                {
                    status |= ParseError;
                    Msg.Warn($"empty macro name: \"{value}\"");
                    break;
                }
                status |= action(true, buf.ToString());
                buf.Clear();
            }
        }
        if (buf.Length > 0 && (status & ParseError) == 0)
            status |= action(false, buf.ToString());
        return status;
    }

    // Expand - expand pattern into result; returns ParseError/ParseUndef bits.
    public static int Expand(StringBuilder result, string pattern, int flags, string? filter, Lookup lookup)
    {
        var mc = new Context(result, flags, filter, lookup);
        if ((flags & (FlagAppend | FlagScan)) == 0)
            result.Clear();
        return Parse(pattern, mc.Callback);
    }

    // Expand - convenience form returning the expanded text.
    public static string Expand(string pattern, int flags, Lookup lookup, out int status)
    {
        var sb = new StringBuilder();
        status = Expand(sb, pattern, flags, null, lookup);
        return sb.ToString();
    }

    private sealed class Context
    {
        private readonly StringBuilder result;
        private readonly int flags;
        private readonly string? filter;
        private readonly Lookup lookup;
        private int status;
        private int level;

        public Context(StringBuilder result, int flags, string? filter, Lookup lookup)
        {
            this.result = result;
            this.flags = flags;
            this.filter = filter;
            this.lookup = lookup;
        }

        private int Error(string text)
        {
            Msg.Warn(text);
            return status |= ParseError;
        }

        // FindLeftCurly - skip whitespace; true (and advance) when '{' follows.
        private static bool FindLeftCurly(string s, ref int cp)
        {
            var i = cp;
            while (i < s.Length && IsSpace(s[i]))
                i++;
            if (i < s.Length && s[i] == '{')
            {
                cp = i;
                return true;
            }
            return false;
        }

        // ExtractCurlyPayload - balance {} from s[cp]=='{'; skip trailing space.
        private string? ExtractCurlyPayload(string s, ref int cp)
        {
            var level = 1;
            var start = cp + 1;
            var i = start;
            for (;; i++)
            {
                if (i >= s.Length)
                {
                    Error($"unbalanced {{}} in attribute expression: \"{s[cp..]}\"");
                    return null;
                }
                if (s[i] == '{')
                    level++;
                else if (s[i] == '}' && --level <= 0)
                    break;
            }
            var payload = s[start..i];
            i++;
            while (i < s.Length && IsSpace(s[i]))
                i++;
            cp = i;
            return payload;
        }

        private static string Clip(string s, int from, int n = 20)
        {
            if (from >= s.Length)
                return "";
            return s.Length - from > n ? s.Substring(from, n) : s[from..];
        }

        // ParseRelational - {left} op {right}; sets the fake lookup result.
        private int ParseRelational(string s, ref int cp, out string? lookupResult)
        {
            lookupResult = null;
            var left = ExtractCurlyPayload(s, ref cp);
            if (left == null)
                return status;
            var opPos = cp;
            var opLen = 0;
            while (cp + opLen < s.Length && "<>!=?+-*/~&|%".IndexOf(s[cp + opLen]) >= 0)
                opLen++;
            var opText = s.Substring(cp, opLen);
            var op = Op.None;
            foreach (var e in OpTable)
                if (e.Text == opText)
                    op = e.Op;
            if (op == Op.None)
                return Error($"{OpAny} expected at: \"...{left}}}>>>{Clip(s, cp)}\"");
            cp += opLen;
            Relop eval = Compare;
            if (extensions != null && cp < s.Length && IsAlnum(s[cp]))
            {
                var typePos = cp;
                var typeLen = 1;
                while (cp + typeLen < s.Length && IsAlnum(s[cp + typeLen]))
                    typeLen++;
                cp += typeLen;
                var key = s.Substring(opPos, opLen + typeLen);
                if (!extensions.TryGetValue(key, out var ext))
                    return Error($"bad operator suffix at: \"...{s.Substring(opPos, opLen)}>>>{s.Substring(typePos, typeLen)}\"");
                eval = ext;
            }
            if (!FindLeftCurly(s, ref cp))
                return Error($"\"{{expression}}\" expected at: \"...{{{left}}} {s.Substring(opPos, opLen)}>>>{Clip(s, cp)}\"");
            var right = ExtractCurlyPayload(s, ref cp);
            if (right == null)
                return status;
            var lbuf = new StringBuilder();
            var rbuf = new StringBuilder();
            status |= Expand(lbuf, left, flags, filter, lookup);
            status |= Expand(rbuf, right, flags, filter, lookup);
            var res = OpResult.False;
            if ((flags & FlagScan) == 0 && (res = eval(lbuf.ToString(), op, rbuf.ToString())) == OpResult.Error)
                status |= ParseError;
            if ((status & ParseError) != 0)
                return status;
            lookupResult = (flags & FlagScan) != 0 ? null : res == OpResult.True ? "true" : "";
            return 0;
        }

        public int Callback(bool isExpr, string text)
        {
            if (level++ > 100)
                Error($"unreasonable macro call nesting: \"{text}\"");
            if ((status & ParseError) != 0)
                return status;
            if (isExpr)
            {
                var s = text;
                var cp = 0;
                string? found;
                char ch;
                if (FindLeftCurly(s, ref cp))
                {
                    if (ParseRelational(s, ref cp, out found) != 0)
                        return status;
                    ch = cp < s.Length ? s[cp] : '\0';
                    if (ch != '\0')
                    {
                        if (ch != '?' && ch != ':')
                            return Error($"\"?\" or \":\" expected at: \"...}}>>>{Clip(s, cp)}\"");
                        cp++;
                    }
                }
                else
                {
                    while (cp < s.Length && IsSpace(s[cp]))
                        cp++;
                    var start = cp;
                    int mode;
                    string name;
                    for (;; cp++)
                    {
                        var t = cp;
                        while (t < s.Length && IsSpace(s[t]))
                            t++;
                        ch = t < s.Length ? s[t] : '\0';
                        if (ch == '\0')
                        {
                            name = s[start..cp];
                            cp = s.Length;
                            mode = ModeUse;
                            break;
                        }
                        if (ch == '?' || ch == ':')
                        {
                            name = s[start..cp];
                            cp = t + 1;
                            mode = ModeTest;
                            break;
                        }
                        ch = s[cp];
                        if (!IsAlnum(ch) && ch != '_')
                            return Error($"attribute name syntax error at: \"...{s[..cp]}>>>{Clip(s, cp)}\"");
                    }
                    found = lookup(name, mode);
                }
                switch (ch)
                {
                    case '?':
                    case ':':
                        if (ch == '?')
                        {
                            string ifTrue;
                            if (FindLeftCurly(s, ref cp))
                            {
                                var p = ExtractCurlyPayload(s, ref cp);
                                if (p == null)
                                    return status;
                                ifTrue = p;
                            }
                            else
                            {
                                ifTrue = s[cp..];
                                cp = s.Length;
                            }
                            if ((found != null && found.Length != 0) || (flags & FlagScan) != 0)
                                status |= Parse(ifTrue, Callback);
                            if (cp >= s.Length)
                                break;
                            if (s[cp] != ':')
                                return Error($"\":\" expected at: \"...{ifTrue}}}>>>{Clip(s, cp)}\"");
                            cp += 1;
                        }
                        string ifFalse;
                        if (FindLeftCurly(s, ref cp))
                        {
                            var p = ExtractCurlyPayload(s, ref cp);
                            if (p == null)
                                return status;
                            ifFalse = p;
                        }
                        else
                        {
                            ifFalse = s[cp..];
                            cp = s.Length;
                        }
                        if (found == null || found.Length == 0 || (flags & FlagScan) != 0)
                            status |= Parse(ifFalse, Callback);
                        if (cp < s.Length)
                            return Error($"unexpected input at: \"...{ifFalse}}}>>>{Clip(s, cp)}\"");
                        break;
                    default:
                        if (found == null)
                        {
                            status |= ParseUndef;
                        }
                        else if (found.Length == 0 || (flags & FlagScan) != 0)
                        {
                            // Nothing to add.
                        }
                        else if ((flags & FlagRecurse) != 0)
                        {
                            status |= Parse(found, Callback);
                        }
                        else
                        {
                            var resLen = result.Length;
                            result.Append(found);
                            if ((flags & FlagPrintable) != 0)
                                Printable(result, resLen);
                            else if (filter != null)
                                Filter(result, resLen, filter);
                        }
                        break;
                }
            }
            else if ((flags & FlagScan) == 0)
            {
                result.Append(text);
            }
            level--;
            return status;
        }
    }

    // Compare - numeric when both sides are all digits, else strcmp.
    private static OpResult Compare(string left, Op op, string right)
    {
        long delta;
        if (AllDigits(left) && AllDigits(right))
        {
            delta = ToLong(left) - ToLong(right);
        }
        else
        {
            delta = string.CompareOrdinal(left, right);
        }
        return op switch
        {
            Op.Eq => delta == 0 ? OpResult.True : OpResult.False,
            Op.Ne => delta != 0 ? OpResult.True : OpResult.False,
            Op.Lt => delta < 0 ? OpResult.True : OpResult.False,
            Op.Le => delta <= 0 ? OpResult.True : OpResult.False,
            Op.Ge => delta >= 0 ? OpResult.True : OpResult.False,
            Op.Gt => delta > 0 ? OpResult.True : OpResult.False,
            _ => throw new InvalidOperationException("bad operator"),
        };
    }

    private static long ToLong(string s)
    {
        if (!long.TryParse(s, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var v))
            Msg.Fatal($"mac_exp_eval: bad conversion: {s}");
        return v;
    }

    private static bool AllDigits(string s)
    {
        if (s.Length == 0)
            return false;
        foreach (var c in s)
            if (c < '0' || c > '9')
                return false;
        return true;
    }

    private static void Printable(StringBuilder sb, int from)
    {
        for (var i = from; i < sb.Length; i++)
            if (sb[i] < 0x20 || sb[i] == 0x7f)
                sb[i] = '_';
    }

    private static void Filter(StringBuilder sb, int from, string allowed)
    {
        for (var i = from; i < sb.Length; i++)
            if (allowed.IndexOf(sb[i]) < 0)
                sb[i] = '_';
    }

    public static bool IsAlnum(char c) => c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9');

    private static bool IsSpace(char c) => c is ' ' or '\t' or '\n' or '\r' or '\f' or '\v';
}
