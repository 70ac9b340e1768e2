// NAME
//	MasterService - one master.cf entry as the master runs it
// POSTFIX
//	src/master/master.h (MASTER_SERV), src/master/master_ent.c
// DESCRIPTION
//	The service's endpoint (a path under public/ or private/, or
//	addresses and a port), its columns (private, unprivileged, chroot,
//	wakeup with the "?" form, process limit), the command and the
//	argument vector the child gets: the command name, then -l or -z
//	for limits of 1 or 0, -n when the service name differs from the
//	command, -t transport, -d/-v as the master runs, -u, -c,
//	"-o stress=" for public multi-process services, -s for several
//	sockets, then the master.cf arguments. Run-time state (listen
//	descriptors, status channel, processes) lives here too.
using System.Collections.Generic;
using System.Net;

namespace Postfix.Daemons.Master;

internal enum ServiceType
{
    Inet,
    Unix,
    UnixDgram,
    Fifo,
    Pass,
}

internal sealed class MasterService
{
    public required string ExtName { get; set; }

    public required ServiceType Type { get; init; }

    public required string Transport { get; init; }

    // Name - endpoint: "private/cleanup", "public/pickup", "25", "[127.0.0.1]:25".
    public required string Name { get; init; }

    public List<IPAddress> InetAddresses { get; } = new();

    public int InetPort { get; set; }

    public bool LocalOnly { get; set; }

    public int WakeupTime { get; set; }

    public bool ConditionalWakeup { get; set; }

    public int MaxProc { get; set; }

    public int ThrottleDelay { get; set; }

    public required string Path { get; set; }

    public List<string> Args { get; set; } = new();

    // StressArg - index of the "stress=" argument, or -1.
    public int StressArg { get; set; } = -1;

    public int ListenFdCount { get; set; } = 1;

    // Run-time state.
    public int[] ListenFds { get; set; } = [];

    public int StatusRead { get; set; } = -1;

    public int StatusWrite { get; set; } = -1;

    public int AvailProc { get; set; }

    public int TotalProc { get; set; }

    public bool Throttled { get; set; }

    public long UnthrottleAt { get; set; }

    public bool Listening { get; set; }

    public bool Marked { get; set; }

    public long NextWakeup { get; set; }

    public long BusyWarnTime { get; set; }

    public bool LimitOk(int total) => MaxProc == 0 || total < MaxProc;
}

// MasterProcess - one child.
internal sealed class MasterProcess
{
    public required MasterService Service { get; set; }

    public required int Pid { get; init; }

    public required uint Generation { get; init; }

    public int UseCount { get; set; }

    public bool Available { get; set; }
}
