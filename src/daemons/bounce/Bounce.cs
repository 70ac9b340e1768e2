// NAME
//	Bounce - the bounce(8) daemon (being written)
using Postfix.Util;

namespace Postfix.Daemons.Bounce;

public static class Bounce
{
    public static int Run(string[] args) => ProgramHost.Run("bounce", args, _ => { Msg.Fatal("not yet implemented"); return 1; });
}
