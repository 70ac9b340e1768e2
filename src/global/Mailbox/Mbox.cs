// NAME
//	Mbox - open and lock a UNIX-style mailbox file
// POSTFIX
//	src/global/mbox_open.c
// DESCRIPTION
//	Open() dot-locks a regular (or not yet existing) file when the lock
//	mask asks for it, opens or creates it with SafeOpen (non-blocking,
//	so that a FIFO or device cannot hang the agent), then takes the
//	kernel locks the mask names and checks that the file still has one
//	link (a mail reader may have replaced it). On failure it returns
//	null with why filled in (status from MboxDsn with defaultDsn).
//	Release() removes the dot-lock; the descriptor (and with it the
//	kernel locks) is closed by the writer, after a failed write has
//	been truncated away.
using Postfix.Util;
using Postfix.Global.Deliver;

namespace Postfix.Global.Mailbox;

public sealed class Mbox
{
    private Mbox(string path, int fd, int locked)
    {
        Path = path;
        Fd = fd;
        Locked = locked;
    }

    public string Path { get; }

    public int Fd { get; private set; }

    public int Locked { get; }

    public static Mbox? Open(string path, int flags, int mode, out Sys.FileStat st, uint chownUid, uint chownGid,
        int lockStyle, string defaultDsn, DsnBuf why)
    {
        var locked = 0;
        if ((lockStyle & MboxLock.Dot) != 0
            && (!Sys.Stat(path, out st) || Sys.IsReg(st.Mode)))
        {
            var err = MboxLock.DotLock(path, out var reason);
            if (err == 0)
            {
                locked |= MboxLock.Dot;
            }
            else if (err == Sys.EEXIST)
            {
                why.Simple(MboxDsn.Of(MailboxNative.EAGAIN, defaultDsn), reason);
                return null;
            }
            else if ((lockStyle & MboxLock.DotMayFail) != 0)
            {
                Msg.Warn(reason);
            }
            else
            {
                why.Simple(MboxDsn.Of(err, defaultDsn), reason);
                return null;
            }
        }

        var fd = SafeOpen.Open(path, flags | Sys.O_NONBLOCK, mode, out st, chownUid, chownGid, out var openWhy, out var errno);
        if (fd < 0)
        {
            why.Simple(MboxDsn.Of(errno, defaultDsn), openWhy);
            if ((locked & MboxLock.Dot) != 0)
                MboxLock.DotUnlock(path);
            return null;
        }

        if (Sys.IsReg(st.Mode))
        {
            var lockWhy = "";
            var lockErr = 0;
            if ((lockStyle & MboxLock.Flock) != 0)
                lockErr = MboxLock.Kernel(fd, MboxLock.Flock, out lockWhy);
            if (lockErr == 0 && (lockStyle & MboxLock.Fcntl) != 0)
                lockErr = MboxLock.Kernel(fd, MboxLock.Fcntl, out lockWhy);
            if (lockErr != 0)
            {
                why.Simple(MboxDsn.Of(lockErr, defaultDsn), lockWhy);
                if ((locked & MboxLock.Dot) != 0)
                    MboxLock.DotUnlock(path);
                Sys.Close(fd);
                return null;
            }
            locked |= lockStyle & (MboxLock.Flock | MboxLock.Fcntl);
        }

        if (Sys.IsReg(st.Mode) && (!MailboxNative.Fstat(fd, out st) || st.Links != 1))
        {
            why.Simple(MboxDsn.Of(MailboxNative.EAGAIN, defaultDsn), "target file status changed unexpectedly");
            Msg.Warn($"{path}: file status changed unexpectedly");
            if ((locked & MboxLock.Dot) != 0)
                MboxLock.DotUnlock(path);
            Sys.Close(fd);
            return null;
        }
        return new Mbox(path, fd, locked);
    }

    // CloseFile - close the descriptor without writing (a check failed).
    public void CloseFile()
    {
        if (Fd >= 0)
            Sys.Close(Fd);
        Fd = -1;
    }

    // TakeFd - hand the descriptor to a writer that closes it.
    public int TakeFd()
    {
        var fd = Fd;
        Fd = -1;
        return fd;
    }

    // Release - mbox_release(): drop the dot-lock (and close the file if
    // nobody took it).
    public void Release()
    {
        CloseFile();
        if ((Locked & MboxLock.Dot) != 0)
            MboxLock.DotUnlock(Path);
    }
}
