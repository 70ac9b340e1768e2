// NAME
//	MasterChannel - the descriptors and status messages shared with master(8)
// POSTFIX
//	src/master/master_proto.h, master_proto.c
// DESCRIPTION
//	The master hands every child the same numbers: 3 and 4 the mail flow
//	pipe, 5 the status channel, 6 and up the listen sockets. A child
//	writes {pid, generation, available} to the status channel (native
//	int sizes, 12 bytes) when it takes a client and when it is idle
//	again; reading end-of-file there means the master is gone.
using System;
using System.Runtime.InteropServices;
using Postfix.Util;

namespace Postfix.Server;

public static class MasterChannel
{
    public const int FlowReadFd = 3;
    public const int FlowWriteFd = 4;
    public const int StatusFd = 5;
    public const int ListenFd = 6;

    public const int StatusTaken = 0;
    public const int StatusAvailable = 1;

    // Size of one status message.
    public const int StatusSize = 12;

    // Encode - one status message.
    public static void Encode(Span<byte> buf, int pid, uint generation, int avail)
    {
        MemoryMarshal.Write(buf, in pid);
        MemoryMarshal.Write(buf[4..], in generation);
        MemoryMarshal.Write(buf[8..], in avail);
    }

    // Decode - the fields of one status message.
    public static (int Pid, uint Generation, int Avail) Decode(ReadOnlySpan<byte> buf) =>
        (MemoryMarshal.Read<int>(buf), MemoryMarshal.Read<uint>(buf[4..]), MemoryMarshal.Read<int>(buf[8..]));

    // Notify - master_notify(); false when the master is gone.
    public static bool Notify(int pid, uint generation, bool available)
    {
        Span<byte> buf = stackalloc byte[StatusSize];
        Encode(buf, pid, generation, available ? StatusAvailable : StatusTaken);
        if (Sys.Write(StatusFd, buf) != StatusSize)
        {
            if (Msg.Verbose > 0)
                Msg.Info($"master_notify: status {(available ? 1 : 0)}: {Sys.LastError()}");
            return false;
        }
        return true;
    }

    // MasterGone - true when the status channel reports end-of-file.
    public static bool MasterGone()
    {
        Span<byte> b = stackalloc byte[1];
        return Sys.Read(StatusFd, b) <= 0;
    }
}
