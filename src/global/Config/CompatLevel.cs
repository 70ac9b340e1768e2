// NAME
//	CompatLevel - compatibility_level syntax and the <level operators
// POSTFIX
//	src/global/compat_level.c
// DESCRIPTION
//	A level "major[.minor[.patch]]" is packed into one comparable number
//	(10 bits each for minor and patch). Register() adds the relational
//	operators ==level, <level, ... that default values use, such as
//	${{$compatibility_level} <level {2} ? {subnet} : {host}}.
using System;
using System.Globalization;
using Postfix.Util;

namespace Postfix.Global.Config;

public static class CompatLevel
{
    private const int PatchWidth = 10;
    private const int MinorWidth = 10;
    private const int MinorShift = PatchWidth;
    private const int MajorShift = MinorShift + MinorWidth;
    private const long Bits = 0x3ff;

    private static bool registered;

    // FromString - packed level, or -1 after reporting through msgFn.
    public static long FromString(string str, Action<string> msgFn)
    {
        var pos = 0;
        if (TryNumber(str, ref pos, out var major) && major <= long.MaxValue >> MajorShift)
        {
            var res = major << MajorShift;
            if (pos == str.Length)
                return res;
            if (str[pos] == '.')
            {
                pos++;
                if (TryNumber(str, ref pos, out var minor) && minor <= Bits)
                {
                    res |= minor << MinorShift;
                    if (pos == str.Length)
                        return res;
                    if (str[pos] == '.')
                    {
                        pos++;
                        if (TryNumber(str, ref pos, out var patch) && pos == str.Length && patch <= Bits)
                            return res | patch;
                    }
                }
            }
        }
        msgFn($"malformed compatibility level syntax: \"{str}\"");
        return -1;
    }

    // TryNumber - strtol-like decimal with optional sign and leading space.
    private static bool TryNumber(string s, ref int pos, out long value)
    {
        value = 0;
        var i = pos;
        while (i < s.Length && LogicalLineReader.IsSpace(s[i]))
            i++;
        var neg = false;
        if (i < s.Length && (s[i] == '+' || s[i] == '-'))
        {
            neg = s[i] == '-';
            i++;
        }
        var start = i;
        while (i < s.Length && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == start)
            return false;
        if (!long.TryParse(s.AsSpan(start, i - start), NumberStyles.None, CultureInfo.InvariantCulture, out value))
            return false;
        if (neg)
            value = -value;
        pos = i;
        return value >= 0;
    }

    // ToString - "2", "3.6", "3.6.1".
    public static string ToString(long level)
    {
        var major = level >> MajorShift;
        if (major <= 2)
            return major.ToString(CultureInfo.InvariantCulture);
        var minor = (level >> MinorShift) & Bits;
        var patch = level & Bits;
        return patch != 0 ? $"{major}.{minor}.{patch}" : $"{major}.{minor}";
    }

    // Register - install the "level" operator suffix (once).
    public static void Register()
    {
        if (registered)
            return;
        registered = true;
        MacExpand.AddRelop(
            new[] { MacExpand.Op.Eq, MacExpand.Op.Ne, MacExpand.Op.Lt, MacExpand.Op.Le, MacExpand.Op.Ge, MacExpand.Op.Gt },
            "level",
            Evaluate);
    }

    private static MacExpand.OpResult Evaluate(string left, MacExpand.Op op, string right)
    {
        long l, r;
        if ((l = FromString(left, Msg.Warn)) < 0 || (r = FromString(right, Msg.Warn)) < 0)
            return MacExpand.OpResult.Error;
        var delta = l - r;
        var result = op switch
        {
            MacExpand.Op.Eq => delta == 0,
            MacExpand.Op.Ne => delta != 0,
            MacExpand.Op.Lt => delta < 0,
            MacExpand.Op.Le => delta <= 0,
            MacExpand.Op.Ge => delta >= 0,
            MacExpand.Op.Gt => delta > 0,
            _ => false,
        };
        return result ? MacExpand.OpResult.True : MacExpand.OpResult.False;
    }
}
