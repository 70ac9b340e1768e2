// NAME
//	Verify - the verify(8) daemon (being written)
using Postfix.Util;

namespace Postfix.Daemons.Verify;

public static class Verify
{
    public static int Run(string[] args) => ProgramHost.Run("verify", args, _ => { Msg.Fatal("not yet implemented"); return 1; });
}
