// NAME
//	Getopt - POSIX getopt() with Postfix's "+" (stop at the first operand)
// DESCRIPTION
//	Reports problems the way glibc does ("prog: invalid option -- 'Z'",
//	"prog: option requires an argument -- 'q'"); the caller then prints
//	its usage line. Shared by postmap and postalias.
using Postfix.Util;

namespace Postfix.Commands;

internal sealed class Getopt
{
    private readonly string[] args;
    private readonly string spec;
    private int next;

    public Getopt(string[] args, string spec)
    {
        this.args = args;
        this.spec = spec;
    }

    // Index - first operand after the options (optind).
    public int Index { get; private set; }

    public string Arg { get; private set; } = "";

    // Next - the next option letter, '?' on error, -1 at the end.
    public int Next()
    {
        if (next == 0)
        {
            if (Index >= args.Length)
                return -1;
            var a = args[Index];
            if (a.Length < 2 || a[0] != '-')
                return -1;
            if (a == "--")
            {
                Index++;
                return -1;
            }
            next = 1;
        }
        var cur = args[Index];
        var c = cur[next++];
        var pos = spec.IndexOf(c);
        if (c == ':' || pos < 0)
        {
            Msg.Err.Write($"{Msg.Tag}: invalid option -- '{c}'\n");
            Advance(cur);
            return '?';
        }
        if (pos + 1 < spec.Length && spec[pos + 1] == ':')
        {
            if (next < cur.Length)
            {
                Arg = cur[next..];
                Index++;
                next = 0;
            }
            else if (Index + 1 < args.Length)
            {
                Arg = args[Index + 1];
                Index += 2;
                next = 0;
            }
            else
            {
                Msg.Err.Write($"{Msg.Tag}: option requires an argument -- '{c}'\n");
                Index++;
                next = 0;
                return '?';
            }
            return c;
        }
        Advance(cur);
        return c;
    }

    private void Advance(string cur)
    {
        if (next >= cur.Length)
        {
            Index++;
            next = 0;
        }
    }
}
