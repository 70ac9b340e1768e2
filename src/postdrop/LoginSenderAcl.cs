// NAME
//	LoginSenderAcl - may this login name use this envelope sender
// POSTFIX
//	src/postdrop/postdrop.c (check_login_sender_acl),
//	src/global/login_sender_match.c
// DESCRIPTION
//	Check() returns a cleanup status: OK, BAD for a sender with a NUL
//	byte, NOPERM when local_login_sender_maps gives the user no
//	pattern that fits, WRITE on a table error. With the default
//	"static:*" everyone may use any sender. Patterns (from the first
//	table that knows the login name, or "uid:N"): "@domain", the
//	wildcard "*", the null sender key ("<>" by default), or an address
//	compared without its extension, case-insensitively.
using System;
using Postfix.Global.Config;
using Postfix.Global.Dict;
using Postfix.Util;

namespace Postfix.Commands.Postdrop;

internal static class LoginSenderAcl
{
    public const string DefaultMaps = "static:*";

    private static readonly char[] CommaSpace = [',', ' ', '\t', '\r', '\n'];

    public static int Check(MailConf conf, uint uid, ReadOnlySpan<byte> sender, out string reason)
    {
        reason = "";
        if (sender.IndexOf((byte)0) >= 0)
        {
            reason = "NUL in FROM record";
            return CleanupStatus.Bad;
        }
        var maps = conf.Eval("local_login_sender_maps");
        if (maps == DefaultMaps)
            return CleanupStatus.Ok;
        var user = Sys.GetPwUid(uid)?.Name ?? $"uid:{uid}";
        var senderText = System.Text.Encoding.UTF8.GetString(sender);
        string? patterns = null;
        try
        {
            foreach (var map in maps.Split(CommaSpace, StringSplitOptions.RemoveEmptyEntries))
            {
                using var dict = DictOpen.OpenDefault(map, DictOpenFlags.ReadOnly, DictFlags.Lock | DictFlags.FoldFix);
                if ((patterns = dict.Lookup(user.ToLowerInvariant())) != null)
                    break;
            }
        }
        catch (FatalException)
        {
            patterns = null;
            reason = $"local_login_sender_maps table lookup error for '{maps}'";
            return CleanupStatus.Write;
        }
        if (patterns != null && Matches(patterns, senderText, conf))
            return CleanupStatus.Ok;
        reason = $"not authorized to use sender='{senderText}'";
        return CleanupStatus.NoPerm;
    }

    private static bool Matches(string patterns, string sender, MailConf conf)
    {
        var nullKey = conf.Eval("empty_address_local_login_sender_maps_lookup_key");
        foreach (var pattern in patterns.Split(CommaSpace, StringSplitOptions.RemoveEmptyEntries))
        {
            if (pattern.StartsWith('@'))
            {
                var at = sender.LastIndexOf('@');
                if (at >= 0 && string.Equals(pattern, sender[at..], StringComparison.OrdinalIgnoreCase))
                    return true;
            }
            else if (pattern == "*")
            {
                return true;
            }
            else if (string.Equals(pattern, nullKey, StringComparison.OrdinalIgnoreCase))
            {
                if (sender.Length == 0)
                    return true;
            }
            else if (string.Equals(pattern, StripExtension(sender, conf.Eval("recipient_delimiter")), StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }
        return false;
    }

    // StripExtension - the address without "+extension" in the local part.
    private static string StripExtension(string addr, string delimiters)
    {
        if (delimiters.Length == 0)
            return addr;
        var at = addr.LastIndexOf('@');
        var local = at >= 0 ? addr[..at] : addr;
        var cut = local.IndexOfAny(delimiters.ToCharArray());
        if (cut <= 0)
            return addr;
        return local[..cut] + (at >= 0 ? addr[at..] : "");
    }
}
