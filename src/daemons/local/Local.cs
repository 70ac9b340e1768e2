// NAME
//	Local - the local(8) daemon (being written)
using Postfix.Util;

namespace Postfix.Daemons.Local;

public static class Local
{
    public static int Run(string[] args) => ProgramHost.Run("local", args, _ => { Msg.Fatal("not yet implemented"); return 1; });
}
