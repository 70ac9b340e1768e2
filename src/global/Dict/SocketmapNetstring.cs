// NAME
//	SocketmapNetstring - netstring request and reply ("len:data,")
// POSTFIX
//	src/util/netstring.c
// DESCRIPTION
//	One request/reply exchange in netstring format over a stream,
//	with the error codes and texts of netstring_strerror().
using System;
using System.IO;
using System.Net.Sockets;
using System.Text;

namespace Postfix.Global.Dict;

public static class SocketmapNetstring
{
    public const int Ok = 0;
    public const int ErrEof = 1;
    public const int ErrTime = 2;
    public const int ErrFormat = 3;
    public const int ErrSize = 4;

    // StrError - netstring_strerror().
    public static string StrError(int err) => err switch
    {
        ErrEof => "unexpected disconnect",
        ErrTime => "time limit exceeded",
        ErrFormat => "input format error",
        ErrSize => "input exceeds size limit",
        _ => "unknown netstring error",
    };

    // Encode - data as a netstring.
    public static byte[] Encode(ReadOnlySpan<byte> data)
    {
        var head = Encoding.ASCII.GetBytes(data.Length.ToString(System.Globalization.CultureInfo.InvariantCulture) + ":");
        var buf = new byte[head.Length + data.Length + 1];
        head.CopyTo(buf, 0);
        data.CopyTo(buf.AsSpan(head.Length));
        buf[^1] = (byte)',';
        return buf;
    }

    // Exchange - send request as a netstring, read one netstring reply.
    public static int Exchange(Stream stream, ReadOnlySpan<byte> request, int maxReply, out byte[] reply)
    {
        reply = Array.Empty<byte>();
        try
        {
            stream.Write(Encode(request));
            stream.Flush();
            return Read(stream, maxReply, out reply);
        }
        catch (IOException e)
        {
            return e.InnerException is SocketException { SocketErrorCode: SocketError.TimedOut } ? ErrTime : ErrEof;
        }
    }

    // Read - netstring_get(): one netstring of at most max bytes.
    public static int Read(Stream stream, int max, out byte[] data)
    {
        data = Array.Empty<byte>();
        long len = 0;
        var digits = 0;
        for (;;)
        {
            var ch = stream.ReadByte();
            if (ch < 0)
                return ErrEof;
            if (ch == ':')
                break;
            if (ch is < '0' or > '9')
                return ErrFormat;
            len = len * 10 + (ch - '0');
            if (++digits > 10 || len > int.MaxValue)
                return ErrFormat;
        }
        if (digits == 0)
            return ErrFormat;
        if (len > max)
            return ErrSize;
        data = new byte[len];
        var got = 0;
        while (got < len)
        {
            var n = stream.Read(data, got, (int)len - got);
            if (n <= 0)
                return ErrEof;
            got += n;
        }
        var comma = stream.ReadByte();
        if (comma < 0)
            return ErrEof;
        return comma == ',' ? Ok : ErrFormat;
    }
}
