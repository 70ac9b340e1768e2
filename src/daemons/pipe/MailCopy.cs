// NAME
//	MailCopy - copy a queued message to a command or file
// POSTFIX
//	src/global/mail_copy.c
// DESCRIPTION
//	Copy() writes the optional From_ line, Return-Path:,
//	X-Original-To: and Delivered-To: lines, then the message content
//	records from the data offset on, each line ended with eol, with
//	">From " quoting and dot-stuffing when the flags ask, a line end
//	after a final partial line and an optional blank line. A content
//	section that does not end with the extracted-records marker is
//	corrupt. Write errors end the copy; the DsnBuf tells why.
using System;
using System.Globalization;
using System.IO;
using System.Text;
using Postfix.Global.Address;
using Postfix.Global.Deliver;
using Postfix.Global.Queue;
using Postfix.Util;

namespace Postfix.Daemons.Pipe;

// WriteErrorException - a failed write with its errno.
public sealed class WriteErrorException : IOException
{
    public WriteErrorException(int errno, string message) : base(message) => Errno = errno;

    public int Errno { get; }
}

public static class MailCopy
{
    public const int StatCorrupt = 1 << 0;
    public const int StatRead = 1 << 1;
    public const int StatWrite = 1 << 2;

    private const int EAGAIN = 11;
    private const int ESTALE = 116;
    private const int ENOSPC = 28;
    private const int EDQUOT = 122;

    // AscTime - "%.24s" of asctime(): "Sat Nov  1 09:05:03 2026".
    public static string AscTime(DateTime t) =>
        string.Create(CultureInfo.InvariantCulture,
            $"{t:ddd} {t:MMM} {t.Day,2} {t:HH}:{t:mm}:{t:ss} {t.Year}");

    // MboxDsn - mbox_dsn(): the status a write errno deserves.
    public static string MboxDsn(int errno, string def) => errno switch
    {
        EAGAIN or ESTALE => "4.2.0",
        ENOSPC => "4.3.0",
        EDQUOT => "5.2.2",
        _ => def,
    };

    // Copy - mail_copy(); the StatCorrupt/StatRead/StatWrite bits, and
    // the errno of a write error in writeErrno.
    public static int Copy(string sender, string? origRcpt, string? delivered, ReadOnlySpan<byte> queueFile,
        long dataOffset, string path, Stream dst, CopyFlags flags, string eol, bool enableOrcpt, DsnBuf? why,
        out int writeErrno, DateTime? now = null, Action? markCorrupt = null)
    {
        var errnoSeen = 0;
        var eolBytes = Encoding.UTF8.GetBytes(eol);
        var writeError = false;
        var corrupt = false;

        void Put(ReadOnlySpan<byte> bytes)
        {
            if (writeError || bytes.Length == 0)
                return;
            try
            {
                dst.Write(bytes);
            }
            catch (WriteErrorException e)
            {
                writeError = true;
                errnoSeen = e.Errno;
            }
            catch (IOException e)
            {
                writeError = true;
                errnoSeen = Sys.ErrnoOf(e);
            }
        }

        void PutLine(string text)
        {
            Put(Encoding.UTF8.GetBytes(text));
            Put(eolBytes);
        }

        if ((flags & (CopyFlags.From | CopyFlags.ReturnPath)) != 0)
        {
            var quoted = Quote822.Local(sender);
            if ((flags & CopyFlags.From) != 0)
                PutLine($"From {(sender.Length == 0 ? "MAILER-DAEMON" : quoted)}  {AscTime(now ?? DateTime.Now)}");
            if ((flags & CopyFlags.ReturnPath) != 0)
                PutLine($"Return-Path: <{(sender.Length > 0 ? quoted : "")}>");
        }
        if ((flags & CopyFlags.OrigRcpt) != 0)
        {
            if (origRcpt == null)
                Msg.Panic("mail_copy: null orig_rcpt");
            if (enableOrcpt && origRcpt!.Length > 0)
                PutLine($"X-Original-To: {Quote822.Local(origRcpt)}");
        }
        if ((flags & CopyFlags.Delivered) != 0)
        {
            if (delivered == null)
                Msg.Panic("mail_copy: null delivered");
            PutLine($"Delivered-To: {Quote822.Local(delivered!)}");
        }

        var reader = new RecordReader(queueFile, path);
        reader.Seek(dataOffset);
        var prevType = RecordType.Norm;
        int type;
        while ((type = reader.Read(out var rec)) > 0)
        {
            if (type != RecordType.Norm && type != RecordType.Cont)
                break;
            if (prevType == RecordType.Norm)
            {
                if ((flags & CopyFlags.Quote) != 0 && rec.StartsWith("From "u8))
                    Put(">"u8);
                if ((flags & CopyFlags.Dot) != 0 && rec.Length > 0 && rec[0] == '.')
                    Put("."u8);
            }
            Put(rec);
            if (type == RecordType.Norm)
                Put(eolBytes);
            if (writeError)
                break;
            prevType = type;
        }
        if (!writeError)
        {
            if (type != RecordType.Xtra)
            {
                Msg.Warn($"bad record type: {type} in message content");
                corrupt = true;
                markCorrupt?.Invoke();
            }
            if (prevType != RecordType.Norm)
                Put(eolBytes);
            if ((flags & CopyFlags.Blank) != 0)
                Put(eolBytes);
        }
        if (!writeError)
        {
            try
            {
                dst.Flush();
            }
            catch (WriteErrorException e)
            {
                writeError = true;
                errnoSeen = e.Errno;
            }
            catch (IOException e)
            {
                writeError = true;
                errnoSeen = Sys.ErrnoOf(e);
            }
        }
        try
        {
            dst.Dispose();
        }
        catch (IOException e)
        {
            if (!writeError)
                errnoSeen = e is WriteErrorException w ? w.Errno : Sys.ErrnoOf(e);
            writeError = true;
        }
        if (why != null && writeError)
            why.Unix(MboxDsn(errnoSeen, "5.3.0"), SysExits.Detail(SysExits.IoErr).Text,
                $"error writing message: {Sys.StrError(errnoSeen)}");
        writeErrno = errnoSeen;
        return (corrupt ? StatCorrupt : 0) | (writeError ? StatWrite : 0);
    }
}
