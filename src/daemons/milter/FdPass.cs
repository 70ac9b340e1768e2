// NAME
//	FdPass - send and receive a file descriptor over a UNIX-domain socket
// POSTFIX
//	src/util/unix_send_fd.c, unix_recv_fd.c
// DESCRIPTION
//	One data byte with an SCM_RIGHTS control message, as the reference
//	sends a milter socket from smtpd to cleanup.
using System;
using System.Runtime.InteropServices;

namespace Postfix.Milter;

internal static unsafe partial class FdPass
{
    [StructLayout(LayoutKind.Sequential)]
    private struct IoVec
    {
        public void* Base;
        public nuint Len;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct MsgHdr
    {
        public void* Name;
        public uint NameLen;
        public IoVec* Iov;
        public nuint IovLen;
        public void* Control;
        public nuint ControlLen;
        public int Flags;
    }

    private const int SolSocket = 1, ScmRights = 1;
    private const int CmsgHdrSize = 16;       // size_t len, int level, int type
    private const int ControlSpace = 24;      // CMSG_SPACE(sizeof(int))

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint sendmsg(int fd, MsgHdr* msg, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint recvmsg(int fd, MsgHdr* msg, int flags);

    // Send - unix_send_fd(): 0, or -1 with errno.
    public static int Send(int fd, int sendFd)
    {
        byte data = 0;
        var control = stackalloc byte[ControlSpace];
        new Span<byte>(control, ControlSpace).Clear();
        *(nuint*)control = CmsgHdrSize + sizeof(int);
        *(int*)(control + 8) = SolSocket;
        *(int*)(control + 12) = ScmRights;
        *(int*)(control + CmsgHdrSize) = sendFd;
        var iov = new IoVec { Base = &data, Len = 1 };
        var msg = new MsgHdr { Iov = &iov, IovLen = 1, Control = control, ControlLen = ControlSpace };
        return sendmsg(fd, &msg, 0) >= 0 ? 0 : -1;
    }

    // Receive - unix_recv_fd(): the descriptor, or -1.
    public static int Receive(int fd)
    {
        byte data = 0;
        var control = stackalloc byte[ControlSpace];
        new Span<byte>(control, ControlSpace).Clear();
        var iov = new IoVec { Base = &data, Len = 1 };
        var msg = new MsgHdr { Iov = &iov, IovLen = 1, Control = control, ControlLen = ControlSpace };
        if (recvmsg(fd, &msg, 0) < 0)
            return -1;
        if (msg.ControlLen < CmsgHdrSize + sizeof(int)
            || *(int*)(control + 8) != SolSocket || *(int*)(control + 12) != ScmRights)
            return -1;
        return *(int*)(control + CmsgHdrSize);
    }
}
