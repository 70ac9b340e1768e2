// NAME
//	ArgScanner - getopt(3) ("+" mode) whose argv and optind the caller
//	may change between calls
// POSTFIX
//	src/sendmail/sendmail.c (GETOPT, OPTIND and the -q/-V rewrites)
// DESCRIPTION
//	Sendmail's options predate getopt: a bare "-q" is skipped by hand,
//	"-V xx" and "-Vxx" are rewritten to "-XV..." in argv. This scanner
//	keeps glibc's state (optind, the position inside a cluster) in the
//	open so that the option loop can do the same. Errors print glibc's
//	text with the program name and return '?'.
using Postfix.Util;

namespace Postfix.Commands.Sendmail;

internal sealed class ArgScanner
{
    private readonly string spec;
    private readonly string progName;
    private int charIndex;

    public ArgScanner(string[] args, string spec, string progName)
    {
        Args = args;
        this.spec = spec;
        this.progName = progName;
    }

    public string[] Args { get; }

    // Optind - index of the next argument (may be changed by the caller).
    public int Optind { get; set; }

    public string? Optarg { get; private set; }

    // Current - argv[optind], or null past the end.
    public string? Current => Optind < Args.Length ? Args[Optind] : null;

    public string? Peek(int ahead) => Optind + ahead < Args.Length ? Args[Optind + ahead] : null;

    // Next - the next option, '?' on error, -1 at the first non-option.
    public int Next()
    {
        Optarg = null;
        if (charIndex == 0)
        {
            if (Optind >= Args.Length)
                return -1;
            var a = Args[Optind];
            if (a.Length < 2 || a[0] != '-')
                return -1;
            if (a == "--")
            {
                Optind++;
                return -1;
            }
            charIndex = 1;
        }
        var arg = Args[Optind];
        var c = arg[charIndex++];
        var pos = c == ':' ? -1 : spec.IndexOf(c, System.StringComparison.Ordinal);
        if (pos < 0)
        {
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
            }
            else if (Optind + 1 < Args.Length)
            {
                Optarg = Args[Optind + 1];
                Optind += 2;
            }
            else
            {
                Msg.Err.Write($"{progName}: option requires an argument -- '{c}'\n");
                Optind++;
                charIndex = 0;
                return '?';
            }
            charIndex = 0;
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
