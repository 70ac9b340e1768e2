// NAME
//	MailboxNative - the libc calls that mailbox delivery needs beyond Sys
// POSTFIX
//	src/util/myflock.c, src/util/set_eugid.c, src/util/set_ugid.c,
//	src/util/make_dirs.c (the system calls they make)
// DESCRIPTION
//	fcntl(2) record locks, fstat(2), lseek(2), ftruncate(2), mkdir(2),
//	setres[ug]id(2) and setrlimit(2) for the delivery agents. Kept here
//	so that the shared Sys class stays small; errno is read with
//	Marshal.GetLastPInvokeError().
using System;
using System.Runtime.InteropServices;
using Postfix.Util;

namespace Postfix.Global.Mailbox;

public static partial class MailboxNative
{
    public const int EAGAIN = 11;
    public const int ESTALE = 116;
    public const int ENOSPC = 28;
    public const int EDQUOT = 122;
    public const int EFBIG = 27;
    public const int EWOULDBLOCK = 11;
    public const int EPIPE = 32;

    private const int F_SETLK = 6;
    private const short F_WRLCK = 1;
    private const short F_UNLCK = 2;

    [StructLayout(LayoutKind.Sequential)]
    private struct FlockRecord
    {
        public short Type;
        public short Whence;
        public long Start;
        public long Len;
        public int Pid;
    }

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static partial int FcntlLock(int fd, int cmd, ref FlockRecord lck);

    [LibraryImport("libc", EntryPoint = "fstat", SetLastError = true)]
    private static partial int FstatRaw(int fd, Span<byte> buf);

    [LibraryImport("libc", EntryPoint = "lseek", SetLastError = true)]
    public static partial long LSeek(int fd, long offset, int whence);

    [LibraryImport("libc", EntryPoint = "ftruncate", SetLastError = true)]
    public static partial int FTruncate(int fd, long length);

    [LibraryImport("libc", EntryPoint = "mkdir", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int MkDir(string path, int mode);

    [LibraryImport("libc", EntryPoint = "setresuid", SetLastError = true)]
    public static partial int SetResUid(uint ruid, uint euid, uint suid);

    [LibraryImport("libc", EntryPoint = "setresgid", SetLastError = true)]
    public static partial int SetResGid(uint rgid, uint egid, uint sgid);

    [LibraryImport("libc", EntryPoint = "setrlimit", SetLastError = true)]
    private static partial int SetRLimit(int resource, in RLimit limit);

    [LibraryImport("libc", EntryPoint = "signal")]
    private static partial nint Signal(int sig, nint handler);

    [StructLayout(LayoutKind.Sequential)]
    private readonly struct RLimit
    {
        public readonly long Cur;
        public readonly long Max;

        public RLimit(long cur, long max)
        {
            Cur = cur;
            Max = max;
        }
    }

    // SetFileLimit - set_file_limit(): writes past limit fail with EFBIG
    // (SIGXFSZ ignored) instead of growing a mailbox without bound.
    public static void SetFileLimit(long limit)
    {
        const int RlimitFsize = 1;
        const int SigXfsz = 25;
        Signal(SigXfsz, 1);
        if (SetRLimit(RlimitFsize, new RLimit(limit, limit)) < 0)
            Msg.Fatal($"setrlimit: {Sys.LastError()}");
    }

    public const int SEEK_SET = 0;
    public const int SEEK_END = 2;

    // FcntlWriteLock - a non-blocking exclusive fcntl() lock on the whole
    // file; false with errno when somebody else holds it.
    public static bool FcntlWriteLock(int fd)
    {
        var lck = new FlockRecord { Type = F_WRLCK, Whence = SEEK_SET };
        return FcntlLock(fd, F_SETLK, ref lck) == 0;
    }

    // FcntlUnlock - drop an fcntl() lock.
    public static bool FcntlUnlock(int fd)
    {
        var lck = new FlockRecord { Type = F_UNLCK, Whence = SEEK_SET };
        return FcntlLock(fd, F_SETLK, ref lck) == 0;
    }

    // Fstat - fstat(2) with the same fields as Sys.Stat.
    public static bool Fstat(int fd, out Sys.FileStat st)
    {
        Span<byte> buf = stackalloc byte[144];
        if (FstatRaw(fd, buf) != 0)
        {
            st = default;
            return false;
        }
        st = new Sys.FileStat(
            BitConverter.ToUInt64(buf[0..8]), BitConverter.ToUInt64(buf[8..16]), BitConverter.ToUInt64(buf[16..24]),
            BitConverter.ToUInt32(buf[24..28]), BitConverter.ToUInt32(buf[28..32]), BitConverter.ToUInt32(buf[32..36]),
            BitConverter.ToInt64(buf[48..56]), BitConverter.ToInt64(buf[88..96]));
        return true;
    }

    public static int Errno => Marshal.GetLastPInvokeError();
}
