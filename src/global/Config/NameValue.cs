// NAME
//	NameValue - split "name = value" the way Postfix does
// POSTFIX
//	src/util/split_nameval.c
// DESCRIPTION
//	The name ends at whitespace or '='; the value has its leading and
//	trailing whitespace removed. Errors are returned as Postfix's text.
namespace Postfix.Global.Config;

public static class NameValue
{
    // Split - returns null on success, else the error text.
    public static string? Split(string buf, out string name, out string value)
    {
        name = value = "";
        var i = 0;
        while (i < buf.Length && IsSpace(buf[i]))
            i++;
        if (i == buf.Length || buf[i] == '=')
            return "missing attribute name";
        var np = i;
        while (i < buf.Length && !IsSpace(buf[i]) && buf[i] != '=')
            i++;
        var ep = i;
        while (i < buf.Length && IsSpace(buf[i]))
            i++;
        if (i == buf.Length || buf[i] != '=')
            return "missing '=' after attribute name";
        i++;
        while (i < buf.Length && IsSpace(buf[i]))
            i++;
        var end = buf.Length;
        while (end > i && IsSpace(buf[end - 1]))
            end--;
        name = buf[np..ep];
        value = buf[i..end];
        return null;
    }

    private static bool IsSpace(char c) => c is ' ' or '\t' or '\n' or '\r' or '\f' or '\v';
}
