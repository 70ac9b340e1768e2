// NAME
//	Sys.SendFd, Sys.ReceiveFd - pass a descriptor over a UNIX-domain socket
// POSTFIX
//	src/util/unix_send_fd.c, unix_recv_fd.c
// DESCRIPTION
//	One data byte travels with an SCM_RIGHTS control message that holds
//	the descriptor: the way postscreen hands a client to smtpd (a
//	master.cf "pass" service) and smtpd hands a milter socket on.
using System;
using System.Runtime.InteropServices;

namespace Postfix.Util;

public static unsafe partial class Sys
{
    [StructLayout(LayoutKind.Sequential)]
    private struct PassIoVec
    {
        public void* Base;
        public nuint Len;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct PassMsgHdr
    {
        public void* Name;
        public uint NameLen;
        public PassIoVec* Iov;
        public nuint IovLen;
        public void* Control;
        public nuint ControlLen;
        public int Flags;
    }

    private const int PassSolSocket = 1, PassScmRights = 1;
    private const int PassCmsgHdrSize = 16;   // size_t len, int level, int type
    private const int PassControlSpace = 24;  // CMSG_SPACE(sizeof(int))

    [LibraryImport("libc", EntryPoint = "sendmsg", SetLastError = true)]
    private static partial nint SendMsg(int fd, PassMsgHdr* msg, int flags);

    [LibraryImport("libc", EntryPoint = "recvmsg", SetLastError = true)]
    private static partial nint RecvMsg(int fd, PassMsgHdr* msg, int flags);

    // SendFd - 0, or -1 with errno set.
    public static int SendFd(int fd, int sendFd)
    {
        byte data = 0;
        var control = stackalloc byte[PassControlSpace];
        new Span<byte>(control, PassControlSpace).Clear();
        *(nuint*)control = PassCmsgHdrSize + sizeof(int);
        *(int*)(control + 8) = PassSolSocket;
        *(int*)(control + 12) = PassScmRights;
        *(int*)(control + PassCmsgHdrSize) = sendFd;
        var iov = new PassIoVec { Base = &data, Len = 1 };
        var msg = new PassMsgHdr { Iov = &iov, IovLen = 1, Control = control, ControlLen = PassControlSpace };
        nint n;
        do
            n = SendMsg(fd, &msg, 0);
        while (n < 0 && Marshal.GetLastPInvokeError() == EINTR);
        return n >= 0 ? 0 : -1;
    }

    // ReceiveFd - the descriptor received (close-on-exec), or -1.
    public static int ReceiveFd(int fd)
    {
        const int MsgCmsgCloexec = 0x40000000;
        byte data = 0;
        var control = stackalloc byte[PassControlSpace];
        new Span<byte>(control, PassControlSpace).Clear();
        var iov = new PassIoVec { Base = &data, Len = 1 };
        var msg = new PassMsgHdr { Iov = &iov, IovLen = 1, Control = control, ControlLen = PassControlSpace };
        nint n;
        do
            n = RecvMsg(fd, &msg, MsgCmsgCloexec);
        while (n < 0 && Marshal.GetLastPInvokeError() == EINTR);
        if (n < 0)
            return -1;
        if (msg.ControlLen < PassCmsgHdrSize + sizeof(int)
            || *(int*)(control + 8) != PassSolSocket || *(int*)(control + 12) != PassScmRights)
            return -1;
        return *(int*)(control + PassCmsgHdrSize);
    }
}
