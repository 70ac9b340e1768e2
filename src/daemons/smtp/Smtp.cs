// NAME
//	Smtp - the smtp(8) daemon (being written)
using Postfix.Util;

namespace Postfix.Daemons.Smtp;

public static class Smtp
{
    public static int Run(string[] args) => ProgramHost.Run("smtp", args, _ => { Msg.Fatal("not yet implemented"); return 1; });
}
