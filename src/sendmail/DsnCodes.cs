// NAME
//	DsnCodes - the -N, -R, -V and -XV option values
// POSTFIX
//	src/global/dsn_mask.c, src/util/name_mask.c, src/util/name_code.c,
//	src/global/verp_sender.c (verp_delims_verify), src/util/allprint.c
// DESCRIPTION
//	NotifyMask() is dsn_notify_mask(): a list of NEVER, SUCCESS,
//	FAILURE, DELAY (any case); an unknown word is reported and makes
//	the whole value 0, as does NEVER combined with another word.
//	RetCode() is dsn_ret_code(): FULL 1, HDRS 2, else 0.
using System;
using Postfix.Util;

namespace Postfix.Commands.Sendmail;

internal static class DsnCodes
{
    public const int NotifyNever = 1;
    public const int NotifySuccess = 2;
    public const int NotifyFailure = 4;
    public const int NotifyDelay = 8;
    private const int NotifyAny = NotifySuccess | NotifyFailure | NotifyDelay;

    private static readonly char[] Delims = [',', ' ', '\t', '\r', '\n'];

    public static int NotifyMask(string names)
    {
        var mask = 0;
        foreach (var name in names.Split(Delims, StringSplitOptions.RemoveEmptyEntries))
        {
            var bit = name.ToUpperInvariant() switch
            {
                "NEVER" => NotifyNever,
                "SUCCESS" => NotifySuccess,
                "FAILURE" => NotifyFailure,
                "DELAY" => NotifyDelay,
                _ => 0,
            };
            if (bit == 0 || !IsAsciiWord(name))
            {
                Msg.Warn($"unknown DSN NOTIFY command value \"{name}\" in \"{names}\"");
                return 0;
            }
            if (Msg.Verbose > 0)
                Msg.Info($"name_mask: {name}");
            mask |= bit;
        }
        return mask == NotifyNever || (mask != 0 && mask == (mask & NotifyAny)) ? mask : 0;
    }

    // ToUpperInvariant folds non-ASCII letters that strcasecmp() leaves alone.
    private static bool IsAsciiWord(string s)
    {
        foreach (var c in s)
        {
            if (c >= 0x80)
                return false;
        }
        return true;
    }

    public static int RetCode(string name)
    {
        if (!IsAsciiWord(name))
            return 0;
        return name.ToUpperInvariant() switch
        {
            "FULL" => 1,
            "HDRS" => 2,
            _ => 0,
        };
    }

    // VerpDelimsOk - verp_delims_verify(): two characters from the filter.
    public static bool VerpDelimsOk(string delims, string filter) =>
        delims.Length == 2 && filter.Contains(delims[0], StringComparison.Ordinal)
        && filter.Contains(delims[1], StringComparison.Ordinal);

    // AllPrint - allprint(): non-empty, printable ASCII only.
    public static bool AllPrint(string s)
    {
        if (s.Length == 0 || s[0] == '\0')
            return false;
        foreach (var c in s)
        {
            if (c == '\0')
                break;
            if (c < 0x20 || c > 0x7e)
                return false;
        }
        return true;
    }
}
