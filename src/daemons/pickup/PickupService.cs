// NAME
//	PickupService - move files from maildrop/ into the cleanup service
// POSTFIX
//	src/pickup/pickup.c, src/global/mail_open_ok.c
// DESCRIPTION
//	Scan() looks at every maildrop file that is "ready" (mode 0700, a
//	regular file named like a queue ID) and hands it to cleanup: it
//	reads the queue ID cleanup assigned, sends the cleanup flags, copies
//	the envelope records (adding an arrival time record when the file
//	has none, dropping stale FILTER/REDIRECT records), logs
//	"QUEUEID: uid=N from=<sender>", adds its own Received: header,
//	copies the content and extracted records and waits for cleanup's
//	status. The maildrop file is removed when cleanup accepted it or
//	when it is malformed; it is kept for a later try after a temporary
//	cleanup failure. Scanning repeats until a pass removes nothing.
using Postfix.Global.Address;
using System;
using System.Globalization;
using System.IO;
using Postfix.Global.Attr;
using Postfix.Global.Queue;
using Postfix.Util;

namespace Postfix.Daemons.Pickup;

internal sealed class PickupService
{
    private const int RemoveFile = 1;
    private const int KeepFile = 2;

    // Cleanup flags (src/global/cleanup_user.h).
    private const int FlagBounce = 1 << 0, FlagFilter = 1 << 1, FlagBccOk = 1 << 4, FlagMapOk = 1 << 5,
        FlagMilter = 1 << 6, FlagAutoUtf8 = 1 << 9;
    private const int StatBad = 1 << 0, StatWrite = 1 << 1, StatRcpt = 1 << 6;

    private readonly PickupConfig cfg;
    private readonly Func<Stream> connect;

    // PickupService - connect opens a stream to the cleanup service.
    public PickupService(PickupConfig cfg, Func<Stream> connect)
    {
        this.cfg = cfg;
        this.connect = connect;
    }

    // Now - the clock (tests replace it).
    public Func<long> Now { get; init; } = () => DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    private sealed class Info
    {
        public string Id = "";
        public string Path = "";
        public Sys.FileStat St;
        public string? Sender;
    }

    // Scan - pickup_service(): one wake-up.
    public void Scan()
    {
        int fileCount;
        do
        {
            fileCount = 0;
            using var dir = DirStream.Open(MailQueue.Maildrop);
            if (dir == null)
                Msg.Fatal($"open directory {MailQueue.Maildrop}: {Sys.LastError()}");
            string? name;
            while ((name = dir!.Next()) != null)
            {
                if (name.StartsWith('.'))
                    continue;
                if (!OpenOk(name, out var st, out var path))
                    continue;
                var info = new Info { Path = path, St = st };
                if (PickupFile(info) == RemoveFile)
                {
                    if (Sys.Unlink(info.Path) != 0)
                        Msg.Warn($"remove {info.Path}: {Sys.LastError()}");
                    else
                        fileCount++;
                }
            }
        }
        while (fileCount > 0);
    }

    // OpenOk - mail_open_ok(): a ready maildrop file.
    private bool OpenOk(string id, out Sys.FileStat st, out string path)
    {
        path = MailQueue.Maildrop + "/" + id;
        st = default;
        if (!QueueId.IsValid(id))
            return false;
        if (!Sys.LStat(path, out st))
        {
            var errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            if (errno != 2)
                Msg.Warn($"{path}: {Sys.StrError(errno)}");
            return false;
        }
        if (!Sys.IsReg(st.Mode))
        {
            Msg.Warn($"{path}: uid {st.Uid}: not a regular file");
            return false;
        }
        if ((st.Mode & 0x1c0) != MailQueue.StatReady)
            return false;
        if (st.Links > 1 && Msg.Verbose > 0)
            Msg.Info($"{path}: uid {st.Uid}: file has {st.Links} links");
        return true;
    }

    private bool IsRequeued(Info info) => info.St.Uid == cfg.OwnerUid && (info.St.Mode & 0x4) == 0;

