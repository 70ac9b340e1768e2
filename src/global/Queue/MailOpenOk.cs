// NAME
//	MailOpenOk - may this queue file be opened?
// POSTFIX
//	src/global/mail_open_ok.c
// DESCRIPTION
//	Check() is mail_open_ok(): a valid queue name and ID, a regular
//	file at the ID's hashed path with mode 0700 in the owner bits.
//	Other objects are skipped silently (a missing file, other modes)
//	or with Postfix's warnings (not a regular file, lstat errors, a
//	file that has had extra links for more than a minute).
using System;
using Postfix.Util;

namespace Postfix.Global.Queue;

public static class MailOpenOk
{
    public static bool Check(MailQueue queue, string queueName, string queueId, out Sys.FileStat st, out string path)
    {
        st = default;
        path = "";
        if (!MailQueue.NameOk(queueName))
        {
            Msg.Warn($"bad mail queue name: {queueName}");
            return false;
        }
        if (!QueueId.IsValid(queueId))
            return false;
        path = queue.Path(queueName, queueId);
        if (!Sys.LStat(path, out st, out var ctime))
        {
            var errno = ScanDir.LastErrno;
            if (errno != Sys.ENOENT)
                Msg.Warn($"{path}: {Sys.StrError(errno)}");
            return false;
        }
        if (!Sys.IsReg(st.Mode))
        {
            Msg.Warn($"{path}: uid {st.Uid}: not a regular file");
            return false;
        }
        if ((st.Mode & 0x1c0) != MailQueue.StatReady)
            return false;
        if (st.Links > 1)
        {
            if (Msg.Verbose > 0)
                Msg.Info($"{path}: uid {st.Uid}: file has {st.Links} links");
            else if (ctime < DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 60)
                Msg.Warn($"{path}: uid {st.Uid}: file has {st.Links} links");
        }
        return true;
    }
}
