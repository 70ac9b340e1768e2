// NAME
//	Sys (processes and descriptors) - the libc calls daemons need
// DESCRIPTION
//	Raw descriptors, pipes, poll(2), signals, waitpid, user and group
//	lookup, and posix_spawn with an explicit descriptor map: the master
//	hands each child its listen sockets and status pipe at fixed
//	numbers, which .NET's Process class cannot do.
using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using System.Text;

namespace Postfix.Util;

public static partial class Sys
{
    public const int EINTR = 4;
    public const int EAGAIN = 11;
    public const int EPIPE = 32;
    public const int ECONNREFUSED = 111;
    public const int ESRCH = 3;
    public const int ECHILD = 10;

    public const int O_RDONLY = 0;
    public const int O_WRONLY = 1;
    public const int O_RDWR = 2;
    public const int O_CREAT = 0x40;
    public const int O_EXCL = 0x80;
    public const int O_NOCTTY = 0x100;
    public const int O_TRUNC = 0x200;
    public const int O_APPEND = 0x400;
    public const int O_NONBLOCK = 0x800;
    public const int O_NOFOLLOW = 0x20000;
    public const int O_CLOEXEC = 0x80000;

    public const short POLLIN = 1;
    public const short POLLOUT = 4;
    public const short POLLERR = 8;
    public const short POLLHUP = 16;
    public const short POLLNVAL = 32;

    public const int SIGHUP = 1;
    public const int SIGINT = 2;
    public const int SIGQUIT = 3;
    public const int SIGKILL = 9;
    public const int SIGPIPE = 13;
    public const int SIGALRM = 14;
    public const int SIGTERM = 15;
    public const int SIGCHLD = 17;

