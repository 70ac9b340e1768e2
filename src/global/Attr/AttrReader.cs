// NAME
//	AttrReader - receive an attribute list in one of the three encodings
// POSTFIX
//	src/util/attr_scan0.c, attr_scan_plain.c, attr_scan64.c
// DESCRIPTION
//	A ref struct over a span or a sequence of received bytes. Scan()
//	walks a wish list (AttrSpec[]) the way attr_scan() walks its
//	varargs: attributes that are not asked for are skipped, or stop the
//	scan with "unexpected attribute" under AttrFlags.Extra; a list that
//	ends early stops it, with "missing attribute" under
//	AttrFlags.Missing; the result is the number of conversions or -1,
//	with Postfix's warning texts.
//
//	Input is consumed one whole attribute at a time. When the bytes run
//	out inside one and AttrInputEnd.More was given, Scan() returns
//	NeedMoreData having consumed only whole attributes; build a new
//	reader on the unconsumed bytes plus new input with State and call
//	Scan() again with the same arguments. Values are the only
//	allocations (strings, data); a token that straddles sequence
//	segments is copied into a pooled buffer.
using System;
using System.Buffers;
using System.Collections.Generic;
using System.Text;
using Postfix.Util;

namespace Postfix.Global.Attr;

public ref struct AttrReader
{
    private const string NameContext = "input attribute name";
    private const string ValueContext = "input attribute value";

    // Postfix caps the number of attributes read into one hash table.
    public const int HashLimit = 1024;

    private readonly ReadOnlySpan<byte> span;
    private SequenceReader<byte> seq;
    private readonly bool isSeq;
    private int pos;
    private readonly AttrInputEnd end;
    private AttrReaderState state;
    private readonly string path;
    private byte[]? rent0, rent1, rent2, rent3;

    public AttrReader(ReadOnlySpan<byte> input, AttrReaderState state, AttrInputEnd end = AttrInputEnd.Eof, string path = "input")
    {
        span = input;
        this.state = state;
        this.end = end;
        this.path = path;
    }

    public AttrReader(ReadOnlySequence<byte> input, AttrReaderState state, AttrInputEnd end = AttrInputEnd.Eof, string path = "input")
    {
        seq = new SequenceReader<byte>(input);
        isSeq = true;
        this.state = state;
        this.end = end;
        this.path = path;
    }

    // State - carry this over to the reader that continues the scan.
    public readonly AttrReaderState State => state;

    // Consumed - bytes used so far (whole attributes only).
    public readonly long Consumed => isSeq ? seq.Consumed : pos;

    // Position - the first unused byte (sequence readers).
    public readonly SequencePosition Position => seq.Position;

    private readonly long Remaining => isSeq ? seq.Remaining : span.Length - pos;

    private enum Kind
    {
        Incomplete,
        Bad,
        Terminator,
        Marker,
        NameOnly,
        Pair,
    }

    // Scan - attr_scan(): fill values[i] for spec[i]; see DESCRIPTION.
    public AttrScanStatus Scan(ReadOnlySpan<AttrSpec> spec, Span<AttrValue> values, AttrFlags flags, out int result,
        IDictionary<string, string>? hash = null)
    {
        if (((int)flags & ~0xf) != 0)
            throw new ArgumentException($"attr_scan: bad flags: 0x{(int)flags:x}", nameof(flags));
        if (values.Length < spec.Length)
            throw new ArgumentException("fewer values than specs", nameof(values));
        try
        {
            return ScanList(spec, values, flags, out result, hash);
        }
        finally
        {
            ReturnRented();
        }
    }

    private AttrScanStatus ScanList(ReadOnlySpan<AttrSpec> spec, Span<AttrValue> values, AttrFlags flags, out int result,
        IDictionary<string, string>? hash)
    {
        result = 0;

        // An input that ends before the list begins is not an error.
        if (!state.Started)
        {
            if (Remaining == 0)
                return end == AttrInputEnd.More ? AttrScanStatus.NeedMoreData : AttrScanStatus.Done;
            state.Started = true;
        }

        for (; ; )
        {
            // Scratch space of the previous attribute is free again.
            ReturnRented();

            // The next attribute on the wish list.
            if (!state.HaveWanted)
            {
                if (state.GroupEnd != 0 && state.Next >= state.GroupEnd)
                {
                    state.Conversions = state.GroupBase + 1;
                    state.GroupEnd = 0;
                }
                if (state.Next >= spec.Length)
                {
                    if ((flags & AttrFlags.More) != 0)
                        return Finish(state.Conversions, out result);
                    state.WantEnd = true;
                }
                else
                {
                    var sp = spec[state.Next];
                    if (sp.Type == AttrType.Func)
                    {
                        if (state.GroupEnd != 0 || state.Next + 1 + sp.GroupLength > spec.Length)
                            throw new ArgumentException("bad Func group", nameof(spec));
                        state.GroupBase = state.Conversions;
                        state.GroupEnd = state.Next + 1 + sp.GroupLength;
                        state.Next++;
                        continue;
                    }
                    if (sp.Type == AttrType.End)
                        throw new ArgumentException("End in a spec list", nameof(spec));
                    state.Wanted = state.Next++;
                    if (sp.Type == AttrType.Hash)
                    {
                        ArgumentNullException.ThrowIfNull(hash);
                        state.Phase = AttrReaderState.InHash;
                    }
                }
                state.HaveWanted = true;
            }

            var wantedName = state.WantEnd ? "(list terminator)"
                : state.Phase == AttrReaderState.InHash ? "(any attribute name or list terminator)"
                : state.Phase == AttrReaderState.InGroup ? "(any attribute name or '}')"
                : spec[state.Wanted].Name;
            var marker = state.Phase == AttrReaderState.InHash ? (byte)'{'
                : state.Phase == AttrReaderState.InGroup ? (byte)'}' : (byte)0;

            var itemStart = Consumed;
            var kind = ReadItem(marker, out var name, out var value, out var multiple, out var context, out var partial);
            switch (kind)
            {
                case Kind.Incomplete:
                    Rewind(itemStart);
                    if (end == AttrInputEnd.More)
                        return AttrScanStatus.NeedMoreData;
                    WarnEof(context, partial);
                    return Finish(-1, out result);
                case Kind.Bad:
                    return Finish(-1, out result);
                case Kind.Terminator:
                    if (!state.WantEnd && state.Phase != AttrReaderState.InHash && (flags & AttrFlags.Missing) != 0)
                        Msg.Warn($"missing attribute {wantedName} in input from {path}");
                    return Finish(state.Conversions, out result);
                case Kind.Marker:
                    if (state.Phase == AttrReaderState.InHash)
                    {
                        state.Phase = AttrReaderState.InGroup;
                    }
                    else
                    {
                        state.Phase = 0;
                        state.HaveWanted = false;
                    }
                    continue;
            }

            // An attribute: wanted, skipped, or the end of the scan.
            var inHash = state.Phase != 0;
            if (!inHash && (state.WantEnd || !NameEquals(name, spec[state.Wanted].Name)))
            {
                if ((flags & AttrFlags.Extra) != 0)
                {
                    Msg.Warn($"unexpected attribute {Text(name)} from {path} (expecting: {wantedName})");
                    return Finish(state.Conversions, out result);
                }
                continue;
            }
            var type = inHash ? AttrType.Str : spec[state.Wanted].Type;
            if (kind == Kind.NameOnly)
            {
                var what = type is AttrType.Int or AttrType.Long ? "number" : type == AttrType.Data ? "data" : "string";
                Msg.Warn($"missing value for {what} attribute {Text(name)} from {path}");
                return Finish(-1, out result);
            }

            // In the base64 form every value is base64.
            var raw = value;
            if (state.Encoding == AttrEncoding.Base64)
            {
                var buf = Rent(Base64Code.MaxDecodedLength(raw.Length));
                if (!Base64Code.TryDecode(raw, buf, out var n))
                {
                    Msg.Warn($"malformed base64 data from {path}: {Text(Trunc(raw))}");
                    return Finish(-1, out result);
                }
                value = buf[..n];
            }

            if (inHash)
            {
                if (!Multiple(multiple, name))
                    return Finish(-1, out result);
                var printable = (flags & AttrFlags.Printable) != 0;
                var key = printable ? PrintableText(CString(name)) : Text(CString(name));
                if (hash!.ContainsKey(key))
                {
                    if ((flags & AttrFlags.Extra) != 0)
                    {
                        Msg.Warn($"duplicate attribute {key} in input from {path}");
                        return Finish(state.Conversions, out result);
                    }
                }
                else if (hash.Count >= HashLimit)
                {
                    Msg.Warn($"attribute count exceeds limit {HashLimit} in input from {path}");
                    return Finish(state.Conversions, out result);
                }
                else
                {
                    hash[key] = printable ? PrintableText(CString(value)) : Text(CString(value));
                }
                state.Conversions++;
                continue;
            }

            switch (type)
            {
                case AttrType.Int:
                case AttrType.Long:
                    {
                        if (!ParseNumber(CString(value), type == AttrType.Long, out var number))
                        {
                            Msg.Warn($"malformed numerical data from {path} while reading {ValueContext}: {Text(Trunc(CString(value)))}");
                            return Finish(-1, out result);
                        }
                        if (!Multiple(multiple, name))
                            return Finish(-1, out result);
                        values[state.Wanted] = new AttrValue(number, null, null);
                        state.Conversions++;
                        break;
                    }
                case AttrType.Str:
                    if (!Multiple(multiple, name))
                        return Finish(-1, out result);
                    values[state.Wanted] = new AttrValue(0, (flags & AttrFlags.Printable) != 0
                        ? PrintableText(CString(value)) : Text(CString(value)), null);
                    state.Conversions++;
                    break;
                case AttrType.Data:
                    {
                        byte[] data;
                        if (state.Encoding == AttrEncoding.Base64)
                        {
                            data = value.ToArray();
                        }
                        else
                        {
                            var buf = Rent(Base64Code.MaxDecodedLength(value.Length));
                            if (!Base64Code.TryDecode(value, buf, out var n))
                            {
                                Msg.Warn($"malformed base64 data from {path} while reading {ValueContext}: {Text(Trunc(CString(value)))}");
                                return Finish(-1, out result);
                            }
                            data = buf[..n].ToArray();
                        }
                        if (!Multiple(multiple, name))
                            return Finish(-1, out result);
                        values[state.Wanted] = new AttrValue((ulong)data.Length, null, data);
                        state.Conversions++;
                        break;
                    }
                case AttrType.StrEq:
                    {
                        if (!Multiple(multiple, name))
                            return Finish(-1, out result);
                        var want = spec[state.Wanted].Expect ?? "";
                        var got = CString(value);
                        if (!NameEquals(got, want))
                        {
                            Msg.Warn($"unexpected {Text(CString(name))} {Text(got)} from {path} (expected: {want})");
                            return Finish(-1, out result);
                        }
                        break;
                    }
                default:
                    throw new ArgumentException($"attr_scan: unknown type code: {(int)type}", nameof(spec));
            }
            state.HaveWanted = false;
        }
    }

    // ScanMore - attr_scan_more(): between lists, 0 when the next byte is
    // a list terminator (consumed), 1 when another list follows (nothing
    // consumed), -1 at the end of input. Lets a client read a sequence
    // of lists closed by an empty one (showq's queue listing).
    public AttrScanStatus ScanMore(out int result)
    {
        result = 0;
        if (Remaining == 0)
        {
            if (end == AttrInputEnd.More)
                return AttrScanStatus.NeedMoreData;
            result = -1;
            return AttrScanStatus.Done;
        }
        byte next;
        if (isSeq)
            seq.TryPeek(out next);
        else
            next = span[pos];
        if (next == (state.Encoding == AttrEncoding.Zero ? (byte)0 : (byte)'\n'))
        {
            if (isSeq)
                seq.Advance(1);
            else
                pos++;
            return AttrScanStatus.Done;
        }
        result = 1;
        return AttrScanStatus.Done;
    }

    // Multiple - the base64 form allows one value per line.
    private readonly bool Multiple(bool multiple, ReadOnlySpan<byte> name)
    {
        if (!multiple)
            return true;
        Msg.Warn($"multiple values for attribute {Text(CString(name))} from {path}");
        return false;
    }

    private AttrScanStatus Finish(int value, out int result)
    {
        result = value;
        state.Reset();
        return AttrScanStatus.Done;
    }

    // WarnEof - the input ended inside an attribute.
    private readonly void WarnEof(string context, long partial)
    {
        // vstring_get_null() reports a partial token as an unexpected end.
        if (state.Encoding == AttrEncoding.Zero && partial > 0)
            Msg.Warn($"unexpected end-of-input from {path} while reading {context}");
        else
            Msg.Warn($"{(end == AttrInputEnd.Timeout ? "timeout" : "premature end-of-input")} on {path} while reading {context}");
    }

    // ReadItem - one whole attribute, terminator or group marker.
    private Kind ReadItem(byte marker, out ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value, out bool multiple,
        out string context, out long partial)
    {
        name = default;
        value = default;
        multiple = false;
        context = NameContext;
        switch (state.Encoding)
        {
            case AttrEncoding.Zero:
                {
                    if (!TryField(0, 0, out name, out _, out partial))
                        return Kind.Incomplete;
                    if (name.IsEmpty)
                        return Kind.Terminator;
                    if (marker != 0 && name.Length == 1 && name[0] == marker)
                        return Kind.Marker;
                    context = ValueContext;
                    return TryField(0, 0, out value, out _, out partial) ? Kind.Pair : Kind.Incomplete;
                }
            case AttrEncoding.Plain:
                {
                    if (!TryField((byte)'=', (byte)'\n', out name, out var delim, out partial))
                        return Kind.Incomplete;
                    if (delim == '\n')
                        return NameOnly(marker, name);
                    context = ValueContext;
                    return TryField((byte)'\n', (byte)'\n', out value, out _, out partial) ? Kind.Pair : Kind.Incomplete;
                }
            default:
                {
                    if (!TryField((byte)':', (byte)'\n', out var raw, out var delim, out partial))
                        return Kind.Incomplete;
                    var buf = Rent(Base64Code.MaxDecodedLength(raw.Length));
                    if (!Base64Code.TryDecode(raw, buf, out var n))
                    {
                        Msg.Warn($"malformed base64 data from {path}: {Text(Trunc(raw))}");
                        return Kind.Bad;
                    }
                    name = buf[..n];
                    if (delim == '\n')
                        return NameOnly(marker, name);
                    context = ValueContext;
                    if (!TryField((byte)':', (byte)'\n', out value, out delim, out partial))
                        return Kind.Incomplete;
                    if (delim == ':')
                    {
                        // Keep the whole line: a skipped attribute ends at LF.
                        multiple = true;
                        if (!TryField((byte)'\n', (byte)'\n', out _, out _, out partial))
                            return Kind.Incomplete;
                    }
                    return Kind.Pair;
                }
        }
    }

    private static Kind NameOnly(byte marker, ReadOnlySpan<byte> name)
    {
        if (name.IsEmpty)
            return Kind.Terminator;
        var c = CString(name);
        if (marker != 0 && c.Length == 1 && c[0] == marker)
            return Kind.Marker;
        return Kind.NameOnly;
    }

    // TryField - bytes up to the first d1 or d2, which is consumed.
    private bool TryField(byte d1, byte d2, out ReadOnlySpan<byte> field, out byte delim, out long partial)
    {
        field = default;
        delim = 0;
        if (!isSeq)
        {
            var rest = span[pos..];
            var i = d1 == d2 ? rest.IndexOf(d1) : rest.IndexOfAny(d1, d2);
            if (i < 0)
            {
                partial = rest.Length;
                return false;
            }
            field = rest[..i];
            delim = rest[i];
            pos += i + 1;
            partial = 0;
            return true;
        }
        var found = d1 == d2 ? seq.TryReadTo(out ReadOnlySequence<byte> s, d1, advancePastDelimiter: false)
            : seq.TryReadToAny(out s, [d1, d2], advancePastDelimiter: false);
        if (!found)
        {
            partial = seq.Remaining;
            return false;
        }
        seq.TryRead(out delim);
        partial = 0;
        if (s.IsSingleSegment)
        {
            field = s.FirstSpan;
        }
        else
        {
            var buf = Rent((int)s.Length);
            s.CopyTo(buf);
            field = buf[..(int)s.Length];
        }
        return true;
    }

    private void Rewind(long to)
    {
        if (isSeq)
            seq.Rewind(seq.Consumed - to);
        else
            pos = (int)to;
    }

    // Rent - scratch space that lives until Scan() returns.
    private Span<byte> Rent(int n)
    {
        n = Math.Max(n, 16);
        if (rent0 == null)
            return rent0 = ArrayPool<byte>.Shared.Rent(n);
        if (rent1 == null)
            return rent1 = ArrayPool<byte>.Shared.Rent(n);
        if (rent2 == null)
            return rent2 = ArrayPool<byte>.Shared.Rent(n);
        if (rent3 == null)
            return rent3 = ArrayPool<byte>.Shared.Rent(n);
        return new byte[n];
    }

    private void ReturnRented()
    {
        if (rent0 != null)
            ArrayPool<byte>.Shared.Return(rent0);
        if (rent1 != null)
            ArrayPool<byte>.Shared.Return(rent1);
        if (rent2 != null)
            ArrayPool<byte>.Shared.Return(rent2);
        if (rent3 != null)
            ArrayPool<byte>.Shared.Return(rent3);
        rent0 = rent1 = rent2 = rent3 = null;
    }

    // CString - what C code sees of a buffer: up to the first NUL.
    private static ReadOnlySpan<byte> CString(ReadOnlySpan<byte> s)
    {
        var nul = s.IndexOf((byte)0);
        return nul < 0 ? s : s[..nul];
    }

    // Trunc - "%.100s".
    private static ReadOnlySpan<byte> Trunc(ReadOnlySpan<byte> s) => s.Length > 100 ? s[..100] : s;

    private static string Text(ReadOnlySpan<byte> s) => ByteText.Decode(s);

    private static bool NameEquals(ReadOnlySpan<byte> got, string want)
    {
        var c = CString(got);
        if (Ascii.IsValid(want))
            return Ascii.Equals(c, want);
        return c.SequenceEqual(Encoding.UTF8.GetBytes(want));
    }

    // PrintableText - printable(s, '?'): bytes that are not printable
    // ASCII become '?', except (with Msg.Utf8Enable, smtputf8_enable)
    // what looks like a UTF-8 character: a lead byte 194..254 followed
    // by continuation bytes, kept whole as Postfix keeps it.
    private static string PrintableText(ReadOnlySpan<byte> s)
    {
        var rented = s.Length <= 256 ? null : ArrayPool<byte>.Shared.Rent(s.Length);
        try
        {
            Span<byte> buf = rented ?? stackalloc byte[256];
            buf = buf[..s.Length];
            s.CopyTo(buf);
            for (var i = 0; i < buf.Length; i++)
            {
                var ch = buf[i];
                if (ch >= 0x20 && ch < 0x7f)
                    continue;
                if (Msg.Utf8Enable && ch >= 194 && ch <= 254 && i + 1 < buf.Length && buf[i + 1] >= 128 && buf[i + 1] < 192)
                {
                    while (i + 1 < buf.Length && buf[i + 1] >= 128 && buf[i + 1] < 192)
                        i++;
                    continue;
                }
                buf[i] = (byte)'?';
            }
            return Text(buf);
        }
        finally
        {
            if (rented != null)
                ArrayPool<byte>.Shared.Return(rented);
        }
    }

    // ParseNumber - sscanf("%u%c") / sscanf("%lu%c") with nothing after
    // the number: optional white space and sign, then digits.
    private static bool ParseNumber(ReadOnlySpan<byte> s, bool isLong, out ulong number)
    {
        number = 0;
        var i = 0;
        while (i < s.Length && (s[i] == ' ' || (s[i] >= '\t' && s[i] <= '\r')))
            i++;
        var negative = false;
        if (i < s.Length && (s[i] == '+' || s[i] == '-'))
            negative = s[i++] == '-';
        var digits = i;
        ulong v = 0;
        var overflow = false;
        while (i < s.Length && s[i] >= '0' && s[i] <= '9')
        {
            var d = (ulong)(s[i++] - '0');
            if (v > (ulong.MaxValue - d) / 10)
                overflow = true;
            else
                v = v * 10 + d;
        }
        if (i == digits || i != s.Length)
            return false;
        if (overflow)
            v = ulong.MaxValue;
        else if (negative)
            v = unchecked(0 - v);
        number = isLong ? v : (uint)v;
        return true;
    }

    // ScanAll - one complete list from a buffer (tests, one-shot replies).
    public static int ScanAll(ReadOnlySpan<byte> input, AttrEncoding encoding, ReadOnlySpan<AttrSpec> spec,
        Span<AttrValue> values, AttrFlags flags, out int consumed, IDictionary<string, string>? hash = null,
        string path = "input")
    {
        var r = new AttrReader(input, new AttrReaderState(encoding), AttrInputEnd.Eof, path);
        r.Scan(spec, values, flags, out var result, hash);
        consumed = (int)r.Consumed;
        return result;
    }
}
