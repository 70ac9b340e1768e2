// NAME
//	Qmgr - the qmgr(8) daemon (being written)
using Postfix.Util;

namespace Postfix.Daemons.Qmgr;

public static class Qmgr
{
    public static int Run(string[] args) => ProgramHost.Run("qmgr", args, _ => { Msg.Fatal("not yet implemented"); return 1; });
}
