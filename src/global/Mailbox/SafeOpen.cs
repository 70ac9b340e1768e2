// NAME
//	SafeOpen - open or create a file without following traps
// POSTFIX
//	src/util/safe_open.c
// DESCRIPTION
//	Open() opens an existing file only when it has one hard link, is
//	not a directory, and is not a symbolic link (except a root-owned
//	link in a root-owned directory that only root can write); with
//	O_CREAT it creates the file exclusively when it does not exist,
//	and optionally gives it to chownUid/chownGid (uint.MaxValue: keep).
//	Returns the descriptor, or -1 with errno and a reason.
using Postfix.Util;

namespace Postfix.Global.Mailbox;

public static class SafeOpen
{
    public const uint Keep = uint.MaxValue;
    private const uint SIfLnk = 0xa000;
    private const int EPERM = 1;

    public static int Open(string path, int flags, int mode, out Sys.FileStat st, uint chownUid, uint chownGid,
        out string why, out int errno)
    {
        switch (flags & (Sys.O_CREAT | Sys.O_EXCL))
        {
            case 0:
                return OpenExisting(path, flags, out st, out why, out errno);
            case Sys.O_CREAT | Sys.O_EXCL:
                return Create(path, flags, mode, out st, chownUid, chownGid, out why, out errno);
            case Sys.O_CREAT:
                var fd = OpenExisting(path, flags, out st, out why, out errno);
                if (fd < 0 && errno == Sys.ENOENT)
                {
                    fd = Create(path, flags, mode, out st, chownUid, chownGid, out why, out errno);
                    if (fd < 0 && errno == Sys.EEXIST)
                        fd = OpenExisting(path, flags, out st, out why, out errno);
                }
                return fd;
            default:
                Msg.Panic("safe_open: O_EXCL flag without O_CREAT flag");
                st = default;
                why = "";
                errno = 0;
                return -1;
        }
    }

    private static int OpenExisting(string path, int flags, out Sys.FileStat st, out string why, out int errno)
    {
        why = "";
        errno = 0;
        st = default;
        var fd = Sys.Open(path, (flags & ~(Sys.O_CREAT | Sys.O_EXCL)) | Sys.O_CLOEXEC, 0);
        if (fd < 0)
        {
            errno = MailboxNative.Errno;
            why = $"cannot open file: {Sys.StrError(errno)}";
            return -1;
        }
        if (!MailboxNative.Fstat(fd, out st))
            Msg.Fatal($"{path}: bad open file status: {Sys.LastError()}");
        if (st.Links != 1)
        {
            why = $"file has {st.Links} hard links";
            errno = EPERM;
        }
        else if (Sys.IsDir(st.Mode))
        {
            why = "file is a directory";
            errno = Sys.EISDIR;
        }
        else if (!Sys.LStat(path, out var lst))
        {
            why = $"file status changed unexpectedly: {Sys.LastError()}";
            errno = EPERM;
        }
        else if ((lst.Mode & Sys.S_IFMT) == SIfLnk)
        {
            if (lst.Uid == 0)
            {
                var slash = path.TrimEnd('/').LastIndexOf('/');
                var parent = slash > 0 ? path[..slash] : slash == 0 ? "/" : ".";
                if (Sys.Stat(parent, out var pst) && pst.Uid == 0 && (pst.Mode & 0x12) == 0)
                    return fd;
            }
            why = "file is a symbolic link";
            errno = EPERM;
        }
        else if (st.Device != lst.Device || st.Inode != lst.Inode || st.Links != lst.Links || st.Mode != lst.Mode)
        {
            why = "file status changed unexpectedly";
            errno = EPERM;
        }
        else
        {
            return fd;
        }
        Sys.Close(fd);
        return -1;
    }

    private static int Create(string path, int flags, int mode, out Sys.FileStat st, uint chownUid, uint chownGid,
        out string why, out int errno)
    {
        why = "";
        errno = 0;
        st = default;
        var fd = Sys.Open(path, flags | Sys.O_CREAT | Sys.O_EXCL | Sys.O_CLOEXEC, mode);
        if (fd < 0)
        {
            errno = MailboxNative.Errno;
            why = $"cannot create file exclusively: {Sys.StrError(errno)}";
            return -1;
        }
        if (!MailboxNative.Fstat(fd, out st))
            Msg.Fatal($"{path}: bad open file status: {Sys.LastError()}");
        if ((chownUid != Keep || chownGid != Keep) && Sys.Fchown(fd, chownUid, chownGid) < 0)
        {
            errno = MailboxNative.Errno;
            Msg.Warn($"{path}: cannot change file ownership: {Sys.StrError(errno)}");
            Sys.Close(fd);
            return -1;
        }
        return fd;
    }
}
