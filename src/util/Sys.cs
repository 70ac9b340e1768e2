// NAME
//	Sys - the POSIX calls that .NET lacks or hides
// DESCRIPTION
//	One place for P/Invoke into libc. Callers read errno through
//	Marshal.GetLastPInvokeError() and print it with StrError(), the
//	text Postfix prints for %m.
using System;
using System.Runtime.InteropServices;

namespace Postfix.Util;

public static partial class Sys
{
    [LibraryImport("libc", EntryPoint = "umask")]
    public static partial int Umask(int mask);

    [LibraryImport("libc", EntryPoint = "getpid")]
    public static partial int GetPid();

    [LibraryImport("libc", EntryPoint = "getuid")]
    public static partial uint GetUid();

    [LibraryImport("libc", EntryPoint = "geteuid")]
    public static partial uint GetEuid();

    [LibraryImport("libc", EntryPoint = "getgid")]
    public static partial uint GetGid();

    [LibraryImport("libc", EntryPoint = "getegid")]
    public static partial uint GetEgid();

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    public static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "rename", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Rename(string from, string to);

    [LibraryImport("libc", EntryPoint = "link", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Link(string from, string to);

    [LibraryImport("libc", EntryPoint = "unlink", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Unlink(string path);

    [LibraryImport("libc", EntryPoint = "chmod", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Chmod(string path, int mode);

    [LibraryImport("libc", EntryPoint = "chown", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Chown(string path, uint uid, uint gid);

    [LibraryImport("libc", EntryPoint = "fchown", SetLastError = true)]
    public static partial int Fchown(int fd, uint uid, uint gid);

    [LibraryImport("libc", EntryPoint = "fchmod", SetLastError = true)]
    public static partial int Fchmod(int fd, int mode);

    [LibraryImport("libc", EntryPoint = "setuid", SetLastError = true)]
    public static partial int SetUid(uint uid);

    [LibraryImport("libc", EntryPoint = "setgid", SetLastError = true)]
    public static partial int SetGid(uint gid);

    [LibraryImport("libc", EntryPoint = "seteuid", SetLastError = true)]
    public static partial int SetEuid(uint uid);

    [LibraryImport("libc", EntryPoint = "setegid", SetLastError = true)]
    public static partial int SetEgid(uint gid);

    [LibraryImport("libc", EntryPoint = "chroot", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Chroot(string path);

    [LibraryImport("libc", EntryPoint = "flock", SetLastError = true)]
    public static partial int Flock(int fd, int operation);

    [LibraryImport("libc", EntryPoint = "gethostname", SetLastError = true)]
    private static partial int GetHostNameRaw(Span<byte> name, nint len);

    [LibraryImport("libc", EntryPoint = "getifaddrs", SetLastError = true)]
    private static partial int GetIfAddrsRaw(out nint ifap);

    [LibraryImport("libc", EntryPoint = "freeifaddrs")]
    private static partial void FreeIfAddrs(nint ifa);

    [LibraryImport("libc", EntryPoint = "stat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int StatRaw(string path, Span<byte> buf);

    [LibraryImport("libc", EntryPoint = "strerror")]
    private static partial nint StrErrorRaw(int errnum);

    public const int LOCK_SH = 1;
    public const int LOCK_EX = 2;
    public const int LOCK_NB = 4;
    public const int LOCK_UN = 8;

    public const int ENOENT = 2;
    public const int EACCES = 13;
    public const int EEXIST = 17;
    public const int ENOTDIR = 20;
    public const int EISDIR = 21;

    // StrError - the C library's text for errno, as %m prints it.
    public static string StrError(int errno) => Marshal.PtrToStringUTF8(StrErrorRaw(errno)) ?? $"Unknown error {errno}";

    // LastError - strerror text of the last failed P/Invoke call.
    public static string LastError() => StrError(Marshal.GetLastPInvokeError());

    // GetHostName - gethostname(2).
    public static string GetHostName()
    {
        Span<byte> buf = stackalloc byte[256];
        if (GetHostNameRaw(buf, buf.Length) != 0)
            return "localhost";
        var end = buf.IndexOf((byte)0);
        return System.Text.Encoding.UTF8.GetString(end < 0 ? buf : buf[..end]);
    }

    // ErrnoOf - errno for a .NET I/O exception (HResult carries it on Unix).
    public static int ErrnoOf(Exception e) => e switch
    {
        System.IO.FileNotFoundException => ENOENT,
        System.IO.DirectoryNotFoundException => ENOENT,
        UnauthorizedAccessException => EACCES,
        _ => e.HResult & 0xffff,
    };

    // ErrorText - the reason of a failed file operation as %m prints it
    // (strerror of its errno). Exception messages are not used: AOT builds
    // strip them to resource keys such as IO_FileNotFound_FileName.
    public static string ErrorText(Exception e) =>
        e is System.IO.IOException or UnauthorizedAccessException ? StrError(ErrnoOf(e)) : e.Message;

    // InterfaceAddress - one address of a network interface that is up.
    public readonly record struct InterfaceAddress(string Interface, byte[] Address, byte[] Mask);

    private const uint IffUp = 1;

    // InterfaceAddresses - getifaddrs(3): IPv4 (family 2) or IPv6 (family 10)
    // addresses of interfaces that are up, in the kernel's order.
    public static unsafe System.Collections.Generic.List<InterfaceAddress> InterfaceAddresses(int family)
    {
        var list = new System.Collections.Generic.List<InterfaceAddress>();
        if (GetIfAddrsRaw(out var head) != 0)
            return list;
        try
        {
            for (var p = head; p != 0;)
            {
                // struct ifaddrs { next; name; flags; addr; netmask; ... }
                var next = *(nint*)p;
                var name = Marshal.PtrToStringUTF8(*(nint*)(p + 8)) ?? "";
                var flags = *(uint*)(p + 16);
                var addr = *(nint*)(p + 24);
                var mask = *(nint*)(p + 32);
                p = next;
                if ((flags & IffUp) == 0 || addr == 0)
                    continue;
                var fam = *(ushort*)addr;
                if (fam != family || mask == 0)
                    continue;
                int off, len;
                if (fam == 2)
                {
                    off = 4;
                    len = 4;
                }
                else if (fam == 10)
                {
                    off = 8;
                    len = 16;
                }
                else
                {
                    continue;
                }
                var a = new ReadOnlySpan<byte>((byte*)addr + off, len).ToArray();
                var m = new ReadOnlySpan<byte>((byte*)mask + off, len).ToArray();
                if (Array.TrueForAll(a, b => b == 0))
                    continue;
                list.Add(new InterfaceAddress(name, a, m));
            }
        }
        finally
        {
            FreeIfAddrs(head);
        }
        return list;
    }

    // FileStat - the fields of struct stat that Postfix looks at.
    public readonly record struct FileStat(ulong Device, ulong Inode, ulong Links, uint Mode, uint Uid, uint Gid, long Size, long MTime);

    // Stat - stat(2) on x86_64 glibc; false (errno set) when it fails.
    public static bool Stat(string path, out FileStat st)
    {
        Span<byte> buf = stackalloc byte[144];
        if (StatRaw(path, buf) != 0)
        {
            st = default;
            return false;
        }
        st = new FileStat(
            BitConverter.ToUInt64(buf[0..8]), BitConverter.ToUInt64(buf[8..16]), BitConverter.ToUInt64(buf[16..24]),
            BitConverter.ToUInt32(buf[24..28]), BitConverter.ToUInt32(buf[28..32]), BitConverter.ToUInt32(buf[32..36]),
            BitConverter.ToInt64(buf[48..56]), BitConverter.ToInt64(buf[88..96]));
        return true;
    }
}
