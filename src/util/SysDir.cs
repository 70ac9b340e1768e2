// NAME
//	Sys (directories) - lstat, rmdir, utime, and raw readdir order
// POSTFIX
//	src/util/scan_dir.c, src/util/warn_stat.c
// DESCRIPTION
//	Queue tools walk directories in the order readdir(3) returns the
//	entries, and modify them while they walk, as Postfix does; .NET's
//	enumeration hides both. DirStream is one open directory: Next()
//	returns the next name ("." and ".." included) or null at the end.
//	LStat fills the same FileStat as Stat, without following a link.
using System;
using System.Runtime.InteropServices;
using System.Text;

namespace Postfix.Util;

public static partial class Sys
{
    public const uint S_IFMT = 0xf000;
    public const uint S_IFDIR = 0x4000;
    public const uint S_IFREG = 0x8000;
    public const int ENOTEMPTY = 39;

    [LibraryImport("libc", EntryPoint = "lstat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int LStatRaw(string path, Span<byte> buf);

    [LibraryImport("libc", EntryPoint = "rmdir", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Rmdir(string path);

    [LibraryImport("libc", EntryPoint = "remove", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Remove(string path);

    [LibraryImport("libc", EntryPoint = "utime", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int UtimeRaw(string path, in UtimBuf times);

    [LibraryImport("libc", EntryPoint = "opendir", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial nint OpenDir(string path);

    [LibraryImport("libc", EntryPoint = "readdir64", SetLastError = true)]
    internal static partial nint ReadDir(nint dir);

    [LibraryImport("libc", EntryPoint = "closedir", SetLastError = true)]
    internal static partial int CloseDir(nint dir);

    [StructLayout(LayoutKind.Sequential)]
    private readonly struct UtimBuf
    {
        public readonly long ActTime;
        public readonly long ModTime;

        public UtimBuf(long act, long mod)
        {
            ActTime = act;
            ModTime = mod;
        }
    }

    // Utime - utime(2): set both times; -1 with errno on failure.
    public static int Utime(string path, long time) => UtimeRaw(path, new UtimBuf(time, time));

    // LStat - lstat(2) on x86_64 glibc; false (errno set) when it fails.
    public static bool LStat(string path, out FileStat st) => LStat(path, out st, out _);

    // LStat - also the status change time (st_ctime).
    public static bool LStat(string path, out FileStat st, out long ctime)
    {
        Span<byte> buf = stackalloc byte[144];
        if (LStatRaw(path, buf) != 0)
        {
            st = default;
            ctime = 0;
            return false;
        }
        ctime = BitConverter.ToInt64(buf[104..112]);
        st = new FileStat(
            BitConverter.ToUInt64(buf[0..8]), BitConverter.ToUInt64(buf[8..16]), BitConverter.ToUInt64(buf[16..24]),
            BitConverter.ToUInt32(buf[24..28]), BitConverter.ToUInt32(buf[28..32]), BitConverter.ToUInt32(buf[32..36]),
            BitConverter.ToInt64(buf[48..56]), BitConverter.ToInt64(buf[88..96]));
        return true;
    }

    public static bool IsDir(uint mode) => (mode & S_IFMT) == S_IFDIR;

    public static bool IsReg(uint mode) => (mode & S_IFMT) == S_IFREG;
}

// DirStream - one opendir() stream; names in readdir order.
public sealed class DirStream : IDisposable
{
    private nint dir;

    private DirStream(nint dir, string path)
    {
        this.dir = dir;
        Path = path;
    }

    public string Path { get; }

    // Open - opendir(); null with errno set when it fails.
    public static DirStream? Open(string path)
    {
        var d = Sys.OpenDir(path);
        return d == 0 ? null : new DirStream(d, path);
    }

    // Next - the next entry name, or null at the end (errno 0) or on error.
    public unsafe string? Next()
    {
        if (dir == 0)
            return null;
        Marshal.SetLastPInvokeError(0);
        var ent = Sys.ReadDir(dir);
        if (ent == 0)
            return null;
        var name = (byte*)ent + 19; // struct dirent64: ino, off, reclen, type, name
        var len = 0;
        while (name[len] != 0)
            len++;
        return Encoding.UTF8.GetString(name, len);
    }

    // Close - closedir(); false with errno set when it fails.
    public bool Close()
    {
        if (dir == 0)
            return true;
        var r = Sys.CloseDir(dir);
        dir = 0;
        return r == 0;
    }

    public void Dispose() => Close();
}
