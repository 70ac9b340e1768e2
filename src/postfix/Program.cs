// NAME
//	postfix - Postfix control program
// SYNOPSIS
//	postfix [-Dv] [-c config_dir] command
// DESCRIPTION
//	Entry point; see PostfixCommand (option handling and the exported
//	environment) and ControlCommands (the commands themselves).
// SEE ALSO
//	man/man1/postfix.1
using Postfix.Util;

namespace Postfix.Commands.Control;

internal static class Program
{
    private static int Main(string[] args) => ProgramHost.Run("postfix", args, PostfixCommand.Run);
}
