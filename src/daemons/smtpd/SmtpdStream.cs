// NAME
//	SmtpdStream - the SMTP server's side of one client connection
// POSTFIX
//	src/global/smtp_stream.c (smtp_get, smtp_fputs, smtp_flush),
//	src/util/vstream.c (the buffering smtpd relies on)
// DESCRIPTION
//	Buffered line input with a length bound and the reference's CR/LF
//	handling (bare LF detection), buffered output that goes out when the
//	server must wait for input (so that pipelined replies travel
//	together), and the per-read/write time limit or, with
//	smtpd_per_request_deadline, a time budget for all I/O of one
//	request that min_data_rate tops up as content arrives. I/O trouble unwinds
//	the session with SmtpdJump (timeout, lost connection), as the
//	reference's longjmp does.
using System;
using System.IO;
using System.Net.Sockets;

namespace Postfix.Daemons.Smtpd;

// SmtpdJump - the reference's SMTP_ERR_* longjmp codes.
internal sealed class SmtpdJump : Exception
{
    public const int Eof = 1, Time = 2, Quiet = 3, DataError = 4;

    public SmtpdJump(int code) : base("smtp stream error " + code) => Code = code;

    public int Code { get; }
}

internal sealed class SmtpdStream
{
    private const int BufSize = 4096;

    private readonly byte[] inBuf = new byte[BufSize];
    private int inPos, inEnd;
    private readonly byte[] outBuf = new byte[BufSize];
    private int outLen;
    private bool eof;

    public SmtpdStream(Stream stream, Socket? socket)
    {
        Stream = stream;
        Socket = socket;
        LastIo = Environment.TickCount64;
    }

    public Stream Stream { get; set; }

    public Socket? Socket { get; }

    // Time limit per read/write, in seconds (0: none).
    public int TimeoutSec
    {
        get => timeout;
        set
        {
            timeout = value;
            SetSocketTimeout(value);
        }
    }

    private int timeout;

    // The deadline (vstream's VSTREAM_FLAG_DEADLINE): what is left of the
    // request's budget, in microseconds, and the data rate that adds to it.
    private bool deadline;
    private long budgetUs;
    private int minDataRate;
    private int socketTimeout = -1;

    // Setup - smtp_stream_setup(): a limit per read/write, or (deadline)
    // one budget of timeoutSec for all reads and writes until the next
    // Setup; with minDataRate > 0 every minDataRate bytes read or written
    // add one second to it, up to timeoutSec.
    public void Setup(int timeoutSec, bool enableDeadline, int dataRate)
    {
        TimeoutSec = timeoutSec;
        deadline = enableDeadline && timeoutSec > 0;
        budgetUs = timeoutSec * 1_000_000L;
        minDataRate = dataRate;
    }

    private void SetSocketTimeout(int seconds)
    {
        if (Socket == null || seconds == socketTimeout)
            return;
        socketTimeout = seconds;
        var ms = seconds > 0 ? (int)Math.Min(int.MaxValue, seconds * 1000L) : 0;
        Socket.ReceiveTimeout = ms;
        Socket.SendTimeout = ms;
    }

    // DeadlineBefore - the time limit of the next read/write (the budget
    // rounded up to whole seconds); an exhausted budget is a timeout.
    private long DeadlineBefore()
    {
        if (!deadline)
            return 0;
        var seconds = (int)Math.Min(int.MaxValue, (budgetUs + 999_999) / 1_000_000);
        if (seconds <= 0)
            throw new SmtpdJump(SmtpdJump.Time);
        SetSocketTimeout(seconds);
        return System.Diagnostics.Stopwatch.GetTimestamp();
    }

    // DeadlineAfter - charge the time spent, credit the data moved.
    private void DeadlineAfter(long started, int bytes)
    {
        if (!deadline)
            return;
        budgetUs -= (long)System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMicroseconds;
        if (minDataRate > 0 && bytes > 0)
        {
            budgetUs += bytes * 1_000_000L / minDataRate;
            if (budgetUs >= timeout * 1_000_000L)
                budgetUs = timeout * 1_000_000L;
        }
    }

    // Bare LF controls: what the line reader looks for, and what it found.
    public int DetectBareLf;
    public int GotBareLf;

    // LastIo - tick count of the last completed I/O.
    public long LastIo { get; private set; }

    // Peek - bytes already buffered for input.
    public int Peek => inEnd - inPos;

    public ReadOnlySpan<byte> PeekData => inBuf.AsSpan(inPos, inEnd - inPos);

    // PendingOutput - bytes not yet sent.
    public int PendingOutput => outLen;

