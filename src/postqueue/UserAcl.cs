// NAME
//	UserAcl - may this user run a queue operation?
// POSTFIX
//	src/global/user_acl.c (check_user_acl_byuid)
// DESCRIPTION
//	Check() returns null when the ACL permits the user, else the user
//	name for the refusal ("unknown" for a UID without a passwd entry).
//	Any "static:" ACL permits everybody without a lookup.
using System;
using Postfix.Util;

namespace Postfix.Commands.Postqueue;

internal static class UserAcl
{
    public static string? Check(string acl, uint uid)
    {
        if (acl.StartsWith("static:", StringComparison.Ordinal))
            return null;
        var name = Sys.GetPwUid(uid)?.Name ?? "unknown";
        return MatchList.Match(acl, name, hostStyle: false, parentStyle: false) ? null : name;
    }
}
