// NAME
//	CleanupSession - one message on its way into the queue
// POSTFIX
//	src/cleanup/cleanup.h, cleanup_state.c, cleanup_out.c, cleanup_final.c
// DESCRIPTION
//	Holds the per-message state and the queue file being written.
//	Record() passes each client record to the current stage (envelope,
//	message content, extracted information; see the other partial
//	files). Out() writes one record, splitting long text records at
//	line_length_limit and turning a write failure into
//	CLEANUP_STAT_WRITE, or CLEANUP_STAT_SIZE when the queue file would
//	grow beyond message_size_limit (the reference gets EFBIG from its
//	file size resource limit). Final() updates the size record in place.
using Postfix.Global.Address;
using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using Postfix.Global.Mime;
using Postfix.Global.Queue;
using Postfix.Util;

namespace Postfix.Daemons.Cleanup;

internal sealed partial class CleanupSession
{
    private readonly CleanupConfig cfg;
    private readonly IAddressRewriter rewriter;
    private readonly Stream dst;
    private readonly RecordWriter writer;
    private Action<int, string> action;

    public CleanupSession(CleanupConfig cfg, IAddressRewriter rewriter, Stream dst, string queueId, long createTime)
    {
        this.cfg = cfg;
        this.rewriter = rewriter;
        this.dst = dst;
        writer = new RecordWriter(dst);
        QueueId = queueId;
        CreateTime = createTime;
        action = Envelope;
        attr["log_message_origin"] = "local";
        dups = new DupFilter(cfg.DupFilterLimit);
    }

    public string QueueId { get; }

    public long CreateTime { get; }

    public string QueueName { get; set; } = MailQueue.Incoming;

    public int Flags;
    public int Errs;
    public int ErrMask;
    public string? Reason;
    public string? SmtpReply;

    private long arrivalSeconds;
    private long arrivalMicros;

    public long ArrivalSeconds => arrivalSeconds;

    public long ArrivalMicros => arrivalMicros;
    private string? fullname;
    internal string? Sender;
    internal string? Recip;
    private string? origRcpt;
    private int tflags;
    private int qmgrOpts;
    private long headersSeen;
    private int hopCount;
    private string resent = "";
    private readonly DupFilter dups;
    private long dataOffset = -1;
    private long xtraOffset = -1;
    private long contLength;
    private int rcptCount;
    private readonly Dictionary<string, string> attr = new(StringComparer.Ordinal);
    private MimeState? mime;
    private int mimeErrs;
    private string? hdrRewriteContext = "local";
    private string? filter;
    private string? redirect;
    private string? dsnEnvid;
    private int dsnRet;
    private int dsnNotify;
    private string? dsnOrcpt;
    private string? verpDelims;
    private List<string>? hbcRcpt;
    private readonly List<string> autoHdrs = new();
    internal int SmtpUtf8;

    public const int SmtpUtf8Requested = 1 << 0;
    public const int SmtpUtf8Header = 1 << 1;
    public const int SmtpUtf8Sender = 1 << 2;

    // OutOk - CLEANUP_OUT_OK().
    public bool OutOk => (Errs & ErrMask) == 0 && (Flags & CleanupFlags.Discard) == 0;

    public bool EndSeen => (Flags & CleanupFlags.EndSeen) != 0;

    public bool HasRecipient => Recip != null;

    public IReadOnlyDictionary<string, string> Attributes => attr;

    public string? DsnEnvid => dsnEnvid;

    public int DsnRet => dsnRet;

    public string? VerpDelims => verpDelims;

    // Control - cleanup_control(): the client's processing options.
    public void Control(int flags)
    {
        Flags = flags;
        ErrMask = (flags & CleanupFlags.Bounce) != 0 ? CleanupStatus.MaskIncomplete : ~0;
        if ((flags & CleanupFlags.SmtpUtf8) != 0)
            SmtpUtf8 = SmtpUtf8Requested;
    }

    // Record - CLEANUP_RECORD(): one record from the client.
    public void Record(int type, string text) => action(type, text);

    // Out - cleanup_out().
    internal void Out(int type, string text)
    {
        if (!OutOk)
            return;
        // One Latin-1 byte per char, in a buffer kept for the session.
        if (outBytes.Length < text.Length)
            outBytes = new byte[Math.Max(text.Length, outBytes.Length * 2)];
        var data = outBytes;
        Encoding.Latin1.GetBytes(text, data);
        var pos = 0;
        var len = text.Length;
        try
        {
            do
            {
                if (len > cfg.LineLimit && RecordType.IsText(type))
                {
                    Put(RecordType.Cont, data.AsSpan(pos, cfg.LineLimit));
                    pos += cfg.LineLimit;
                    len -= cfg.LineLimit;
                }
                else
                {
                    Put(type, data.AsSpan(pos, len));
                    break;
                }
            }
            while (len > 0);
        }
        catch (FileTooBigException)
        {
            Msg.Warn($"{QueueId}: queue file size limit exceeded");
            Errs |= CleanupStatus.Size;
        }
        catch (IOException e)
        {
            Msg.Warn($"{QueueId}: write queue file: {Sys.StrError(Sys.ErrnoOf(e))}");
            Errs |= CleanupStatus.Write;
        }
    }

    private byte[] outBytes = new byte[256];

