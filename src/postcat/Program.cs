// NAME
//	postcat - show Postfix queue file contents
// SYNOPSIS
//	postcat [-bdehoqrv] [-c config_dir] [-s offset] [files...]
// SECURITY
//	Needs read access to the files; -q needs access to the queue
//	directory (root, or the mail_owner).
// DIAGNOSTICS
//	Problems are reported on stderr with argv[0] as given; exit status
//	1 on fatal errors (usage, unreadable file, bad queue ID, broken
//	record), 0 otherwise, also after warnings about non-queue files.
// SEE ALSO
//	man/man1/postcat.1
using Postfix.Util;

namespace Postfix.Commands.Postcat;

internal static class Program
{
    private static int Main(string[] args)
    {
        // Record data goes out byte for byte (8-bit text, binary junk).
        ProgramHost.Out = PostcatOutput.OpenStdout();
        return ProgramHost.Run("postcat", args, Postcat.Run, verbatimArgv0: true);
    }
}
