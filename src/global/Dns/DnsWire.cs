// NAME
//	DnsWire - RFC 1035 message encoding and decoding
// POSTFIX
//	(the resolver library's res_mkquery(), dn_expand(), dn_skipname())
// DESCRIPTION
//	BuildQuery makes a one-question query message. DnsMessage parses a
//	reply: the header fields, and cursors over the question, answer and
//	authority sections, with compressed-name expansion bounded against
//	pointer loops. Parse errors raise DnsFormatException; the lookup
//	layer maps them to a malformed-reply result.
using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Text;

namespace Postfix.Global.Dns;

public sealed class DnsFormatException : Exception
{
    public DnsFormatException(string message) : base(message) { }
}

public static class DnsWire
{
    public const int HeaderSize = 12;

    // BuildQuery - a standard query with the RD bit as asked.
    public static byte[] BuildQuery(ushort id, string name, int type, bool recursionDesired = true, int cls = 1)
    {
        var buf = new List<byte>(HeaderSize + name.Length + 6);
        buf.Add((byte)(id >> 8));
        buf.Add((byte)id);
        buf.Add(recursionDesired ? (byte)0x01 : (byte)0x00);
        buf.Add(0);
        buf.AddRange(new byte[] { 0, 1, 0, 0, 0, 0, 0, 0 });
        EncodeName(buf, name);
        buf.Add((byte)(type >> 8));
        buf.Add((byte)type);
        buf.Add((byte)(cls >> 8));
        buf.Add((byte)cls);
        return buf.ToArray();
    }

    // EncodeName - a name as length-prefixed labels; "." or "" is the root.
    public static void EncodeName(List<byte> buf, string name)
    {
        if (name.EndsWith('.'))
            name = name[..^1];
        var total = 1;
        if (name.Length > 0)
        {
            foreach (var label in name.Split('.'))
            {
                var bytes = Encoding.UTF8.GetBytes(label);
                if (bytes.Length == 0 || bytes.Length > 63)
                    throw new DnsFormatException($"bad label length in {name}");
                total += bytes.Length + 1;
                buf.Add((byte)bytes.Length);
                buf.AddRange(bytes);
            }
        }
        if (total > 255)
            throw new DnsFormatException($"name too long: {name}");
        buf.Add(0);
    }

    // ReadName - dn_expand(): the name at offset, and the offset after it.
    public static string ReadName(ReadOnlySpan<byte> msg, ref int offset)
    {
        var sb = new StringBuilder();
        var pos = offset;
        var jumped = false;
        var hops = 0;
        var length = 0;
        while (true)
        {
            if (pos >= msg.Length)
                throw new DnsFormatException("name runs past the message end");
            int len = msg[pos];
            if ((len & 0xC0) == 0xC0)
            {
                if (pos + 1 >= msg.Length)
                    throw new DnsFormatException("truncated compression pointer");
                var target = ((len & 0x3F) << 8) | msg[pos + 1];
                if (!jumped)
                    offset = pos + 2;
                jumped = true;
                if (++hops > 64 || target >= msg.Length)
                    throw new DnsFormatException("bad compression pointer");
                pos = target;
                continue;
            }
            if ((len & 0xC0) != 0)
                throw new DnsFormatException("unsupported label type");
            if (len == 0)
            {
                if (!jumped)
                    offset = pos + 1;
                break;
            }
            if (pos + 1 + len > msg.Length)
                throw new DnsFormatException("label runs past the message end");
            length += len + 1;
            if (length > 255)
                throw new DnsFormatException("name too long");
            if (sb.Length > 0)
                sb.Append('.');
            foreach (var b in msg.Slice(pos + 1, len))
            {
                // Like dn_expand(), quote the characters that are special in names.
                if (b is (byte)'.' or (byte)'\\' or (byte)'"' or (byte)'(' or (byte)')' or (byte)';' or (byte)'@' or (byte)'$')
                    sb.Append('\\').Append((char)b);
                else if (b <= 0x20 || b >= 0x7f)
                    sb.Append('\\').Append(b.ToString("D3"));
                else
                    sb.Append((char)b);
            }
            pos += 1 + len;
        }
        return sb.ToString();
    }
}

