// NAME
//	SmtpdBdat - the BDAT command (CHUNKING)
// POSTFIX
//	src/smtpd/smtpd.c (bdat_cmd, skip_bdat)
// DESCRIPTION
//	Message content in counted chunks. The first chunk of a transaction
//	is checked like DATA; each chunk is read exactly, cut into lines
//	(with the same line length, CR/LF and bare LF rules as DATA, a line
//	may continue into the next chunk) and sent to cleanup without dot
//	unstuffing. After an error the remaining chunks of the transaction
//	are read and discarded until BDAT LAST or RSET.
using System;
using System.Collections.Generic;
using System.Globalization;
using Postfix.Global.Queue;
using Postfix.Util;

namespace Postfix.Daemons.Smtpd;

internal sealed partial class SmtpdSession
{
    public const int BdatNone = 0, BdatOk = 1, BdatError = 2;

    private ByteBuffer? bdatGetBuffer;
    private int bdatPrevRecType;
    private readonly ByteBuffer bdatChunk = new(4096);

    private long BdatPendingBytes => bdatChunk.Length + (bdatGetBuffer?.Length ?? 0);

    private void BdatReset()
    {
        BdatState = BdatNone;
        bdatGetBuffer?.Clear();
    }

    // SkipBdat - skip_bdat().
    private int SkipBdat(long chunkSize, bool finalChunk, string reply)
    {
        for (long done = 0; done < chunkSize;)
        {
            var len = (int)Math.Min(4096, chunkSize - done);
            Io.ReadExact(bdatChunk, len);
            done += len;
        }
        Reply(reply);
        if (finalChunk)
            MailReset();
        else
            BdatState = BdatError;
        return -1;
    }