    // InputWaiting - buffered input, or input ready on the socket.
    public bool InputWaiting()
    {
        if (Peek > 0)
            return true;
        if (Socket == null)
            return false;
        try
        {
            if (Socket.Available > 0)
            {
                // Read it now so that it can be shown (the reference's ungetc).
                Fill();
                return Peek > 0;
            }
        }
        catch (SocketException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
        return false;
    }

    // Discard buffered input (after switching to TLS).
    public void DiscardInput()
    {
        inPos = inEnd = 0;
    }

    private void Fill()
    {
        Flush();
        if (eof)
            return;
        int n;
        var started = DeadlineBefore();
        try
        {
            n = Stream.Read(inBuf, 0, inBuf.Length);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException
                                      or System.Security.Authentication.AuthenticationException)
        {
            if (IsTimeout(e))
                budgetUs = 0;
            throw new SmtpdJump(IsTimeout(e) ? SmtpdJump.Time : SmtpdJump.Eof);
        }
        DeadlineAfter(started, n);
        LastIo = Environment.TickCount64;
        if (n <= 0)
        {
            eof = true;
            inPos = inEnd = 0;
            return;
        }
        inPos = 0;
        inEnd = n;
    }

    internal static bool IsTimeout(Exception? e)
    {
        for (; e != null; e = e.InnerException)
        {
            if (e is SocketException se && (se.SocketErrorCode == SocketError.TimedOut || se.SocketErrorCode == SocketError.WouldBlock))
                return true;
            if (e is TimeoutException)
                return true;
        }
        return false;
    }

    private int GetByte()
    {
        if (inPos >= inEnd)
        {
            Fill();
            if (eof)
                return -1;
        }
        return inBuf[inPos++];
    }

    private void Unget() => inPos--;

    // GetLine - smtp_get(): read into line at most bound bytes (0: no
    // bound) up to and including LF; strip the line terminator. Returns
    // the last character read ('\n' for a complete line). With skip, the
    // rest of an over-long line is discarded. End-of-file anywhere raises
    // SmtpdJump.Eof.
    public int GetLine(ByteBuffer line, int bound, bool skip)
    {
        line.Clear();
        GotBareLf = 0;
        var last = -1;
        var count = 0;
        while (bound == 0 || count < bound)
        {
            var c = GetByte();
            if (c < 0)
                throw new SmtpdJump(SmtpdJump.Eof);
            line.Add((byte)c);
            count++;
            last = c;
            if (c == '\n')
                break;
        }
        if (last == '\r')
        {
            var next = GetByte();
            if (next == '\n')
            {
                line.Add((byte)'\n');
                last = '\n';
            }
            else if (next >= 0)
            {
                Unget();
            }
            else
            {
                throw new SmtpdJump(SmtpdJump.Eof);
            }
        }
        if (last == '\n')
        {
            line.Length--;
            if (DetectBareLf != 0)
            {
                if (line.Length == 0 || line[line.Length - 1] != '\r')
                    GotBareLf = DetectBareLf;
                else
                    line.Length--;
            }
            else
            {
                while (line.Length > 0 && line[line.Length - 1] == '\r')
                    line.Length--;
            }
        }
        if (last != '\n' && skip)
        {
            int c;
            while ((c = GetByte()) >= 0 && c != '\n')
            {
            }
            if (c < 0)
                throw new SmtpdJump(SmtpdJump.Eof);
        }
        return last;
    }

    // ReadExact - smtp_fread_buf(): exactly count bytes (BDAT content).
    public void ReadExact(ByteBuffer into, int count)
    {
        into.Clear();
        while (count > 0)
        {
            if (inPos >= inEnd)
            {
                Fill();
                if (eof)
                    throw new SmtpdJump(SmtpdJump.Eof);
            }
            var n = Math.Min(count, inEnd - inPos);
            into.Append(inBuf.AsSpan(inPos, n));
            inPos += n;
            count -= n;
        }
    }

    // PutLine - smtp_fputs(): text plus CRLF into the output buffer.
    public void PutLine(ReadOnlySpan<byte> text)
    {
        Put(text);
        Put("\r\n"u8);
    }

    // PutRaw - smtp_fwrite(): text without a line end.
    public void PutRaw(ReadOnlySpan<byte> data) => Put(data);

    private void Put(ReadOnlySpan<byte> data)
    {
        while (data.Length > 0)
        {
            if (outLen == outBuf.Length)
                Flush();
            var n = Math.Min(data.Length, outBuf.Length - outLen);
            data[..n].CopyTo(outBuf.AsSpan(outLen));
            outLen += n;
            data = data[n..];
        }
    }

    // Flush - send what is buffered.
    public void Flush()
    {
        if (outLen == 0)
            return;
        long started;
        try
        {
            started = DeadlineBefore();
        }
        catch (SmtpdJump)
        {
            outLen = 0;
            throw;
        }
        try
        {
            Stream.Write(outBuf, 0, outLen);
            Stream.Flush();
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException
                                      or System.Security.Authentication.AuthenticationException)
        {
            outLen = 0;
            if (IsTimeout(e))
                budgetUs = 0;
            throw new SmtpdJump(IsTimeout(e) ? SmtpdJump.Time : SmtpdJump.Eof);
        }
        DeadlineAfter(started, outLen);
        outLen = 0;
        LastIo = Environment.TickCount64;
    }

    // TryFlush - flush and ignore trouble (at the end of a session).
    public void TryFlush()
    {
        try
        {
            Flush();
        }
        catch (SmtpdJump)
        {
        }
    }
}

// ByteBuffer - a growable byte string (the reference's VSTRING).
internal sealed class ByteBuffer
{
    private byte[] data;

    public ByteBuffer(int capacity = 256) => data = new byte[capacity];

    public int Length { get; set; }

    public byte this[int i] => data[i];

    public Span<byte> Span => data.AsSpan(0, Length);

    public void Clear() => Length = 0;

    public void Add(byte b)
    {
        if (Length == data.Length)
            Array.Resize(ref data, data.Length * 2);
        data[Length++] = b;
    }

    public void Append(ReadOnlySpan<byte> bytes)
    {
        if (Length + bytes.Length > data.Length)
            Array.Resize(ref data, Math.Max(data.Length * 2, Length + bytes.Length));
        bytes.CopyTo(data.AsSpan(Length));
        Length += bytes.Length;
    }
}
