// NAME
//	MailCopy - copy a queued message to a mailbox, file or command
// POSTFIX
//	src/global/mail_copy.c, src/global/mail_copy.h
// DESCRIPTION
//	Copy() writes the message content that starts at offset in the
//	queue file to a descriptor, optionally preceded by the "From sender
//	date" line, Return-Path:, X-Original-To: and Delivered-To: (the
//	Flags bits), quoting ">From " lines and escaping leading dots as the
//	flags ask, and ending with a newline when the last record had none
//	(and a blank line with Blank). With ToFile the output is fsync()ed
//	and, when anything failed, truncated back to its original length.
//	The descriptor is always closed. The result is a Stat* mask; why
//	receives "error reading message: ..." or "error writing message:
//	..." with the status the error number calls for.
using System;
using System.Globalization;
using System.Text;
using Postfix.Global.Address;
using Postfix.Global.Queue;
using Postfix.Util;
using Postfix.Global.Deliver;

namespace Postfix.Global.Mailbox;

public static class MailCopy
{
    public const int Quote = 1 << 0;
    public const int ToFile = 1 << 1;
    public const int From = 1 << 2;
    public const int Delivered = 1 << 3;
    public const int ReturnPath = 1 << 4;
    public const int Dot = 1 << 5;
    public const int Blank = 1 << 6;
    public const int OrigRcpt = 1 << 7;
    public const int MboxFlags = From | Quote | ToFile | Delivered | ReturnPath | Blank | OrigRcpt;
    public const int None = 0;

    public const int StatOk = 0;
    public const int StatCorrupt = 1 << 0;
    public const int StatRead = 1 << 1;
    public const int StatWrite = 1 << 2;

    // EnableOriginalRecipient - enable_original_recipient.
    public static bool EnableOriginalRecipient { get; set; } = true;

    // TextEncoding - how envelope strings become header bytes.
    public static Encoding TextEncoding { get; set; } = new UTF8Encoding(false);

    // Now - the clock for the From_ line (tests replace it).
    public static Func<DateTime> Now { get; set; } = static () => DateTime.Now;

    // AscTime - asctime(3) without the newline.
    public static string AscTime(DateTime t) =>
        string.Create(CultureInfo.InvariantCulture, $"{t:ddd MMM} {t.Day,2} {t:HH:mm:ss} {t.Year}");

    // Copy - mail_copy(); errno is the error number of a failure.
    public static int Copy(ReadOnlySpan<byte> queueFile, long offset, string queuePath,
        string? sender, string? origRcpt, string? delivered,
        int dstFd, int flags, DsnBuf? why, out int errno)
    {
        errno = 0;
        long origLength = 0;
        if ((flags & ToFile) != 0)
        {
            origLength = MailboxNative.LSeek(dstFd, 0, MailboxNative.SEEK_END);
            if (origLength < 0)
                Msg.Fatal($"seek file {queuePath}: {Sys.LastError()}");
        }
        var dst = new FdWriter(dstFd);
        var sb = new StringBuilder();
        if ((flags & (From | ReturnPath)) != 0)
        {
            if (sender == null)
                Msg.Panic("mail_copy: null sender");
            var quoted = Quote822.Local(sender);
            if ((flags & From) != 0)
                sb.Append("From ").Append(sender.Length == 0 ? "MAILER-DAEMON" : quoted)
                    .Append("  ").Append(AscTime(Now())).Append('\n');
            if ((flags & ReturnPath) != 0)
                sb.Append("Return-Path: <").Append(sender.Length > 0 ? quoted : "").Append(">\n");
        }
        if ((flags & OrigRcpt) != 0)
        {
            if (origRcpt == null)
                Msg.Panic("mail_copy: null orig_rcpt");
            if (EnableOriginalRecipient && origRcpt.Length > 0)
                sb.Append("X-Original-To: ").Append(Quote822.Local(origRcpt)).Append('\n');
        }
        if ((flags & Delivered) != 0)
        {
            if (delivered == null)
                Msg.Panic("mail_copy: null delivered");
            sb.Append("Delivered-To: ").Append(Quote822.Local(delivered)).Append('\n');
        }
        if (sb.Length > 0)
            dst.Write(TextEncoding.GetBytes(sb.ToString()));

        var reader = new RecordReader(queueFile, queuePath);
        reader.Seek(offset);
        var prevType = RecordType.Norm;
        int type;
        ReadOnlySpan<byte> from = "From "u8;
        while ((type = reader.Read(out var rec)) > 0)
        {
            if (type != RecordType.Norm && type != RecordType.Cont)
                break;
            if (prevType == RecordType.Norm)
            {
                if ((flags & Quote) != 0 && rec.StartsWith(from))
                    dst.WriteByte((byte)'>');
                if ((flags & Dot) != 0 && rec.Length > 0 && rec[0] == '.')
                    dst.WriteByte((byte)'.');
            }
            if (rec.Length > 0)
                dst.Write(rec);
            if (type == RecordType.Norm)
                dst.WriteByte((byte)'\n');
            if (dst.Failed)
                break;
            prevType = type;
        }
        var corrupt = false;
        if (!dst.Failed)
        {
            if (type != RecordType.Xtra)
            {
                Msg.Warn($"bad record type: {type} in message content");
                corrupt = true;
            }
            if (prevType != RecordType.Norm)
                dst.WriteByte((byte)'\n');
            if ((flags & Blank) != 0)
                dst.WriteByte((byte)'\n');
        }

        var writeError = !dst.Flush();
        var writeErrno = dst.Errno;
        if ((flags & ToFile) != 0 && !writeError && Sys.Fsync(dstFd) != 0)
        {
            writeError = true;
            writeErrno = MailboxNative.Errno;
        }
        if ((flags & ToFile) != 0 && (corrupt || writeError))
            MailboxNative.FTruncate(dstFd, origLength);
        if (Sys.Close(dstFd) != 0 && !writeError)
        {
            writeError = true;
            writeErrno = MailboxNative.Errno;
        }
        if (why != null && writeError)
            why.Unix(MboxDsn.Of(writeErrno, "5.3.0"), "input/output error",
                $"error writing message: {Sys.StrError(writeErrno)}");
        errno = writeError ? writeErrno : 0;
        return (corrupt ? StatCorrupt : 0) | (writeError ? StatWrite : 0);
    }

    // FdWriter - buffered write(2) that remembers the first error.
    private sealed class FdWriter
    {
        private readonly int fd;
        private readonly byte[] buffer = new byte[65536];
        private int used;

        public FdWriter(int fd) => this.fd = fd;

        public bool Failed { get; private set; }

        public int Errno { get; private set; }

        public void WriteByte(byte b)
        {
            if (used == buffer.Length)
                Drain();
            buffer[used++] = b;
        }

        public void Write(ReadOnlySpan<byte> data)
        {
            while (data.Length > 0 && !Failed)
            {
                if (used == buffer.Length)
                    Drain();
                var n = Math.Min(data.Length, buffer.Length - used);
                data[..n].CopyTo(buffer.AsSpan(used));
                used += n;
                data = data[n..];
            }
        }

        private void Drain()
        {
            if (!Failed && used > 0 && !Sys.WriteAll(fd, buffer.AsSpan(0, used)))
            {
                Failed = true;
                Errno = MailboxNative.Errno;
            }
            used = 0;
        }

        public bool Flush()
        {
            Drain();
            return !Failed;
        }
    }
}
