// NAME
//	Native - the few libc calls sendmail needs beyond Postfix.Util.Sys
// POSTFIX
//	src/util/duplex_pipe.c, src/global/mail_run.c (execv),
//	src/util/file_limit.c
// DESCRIPTION
//	socketpair(2) for the postdrop conversation, execv(2) for the
//	commands that replace sendmail (postqueue, postalias, smtpd), and
//	RLIMIT_FSIZE for message_size_limit.
using System.Collections.Generic;
using System.Runtime.InteropServices;
using System.Text;

namespace Postfix.Commands.Sendmail;

internal static unsafe partial class Native
{
    private const int AfUnix = 1;
    private const int SockStream = 1;
    private const int SockCloexec = 0x80000;
    private const int RlimitFsize = 1;

    [LibraryImport("libc", EntryPoint = "socketpair", SetLastError = true)]
    private static partial int SocketPairRaw(int domain, int type, int protocol, int* fds);

    [LibraryImport("libc", EntryPoint = "execv", SetLastError = true)]
    private static partial int ExecvRaw(byte* path, byte** argv);

    [LibraryImport("libc", EntryPoint = "getrlimit", SetLastError = true)]
    private static partial int GetRlimit(int resource, long* rlim);

    [LibraryImport("libc", EntryPoint = "setrlimit", SetLastError = true)]
    private static partial int SetRlimit(int resource, long* rlim);

    // DuplexPipe - a connected pair of stream sockets (close-on-exec).
    public static bool DuplexPipe(out int a, out int b)
    {
        var fds = stackalloc int[2];
        if (SocketPairRaw(AfUnix, SockStream | SockCloexec, 0, fds) != 0)
        {
            a = b = -1;
            return false;
        }
        a = fds[0];
        b = fds[1];
        return true;
    }

    // Execv - replace this process; returns only on failure (errno set).
    public static void Execv(string path, IReadOnlyList<string> argv)
    {
        var handles = new List<GCHandle>();
        try
        {
            var cargv = stackalloc byte*[argv.Count + 1];
            for (var i = 0; i < argv.Count; i++)
                cargv[i] = Pin(argv[i], handles);
            cargv[argv.Count] = null;
            ExecvRaw(Pin(path, handles), cargv);
        }
        finally
        {
            foreach (var h in handles)
                h.Free();
        }
    }

    // Bytes of a Latin-1 string (sendmail keeps argv bytes as Latin-1 chars).
    private static byte* Pin(string s, List<GCHandle> handles)
    {
        var bytes = new byte[s.Length + 1];
        Encoding.Latin1.GetBytes(s, bytes);
        var h = GCHandle.Alloc(bytes, GCHandleType.Pinned);
        handles.Add(h);
        return (byte*)h.AddrOfPinnedObject();
    }

    // LimitFileSize - set_file_limit() when the current limit is larger.
    public static void LimitFileSize(long limit)
    {
        var rl = stackalloc long[2];
        if (GetRlimit(RlimitFsize, rl) != 0)
            return;
        if ((ulong)rl[0] <= (ulong)limit)
            return;
        rl[0] = limit;
        rl[1] = limit;
        SetRlimit(RlimitFsize, rl);
    }
}
