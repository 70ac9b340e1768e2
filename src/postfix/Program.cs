// NAME
//	postfix - Postfix control program
// SYNOPSIS
//	postfix [-Dv] [-c config_dir] command
// DESCRIPTION
//	Entry point; see PostfixCommand (option handling and the exported
//	environment) and ControlCommands (the commands themselves). Stdout
//	and stderr are plain descriptor streams (FdStream).
using System.IO;
using System.Text;
using Postfix.Util;

namespace Postfix.Commands.Control;

internal static class Program
{
    private static int Main(string[] args)
    {
        Msg.Err = Writer(2, true);
        ProgramHost.Out = Writer(1, false);
        if (CompatCommand.IsCompat(args))
            return ProgramHost.Run("postfix", args, CompatCommand.Run);
        if (Explain.IntrospectCommand.IsIntrospection(args))
            return ProgramHost.Run("postfix", args, Explain.IntrospectCommand.Run);
        return ProgramHost.Run("postfix", args, PostfixCommand.Run);
    }

    private static StreamWriter Writer(int fd, bool autoFlush) =>
        new(new FdStream(fd), new UTF8Encoding(false), 4096)
        {
            AutoFlush = autoFlush,
            NewLine = "\n",
        };
}