    private sealed class FileTooBigException : IOException;

    private void Put(int type, ReadOnlySpan<byte> data)
    {
        if (cfg.MessageLimit > 0 && dst.Position + RecordWriter.SpaceNeeded(data.Length) > cfg.MessageLimit)
            throw new FileTooBigException();
        writer.Put(type, data);
    }

    internal void OutFormat(int type, string text) => Out(type, text);

    internal long Tell() => dst.Position;

    // OutHeader - cleanup_out_header(): a multi-line header as records,
    // cut at header_size_limit.
    internal void OutHeader(string header)
    {
        if (cfg.SmtpUtf8Enable && header.Length > 0 && !Raw.IsAscii(header))
        {
            SmtpUtf8 |= SmtpUtf8Header;
            if ((Flags & CleanupFlags.AutoUtf8) != 0)
                SmtpUtf8 |= SmtpUtf8Requested;
        }
        var limit = MiltersActive ? Math.Min(cfg.HeaderLimit, 60000) : cfg.HeaderLimit;
        var nul = header.IndexOf('\0', StringComparison.Ordinal);
        if (nul >= 0)
            header = header[..nul];
        var start = 0;
        int? lineStart = 0;
        while (lineStart is int line)
        {
            var nl = header.IndexOf('\n', line);
            int? next = nl >= 0 ? nl + 1 : null;
            var lineLen = nl >= 0 ? nl - line : header.Length - line;
            var text = header.Substring(line, lineLen);
            if (line + lineLen > start + limit)
            {
                if (line - start > 0.9 * limit)
                    break;
                text = header.Substring(line, Math.Max(0, limit - line));
                next = null;
            }
            if (line == start)
            {
                Out(RecordType.Norm, text);
                // Room to overwrite a short header with a pointer.
                if (MiltersActive && text.Length < RecordType.PtrPayloadSize)
                    Pad(RecordType.Dtxt, RecordType.PtrPayloadSize - text.Length);
            }
            else if (text.Length > 0 && (text[0] == ' ' || text[0] == '\t'))
                Out(RecordType.Norm, text);
            else
                Out(RecordType.Norm, "\t" + text);
            lineStart = next;
        }
    }

    // Final - cleanup_final(): the real sizes into the first record.
    public void Final()
    {
        try
        {
            dst.Flush();
            var pos = dst.Position;
            dst.Seek(0, SeekOrigin.Begin);
            var size = new SizeRecord(xtraOffset - dataOffset, dataOffset, rcptCount, qmgrOpts, contLength, SmtpUtf8);
            writer.Put(RecordType.Size, Encoding.ASCII.GetBytes(size.Format()));
            dst.Flush();
            dst.Seek(pos, SeekOrigin.Begin);
        }
        catch (IOException e)
        {
            Msg.Warn($"{QueueId}: write queue file: {Sys.StrError(Sys.ErrnoOf(e))}");
            Errs |= CleanupStatus.Write;
        }
    }

    // Finish - the checks of cleanup_flush() that need all records.
    public void Finish()
    {
        if (OutOk)
        {
            if (Recip == null)
                Errs |= CleanupStatus.Rcpt;
            if (!EndSeen)
                Errs |= CleanupStatus.Bad;
        }
        if ((Flags & CleanupFlags.Discard) != 0)
            Errs = 0;
        MilterAtFlush();
        if (OutOk)
            Final();
    }

    private string LogSender(string addr) => cfg.InfoLogInternal || addr.Length == 0 ? addr : Quote822.Local(addr);

    // DsnSplit - dsn_split(): the leading status (or the default) and
    // the free text after it.
    internal static (string Dsn, string Text) DsnSplit(string defDsn, string text)
    {
        var cp = 0;
        while (cp < text.Length && char.IsWhiteSpace(text[cp]))
            cp++;
        string dsn;
        var len = DsnValidLength(text[cp..]);
        if (len > 0)
        {
            dsn = text.Substring(cp, len);
            cp = Math.Min(text.Length, cp + len + 1);
        }
        else
        {
            dsn = defDsn;
        }
        while (cp < text.Length && char.IsWhiteSpace(text[cp]))
            cp++;
        return (dsn, text[cp..]);
    }

    // DsnPrepend - dsn_prepend().
    internal static string DsnPrepend(string defDsn, string text)
    {
        var (dsn, rest) = DsnSplit(defDsn, text);
        return dsn + " " + rest;
    }

    // DsnValidLength - dsn_valid(): length of a leading "x.y.z" status.
    internal static int DsnValidLength(string s)
    {
        var i = 0;
        if (s.Length < 1 || (s[0] != '2' && s[0] != '4' && s[0] != '5'))
            return 0;
        i = 1;
        if (i >= s.Length || s[i] != '.')
            return 0;
        i++;
        var n = 0;
        while (i < s.Length && char.IsAsciiDigit(s[i]) && n < 3)
        {
            i++;
            n++;
        }
        if (n == 0 || i >= s.Length || s[i] != '.')
            return 0;
        i++;
        n = 0;
        while (i < s.Length && char.IsAsciiDigit(s[i]) && n < 3)
        {
            i++;
            n++;
        }
        if (n == 0 || (i < s.Length && s[i] != ' ' && s[i] != '\t'))
            return 0;
        return i;
    }
}