// DnsResourceFixed - the fixed part of one resource record and where its data is.
public readonly record struct DnsRawRecord(string Name, int Type, int Class, int Ttl, int DataOffset, int DataLength);

public sealed class DnsMessage
{
    public DnsMessage(byte[] buffer, int length)
    {
        Buffer = buffer;
        Length = length;
        if (length < DnsWire.HeaderSize)
            throw new DnsFormatException("short reply");
        var h = buffer.AsSpan(0, length);
        Id = BinaryPrimitives.ReadUInt16BigEndian(h);
        Flags = BinaryPrimitives.ReadUInt16BigEndian(h[2..]);
        QuestionCount = BinaryPrimitives.ReadUInt16BigEndian(h[4..]);
        AnswerCount = BinaryPrimitives.ReadUInt16BigEndian(h[6..]);
        AuthorityCount = BinaryPrimitives.ReadUInt16BigEndian(h[8..]);
        AdditionalCount = BinaryPrimitives.ReadUInt16BigEndian(h[10..]);
    }

    public byte[] Buffer { get; }
    public int Length { get; }
    public ushort Id { get; }
    public ushort Flags { get; }
    public bool IsResponse => (Flags & 0x8000) != 0;
    public bool Truncated => (Flags & 0x0200) != 0;
    public bool AuthenticData => (Flags & 0x0020) != 0;
    public int Rcode => Flags & 0x000F;
    public int QuestionCount { get; }
    public int AnswerCount { get; }
    public int AuthorityCount { get; }
    public int AdditionalCount { get; }

    public ReadOnlySpan<byte> Span => Buffer.AsSpan(0, Length);

    // Questions - the question section's (name, type, class) entries.
    public List<(string Name, int Type, int Class)> Questions(out int end)
    {
        var list = new List<(string, int, int)>();
        var pos = DnsWire.HeaderSize;
        for (var i = 0; i < QuestionCount; i++)
        {
            var name = DnsWire.ReadName(Span, ref pos);
            if (pos + 4 > Length)
                throw new DnsFormatException("truncated question");
            list.Add((name, BinaryPrimitives.ReadUInt16BigEndian(Span[pos..]), BinaryPrimitives.ReadUInt16BigEndian(Span[(pos + 2)..])));
            pos += 4;
        }
        end = pos;
        return list;
    }

    // Records - the answer records, then the authority records.
    public (List<DnsRawRecord> Answers, List<DnsRawRecord> Authority) Records()
    {
        Questions(out var pos);
        var answers = ReadSection(ref pos, AnswerCount);
        var authority = ReadSection(ref pos, AuthorityCount);
        return (answers, authority);
    }

    private List<DnsRawRecord> ReadSection(ref int pos, int count)
    {
        var list = new List<DnsRawRecord>(count);
        for (var i = 0; i < count; i++)
        {
            var name = DnsWire.ReadName(Span, ref pos);
            if (pos + 10 > Length)
                throw new DnsFormatException("truncated resource record");
            var s = Span[pos..];
            var type = BinaryPrimitives.ReadUInt16BigEndian(s);
            var cls = BinaryPrimitives.ReadUInt16BigEndian(s[2..]);
            var ttl = BinaryPrimitives.ReadInt32BigEndian(s[4..]);
            var rdlen = BinaryPrimitives.ReadUInt16BigEndian(s[8..]);
            pos += 10;
            if (pos + rdlen > Length)
                throw new DnsFormatException("resource data runs past the message end");
            list.Add(new DnsRawRecord(name, type, cls, ttl, pos, rdlen));
            pos += rdlen;
        }
        return list;
    }
}
