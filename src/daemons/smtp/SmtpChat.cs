// NAME
//	SmtpChat, SmtpResponse, SmtpStreamException - SMTP commands and
//	replies over a stream with per-command deadlines
// POSTFIX
//	src/smtp/smtp_chat.c, src/global/smtp_stream.c
// DESCRIPTION
//	Command() queues "COMMAND\r\n" (Flush() sends what is queued, so
//	callers can pipeline); Response() reads one possibly multi-line
//	reply: the code, the enhanced status code of the last line (or
//	"D.0.0" from the reply class, "5.5.0" for garbage), and the text
//	lines joined with newlines, unprintable bytes shown as '?'. A read
//	or write that times out raises SmtpStreamException(Timeout), end
//	of file raises it with Eof.
using System;
using System.IO;
using System.Net.Sockets;
using System.Text;
using Postfix.Global.Deliver;
using Postfix.Util;

namespace Postfix.Daemons.Smtp;

internal enum SmtpStreamError
{
    Eof,
    Timeout,
    // Data - a local problem (table lookup error), not the server's.
    Data,
}

internal sealed class SmtpStreamException(SmtpStreamError error) : Exception(error.ToString())
{
    public SmtpStreamError Error { get; } = error;
}

internal sealed record SmtpResponse(int Code, string Dsn, string Text)
{
    public static SmtpResponse Fake(string dsn) => new(0, dsn, "");
}

internal sealed class SmtpChat : IDisposable
{
    private readonly Socket? socket;
    private readonly MemoryStream pending = new();
    private readonly byte[] readBuffer = new byte[8192];
    private int readStart;
    private int readEnd;
    private const int LineLimit = 2048;

    public SmtpChat(Stream stream, Socket? socket)
    {
        Stream = stream;
        this.socket = socket;
    }

    public Stream Stream { get; set; }

    // Timeout - seconds allowed for the next read or write.
    public int Timeout { get; set; } = 300;

    public string PeerLabel { get; set; } = "";

    public void Command(string text)
    {
        if (Msg.Verbose > 0)
            Msg.Info($"> {PeerLabel}: {text}");
        var bytes = Encoding.UTF8.GetBytes(text + "\r\n");
        pending.Write(bytes);
    }

    public void Write(ReadOnlySpan<byte> bytes)
    {
        pending.Write(bytes);
        if (pending.Length >= 65536)
            Flush();
    }

    public void Flush()
    {
        if (pending.Length == 0)
            return;
        SetTimeouts();
        try
        {
            Stream.Write(pending.GetBuffer(), 0, (int)pending.Length);
            Stream.Flush();
        }
        catch (IOException e) when (e.InnerException is SocketException { SocketErrorCode: SocketError.TimedOut or SocketError.WouldBlock })
        {
            throw new SmtpStreamException(SmtpStreamError.Timeout);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or SocketException)
        {
            throw new SmtpStreamException(SmtpStreamError.Eof);
        }
        finally
        {
            pending.SetLength(0);
        }
    }

    private void SetTimeouts()
    {
        var ms = Math.Max(1, Timeout) * 1000;
        try
        {
            if (Stream.CanTimeout)
            {
                Stream.ReadTimeout = ms;
                Stream.WriteTimeout = ms;
            }
            else if (socket != null)
            {
                socket.ReceiveTimeout = ms;
                socket.SendTimeout = ms;
            }
        }
        catch (InvalidOperationException)
        {
            // Not supported by this stream.
        }
    }

    // ReadLine - smtp_get(): one line without its CR LF; long lines are cut.
    public string ReadLine()
    {
        Flush();
        SetTimeouts();
        var line = new StringBuilder();
        while (true)
        {
            if (readStart == readEnd)
            {
                int n;
                try
                {
                    n = Stream.Read(readBuffer, 0, readBuffer.Length);
                }
                catch (IOException e) when (e.InnerException is SocketException { SocketErrorCode: SocketError.TimedOut or SocketError.WouldBlock })
                {
                    throw new SmtpStreamException(SmtpStreamError.Timeout);
                }
                catch (Exception e) when (e is IOException or ObjectDisposedException or SocketException)
                {
                    throw new SmtpStreamException(SmtpStreamError.Eof);
                }
                if (n <= 0)
                {
                    if (line.Length > 0)
                        return line.ToString();
                    throw new SmtpStreamException(SmtpStreamError.Eof);
                }
                readStart = 0;
                readEnd = n;
            }
            while (readStart < readEnd)
            {
                var b = readBuffer[readStart++];
                if (b == '\n')
                {
                    if (line.Length > 0 && line[^1] == '\r')
                        line.Length--;
                    return line.ToString();
                }
                if (line.Length < LineLimit)
                    line.Append(b is >= 0x20 and < 0x7f or (byte)'\r' or (byte)'\t' ? (char)b : '?');
            }
        }
    }

    // HasBufferedInput - unread server data (early replies).
    public bool HasBufferedInput => readStart < readEnd;

    // ReplyFilter - smtp_reply_filter: each reply line may be replaced.
    public Postfix.Global.Dict.Dict? ReplyFilter { get; set; }

    // QueueId - for the reply filter's error message.
    public string QueueId { get; set; } = "";

    private string FilterReply(string line)
    {
        var replacement = ReplyFilter!.Lookup(line);
        if (replacement != null)
        {
            Msg.Info($"{PeerLabel}: replacing server reply \"{line}\" with \"{replacement}\"");
            return replacement;
        }
        if (ReplyFilter.Error != 0)
        {
            var printable = new StringBuilder(line.Length);
            foreach (var c in line)
                printable.Append(c is >= ' ' and < (char)127 ? c : '?');
            Msg.Warn($"{QueueId}: table {ReplyFilter.Type}:{ReplyFilter.Name} lookup error for {printable}");
            throw new SmtpStreamException(SmtpStreamError.Data);
        }
        return line;
    }

    // Response - smtp_chat_resp().
    public SmtpResponse Response()
    {
        var text = new StringBuilder();
        string last;
        bool threeDigits;
        while (true)
        {
            last = ReadLine();
            if (Msg.Verbose > 0)
                Msg.Info($"< {PeerLabel}: {(last.Length > 100 ? last[..100] : last)}");
            if (ReplyFilter != null)
                last = FilterReply(last);
            if (text.Length < LineLimit)
            {
                if (text.Length > 0)
                    text.Append('\n');
                text.Append(last);
            }
            var digits = 0;
            while (digits < last.Length && char.IsAsciiDigit(last[digits]))
                digits++;
            threeDigits = digits == 3;
            if (threeDigits)
            {
                if (last.Length > 3 && last[3] == '-')
                    continue;
                if (last.Length == 3 || last[3] == ' ')
                    break;
            }
            // Garbage: the reference treats it as the end of the reply.
            break;
        }
        var dsn = "5.5.0";
        var code = 0;
        if (threeDigits)
        {
            code = int.Parse(last.AsSpan(0, 3));
            if (last[0] is '2' or '4' or '5')
            {
                var cp = 4;
                while (cp < last.Length && last[cp] == ' ')
                    cp++;
                var rest = cp < last.Length ? last[cp..] : "";
                var len = DsnUtil.Valid(rest);
                dsn = len > 0 && rest[0] == last[0] ? rest[..len] : last[0] + ".0.0";
            }
        }
        return new SmtpResponse(code, dsn, text.ToString());
    }

    public void Dispose()
    {
        try
        {
            Stream.Dispose();
        }
        catch (Exception)
        {
            // Nothing to flush to.
        }
        socket?.Dispose();
    }
}