    private int BdatCmd(List<SmtpdToken> argv)
    {
        string? err;
        long chunkSize = 0;
        var finalChunk = false;
        if ((EhloDiscardMask & EhloMask.Chunking) != 0)
            return Refuse(MailErrorProtocol, "521 5.5.1 Error: command not implemented");
        if (argv.Count < 2 || argv.Count > 3 || !AllDigits(argv[1].Text)
            || !long.TryParse(argv[1].Text, NumberStyles.None, CultureInfo.InvariantCulture, out chunkSize)
            || ((finalChunk = argv.Count == 3) && !string.Equals(argv[2].Text, "LAST", StringComparison.OrdinalIgnoreCase)))
        {
            ErrorMask |= MailErrorProtocol;
            Msg.Warn($"{QueueIdOrNoqueue}: malformed BDAT command syntax from {NamAddr}: {Trunc(Msg.Printable(CommandText), 100)}");
            Reply("521 5.5.4 Syntax: BDAT count [LAST]");
            return -1;
        }
        // With deadlines, content that arrives buys time.
        Io.Setup(StandAlone ? 0 : Config.Timeout, Config.RequestDeadline, Config.MinDataRate);
        if (chunkSize == 0 && !finalChunk)
        {
            Msg.Warn($"{QueueIdOrNoqueue}: null BDAT request from {NamAddr}");
            return SkipBdat(chunkSize, finalChunk, "551 5.7.1 Null BDAT request");
        }
        if (BdatState == BdatError)
            return SkipBdat(chunkSize, finalChunk, $"551 5.0.0 Discarded {chunkSize} bytes after earlier error");
        if (!ProcessingBdat)
        {
            if (RcptCount == 0)
            {
                if (!InMailTransaction)
                {
                    ErrorMask |= MailErrorProtocol;
                    return SkipBdat(chunkSize, finalChunk, "503 5.5.1 Error: need RCPT command");
                }
                return SkipBdat(chunkSize, finalChunk, "554 5.5.1 Error: no valid recipients");
            }
            if (!StandAlone && (err = Checker.CheckData(this)) != null)
                return SkipBdat(chunkSize, finalChunk, err);
            if (Milters != null && (SavedFlags & CleanupFlagDiscard) == 0
                && (err = Milters.DataEvent()) != null && (err = CheckMilterReply(err)) != null)
                return SkipBdat(chunkSize, finalChunk, err);
            if (Proxy != null && ProxyCommand(ProxyWantMore, "DATA") != 0)
                return SkipBdat(chunkSize, finalChunk, Proxy.Reply);
        }
        if (Config.MessageSizeLimit > 0 && ActSize > Config.MessageSizeLimit - chunkSize)
        {
            ErrorMask |= MailErrorPolicy;
            Msg.Warn($"{QueueIdOrNoqueue}: BDAT request from {NamAddr} exceeds message size limit");
            return SkipBdat(chunkSize, finalChunk, "552 5.3.4 Chunk exceeds message size limit");
        }
        var output = OpenOutput();
        if (!ProcessingBdat)
        {
            PreMessageHandling(output);
            bdatGetBuffer ??= new ByteBuffer(4096);
            bdatGetBuffer.Clear();
            bdatPrevRecType = 0;
        }
        BdatState = BdatOk;
        Where = AfterBdat;
        var getBuf = bdatGetBuffer!;
        long done = 0;
        do
        {
            var readLen = (int)Math.Min(4096, chunkSize - done);
            Io.ReadExact(bdatChunk, readLen);
            var mem = new MemReader(bdatChunk);
            do
            {
                var canRead = Config.LineLimit - getBuf.Length;
                var last = mem.GetLineAppend(getBuf, canRead > 0 ? canRead : 1, Io.DetectBareLf, out var gotBareLf);
                int currType;
                if (last == '\n')
                {
                    currType = RecordType.Norm;
                }
                else if (getBuf.Length > Config.LineLimit)
                {
                    mem.Unget();
                    getBuf.Length--;
                    currType = RecordType.Cont;
                }
                else if (!mem.Eof)
                {
                    currType = RecordType.Cont;
                }
                else if (getBuf.Length > 0 && finalChunk && readLen == chunkSize - done)
                {
                    currType = RecordType.Norm;
                }
                else
                {
                    break;
                }
                if ((gotBareLf & SmtpdConfig.BareLfReplyReject) != 0)
                    Err |= CleanupStatBareLf;
                var len = getBuf.Length;
                if (Err == CleanupStatOk)
                {
                    if (Config.MessageSizeLimit > 0 && Config.MessageSizeLimit - ActSize < len + 2)
                    {
                        Err = CleanupStatSize;
                        Msg.Warn($"{QueueIdOrNoqueue}: queue file size limit exceeded");
                    }
                    else
                    {
                        ActSize += len + 2;
                        if (len > 0 && getBuf[0] == '.' && Proxy != null && bdatPrevRecType != RecordType.Cont
                            && !output.Record(RecordType.Cont, "."u8))
                            Err = output.ErrorCode;
                        if (Err == CleanupStatOk && !output.Record(currType, getBuf.Span))
                            Err = output.ErrorCode;
                    }
                }
                getBuf.Clear();
                bdatPrevRecType = currType;
            }
            while (!mem.Eof);
            done += readLen;
        }
        while (done < chunkSize);
        if (finalChunk)
        {
            Where = AfterEom;
            return PostMessageHandling();
        }
        if (Err != CleanupStatOk)
        {
            PostMessageHandling();
            BdatState = BdatError;
            return -1;
        }
        Reply($"250 2.0.0 Ok: {chunkSize} bytes");
        return 0;
    }

    // MemReader - a VSTREAM over one chunk of BDAT content.
    private sealed class MemReader(ByteBuffer data)
    {
        private int pos;

        public bool Eof { get; private set; }

        private int GetC()
        {
            if (pos >= data.Length)
            {
                Eof = true;
                return -1;
            }
            return data[pos++];
        }

        public void Unget()
        {
            if (pos > 0)
                pos--;
            Eof = false;
        }

        // GetLineAppend - smtp_get_noexcept() with SMTP_GET_FLAG_APPEND.
        public int GetLineAppend(ByteBuffer buf, int bound, int detectBareLf, out int gotBareLf)
        {
            gotBareLf = 0;
            var last = -1;
            for (var n = 0; n < bound; n++)
            {
                var c = GetC();
                if (c < 0)
                    break;
                buf.Add((byte)c);
                last = c;
                if (c == '\n')
                    break;
            }
            if (last == '\r')
            {
                var next = GetC();
                if (next == '\n')
                {
                    buf.Add((byte)'\n');
                    last = '\n';
                }
                else if (next >= 0)
                {
                    Unget();
                }
            }
            if (last == '\n')
            {
                buf.Length--;
                if (detectBareLf != 0)
                {
                    if (buf.Length == 0 || buf[buf.Length - 1] != '\r')
                        gotBareLf = detectBareLf;
                    else
                        buf.Length--;
                }
                else
                {
                    while (buf.Length > 0 && buf[buf.Length - 1] == '\r')
                        buf.Length--;
                }
            }
            return last;
        }
    }
}
