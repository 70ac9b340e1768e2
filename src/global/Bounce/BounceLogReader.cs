// NAME
//	BounceLogReader - read the per-recipient entries of a bounce or defer logfile
// POSTFIX
//	src/global/bounce_log.c (bounce_log_open, bounce_log_read)
// DESCRIPTION
//	A logfile holds entries separated by blank lines; an entry is
//	"name = value" lines (recipient, reason, status, ...) or an old
//	"<recipient>: reason" line. Lines are made printable first (with
//	'?', keeping UTF-8 when Msg.Utf8Enable is set). Text is kept as
//	Latin-1 strings, one char per byte, so that callers can send the
//	exact bytes on. An entry still open at the end of the file is not
//	returned, as in Postfix. Missing fields get Postfix's place holders.
using System;
using System.Collections.Generic;
using System.Text;
using Postfix.Global.Config;
using Postfix.Util;

namespace Postfix.Global.Bounce;

public sealed class BounceLogReader
{
    private readonly byte[] data;
    private readonly string compatStatus;
    private readonly string compatAction;
    private int pos;

    // BounceLogReader - data: the file's bytes; path: its name in warnings;
    // defer: the defaults of a defer logfile (4.0.0 delayed), else 5.0.0 failed.
    public BounceLogReader(byte[] data, string path, bool defer)
    {
        this.data = data;
        Path = path;
        compatStatus = defer ? "4.0.0" : "5.0.0";
        compatAction = defer ? "delayed" : "failed";
    }

    public string Path { get; }

    // Entry - one recipient: address, reason and the DSN status and action.
    public readonly record struct Entry(string Recipient, string Reason, string Status, string Action);

    public IEnumerable<Entry> Entries()
    {
        while (Read() is { } e)
            yield return e;
    }

    // Read - bounce_log_read(): the next entry, or null at the end.
    public Entry? Read()
    {
        var found = false;
        string address = "", reason = "", status = "", action = "";
        for (;;)
        {
            var line = NextLine();
            if (line == null)
                return null;
            if (line.Length == 0)
            {
                if (found)
                    break;
                continue;
            }
            found = true;
            var cp = Printable(line);
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
                        address = value.Length > 0 ? value : "(MAILER-DAEMON)";
                        break;
                    case "reason":
                        reason = value;
                        break;
                    case "status":
                        status = value;
                        break;
                    case "action":
                        action = value;
                        break;
                    case "original_recipient" or "dsn_orig_rcpt" or "notify_flags" or "offset"
                        or "diag_type" or "diag_text" or "mta_type" or "mta_mname":
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
            var rcpt = cp[1..end];
            address = rcpt.Length > 0 ? rcpt : "(MAILER-DAEMON)";
            var text = end + 2;
            while (text < cp.Length && IsSpace(cp[text]))
                text++;
            reason = cp[text..];
        }
        if (address.Length == 0)
            address = "(recipient address unavailable)";
        if (status.Length == 0)
            status = compatStatus;
        if (action.Length == 0)
            action = compatAction;
        if (reason.Length == 0)
            reason = "(description unavailable)";
        return new Entry(address, reason, status, action);
    }

    // NextLine - vstring_get_nonl(): a line without its newline, cut at a
    // NUL byte as a C string is; null at the end of the data.
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

    // Printable - printable(s, '?') on Latin-1 text (one char per byte).
    public static string Printable(string s)
    {
        StringBuilder? sb = null;
        for (var i = 0; i < s.Length; i++)
        {
            var ch = s[i];
            if (ch >= 0x20 && ch < 0x7f)
                continue;
            if (Msg.Utf8Enable && ch >= 194 && ch <= 254 && i + 1 < s.Length && s[i + 1] >= 128 && s[i + 1] < 192)
            {
                while (i + 1 < s.Length && s[i + 1] >= 128 && s[i + 1] < 192)
                    i++;
                continue;
            }
            sb ??= new StringBuilder(s);
            sb[i] = '?';
        }
        return sb?.ToString() ?? s;
    }

    private static string Cut30(string s) => s.Length > 30 ? s[..30] : s;

    private static bool IsSpace(char c) => c is ' ' or '\t' or '\n' or '\r' or '\f' or '\v';
}
