// NAME
//	MidnaDomain - ASCII domain names to their UTF-8 form
// POSTFIX
//	src/util/midna_domain.c (midna_domain_to_utf8)
// DESCRIPTION
//	UTS #46 ToUnicode for the ASCII names that bounce templates show:
//	letters are folded to lower case and "xn--" labels are decoded from
//	Punycode (RFC 3492). Errors are named as ICU names them, in the
//	warning that Postfix logs once per name (it caches the result).
//	Only what ASCII input needs is here; it belongs in Postfix.Util
//	once another module needs it.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using Postfix.Util;

namespace Postfix.Global.Bounce;

internal static class MidnaDomain
{
    private static readonly Dictionary<string, string?> Cache = new(StringComparer.Ordinal);

    // ToUtf8 - the UTF-8 form of an ASCII domain name, or null after a warning.
    public static string? ToUtf8(string name)
    {
        if (Cache.TryGetValue(name, out var cached))
            return cached;
        var result = Convert(name, out var error);
        if (result == null)
            Msg.Warn($"midna_domain_to_utf8_create: Problem translating domain \"{Clip(name)}\" to UTF8 form: {error}");
        Cache[name] = result;
        return result;
    }

    private static string? Convert(string name, out string error)
    {
        error = "";
        var labels = name.ToLowerInvariant().Split('.');
        var output = new StringBuilder();
        for (var i = 0; i < labels.Length; i++)
        {
            var label = labels[i];
            if (i > 0)
                output.Append('.');
            if (label.Length == 0)
            {
                // A trailing dot is the root, not an empty label.
                if (i == labels.Length - 1 && i > 0)
                    continue;
                error = "UIDNA_ERROR_EMPTY_LABEL";
                return null;
            }
            if (label.StartsWith("xn--", StringComparison.Ordinal))
            {
                var decoded = Punycode.Decode(label[4..]);
                if (decoded == null)
                {
                    error = "UIDNA_ERROR_PUNYCODE";
                    return null;
                }
                if (!ValidDecodedLabel(decoded))
                {
                    error = "UIDNA_ERROR_INVALID_ACE_LABEL";
                    return null;
                }
                label = decoded;
            }
            else if (label.Length >= 4 && label[2] == '-' && label[3] == '-')
            {
                error = "UIDNA_ERROR_HYPHEN_3_4";
                return null;
            }
            if (label[0] == '-')
            {
                error = "UIDNA_ERROR_LEADING_HYPHEN";
                return null;
            }
            if (label[^1] == '-')
            {
                error = "UIDNA_ERROR_TRAILING_HYPHEN";
                return null;
            }
            output.Append(label);
        }
        return output.ToString();
    }

    // ValidDecodedLabel - an A-label must decode to non-ASCII text that is
    // already in mapped (lower case) form, without disallowed characters.
    private static bool ValidDecodedLabel(string label)
    {
        var ascii = true;
        for (var i = 0; i < label.Length; i++)
        {
            var c = label[i];
            ascii &= c < 0x80;
            if (char.IsHighSurrogate(c) && i + 1 < label.Length)
            {
                var cat = CharUnicodeInfo.GetUnicodeCategory(label, i);
                i++;
                if (cat is UnicodeCategory.OtherNotAssigned or UnicodeCategory.PrivateUse or UnicodeCategory.Format)
                    return false;
                continue;
            }
            switch (char.GetUnicodeCategory(c))
            {
                case UnicodeCategory.Control:
                case UnicodeCategory.OtherNotAssigned:
                case UnicodeCategory.PrivateUse:
                case UnicodeCategory.Surrogate:
                case UnicodeCategory.SpaceSeparator:
                case UnicodeCategory.LineSeparator:
                case UnicodeCategory.ParagraphSeparator:
                    return false;
                case UnicodeCategory.Format:
                    if (c is not ('\u200c' or '\u200d'))
                        return false;
                    break;
                case UnicodeCategory.UppercaseLetter:
                case UnicodeCategory.TitlecaseLetter:
                    return false;
            }
            if (c is '.' or '\u3002' or '\uff0e' or '\uff61')
                return false;
        }
        return !ascii && label.Length > 0;
    }

    private static string Clip(string s) => s.Length > 100 ? s[..100] : s;

    // Punycode - RFC 3492 decoding.
    private static class Punycode
    {
        private const int Base = 36, TMin = 1, TMax = 26, Skew = 38, Damp = 700, InitialBias = 72, InitialN = 128;

        public static string? Decode(string input)
        {
            var output = new List<int>();
            var b = input.LastIndexOf('-');
            if (b > 0)
            {
                for (var j = 0; j < b; j++)
                {
                    if (input[j] >= 0x80)
                        return null;
                    output.Add(input[j]);
                }
            }
            else
            {
                b = -1;
            }
            long n = InitialN, bias = InitialBias, i = 0;
            for (var p = b + 1; p < input.Length;)
            {
                var oldi = i;
                long w = 1;
                for (long k = Base; ; k += Base)
                {
                    if (p >= input.Length)
                        return null;
                    var digit = Digit(input[p++]);
                    if (digit < 0)
                        return null;
                    i += digit * w;
                    if (i > int.MaxValue)
                        return null;
                    var t = k <= bias ? TMin : k >= bias + TMax ? TMax : k - bias;
                    if (digit < t)
                        break;
                    w *= Base - t;
                    if (w > int.MaxValue)
                        return null;
                }
                var count = output.Count + 1;
                bias = Adapt(i - oldi, count, oldi == 0);
                n += i / count;
                i %= count;
                if (n > 0x10FFFF || n is >= 0xD800 and <= 0xDFFF)
                    return null;
                output.Insert((int)i, (int)n);
                i++;
            }
            var sb = new StringBuilder();
            foreach (var cp in output)
                sb.Append(char.ConvertFromUtf32(cp));
            return sb.ToString();
        }

        private static int Digit(char c) => c switch
        {
            >= '0' and <= '9' => c - '0' + 26,
            >= 'a' and <= 'z' => c - 'a',
            >= 'A' and <= 'Z' => c - 'A',
            _ => -1,
        };

        private static long Adapt(long delta, int numPoints, bool firstTime)
        {
            delta = firstTime ? delta / Damp : delta / 2;
            delta += delta / numPoints;
            long k = 0;
            while (delta > ((Base - TMin) * TMax) / 2)
            {
                delta /= Base - TMin;
                k += Base;
            }
            return k + (Base - TMin + 1) * delta / (delta + Skew);
        }
    }
}
