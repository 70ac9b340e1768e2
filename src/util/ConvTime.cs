// NAME
//	ConvTime - a time value with an optional unit letter, in seconds
// POSTFIX
//	src/global/conv_time.c
// DESCRIPTION
//	TryParse() reads the number the way strtol() does (leading white
//	space, a sign, decimal digits), then takes the next character as
//	the unit (w, d, h, m, s), or defUnit when the number ends the text.
//	Anything after the unit letter is ignored, as the reference does.
//	A negative value, an unknown unit or a result beyond int range
//	fails.
namespace Postfix.Util;

public static class ConvTime
{
    public static bool TryParse(string text, char defUnit, out int seconds)
    {
        seconds = 0;
        if (text.Length == 0 || !ParseLong(text, out var value, out var end) || value is < 0 or > int.MaxValue)
            return false;
        var count = (int)value;
        var unit = end < text.Length ? text[end] : defUnit;
        var scale = unit switch
        {
            'w' => 7 * 24 * 3600,
            'd' => 24 * 3600,
            'h' => 3600,
            'm' => 60,
            's' => 1,
            _ => 0,
        };
        if (scale == 0 || (scale > 1 && count >= int.MaxValue / scale))
            return false;
        seconds = count * scale;
        return true;
    }

    // ParseLong - strtol(): end is where the conversion stopped (0 when
    // there are no digits); false on overflow.
    private static bool ParseLong(string s, out long value, out int end)
    {
        value = 0;
        end = 0;
        var i = 0;
        while (i < s.Length && s[i] is ' ' or '\t' or '\n' or '\r' or '\v' or '\f')
            i++;
        var negative = false;
        if (i < s.Length && s[i] is '+' or '-')
            negative = s[i++] == '-';
        var first = i;
        ulong acc = 0;
        var overflow = false;
        while (i < s.Length && s[i] is >= '0' and <= '9')
        {
            if (acc > (ulong.MaxValue - 9) / 10)
                overflow = true;
            else
                acc = acc * 10 + (ulong)(s[i] - '0');
            i++;
        }
        if (i == first)
            return true;
        end = i;
        if (overflow || acc > (negative ? (ulong)long.MaxValue + 1 : long.MaxValue))
            return false;
        value = negative ? (long)(0 - acc) : (long)acc;
        return true;
    }
}
