// NAME
//	Eugid - switch the effective user and group of a delivery agent
// POSTFIX
//	src/util/set_eugid.c, src/util/set_ugid.c
// DESCRIPTION
//	Set() makes uid/gid the effective ids (with gid as the only
//	supplementary group), going through root; the real ids stay root so
//	that the agent can switch again. It does nothing when the process
//	is not privileged and already runs with the wanted ids, so that
//	unit tests run unprivileged. SpawnIds() sets real and effective ids
//	to the target while keeping root as the saved id: a child started
//	in that state execs with no way back to root, and the agent
//	restores itself with Set() afterwards.
using Postfix.Util;

namespace Postfix.Global.Mailbox;

public static class Eugid
{
    private static bool Privileged => Sys.GetUid() == 0;

    // Set - set_eugid().
    public static void Set(uint uid, uint gid)
    {
        if (!Privileged)
            return;
        if (Sys.GetEuid() != 0 && Sys.SetEuid(0) < 0)
            Msg.Fatal($"seteuid(0): {Sys.LastError()}");
        if (Sys.SetEgid(gid) < 0)
            Msg.Fatal($"setegid({gid}): {Sys.LastError()}");
        if (Sys.SetGroups(gid) < 0)
            Msg.Fatal($"setgroups(1, &{gid}): {Sys.LastError()}");
        if (uid != 0 && Sys.SetEuid(uid) < 0)
            Msg.Fatal($"seteuid({uid}): {Sys.LastError()}");
    }

    // SpawnIds - real and effective ids for a child about to be started;
    // Set() undoes it.
    public static void SpawnIds(uint uid, uint gid)
    {
        if (!Privileged && Sys.GetEuid() != 0)
            return;
        if (Sys.GetEuid() != 0 && Sys.SetEuid(0) < 0)
            Msg.Fatal($"seteuid(0): {Sys.LastError()}");
        if (Sys.SetGroups(gid) < 0)
            Msg.Fatal($"setgroups(1, &{gid}): {Sys.LastError()}");
        if (MailboxNative.SetResGid(gid, gid, 0) < 0)
            Msg.Fatal($"setgid({gid}): {Sys.LastError()}");
        if (MailboxNative.SetResUid(uid, uid, 0) < 0)
            Msg.Fatal($"setuid({uid}): {Sys.LastError()}");
    }

    // Restore - back to real root after SpawnIds(), then Set(uid, gid).
    public static void Restore(uint uid, uint gid)
    {
        if (Sys.GetUid() != 0 && MailboxNative.SetResUid(0, 0, 0) < 0)
            return;
        MailboxNative.SetResGid(0, 0, 0);
        Set(uid, gid);
    }
}