    // PickupFile - pickup_file().
    private int PickupFile(Info info)
    {
        // safe_open(): an existing file with exactly one link.
        byte[] data;
        string? why = null;
        var errno = 0;
        try
        {
            data = File.ReadAllBytes(info.Path);
            if (info.St.Links != 1)
            {
                why = $"file has {info.St.Links} hard links";
                errno = 1; // EPERM
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            data = [];
            errno = Sys.ErrnoOf(e);
            why = "cannot open file: " + Sys.StrError(errno);
        }
        if (why != null)
        {
            if (errno != 2)
                Msg.Warn($"open input file {info.Path}: {why}");
            if (errno == 13)
                Msg.Warn($"if this file was created by Postfix < 1.1, then you may have to chmod a+r {cfg.QueueDirectory}/{info.Path}");
            return errno == 13 ? KeepFile : RemoveFile;
        }
        var flags = FlagBounce | FlagFilter | FlagMilter | FlagBccOk | FlagMapOk;
        if ((cfg.TranspMask & PickupConfig.TranspAddressMapping) != 0)
            flags &= ~(FlagBccOk | FlagMapOk);
        if ((cfg.TranspMask & PickupConfig.TranspHeaderBody) != 0)
            flags &= ~FlagFilter;
        if ((cfg.TranspMask & PickupConfig.TranspMilter) != 0)
            flags &= ~FlagMilter;
        if (IsRequeued(info))
            flags &= ~FlagMilter;
        else if (cfg.AutodetectSendmail)
            flags |= FlagAutoUtf8;

        using var stream = connect();
        var attrs = new AttrStream(stream, "public/" + cfg.CleanupService + " socket");
        var v = new AttrValue[2];
        if (attrs.Receive([AttrSpec.StrEq(MailProto.AttrProto, MailProto.ProtoCleanup), AttrSpec.Str(MailProto.AttrQueueId)],
                v, AttrFlags.Strict) != 1
            || !attrs.Send(w => w.Int(MailProto.AttrFlags, flags)))
            return KeepFile;
        info.Id = v[1].Str;
        var output = new BufferedStream(stream, 65536);
        try
        {
            return Copy(data, output, attrs, info);
        }
        catch (IOException)
        {
            return CleanupError(info, StatWrite, null);
        }
    }

    // CleanupError - cleanup_service_error_reason().
    private static int CleanupError(Info info, int status, string? reason)
    {
        if (string.IsNullOrEmpty(reason))
            Msg.Warn($"{info.Path}: error writing {info.Id}: {StatusText(status)}");
        return (status & (StatBad | StatRcpt)) != 0 ? RemoveFile : KeepFile;
    }

    private static string StatusText(int status) =>
        (status & (1 << 8)) != 0 ? "service unavailable"
        : (status & (1 << 7)) != 0 ? "queue file write error"
        : (status & StatBad) != 0 ? "internal protocol error"
        : (status & StatRcpt) != 0 ? "no recipients specified"
        : (status & (1 << 4)) != 0 ? "too many hops"
        : (status & (1 << 2)) != 0 ? "message file too big"
        : (status & (1 << 3)) != 0 ? "message content rejected"
        : (status & StatWrite) != 0 ? "queue file write error"
        : (status & (1 << 9)) != 0 ? "service denied"
        : status == 0 ? "Success" : "unknown error";

    // Copy - pickup_copy().
    private int Copy(byte[] data, Stream output, AttrStream attrs, Info info)
    {
        var w = new RecordWriter(output);
        var now = Now();
        var mtime = info.St.MTime;
        if (mtime > now + 2 * 3600)
        {
            Msg.Warn($"{info.Id}: message dated {mtime - now} seconds into the future");
            mtime = now;
        }
        else if (mtime < now - 86400)
        {
            Msg.Warn($"{info.Id}: message has been queued for {(now - mtime) / 86400} days");
        }
        if (cfg.FilterTransport.Length > 0)
            w.Put(RecordType.Filt, cfg.FilterTransport);

        var reader = new RecordReader(data, info.Path);
        int status;
        if ((status = CopySegment(ref reader, w, info, mtime, RecordType.Envelope)) != 0)
            return status;
        if (info.Sender == null)
        {
            Msg.Warn($"{info.Id}: uid={info.St.Uid}: no envelope sender");
            return RemoveFile;
        }
        var sender = cfg.LogInternal ? info.Sender : Quote822(info.Sender);
        if (IsRequeued(info))
            Msg.Info($"{info.Id}: uid={info.St.Uid} from=<{sender}> orig_id={Path.GetFileName(info.Path)}");
        else
            Msg.Info($"{info.Id}: uid={info.St.Uid} from=<{sender}>");

        w.Put(RecordType.Mesg, "");
        w.Put(RecordType.Norm, $"Received: by {cfg.MyHostname} ({cfg.MailName}, from userid {info.St.Uid})");
        w.Put(RecordType.Norm, $"\tid {info.Id}; {cfg.MailDate(mtime)}");
        if ((status = CopySegment(ref reader, w, info, mtime, RecordType.Content)) != 0)
            return status;
        w.Put(RecordType.Xtra, "");
        if ((status = CopySegment(ref reader, w, info, mtime, RecordType.Extract)) != 0)
            return status;
        w.Put(RecordType.End, "");
        output.Flush();

        var v = new AttrValue[2];
        if (attrs.Receive([AttrSpec.Int(MailProto.AttrStatus), AttrSpec.Str(MailProto.AttrWhy)], v, AttrFlags.Missing) != 2)
            return CleanupError(info, StatWrite, null);
        return v[0].Int != 0 ? CleanupError(info, v[0].Int, v[1].Str) : RemoveFile;
    }

    // CopySegment - copy_segment(): records up to the segment's terminator.
    private int CopySegment(ref RecordReader reader, RecordWriter w, Info info, long mtime, string expected)
    {
        var end = expected[0];
        var checkFirst = end == RecordType.Content[0];
        var timeSeen = false;
        for (; ; )
        {
            var type = reader.Read(out var rec, cfg.LineLimit);
            if (type < 0 || !RecordType.InSet(expected, type))
            {
                Msg.Warn($"uid={info.St.Uid}: unexpected or malformed record type {type}");
                return RemoveFile;
            }
            if (type == end)
                break;
            if (type == RecordType.From)
            {
                info.Sender ??= Postfix.Global.Address.Raw.Text(Postfix.Global.Address.Raw.FromBytes(rec));
                if (!timeSeen)
                    w.Put(RecordType.Time, mtime.ToString(CultureInfo.InvariantCulture));
            }
            if (type == RecordType.Time)
                timeSeen = true;
            if (end != RecordType.Content[0] && (type == RecordType.Filt || type == RecordType.Rdr))
                continue;
            if (end == RecordType.Extract[0])
            {
                if (type == RecordType.Rrto || type == RecordType.Erto)
                    continue;
                if (type == RecordType.Attr && SkipAttr(rec))
                    continue;
            }
            if (checkFirst && (type == RecordType.Norm || type == RecordType.Cont))
            {
                checkFirst = false;
                if (rec.Length > 0 && (rec[0] == ' ' || rec[0] == '\t'))
                    w.Put(RecordType.Norm, ReadOnlySpan<byte>.Empty);
            }
            w.Put(type, rec);
        }
        return 0;
    }

    // SkipAttr - a header/body action attribute left by "postsuper -r".
    private static bool SkipAttr(ReadOnlySpan<byte> rec)
    {
        var text = System.Text.Encoding.Latin1.GetString(rec);
        var eq = text.IndexOf('=', StringComparison.Ordinal);
        if (eq < 0)
            return false;
        var name = text[..eq].Trim();
        if (name.Length == 0 || name.Contains(' ', StringComparison.Ordinal))
            return false;
        return name is not ("dsn_orig_rcpt" or "notify_flags" or "envelope_id" or "ret_flags" or "create_time");
    }

    // Quote822 - quote_822_local() for the log (external form).
    internal static string Quote822(string addr) => addr.Length == 0 ? addr : Postfix.Global.Address.Quote822.Local(addr);
}
