// NAME
//	Native - the few libc calls only postfix(1) needs
// DESCRIPTION
//	mkdir(2), lchown(2), access(2), execve(2), strsignal(3) (the environment is passed
//	explicitly: .NET does not update environ when a variable is set)
//	and strftime(3) on the local time.
using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using System.Text;
using Postfix.Util;

namespace Postfix.Commands.Control;

internal static partial class Native
{
    [LibraryImport("libc", EntryPoint = "mkdir", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Mkdir(string path, int mode);

    [LibraryImport("libc", EntryPoint = "lchown", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Lchown(string path, uint uid, uint gid);

    [LibraryImport("libc", EntryPoint = "access", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int AccessRaw(string path, int mode);

    // Access - access(2): true when the real ids may (4 read, 2 write, 1 x).
    public static bool Access(string path, int mode) => AccessRaw(path, mode) == 0;

    [LibraryImport("libc", EntryPoint = "execve", SetLastError = true)]
    private static unsafe partial int ExecveRaw(byte* path, byte** argv, byte** envp);

    [LibraryImport("libc", EntryPoint = "time")]
    private static partial long Time(nint unused);

    [LibraryImport("libc", EntryPoint = "localtime_r")]
    private static unsafe partial nint LocalTime(long* t, byte* tm);

    [LibraryImport("libc", EntryPoint = "strftime")]
    private static unsafe partial nuint StrFTime(byte* buf, nuint max, byte* format, byte* tm);

    [LibraryImport("libc", EntryPoint = "strsignal")]
    private static partial nint StrSignalRaw(int sig);

    // StrSignal - the description of a signal ("Terminated").
    public static string StrSignal(int sig) => Marshal.PtrToStringUTF8(StrSignalRaw(sig)) ?? $"Signal {sig}";

    // Exec - execve(path, argv, current environment); returns only on error.
    public static unsafe void Exec(string path, IReadOnlyList<string> argv)
    {
        var env = Sys.CurrentEnvironment();
        var blocks = new List<byte[]>();
        byte[] Z(string s)
        {
            var b = new byte[Encoding.UTF8.GetByteCount(s) + 1];
            Encoding.UTF8.GetBytes(s, b);
            blocks.Add(b);
            return b;
        }
        var handles = new List<GCHandle>();
        try
        {
            byte* Pin(string s)
            {
                var h = GCHandle.Alloc(Z(s), GCHandleType.Pinned);
                handles.Add(h);
                return (byte*)h.AddrOfPinnedObject();
            }
            var cargv = new nint[argv.Count + 1];
            for (var i = 0; i < argv.Count; i++)
                cargv[i] = (nint)Pin(argv[i]);
            var cenv = new nint[env.Count + 1];
            for (var i = 0; i < env.Count; i++)
                cenv[i] = (nint)Pin(env[i]);
            var cpath = Pin(path);
            fixed (nint* pa = cargv)
            fixed (nint* pe = cenv)
                ExecveRaw(cpath, (byte**)pa, (byte**)pe);
        }
        finally
        {
            foreach (var h in handles)
                h.Free();
        }
    }

    // FormatNow - strftime(format) of the local time; null when it fails.
    public static unsafe string? FormatNow(string format)
    {
        var tm = stackalloc byte[128];
        var now = Time(0);
        if (LocalTime(&now, tm) == 0)
            return null;
        var fmt = Encoding.UTF8.GetBytes(format + "\0");
        var buf = new byte[4096];
        fixed (byte* pf = fmt)
        fixed (byte* pb = buf)
        {
            var n = StrFTime(pb, (nuint)buf.Length, pf, tm);
            if (n == 0 && format.Length > 0)
                return null;
            return Encoding.UTF8.GetString(buf, 0, (int)n);
        }
    }
}
