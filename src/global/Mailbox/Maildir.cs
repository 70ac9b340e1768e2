// NAME
//	Maildir - write one message into a maildir
// POSTFIX
//	src/local/maildir.c, src/virtual/maildir.c (the part both share),
//	src/util/make_dirs.c, src/util/sane_link.c
// DESCRIPTION
//	Write() creates tmp/TIME.PPID.HOST (making tmp/ and its parents when
//	missing), copies the message into it with MailCopy, links it to
//	new/TIME.VDEVIINOMUSEC.HOST (making cur/ and new/ when missing) and
//	removes the tmp/ name, all with the caller's current privileges. The
//	result is a MailCopy.Stat* mask with errno and why describing a
//	failure ("create maildir file PATH: ...", status from MboxDsn with
//	defaultDsn: 5.2.0 for local(8), 4.2.0 for virtual(8)).
using System;
using System.Globalization;
using Postfix.Util;
using Postfix.Global.Deliver;

namespace Postfix.Global.Mailbox;

public static class Maildir
{
    // HostName - the right-hand part of unique names (tests replace it).
    public static Func<string> HostName { get; set; } = Sys.GetHostName;

    // MakeDirs - make_dirs(): create path and missing parents; 0 or errno.
    public static int MakeDirs(string path, int mode)
    {
        path = path.TrimEnd('/');
        if (path.Length == 0)
            return 0;
        if (Sys.Stat(path, out var st))
            return Sys.IsDir(st.Mode) ? 0 : Sys.ENOTDIR;
        var slash = path.LastIndexOf('/');
        if (slash > 0)
        {
            var err = MakeDirs(path[..slash], mode);
            if (err != 0)
                return err;
        }
        if (MailboxNative.MkDir(path, mode) < 0)
        {
            var err = MailboxNative.Errno;
            if (err != Sys.EEXIST)
                return err;
        }
        return 0;
    }

    public static int Write(ReadOnlySpan<byte> queueFile, long offset, string queuePath,
        string sender, string origRcpt, string delivered, string path, int copyFlags, DsnBuf why, out int errno, string defaultDsn = "5.2.0")
    {
        var now = DateTimeOffset.UtcNow;
        var sec = now.ToUnixTimeSeconds();
        var usec = (now.Ticks % TimeSpan.TicksPerSecond) / 10;
        var host = HostName();
        var tmpDir = path + "tmp/";
        var newDir = path + "new/";
        var curDir = path + "cur/";
        var tmpFile = string.Create(CultureInfo.InvariantCulture, $"{tmpDir}{sec}.P{Sys.GetPid()}.{host}");
        const int create = Sys.O_WRONLY | Sys.O_CREAT | Sys.O_EXCL | Sys.O_CLOEXEC;

        var fd = Sys.Open(tmpFile, create, 0x180);
        errno = fd < 0 ? MailboxNative.Errno : 0;
        if (fd < 0 && errno == Sys.ENOENT)
        {
            errno = MakeDirs(tmpDir, 0x1c0);
            if (errno == 0)
            {
                fd = Sys.Open(tmpFile, create, 0x180);
                errno = fd < 0 ? MailboxNative.Errno : 0;
            }
        }
        if (fd < 0)
        {
            why.Simple(MboxDsn.Of(errno, defaultDsn), $"create maildir file {tmpFile}: {Sys.StrError(errno)}");
            return MailCopy.StatWrite;
        }
        if (!MailboxNative.Fstat(fd, out var st))
            Msg.Fatal($"fstat {tmpFile}: {Sys.LastError()}");
        var newFile = string.Create(CultureInfo.InvariantCulture,
            $"{newDir}{sec}.V{st.Device:x}I{st.Inode:x}M{usec}.{host}");
        var status = MailCopy.Copy(queueFile, offset, queuePath, sender, origRcpt, delivered, fd, copyFlags, why, out errno);
        if (status == 0)
        {
            if (Sys.Link(tmpFile, newFile) < 0)
            {
                errno = MailboxNative.Errno;
                if (errno == Sys.ENOENT)
                {
                    MakeDirs(curDir, 0x1c0);
                    errno = MakeDirs(newDir, 0x1c0);
                    if (errno == 0)
                        errno = Sys.Link(tmpFile, newFile) < 0 ? MailboxNative.Errno : 0;
                }
                if (errno != 0)
                {
                    why.Simple(MboxDsn.Of(errno, defaultDsn), $"create maildir file {newFile}: {Sys.StrError(errno)}");
                    status = MailCopy.StatWrite;
                }
            }
        }
        var saved = errno;
        if (Sys.Unlink(tmpFile) < 0)
            Msg.Warn($"remove {tmpFile}: {Sys.LastError()}");
        errno = saved;
        return status;
    }
}
