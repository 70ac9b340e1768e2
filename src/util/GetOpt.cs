// NAME
//	GetOpt - POSIX getopt(3) as Postfix calls it ("+" prefix: stop at
//	the first non-option)
// DESCRIPTION
//	Clustered flags (-nf), attached or separate arguments (-cDIR, -c DIR),
//	"--" ends the options. Errors print glibc's text on stderr with
//	argv[0] as given, and return '?'.
using System;

namespace Postfix.Util;

public sealed class GetOpt
{
    private readonly string[] args;
    private readonly string spec;
    private readonly string progName;
    private int charIndex;

    public GetOpt(string[] args, string spec, string progName)
    {
        this.args = args;
        this.spec = spec;
        this.progName = progName;
    }

    // Optind - index of the first argument not yet processed.
    public int Optind { get; private set; }

    public string? Optarg { get; private set; }

    // Optopt - the option character of the last error.
    public int Optopt { get; private set; }

    // Silent - opterr = 0: report errors only through the '?' return.
    public bool Silent { get; set; }

    // Next - the next option character, '?' on error, -1 at the end.
    public int Next()
    {
        Optarg = null;
        if (charIndex == 0)
        {
            if (Optind >= args.Length)
                return -1;
            var a = args[Optind];
            if (a.Length < 2 || a[0] != '-')
                return -1;
            if (a == "--")
            {
                Optind++;
                return -1;
            }
            charIndex = 1;
        }
        var arg = args[Optind];
        var c = arg[charIndex++];
        var pos = c == ':' ? -1 : spec.IndexOf(c, StringComparison.Ordinal);
        if (pos < 0)
        {
            Optopt = c;
            if (!Silent)
                Msg.Err.Write($"{progName}: invalid option -- '{c}'\n");
            Advance(arg);
            return '?';
        }
        if (pos + 1 < spec.Length && spec[pos + 1] == ':')
        {
            if (charIndex < arg.Length)
            {
                Optarg = arg[charIndex..];
                Optind++;
                charIndex = 0;
            }
            else if (Optind + 1 < args.Length)
            {
                Optarg = args[Optind + 1];
                Optind += 2;
                charIndex = 0;
            }
            else
            {
                Optopt = c;
                if (!Silent)
                    Msg.Err.Write($"{progName}: option requires an argument -- '{c}'\n");
                Optind++;
                charIndex = 0;
                return '?';
            }
            return c;
        }
        Advance(arg);
        return c;
    }

    private void Advance(string arg)
    {
        if (charIndex >= arg.Length)
        {
            Optind++;
            charIndex = 0;
        }
    }
}
