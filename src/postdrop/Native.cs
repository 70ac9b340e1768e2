// NAME
//	Native - libc calls postdrop needs beyond Postfix.Util.Sys
// POSTFIX
//	src/util/file_limit.c, src/postdrop/postdrop.c (signal set-up)
// DESCRIPTION
//	RLIMIT_FSIZE for message_size_limit, SIGXFSZ ignored (a write past
//	the limit then fails with EFBIG instead of killing the process),
//	and _exit() for the interrupt handler.
using System.Runtime.InteropServices;

namespace Postfix.Commands.Postdrop;

internal static unsafe partial class Native
{
    private const int RlimitFsize = 1;
    private const int SigXfsz = 25;
    private static readonly nint SigIgn = 1;

    [LibraryImport("libc", EntryPoint = "getrlimit", SetLastError = true)]
    private static partial int GetRlimit(int resource, long* rlim);

    [LibraryImport("libc", EntryPoint = "setrlimit", SetLastError = true)]
    private static partial int SetRlimit(int resource, long* rlim);

    [LibraryImport("libc", EntryPoint = "signal")]
    private static partial nint Signal(int sig, nint handler);

    [LibraryImport("libc", EntryPoint = "_exit")]
    public static partial void Exit(int status);

    public static void LimitFileSize(long limit)
    {
        var rl = stackalloc long[2];
        if (GetRlimit(RlimitFsize, rl) != 0 || (ulong)rl[0] <= (ulong)limit)
            return;
        rl[0] = limit;
        rl[1] = limit;
        SetRlimit(RlimitFsize, rl);
    }

    public static void IgnoreFileSizeSignal() => Signal(SigXfsz, SigIgn);
}
