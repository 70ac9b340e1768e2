// NAME
//	UserInfo - login name and full name of the invoking user
// POSTFIX
//	src/util/username.c, src/util/fullname.c
// DESCRIPTION
//	LoginName() is the password file name of the real uid (null if
//	none). FullName() is $NAME, else the GECOS field up to ',' ';' or
//	'%', with each '&' replaced by the login name, first letter in
//	upper case; null when the uid has no password entry.
using System;
using System.Text;
using Postfix.Util;

namespace Postfix.Commands.Sendmail;

internal static class UserInfo
{
    public static string? LoginName() => Sys.GetPwUid(Sys.GetUid()) is { } pw ? RawArgs.ToLatin1(pw.Name) : null;

    public static string? FullName()
    {
        var env = Environment.GetEnvironmentVariable("NAME");
        if (env != null && !ConfigDirUnsafe())
            return RawArgs.ToLatin1(env);
        var pw = Sys.GetPwUid(Sys.GetUid());
        if (pw == null)
            return null;
        var gecos = RawArgs.ToLatin1(pw.Gecos);
        var name = RawArgs.ToLatin1(pw.Name);
        var sb = new StringBuilder();
        foreach (var ch in gecos)
        {
            if (ch == ',' || ch == ';' || ch == '%')
                break;
            if (ch == '&')
            {
                if (name.Length > 0)
                    sb.Append(name[0] is >= 'a' and <= 'z' ? (char)(name[0] - 32) : name[0]).Append(name, 1, name.Length - 1);
            }
            else
            {
                sb.Append(ch);
            }
        }
        return sb.ToString();
    }

    // safe_getenv(): no environment when running set-id.
    private static bool ConfigDirUnsafe() => Postfix.Global.Submit.ConfigDirCheck.Unsafe();
}
