// NAME
//	TableMessages - diagnostics shared by postmap and postalias
// POSTFIX
//	src/postmap/postmap.c, src/postalias/postalias.c
// DESCRIPTION
//	The %m text of a table error and the two warnings about an empty
//	lookup result, worded as both reference commands word them.
using Postfix.Global.Dict;
using Postfix.Util;

namespace Postfix.Commands;

internal static class TableMessages
{
    // ErrnoText - what %m shows for a table error.
    public static string ErrnoText(Dict d) => d.ErrorText ?? "Success";

    // EmptyResult - an empty value is not a valid lookup result.
    public static void EmptyResult(string type, string name, string key)
    {
        Msg.Warn($"table {type}:{name}: key {key}: empty string result is not allowed");
        Msg.Warn($"table {type}:{name} should return NO RESULT in case of NOT FOUND");
    }
}
