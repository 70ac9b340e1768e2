// NAME
//	Spawn - the spawn(8) daemon (being written)
using Postfix.Util;

namespace Postfix.Daemons.Spawn;

public static class Spawn
{
    public static int Run(string[] args) => ProgramHost.Run("spawn", args, _ => { Msg.Fatal("not yet implemented"); return 1; });
}
