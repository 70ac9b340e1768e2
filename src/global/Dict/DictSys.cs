// NAME
//	DictSys - stat(2) for table files (owner, mode)
// DESCRIPTION
//	postmap builds a table as the owner of its source file and with the
//	source's read permissions; .NET exposes the mode but not the owner.
//	Layout of struct stat is that of Linux x86-64/aarch64 glibc (the
//	only targets this build publishes for).
using System;
using System.Runtime.InteropServices;

namespace Postfix.Global.Dict;

public static partial class DictSys
{
    [LibraryImport("libc", EntryPoint = "stat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int StatRaw(string path, Span<byte> buf);

    [LibraryImport("libc", EntryPoint = "fstat", SetLastError = true)]
    private static partial int FstatRaw(int fd, Span<byte> buf);

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static partial int FcntlLock(int fd, int cmd, ref FlockStruct lk);

    [StructLayout(LayoutKind.Sequential)]
    private struct FlockStruct
    {
        public short Type;
        public short Whence;
        public long Start;
        public long Len;
        public int Pid;
    }

    public const int LockShared = 0;     // F_RDLCK
    public const int LockExclusive = 1;  // F_WRLCK
    public const int LockNone = 2;       // F_UNLCK

    // FcntlLock - myflock(fd, MYFLOCK_STYLE_FCNTL, op): wait for a whole-file
    // lock of the given kind, or release it; false (errno set) on failure.
    // Postfix programs lock lmdb files this way around each access.
    public static bool Lock(int fd, int kind)
    {
        var lk = new FlockStruct { Type = (short)kind, Whence = 0, Start = 0, Len = 0 };
        const int F_SETLKW = 7;
        int rc;
        while ((rc = FcntlLock(fd, F_SETLKW, ref lk)) < 0 && Marshal.GetLastPInvokeError() == 4)
        {
            // EINTR: try again.
        }
        return rc == 0;
    }

    // Stat - owner, group and mode of path; false (errno set) on failure.
    public static bool Stat(string path, out uint uid, out uint gid, out int mode)
    {
        Span<byte> buf = stackalloc byte[256];
        uid = gid = 0;
        mode = 0;
        if (StatRaw(path, buf) < 0)
            return false;
        Decode(buf, out uid, out gid, out mode);
        return true;
    }

    // Fstat - the same for an open descriptor.
    public static bool Fstat(int fd, out uint uid, out uint gid, out int mode)
    {
        Span<byte> buf = stackalloc byte[256];
        uid = gid = 0;
        mode = 0;
        if (FstatRaw(fd, buf) < 0)
            return false;
        Decode(buf, out uid, out gid, out mode);
        return true;
    }

    private static void Decode(ReadOnlySpan<byte> buf, out uint uid, out uint gid, out int mode)
    {
        if (RuntimeInformation.ProcessArchitecture == Architecture.Arm64)
        {
            // aarch64 (generic layout): dev, ino, mode(u32), nlink(u32), uid, gid.
            mode = BitConverter.ToInt32(buf[16..]);
            uid = BitConverter.ToUInt32(buf[24..]);
            gid = BitConverter.ToUInt32(buf[28..]);
        }
        else
        {
            // x86-64: dev, ino, nlink(u64), mode(u32), uid, gid.
            mode = BitConverter.ToInt32(buf[24..]);
            uid = BitConverter.ToUInt32(buf[28..]);
            gid = BitConverter.ToUInt32(buf[32..]);
        }
    }
}
