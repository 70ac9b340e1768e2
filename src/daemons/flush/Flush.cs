// NAME
//	Flush - the flush(8) daemon (being written)
using Postfix.Util;

namespace Postfix.Daemons.Flush;

public static class Flush
{
    public static int Run(string[] args) => ProgramHost.Run("flush", args, _ => { Msg.Fatal("not yet implemented"); return 1; });
}
