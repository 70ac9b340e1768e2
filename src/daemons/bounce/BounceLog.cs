// NAME
//	BounceLog - append to and read back bounce, defer and trace logfiles
// POSTFIX
//	src/bounce/bounce_append_service.c, src/global/bounce_log.c
// DESCRIPTION
//	Append() adds one recipient entry to $queue_directory/SERVICE/QUEUEID
//	(created mode 0600, locked exclusively): a blank line, with
//	backwards_bounce_logfile_compatibility an old-style "<rcpt>: reason"
//	line, then one "name=value" line per non-empty attribute, and a
//	blank line. The file is fsynced; on failure it is truncated back to
//	its old length and the error is fatal, so that the client retries.
//
//	Open() reads a logfile whole; Read() returns the next entry in the
//	caller's buffers (old and new formats, with Postfix's place holders
//	for missing fields), Rewind() starts over.
using System;
using System.Globalization;
using System.IO;
using System.Text;
using Postfix.Global.Address;
using Postfix.Global.Bounce;
using Postfix.Global.Config;
using Postfix.Global.Queue;
using Postfix.Util;

namespace Postfix.Daemons.Bounce;

internal sealed class BounceLog
{
    private const int LockEx = 2;
    private const int Enoent = 2;

    private readonly byte[] data;
    private readonly string compatStatus;
    private readonly string compatAction;
    private int pos;

    private BounceLog(byte[] data, string path, bool defer)
    {
        this.data = data;
        Path = path;
        compatStatus = defer ? "4.0.0" : "5.0.0";
        compatAction = defer ? "delayed" : "failed";
    }

    public string Path { get; }

    // Append - bounce_append_service(). Octet-string arguments.
    public static void Append(MailQueue queue, bool oldlogCompat, string service, string queueId, RcptBuf rcpt, DsnBuf dsn)
    {
        var path = queue.Path(service, queueId);
        FileStream log;
        try
        {
            log = OpenAppend(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Msg.Fatal($"open file {service} {queueId}: {Sys.StrError(Sys.ErrnoOf(e))}");
            return;
        }
        using (log)
        {
            if (Sys.Flock((int)log.SafeFileHandle.DangerousGetHandle(), LockEx) != 0)
                Msg.Fatal($"lock file {service} {queueId}: {Sys.LastError()}");
            var origLength = log.Length;
            var text = Format(oldlogCompat, rcpt, dsn);
            try
            {
                log.Seek(0, SeekOrigin.End);
                log.Write(Encoding.Latin1.GetBytes(text));
                log.Flush(flushToDisk: true);
            }
            catch (IOException e)
            {
                var err = Sys.StrError(Sys.ErrnoOf(e));
                try
                {
                    log.SetLength(origLength);
                }
                catch (IOException e2)
                {
                    Msg.Fatal($"truncate file {service} {queueId}: {Sys.StrError(Sys.ErrnoOf(e2))}");
                }
                Msg.Fatal($"append file {service} {queueId}: {err}");
            }
        }
    }

    private static FileStream OpenAppend(string path)
    {
        var options = new FileStreamOptions
        {
            Mode = FileMode.OpenOrCreate,
            Access = FileAccess.Write,
            Share = FileShare.ReadWrite | FileShare.Delete,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        };
        try
        {
            return new FileStream(path, options);
        }
        catch (DirectoryNotFoundException)
        {
            MailQueue.MakeDirs(path);
            return new FileStream(path, options);
        }
    }

    // Format - the text of one logfile entry.
    public static string Format(bool oldlogCompat, RcptBuf rcpt, DsnBuf dsn)
    {
        var sb = new StringBuilder();
        sb.Append('\n');
        var quoted = rcpt.Address.Length == 0 ? "" : Quote822.Local(rcpt.Address);
        if (oldlogCompat)
            sb.Append('<').Append(quoted).Append(">: ").Append(dsn.Reason).Append('\n');
        sb.Append("recipient=").Append(rcpt.Address.Length > 0 ? quoted : "<>").Append('\n');
        if (rcpt.OrigAddr.Length > 0 && !string.Equals(Raw.Text(rcpt.Address), Raw.Text(rcpt.OrigAddr), StringComparison.OrdinalIgnoreCase))
            sb.Append("original_recipient=").Append(Quote822.Local(rcpt.OrigAddr)).Append('\n');
        if (rcpt.Offset > 0)
            sb.Append("offset=").Append(rcpt.Offset.ToString(CultureInfo.InvariantCulture)).Append('\n');
        if (rcpt.DsnOrcpt.Length > 0)
            sb.Append("dsn_orig_rcpt=").Append(rcpt.DsnOrcpt).Append('\n');
        if (rcpt.DsnNotify != 0)
            sb.Append("notify_flags=").Append(rcpt.DsnNotify.ToString(CultureInfo.InvariantCulture)).Append('\n');
        if (dsn.Status.Length > 0)
            sb.Append("status=").Append(dsn.Status).Append('\n');
        if (dsn.Action.Length > 0)
            sb.Append("action=").Append(dsn.Action).Append('\n');
        if (dsn.Dtype.Length > 0 && dsn.Dtext.Length > 0)
            sb.Append("diag_type=").Append(dsn.Dtype).Append("\ndiag_text=").Append(dsn.Dtext).Append('\n');
        if (dsn.Mtype.Length > 0 && dsn.Mname.Length > 0)
            sb.Append("mta_type=").Append(dsn.Mtype).Append("\nmta_mname=").Append(dsn.Mname).Append('\n');
        if (dsn.Reason.Length > 0)
            sb.Append("reason=").Append(dsn.Reason).Append('\n');
        sb.Append('\n');
        return sb.ToString();
    }

    // Open - bounce_log_open(): null when the file does not exist; fatal
    // on other errors.
    public static BounceLog? Open(MailQueue queue, string service, string queueId)
    {
        var path = queue.Path(service, queueId);
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            var errno = Sys.ErrnoOf(e);
            if (errno == Enoent || e is FileNotFoundException or DirectoryNotFoundException)
                return null;
            Msg.Fatal($"open {service} {queueId}: {Sys.StrError(errno)}");
            return null;
        }
        return new BounceLog(bytes, path, service == MailQueue.Defer);
    }

