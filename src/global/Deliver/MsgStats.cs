// NAME
//	MsgStats, TimeVal - the time profile of a message delivery
// POSTFIX
//	src/global/msg_stats.h, msg_stats_print.c, msg_stats_scan.c
// DESCRIPTION
//	Five time stamps (arrival in the incoming queue, arrival in the
//	active queue, hand-off to the delivery agent, connection set-up
//	done, delivery done) and the connection reuse count. On the wire
//	the whole C structure travels as one "time" data attribute: five
//	struct timeval (two 64-bit longs each) and an int, padded to 88
//	bytes, little-endian as on the x86-64/arm64 hosts the reference
//	runs on. ToBytes()/FromBytes() are that layout; a length other
//	than 88 is the reference's "size mis-match".
using System;
using System.Buffers.Binary;

namespace Postfix.Global.Deliver;

public readonly record struct TimeVal(long Sec, long Usec)
{
    public static TimeVal Now()
    {
        var ticks = DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks;
        return new TimeVal(ticks / TimeSpan.TicksPerSecond, ticks % TimeSpan.TicksPerSecond / 10);
    }

    // IsSet - TIME_STAMPED(): a positive seconds value.
    public bool IsSet => Sec > 0;
}

public sealed class MsgStats
{
    public const int WireSize = 88;

    public TimeVal IncomingArrival { get; set; }
    public TimeVal ActiveArrival { get; set; }
    public TimeVal AgentHandoff { get; set; }
    public TimeVal ConnSetupDone { get; set; }
    public TimeVal DeliverDone { get; set; }
    public int ReuseCount { get; set; }

    public MsgStats Clone() => (MsgStats)MemberwiseClone();

    public byte[] ToBytes()
    {
        var b = new byte[WireSize];
        Put(b, 0, IncomingArrival);
        Put(b, 16, ActiveArrival);
        Put(b, 32, AgentHandoff);
        Put(b, 48, ConnSetupDone);
        Put(b, 64, DeliverDone);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(80), ReuseCount);
        return b;
    }

    // FromBytes - null unless the data has the reference's size.
    public static MsgStats? FromBytes(ReadOnlySpan<byte> b)
    {
        if (b.Length != WireSize)
            return null;
        return new MsgStats
        {
            IncomingArrival = Get(b, 0),
            ActiveArrival = Get(b, 16),
            AgentHandoff = Get(b, 32),
            ConnSetupDone = Get(b, 48),
            DeliverDone = Get(b, 64),
            ReuseCount = BinaryPrimitives.ReadInt32LittleEndian(b[80..]),
        };
    }

    private static void Put(Span<byte> b, int at, TimeVal t)
    {
        BinaryPrimitives.WriteInt64LittleEndian(b[at..], t.Sec);
        BinaryPrimitives.WriteInt64LittleEndian(b[(at + 8)..], t.Usec);
    }

    private static TimeVal Get(ReadOnlySpan<byte> b, int at) =>
        new(BinaryPrimitives.ReadInt64LittleEndian(b[at..]), BinaryPrimitives.ReadInt64LittleEndian(b[(at + 8)..]));
}
