// NAME
//	Error - the error(8) daemon (being written)
using Postfix.Util;

namespace Postfix.Daemons.Error;

public static class Error
{
    public static int Run(string[] args) => ProgramHost.Run("error", args, _ => { Msg.Fatal("not yet implemented"); return 1; });
}
