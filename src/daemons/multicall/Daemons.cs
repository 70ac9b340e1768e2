// NAME
//	Daemons - the multi-call entry point of every daemon
// DESCRIPTION
//	The basename of argv[0] names the daemon (master, cleanup, pickup,
//	...); daemon_directory has one link per name to this binary. Add a
//	daemon by adding its line to the table.
using System;
using System.Collections.Generic;
using Postfix.Util;

namespace Postfix.Daemons;

public static class Daemons
{
    private static readonly Dictionary<string, Func<string[], int>> Table = new(StringComparer.Ordinal)
    {
        ["anvil"] = Anvil.Anvil.Run,
        ["bounce"] = Bounce.Bounce.Run,
        ["cleanup"] = Cleanup.Cleanup.Run,
        ["discard"] = Discard.Discard.Run,
        ["dnsblog"] = Dnsblog.Dnsblog.Run,
        ["error"] = Error.Error.Run,
        ["flush"] = Flush.Flush.Run,
        ["lmtp"] = Smtp.Smtp.Run,
        ["local"] = Local.Local.Run,
        ["master"] = Master.MasterMain.Run,
        ["pickup"] = Pickup.Pickup.Run,
        ["pipe"] = Pipe.Pipe.Run,
        ["postlogd"] = Postlogd.Postlogd.Run,
        ["postscreen"] = Postscreen.Postscreen.Run,
        ["qmgr"] = Qmgr.Qmgr.Run,
        ["oqmgr"] = Qmgr.Qmgr.Run,
        ["scache"] = Scache.Scache.Run,
        ["showq"] = Showq.Showq.Run,
        ["smtp"] = Smtp.Smtp.Run,
        ["smtpd"] = Smtpd.Smtpd.Run,
        ["spawn"] = Spawn.Spawn.Run,
        ["trivial-rewrite"] = TrivialRewrite.TrivialRewrite.Run,
        ["verify"] = Verify.Verify.Run,
        ["virtual"] = Virtual.Virtual.Run,
    };

    public static int Main(string[] args)
    {
        var name = ProgramHost.ProgramName("postfix-daemons");
        if (Table.TryGetValue(name, out var run))
        {
            // master(8) sets its own umask (077); the other daemons inherit it.
            ProgramHost.KeepUmask = name != "master";
            return run(args);
        }
        Console.Error.WriteLine($"{name}: unknown daemon name; link this program as one of: {string.Join(' ', Table.Keys)}");
        return 1;
    }

    // Names - every daemon this binary provides (for the Makefile).
    public static IEnumerable<string> Names => Table.Keys;
}