    // FromBytes - a logfile held in memory (tests).
    public static BounceLog FromBytes(byte[] bytes, string path, bool defer) => new(bytes, path, defer);

    public void Rewind() => pos = 0;

    // Read - bounce_log_read(): false at the end.
    public bool Read(RcptBuf rcpt, DsnBuf dsn)
    {
        rcpt.Reset();
        dsn.Reset();
        var found = false;
        for (;;)
        {
            var line = NextLine();
            if (line == null)
                return false;
            if (line.Length == 0)
            {
                if (found)
                    break;
                continue;
            }
            var cp = BounceLogReader.Printable(line);
            found = true;
            if (char.IsAsciiLetterOrDigit(cp[0]))
            {
                var err = NameValue.Split(cp, out var name, out var value);
                if (err != null)
                {
                    Msg.Warn($"{Path}: malformed record: {err}");
                    continue;
                }
                switch (name)
                {
                    case "recipient":
                        rcpt.Address = value.Length > 0 ? value : "(MAILER-DAEMON)";
                        break;
                    case "original_recipient":
                        rcpt.OrigAddr = value.Length > 0 ? value : "(MAILER-DAEMON)";
                        break;
                    case "dsn_orig_rcpt":
                        rcpt.DsnOrcpt = value;
                        break;
                    case "notify_flags":
                        var notify = AtoI(value);
                        if (notify > 0 && BounceCodes.NotifyOk(notify))
                            rcpt.DsnNotify = notify;
                        break;
                    case "offset":
                        var offset = AtoL(value);
                        if (offset > 0)
                            rcpt.Offset = offset;
                        break;
                    case "status":
                        dsn.Status = value;
                        break;
                    case "action":
                        dsn.Action = value;
                        break;
                    case "diag_type":
                        dsn.Dtype = value;
                        break;
                    case "diag_text":
                        dsn.Dtext = value;
                        break;
                    case "mta_type":
                        dsn.Mtype = value;
                        break;
                    case "mta_mname":
                        dsn.Mname = value;
                        break;
                    case "reason":
                        dsn.Reason = value;
                        break;
                    default:
                        Msg.Warn($"{Path}: unknown attribute name: {name}, ignored");
                        break;
                }
                continue;
            }
            if (cp[0] != '<')
            {
                Msg.Warn($"{Path}: malformed record: {Cut30(cp)}...");
                continue;
            }
            var end = cp.IndexOf(">: ", 1, StringComparison.Ordinal);
            if (end < 0)
            {
                Msg.Warn($"{Path}: malformed record: {Cut30(cp)}...");
                continue;
            }
            var recipient = cp[1..end];
            rcpt.Address = recipient.Length > 0 ? recipient : "(MAILER-DAEMON)";
            var text = end + 2;
            while (text < cp.Length && IsSpace(cp[text]))
                text++;
            dsn.Reason = cp[text..];
        }
        if (rcpt.Address.Length == 0)
            rcpt.Address = "(recipient address unavailable)";
        if (dsn.Status.Length == 0)
            dsn.Status = compatStatus;
        if (dsn.Action.Length == 0)
            dsn.Action = compatAction;
        if (dsn.Reason.Length == 0)
            dsn.Reason = "(description unavailable)";
        return true;
    }

    private string? NextLine()
    {
        if (pos >= data.Length)
            return null;
        var nl = Array.IndexOf(data, (byte)'\n', pos);
        var end = nl < 0 ? data.Length : nl;
        var span = data.AsSpan(pos, end - pos);
        var nul = span.IndexOf((byte)0);
        if (nul >= 0)
            span = span[..nul];
        pos = nl < 0 ? data.Length : nl + 1;
        return Encoding.Latin1.GetString(span);
    }

    // AtoI, AtoL - atoi()/atol(): leading digits, 0 when none.
    internal static long AtoL(string s)
    {
        var i = 0;
        while (i < s.Length && IsSpace(s[i]))
            i++;
        var neg = false;
        if (i < s.Length && (s[i] == '-' || s[i] == '+'))
            neg = s[i++] == '-';
        long v = 0;
        while (i < s.Length && char.IsAsciiDigit(s[i]))
        {
            v = unchecked(v * 10 + (s[i++] - '0'));
        }
        return neg ? -v : v;
    }

    internal static int AtoI(string s) => unchecked((int)AtoL(s));

    private static string Cut30(string s) => s.Length > 30 ? s[..30] : s;

    internal static bool IsSpace(char c) => c is ' ' or '\t' or '\n' or '\r' or '\f' or '\v';
}
