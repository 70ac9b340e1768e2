// NAME
//	Discard - the discard(8) daemon (being written)
using Postfix.Util;

namespace Postfix.Daemons.Discard;

public static class Discard
{
    public static int Run(string[] args) => ProgramHost.Run("discard", args, _ => { Msg.Fatal("not yet implemented"); return 1; });
}
