// NAME
//	Pipe - the pipe(8) daemon (being written)
using Postfix.Util;

namespace Postfix.Daemons.Pipe;

public static class Pipe
{
    public static int Run(string[] args) => ProgramHost.Run("pipe", args, _ => { Msg.Fatal("not yet implemented"); return 1; });
}
