// NAME
//	MailFlow - the mail flow tokens in the master's shared pipe
// POSTFIX
//	src/master/mail_flow.c
// DESCRIPTION
//	The master gives every child one pipe (read end 3, write end 4,
//	both non-blocking). The queue manager puts a token into it for
//	each message it takes in; mail receiving servers that ask for
//	in-flow control take one before each client and, when none is
//	there, pause $in_flow_delay seconds. Cleanup returns the token of a
//	message it files somewhere other than the incoming queue.
using System;
using System.Runtime.InteropServices;
using Postfix.Util;

namespace Postfix.Server;

public static partial class MailFlow
{
    // Enabled - set by the skeleton when the master handed down the pipe
    // (not in stand-alone mode, not in unit tests).
    public static bool Enabled { get; internal set; }

    // Get - take count tokens; the number taken, or -1 when there were
    // not enough.
    public static int Get(int count)
    {
        if (count <= 0)
            Msg.Panic($"mail_flow_get: bad length {count}");
        if (!Enabled)
            return -1;
        Span<byte> buf = stackalloc byte[Math.Min(count, 1024)];
        var left = count;
        while (left > 0)
        {
            var n = (int)Sys.Read(MasterChannel.FlowReadFd, buf[..Math.Min(left, buf.Length)]);
            if (n <= 0)
                return -1;
            left -= n;
        }
        if (Msg.Verbose > 0)
            Msg.Info($"mail_flow_get: {count} {count - left}");
        return count - left;
    }

    // Put - add count tokens; the number added, or -1.
    public static int Put(int count)
    {
        if (count <= 0)
            Msg.Panic($"mail_flow_put: bad length {count}");
        if (!Enabled)
            return -1;
        Span<byte> buf = stackalloc byte[Math.Min(count, 1024)];
        buf.Clear();
        var left = count;
        while (left > 0)
        {
            var n = (int)Sys.Write(MasterChannel.FlowWriteFd, buf[..Math.Min(left, buf.Length)]);
            if (n < 0)
                return -1;
            left -= n;
        }
        if (Msg.Verbose > 0)
            Msg.Info($"mail_flow_put: {count} {count - left}");
        return count - left;
    }

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    private static partial int Ioctl(int fd, ulong request, out int value);

    private const ulong FionRead = 0x541B;

    // Count - tokens waiting in the pipe, or -1.
    public static int Count()
    {
        if (Ioctl(MasterChannel.FlowReadFd, FionRead, out var n) < 0)
        {
            Msg.Warn($"mail_flow_count: {Sys.LastError()}");
            return -1;
        }
        return n;
    }

    // Delay - the in-flow pause: take a token, or wait for one at most
    // $in_flow_delay seconds. The reference sleeps the whole delay; we
    // go on as soon as the queue manager hands out a token again, so a
    // receiver stays no further ahead of the queue manager than the
    // reference lets it, but does not idle after it has caught up.
    internal static void Delay(ServerContext ctx)
    {
        if (Get(1) >= 0)
            return;
        var delay = ServerParams.Time(ctx.Conf, "in_flow_delay");
        if (delay <= 0)
            return;
        var deadline = Environment.TickCount64 + delay * 1000L;
        Span<Sys.PollFd> fds = stackalloc Sys.PollFd[1];
        for (long left; (left = deadline - Environment.TickCount64) > 0; )
        {
            // Readable means a token arrived; another receiver may take it
            // first, and then we wait again.
            fds[0] = new Sys.PollFd { Fd = MasterChannel.FlowReadFd, Events = Sys.POLLIN };
            if (Sys.Poll(fds, (int)left) < 0 && System.Runtime.InteropServices.Marshal.GetLastPInvokeError() != Sys.EINTR)
            {
                System.Threading.Thread.Sleep((int)left);
                return;
            }
            if (Get(1) >= 0)
                return;
        }
    }
}