    public const int WNOHANG = 1;

    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short REvents;
    }

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    private static unsafe partial int PollRaw(PollFd* fds, nuint nfds, int timeout);

    // Poll - poll(2) over fds; returns the count of ready entries, 0 on
    // timeout, -1 with errno (EINTR when a signal arrived).
    public static unsafe int Poll(Span<PollFd> fds, int timeoutMs)
    {
        fixed (PollFd* p = fds)
            return PollRaw(p, (nuint)fds.Length, timeoutMs);
    }

    [LibraryImport("libc", EntryPoint = "pipe2", SetLastError = true)]
    private static unsafe partial int Pipe2Raw(int* fds, int flags);

    // Pipe - pipe2(2); returns false with errno on failure.
    public static unsafe bool Pipe(out int readFd, out int writeFd, int flags = O_CLOEXEC)
    {
        var fds = stackalloc int[2];
        if (Pipe2Raw(fds, flags) != 0)
        {
            readFd = writeFd = -1;
            return false;
        }
        readFd = fds[0];
        writeFd = fds[1];
        return true;
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(string path, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "dup2", SetLastError = true)]
    public static partial int Dup2(int from, int to);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    private static unsafe partial nint ReadRaw(int fd, byte* buf, nuint count);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    private static unsafe partial nint WriteRaw(int fd, byte* buf, nuint count);

    public static unsafe nint Read(int fd, Span<byte> buf)
    {
        fixed (byte* p = buf)
            return ReadRaw(fd, p, (nuint)buf.Length);
    }

    public static unsafe nint Write(int fd, ReadOnlySpan<byte> buf)
    {
        fixed (byte* p = buf)
            return WriteRaw(fd, p, (nuint)buf.Length);
    }

    // WriteAll - write every byte, retrying on EINTR; false on error.
    public static bool WriteAll(int fd, ReadOnlySpan<byte> buf)
    {
        while (buf.Length > 0)
        {
            var n = Write(fd, buf);
            if (n < 0)
            {
                if (Marshal.GetLastPInvokeError() == EINTR)
                    continue;
                return false;
            }
            buf = buf[(int)n..];
        }
        return true;
    }

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static partial int Fcntl(int fd, int cmd, int arg);

    private const int F_GETFD = 1;
    private const int F_SETFD = 2;
    private const int F_GETFL = 3;
    private const int F_SETFL = 4;
    private const int FD_CLOEXEC = 1;

    // CloseOnExec - set or clear FD_CLOEXEC.
    public static bool CloseOnExec(int fd, bool on)
    {
        var flags = Fcntl(fd, F_GETFD, 0);
        if (flags < 0)
            return false;
        return Fcntl(fd, F_SETFD, on ? flags | FD_CLOEXEC : flags & ~FD_CLOEXEC) == 0;
    }

    // DupCloexec - a new descriptor for the same open file, close-on-exec.
    public static int DupCloexec(int fd) => Fcntl(fd, 1030 /* F_DUPFD_CLOEXEC */, 0);

    // NonBlocking - set or clear O_NONBLOCK.
    public static bool NonBlocking(int fd, bool on)
    {
        var flags = Fcntl(fd, F_GETFL, 0);
        if (flags < 0)
            return false;
        return Fcntl(fd, F_SETFL, on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK) == 0;
    }

    // FdIsOpen - whether fd refers to an open file.
    public static bool FdIsOpen(int fd) => Fcntl(fd, F_GETFD, 0) >= 0;

    [LibraryImport("libc", EntryPoint = "isatty")]
    public static partial int IsATty(int fd);

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    public static partial int Kill(int pid, int sig);

    [LibraryImport("libc", EntryPoint = "waitpid", SetLastError = true)]
    public static partial int WaitPid(int pid, out int status, int options);

    public static bool WIfExited(int status) => (status & 0x7f) == 0;

    public static int WExitStatus(int status) => (status >> 8) & 0xff;

    public static bool WIfSignaled(int status) => (status & 0x7f) != 0 && (status & 0x7f) != 0x7f;

    public static int WTermSig(int status) => status & 0x7f;

    [LibraryImport("libc", EntryPoint = "setsid", SetLastError = true)]
    public static partial int SetSid();

    [LibraryImport("libc", EntryPoint = "getppid")]
    public static partial int GetPPid();

    [LibraryImport("libc", EntryPoint = "chdir", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Chdir(string path);

    [LibraryImport("libc", EntryPoint = "mkfifo", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int MkFifo(string path, int mode);

    [LibraryImport("libc", EntryPoint = "setgroups", SetLastError = true)]
    private static unsafe partial int SetGroupsRaw(nuint size, uint* list);

    [LibraryImport("libc", EntryPoint = "initgroups", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int InitGroups(string user, uint gid);

    // SetGroups - setgroups(2) with one group.
    public static unsafe int SetGroups(uint gid)
    {
        var g = gid;
        return SetGroupsRaw(1, &g);
    }

    [LibraryImport("libc", EntryPoint = "getpwnam")]
    private static partial nint GetPwNamRaw([MarshalAs(UnmanagedType.LPUTF8Str)] string name);

    [LibraryImport("libc", EntryPoint = "getpwuid")]
    private static partial nint GetPwUidRaw(uint uid);

    [LibraryImport("libc", EntryPoint = "getgrnam")]
    private static partial nint GetGrNamRaw([MarshalAs(UnmanagedType.LPUTF8Str)] string name);

    [LibraryImport("libc", EntryPoint = "getgrgid")]
    private static partial nint GetGrGidRaw(uint gid);

    // Passwd - the fields of struct passwd that Postfix uses.
    public sealed record Passwd(string Name, uint Uid, uint Gid, string Gecos, string Dir, string Shell);

    private static unsafe Passwd? ToPasswd(nint p)
    {
        if (p == 0)
            return null;
        // struct passwd { name; passwd; uid; gid; gecos; dir; shell; } on LP64.
        var b = (byte*)p;
        return new Passwd(
            Marshal.PtrToStringUTF8(*(nint*)b) ?? "",
            *(uint*)(b + 16), *(uint*)(b + 20),
            Marshal.PtrToStringUTF8(*(nint*)(b + 24)) ?? "",
            Marshal.PtrToStringUTF8(*(nint*)(b + 32)) ?? "",
            Marshal.PtrToStringUTF8(*(nint*)(b + 40)) ?? "");
    }

    public static Passwd? GetPwNam(string name) => ToPasswd(GetPwNamRaw(name));

    public static Passwd? GetPwUid(uint uid) => ToPasswd(GetPwUidRaw(uid));

    // GetGrNam - the gid of a group name, or null.
    public static unsafe uint? GetGrNam(string name)
    {
        var p = GetGrNamRaw(name);
        return p == 0 ? null : *(uint*)((byte*)p + 16);
    }

    // GetGrName - the name of a gid, or null.
    public static unsafe string? GetGrName(uint gid)
    {
        var p = GetGrGidRaw(gid);
        return p == 0 ? null : Marshal.PtrToStringUTF8(*(nint*)p);
    }

    [LibraryImport("libc", EntryPoint = "posix_spawn_file_actions_init")]
    private static unsafe partial int FileActionsInit(byte* fa);

    [LibraryImport("libc", EntryPoint = "posix_spawn_file_actions_destroy")]
    private static unsafe partial int FileActionsDestroy(byte* fa);

    [LibraryImport("libc", EntryPoint = "posix_spawn_file_actions_adddup2")]
    private static unsafe partial int FileActionsAddDup2(byte* fa, int fd, int newfd);

    [LibraryImport("libc", EntryPoint = "posix_spawn_file_actions_addclose")]
    private static unsafe partial int FileActionsAddClose(byte* fa, int fd);

    [LibraryImport("libc", EntryPoint = "posix_spawnattr_init")]
    private static unsafe partial int SpawnAttrInit(byte* attr);

    [LibraryImport("libc", EntryPoint = "posix_spawnattr_destroy")]
    private static unsafe partial int SpawnAttrDestroy(byte* attr);

    [LibraryImport("libc", EntryPoint = "posix_spawnattr_setflags")]
    private static unsafe partial int SpawnAttrSetFlags(byte* attr, short flags);

    [LibraryImport("libc", EntryPoint = "posix_spawnattr_setsigdefault")]
    private static unsafe partial int SpawnAttrSetSigDefault(byte* attr, byte* sigset);

    [LibraryImport("libc", EntryPoint = "posix_spawnattr_setsigmask")]
    private static unsafe partial int SpawnAttrSetSigMask(byte* attr, byte* sigset);

    [LibraryImport("libc", EntryPoint = "posix_spawn")]
    private static unsafe partial int PosixSpawn(out int pid, byte* path, byte* fileActions, byte* attr, byte** argv, byte** envp);

    [LibraryImport("libc", EntryPoint = "posix_spawn_file_actions_addchdir_np", StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int FileActionsAddChdir(byte* fa, string path);

    [LibraryImport("libc", EntryPoint = "setresuid", SetLastError = true)]
    private static partial int SetResUid(uint ruid, uint euid, uint suid);

    [LibraryImport("libc", EntryPoint = "setresgid", SetLastError = true)]
    private static partial int SetResGid(uint rgid, uint egid, uint sgid);

    [LibraryImport("libc", EntryPoint = "getgroups", SetLastError = true)]
    private static unsafe partial int GetGroupsRaw(int size, uint* list);

    private const short PosixSpawnResetIds = 0x01;
    private const short PosixSpawnSetSigDef = 0x04;
    private const short PosixSpawnSetSigMask = 0x08;
    private const short PosixSpawnSetSid = 0x80;
    private const uint KeepId = uint.MaxValue;

    // SpawnOptions - what else the child gets: its own session (so that
    // a process group kill reaches its offspring), a working directory,
    // and, for a caller whose real or saved user ID is root, a user and
    // group (one supplementary group, as set_ugid() gives). The child
    // switches identity before exec; the caller's IDs are restored.
    public sealed class SpawnOptions
    {
        public bool NewSession { get; init; }

        public string? Directory { get; init; }

        public uint? Uid { get; init; }

        public uint? Gid { get; init; }
    }

    private static unsafe uint[] GetGroups()
    {
        var n = GetGroupsRaw(0, null);
        if (n <= 0)
            return [];
        var list = new uint[n];
        fixed (uint* p = list)
            n = GetGroupsRaw(n, p);
        return n < 0 ? [] : list[..n];
    }

    private static unsafe int SetGroupList(uint[] list)
    {
        fixed (uint* p = list)
            return SetGroupsRaw((nuint)list.Length, p);
    }

    // Spawn - as below, with the extra child settings of options.
    public static int Spawn(string path, IReadOnlyList<string> argv, IReadOnlyList<string>? envp,
        IReadOnlyList<(int From, int To)> fdMap, SpawnOptions options, out int errno)
    {
        if (options.Uid is not { } uid)
            return SpawnCore(path, argv, envp, fdMap, options, out errno);
        var gid = options.Gid ?? GetEgid();
        uint ruid = GetUid(), euid = GetEuid(), rgid = GetGid(), egid = GetEgid();
        var groups = GetGroups();
        // The real IDs become the child's; POSIX_SPAWN_RESETIDS makes them
        // effective in the child, and exec makes them the saved IDs too.
        if ((euid != 0 && SetEuid(0) != 0) || SetGroups(gid) != 0
            || SetResGid(gid, KeepId, KeepId) != 0 || SetResUid(uid, KeepId, KeepId) != 0)
        {
            errno = Marshal.GetLastPInvokeError();
            RestoreIds(ruid, euid, rgid, egid, groups);
            return -1;
        }
        try
        {
            return SpawnCore(path, argv, envp, fdMap, options, out errno);
        }
        finally
        {
            RestoreIds(ruid, euid, rgid, egid, groups);
        }
    }

    private static void RestoreIds(uint ruid, uint euid, uint rgid, uint egid, uint[] groups)
    {
        SetEuid(0);
        SetResUid(ruid, KeepId, KeepId);
        SetResGid(rgid, KeepId, KeepId);
        SetGroupList(groups);
        SetEgid(egid);
        if (euid != 0)
            SetEuid(euid);
    }

    // Spawn - start path with argv and envp; fdMap[i] = (from, to) puts
    // descriptor "from" of this process at "to" in the child (every other
    // descriptor keeps its close-on-exec setting). Signals return to their
    // defaults and the signal mask is cleared in the child. Returns the
    // pid, or -1 with the error number in errno.
    public static int Spawn(string path, IReadOnlyList<string> argv, IReadOnlyList<string>? envp,
        IReadOnlyList<(int From, int To)> fdMap, out int errno) => SpawnCore(path, argv, envp, fdMap, null, out errno);

    private static unsafe int SpawnCore(string path, IReadOnlyList<string> argv, IReadOnlyList<string>? envp,
        IReadOnlyList<(int From, int To)> fdMap, SpawnOptions? options, out int errno)
    {
        var fa = stackalloc byte[128];
        var attr = stackalloc byte[512];
        var sigset = stackalloc byte[128];
        FileActionsInit(fa);
        SpawnAttrInit(attr);
        var handles = new List<GCHandle>();
        try
        {
            // Two passes so that one mapping cannot clobber the source of
            // another: first up to scratch numbers, then down into place.
            const int Scratch = 200;
            for (var i = 0; i < fdMap.Count; i++)
                FileActionsAddDup2(fa, fdMap[i].From, Scratch + i);
            for (var i = 0; i < fdMap.Count; i++)
                FileActionsAddDup2(fa, Scratch + i, fdMap[i].To);
            for (var i = 0; i < fdMap.Count; i++)
                FileActionsAddClose(fa, Scratch + i);

            for (var i = 0; i < 128; i++)
                sigset[i] = 0xff;
            SpawnAttrSetSigDefault(attr, sigset);
            for (var i = 0; i < 128; i++)
                sigset[i] = 0;
            SpawnAttrSetSigMask(attr, sigset);
            var spawnFlags = PosixSpawnSetSigDef | PosixSpawnSetSigMask;
            if (options?.NewSession == true)
                spawnFlags |= PosixSpawnSetSid;
            if (options?.Uid != null)
                spawnFlags |= PosixSpawnResetIds;
            SpawnAttrSetFlags(attr, (short)spawnFlags);
            if (options?.Directory is { } dir)
                FileActionsAddChdir(fa, dir);

            var cpath = Pin(path, handles);
            var cargv = stackalloc byte*[argv.Count + 1];
            for (var i = 0; i < argv.Count; i++)
                cargv[i] = Pin(argv[i], handles);
            cargv[argv.Count] = null;
            var env = envp ?? CurrentEnvironment();
            var cenv = new byte*[env.Count + 1];
            for (var i = 0; i < env.Count; i++)
                cenv[i] = Pin(env[i], handles);
            cenv[env.Count] = null;
            fixed (byte** penv = cenv)
            {
                var rc = PosixSpawn(out var pid, cpath, fa, attr, cargv, penv);
                errno = rc;
                return rc == 0 ? pid : -1;
            }
        }
        finally
        {
            FileActionsDestroy(fa);
            SpawnAttrDestroy(attr);
            foreach (var h in handles)
                h.Free();
        }
    }

    private static unsafe byte* Pin(string s, List<GCHandle> handles)
    {
        var bytes = new byte[Encoding.UTF8.GetByteCount(s) + 1];
        Encoding.UTF8.GetBytes(s, bytes);
        var h = GCHandle.Alloc(bytes, GCHandleType.Pinned);
        handles.Add(h);
        return (byte*)h.AddrOfPinnedObject();
    }

    // TryReadFile - the whole file, or null with errno (no exceptions: a
    // queue scan meets many files that vanished or never existed).
    public static byte[]? TryReadFile(string path, out int errno)
    {
        byte[] buf = new byte[4096];
        if (!TryReadFile(path, ref buf, out var length, out errno))
            return null;
        return length == buf.Length ? buf : buf.AsSpan(0, length).ToArray();
    }

    // TryReadFile - read into buf (grown when needed); the length read.
    public static bool TryReadFile(string path, ref byte[] buf, out int length, out int errno)
    {
        length = 0;
        var fd = Open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK, 0);
        if (fd < 0)
        {
            errno = Marshal.GetLastPInvokeError();
            return false;
        }
        try
        {
            var len = 0;
            while (true)
            {
                if (len == buf.Length)
                    Array.Resize(ref buf, buf.Length * 2);
                var n = Read(fd, buf.AsSpan(len));
                if (n < 0)
                {
                    errno = Marshal.GetLastPInvokeError();
                    if (errno == EINTR)
                        continue;
                    return false;
                }
                if (n == 0)
                    break;
                len += (int)n;
            }
            errno = 0;
            length = len;
            return true;
        }
        finally
        {
            Close(fd);
        }
    }

    // CurrentEnvironment - "NAME=value" for every environment variable.
    public static List<string> CurrentEnvironment()
    {
        var list = new List<string>();
        foreach (System.Collections.DictionaryEntry e in Environment.GetEnvironmentVariables())
            list.Add($"{e.Key}={e.Value}");
        return list;
    }
}
