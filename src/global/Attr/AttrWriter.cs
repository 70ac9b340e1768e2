// NAME
//	AttrWriter - send an attribute list in one of the three encodings
// POSTFIX
//	src/util/attr_print0.c, attr_print_plain.c, attr_print64.c
// DESCRIPTION
//	Appends to an IBufferWriter, byte for byte what attr_print0 (and
//	its plain and base64 siblings) write: numbers in decimal ("%u",
//	"%lu" of the value cast to unsigned), strings cut at their first
//	NUL as strlen() does, data base64-encoded (except in the base64
//	form, where everything is), hash tables as "{" entries "}". End()
//	writes the list terminator unless AttrFlags.More is given. Strings
//	go out as UTF-8.
using System;
using System.Buffers;
using System.Buffers.Text;
using System.Collections.Generic;
using System.Text;

namespace Postfix.Global.Attr;

public sealed class AttrWriter
{
    private readonly IBufferWriter<byte> output;

    public AttrWriter(IBufferWriter<byte> output, AttrEncoding encoding = AttrEncoding.Zero)
    {
        this.output = output;
        Encoding = encoding;
    }

    public AttrEncoding Encoding { get; }

    // Int - SEND_ATTR_INT: the value goes out as "%u" of (unsigned) value.
    public AttrWriter Int(string name, int value) => Number(name, unchecked((uint)value));

    // Long - SEND_ATTR_LONG: "%lu" of (unsigned long) value.
    public AttrWriter Long(string name, long value) => Number(name, unchecked((ulong)value));

    private AttrWriter Number(string name, ulong value)
    {
        Span<byte> digits = stackalloc byte[20];
        Utf8Formatter.TryFormat(value, digits, out var n);
        return Pair(name, digits[..n], isData: false);
    }

    // Str - SEND_ATTR_STR.
    public AttrWriter Str(string name, string value)
    {
        var max = System.Text.Encoding.UTF8.GetMaxByteCount(value.Length);
        var rented = max <= 256 ? null : ArrayPool<byte>.Shared.Rent(max);
        try
        {
            Span<byte> buf = rented ?? stackalloc byte[256];
            var n = System.Text.Encoding.UTF8.GetBytes(value, buf);
            return Str(name, buf[..n]);
        }
        finally
        {
            if (rented != null)
                ArrayPool<byte>.Shared.Return(rented);
        }
    }

    // Str - a string value that is already bytes.
    public AttrWriter Str(string name, ReadOnlySpan<byte> value) => Pair(name, CString(value), isData: false);

    // Data - SEND_ATTR_DATA: binary-safe, base64 on the wire.
    public AttrWriter Data(string name, ReadOnlySpan<byte> value) => Pair(name, value, isData: true);

    // Func - SEND_ATTR_FUNC: a custom writer adds attributes, no terminator.
    public AttrWriter Func(Action<AttrWriter> print)
    {
        print(this);
        return this;
    }

    // Hash - SEND_ATTR_HASH: "{", every entry as a string attribute, "}".
    public AttrWriter Hash(IEnumerable<KeyValuePair<string, string>> table)
    {
        Marker((byte)'{');
        foreach (var kv in table)
            Str(kv.Key, kv.Value);
        Marker((byte)'}');
        return this;
    }

    // End - the list terminator (none with AttrFlags.More).
    public void End(AttrFlags flags = AttrFlags.None)
    {
        if ((flags & AttrFlags.More) != 0)
            return;
        Put(Encoding == AttrEncoding.Zero ? (byte)0 : (byte)'\n');
    }

    // Marker - "{" or "}" as each encoding writes it. The plain form
    // writes the C string's NUL too (fwrite of sizeof "{"), then LF.
    private void Marker(byte mark)
    {
        switch (Encoding)
        {
            case AttrEncoding.Zero:
                Put(mark);
                Put(0);
                break;
            case AttrEncoding.Plain:
                Put(mark);
                Put(0);
                Put((byte)'\n');
                break;
            default:
                Base64Code.Encode([mark], output);
                Put((byte)'\n');
                break;
        }
    }

    private AttrWriter Pair(string name, ReadOnlySpan<byte> value, bool isData)
    {
        Span<byte> nameBuf = stackalloc byte[256];
        byte[]? rented = null;
        var max = System.Text.Encoding.UTF8.GetMaxByteCount(name.Length);
        if (max > nameBuf.Length)
            nameBuf = rented = ArrayPool<byte>.Shared.Rent(max);
        try
        {
            var n = System.Text.Encoding.UTF8.GetBytes(name, nameBuf);
            var nameBytes = CString(nameBuf[..n]);
            switch (Encoding)
            {
                case AttrEncoding.Zero:
                    Write(nameBytes);
                    Put(0);
                    if (isData)
                        Base64Code.Encode(value, output);
                    else
                        Write(value);
                    Put(0);
                    break;
                case AttrEncoding.Plain:
                    Write(nameBytes);
                    Put((byte)'=');
                    if (isData)
                        Base64Code.Encode(value, output);
                    else
                        Write(value);
                    Put((byte)'\n');
                    break;
                default:
                    Base64Code.Encode(nameBytes, output);
                    Put((byte)':');
                    Base64Code.Encode(value, output);
                    Put((byte)'\n');
                    break;
            }
        }
        finally
        {
            if (rented != null)
                ArrayPool<byte>.Shared.Return(rented);
        }
        return this;
    }

    // CString - the part strlen() would see.
    private static ReadOnlySpan<byte> CString(ReadOnlySpan<byte> s)
    {
        var nul = s.IndexOf((byte)0);
        return nul < 0 ? s : s[..nul];
    }

    private void Put(byte b)
    {
        output.GetSpan(1)[0] = b;
        output.Advance(1);
    }

    private void Write(ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty)
            return;
        bytes.CopyTo(output.GetSpan(bytes.Length));
        output.Advance(bytes.Length);
    }

    // ToBytes - convenience for tests and one-shot requests.
    public static byte[] ToBytes(AttrEncoding encoding, Action<AttrWriter> print, AttrFlags flags = AttrFlags.None)
    {
        var buf = new ArrayBufferWriter<byte>();
        var w = new AttrWriter(buf, encoding);
        print(w);
        w.End(flags);
        return buf.WrittenSpan.ToArray();
    }
}
