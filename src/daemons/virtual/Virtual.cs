// NAME
//	Virtual - the virtual(8) daemon (being written)
using Postfix.Util;

namespace Postfix.Daemons.Virtual;

public static class Virtual
{
    public static int Run(string[] args) => ProgramHost.Run("virtual", args, _ => { Msg.Fatal("not yet implemented"); return 1; });
}
