// NAME
//	ShowqFormat - print the showq(8) listing as mailq text or JSON lines
// POSTFIX
//	src/postqueue/showq_compat.c, src/postqueue/showq_json.c
// DESCRIPTION
//	Both read the same attribute stream: lists of (queue_name,
//	queue_id, time, size, forced_expire, sender), each followed by
//	(recipient, reason) lists and a terminator; a final terminator
//	ends the listing. Compat() prints the historical mailq layout
//	(short or long queue ID columns, "!" for hold, "*" for active, "#"
//	for forced expiry, a "(reason)" line when the reason changes, the
//	size summary); Json() one JSON object per message. A malformed
//	stream is fatal (EX_SOFTWARE) after what was printed so far.
using System;
using System.Globalization;
using System.Text;
using Postfix.Global.Attr;
using Postfix.Util;

namespace Postfix.Commands.Postqueue;

internal static class ShowqFormat
{
    private const int ExSoftware = 70;
    private const int ExIoErr = 74;

    private static readonly AttrSpec[] MessageSpec =
    {
        AttrSpec.Str(MailProto.AttrQueue), AttrSpec.Str(MailProto.AttrQueueId), AttrSpec.Long(MailProto.AttrTime),
        AttrSpec.Long(MailProto.AttrSize), AttrSpec.Int("forced_expire"), AttrSpec.Str(MailProto.AttrSender),
    };

    private static readonly AttrSpec[] RecipientSpec = { AttrSpec.Str(MailProto.AttrRecip), AttrSpec.Str(MailProto.AttrWhy) };

    private const AttrFlags ScanFlags = AttrFlags.More | AttrFlags.Strict | AttrFlags.Printable;

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void Malformed() => Msg.FatalStatus(ExSoftware, "malformed showq server response");

    // Compat - showq_compat(): the mailq listing.
    public static void Compat(AttrStream showq, StdoutBuffer output, bool longIds)
    {
        ulong fileCount = 0;
        ulong queueSize = 0;
        int status;
        while ((status = showq.ScanMore()) > 0)
        {
            if (fileCount > 0)
                output.Write('\n');
            else if (longIds)
                output.Write(Row(longIds, "----Queue ID-----", "--Size--", "---Arrival Time----", "--Sender/Recipient------"));
            else
                output.Write(Row(longIds, "-Queue ID-", "--Size--", "----Arrival Time----", "-Sender/Recipient-------"));
            queueSize += unchecked((ulong)Message(showq, output, longIds));
            fileCount++;
            if (!FlushOut(output))
                return;
        }
        if (status < 0)
            Malformed();
        if (fileCount == 0)
            output.Write("Mail queue is empty\n");
        else
            output.Write(string.Create(CultureInfo.InvariantCulture,
                $"\n-- {queueSize / 1024} Kbytes in {fileCount} Request{(fileCount == 1 ? "" : "s")}.\n"));
        FlushOut(output);
    }

    // Message - showq_message(): one message; returns its size.
    private static long Message(AttrStream showq, StdoutBuffer output, bool longIds)
    {
        var v = new AttrValue[MessageSpec.Length];
        if (showq.Receive(MessageSpec, v, ScanFlags) != 6)
            Malformed();
        var queueName = v[0].Str;
        var idStatus = v[1].Str;
        if (queueName == "active")
            idStatus += "*";
        else if (queueName == "hold")
            idStatus += "!";
        if (v[4].Int != 0)
            idStatus += "#";
        var size = v[3].Long;
        var when = AscTime(v[2].Long);
        output.Write(longIds
            ? string.Create(CultureInfo.InvariantCulture, $"{idStatus,-17} {size,8} {Cut(when, 19),19} {v[5].Str}\n")
            : string.Create(CultureInfo.InvariantCulture, $"{idStatus,-11} {size,7} {Cut(when, 20),20} {v[5].Str}\n"));

        var savedReason = "";
        var r = new AttrValue[RecipientSpec.Length];
        int status;
        while ((status = showq.ScanMore()) > 0)
        {
            if (showq.Receive(RecipientSpec, r, ScanFlags) != 2)
                Malformed();
            var why = r[1].Str;
            if (savedReason != why)
            {
                savedReason = why;
                var show = why.Length > 0 ? why : "reason unavailable";
                var padding = Math.Max(0, 76 - Encoding.UTF8.GetByteCount(show));
                output.Write(new string(' ', padding) + "(" + show + ")\n");
            }
            output.Write(longIds ? Row(true, "", "", "", r[0].Str) : Row(false, "", "", "", r[0].Str));
        }
        if (status < 0)
            Malformed();
        return size;
    }

    private static string Row(bool longIds, string a, string b, string c, string d) => longIds
        ? $"{a,-17} {b,8} {c,-19} {d}\n"
        : $"{a,-11} {b,7} {c,-20} {d}\n";

    // Json - showq_json(): one object per message.
    public static void Json(AttrStream showq, StdoutBuffer output)
    {
        int status;
        var v = new AttrValue[MessageSpec.Length];
        var r = new AttrValue[RecipientSpec.Length];
        while ((status = showq.ScanMore()) > 0)
        {
            if (showq.Receive(MessageSpec, v, ScanFlags) != 6)
                Malformed();
            var sb = new StringBuilder(256);
            sb.Append("{\"queue_name\": \"").Append(Quote(v[0].Str)).Append("\", ");
            sb.Append("\"queue_id\": \"").Append(Quote(v[1].Str)).Append("\", ");
            sb.Append("\"arrival_time\": ").Append(v[2].Long.ToString(CultureInfo.InvariantCulture)).Append(", ");
            sb.Append("\"message_size\": ").Append(v[3].Long.ToString(CultureInfo.InvariantCulture)).Append(", ");
            sb.Append("\"forced_expire\": ").Append(v[4].Int != 0 ? "true" : "false").Append(", ");
            sb.Append("\"sender\": \"").Append(Quote(v[5].Str)).Append("\", ");
            sb.Append("\"recipients\": [");
            var count = 0;
            while ((status = showq.ScanMore()) > 0)
            {
                if (count++ > 0)
                    sb.Append(", ");
                sb.Append('{');
                if (showq.Receive(RecipientSpec, r, ScanFlags) != 2)
                    Malformed();
                sb.Append("\"address\": \"").Append(Quote(r[0].Str)).Append('"');
                if (r[1].Str.Length > 0)
                    sb.Append(", \"delay_reason\": \"").Append(Quote(r[1].Str)).Append('"');
                sb.Append('}');
            }
            sb.Append(']');
            if (status < 0)
                Malformed();
            output.Write(sb.Append("}\n").ToString());
            if (!FlushOut(output))
                break;
        }
        if (status < 0)
            Malformed();
    }

    // Quote - json_quote(): escapes for '"', '\\' and control characters.
    internal static string Quote(string text)
    {
        var sb = new StringBuilder(text.Length + 8);
        foreach (var ch in text)
        {
            switch (ch)
            {
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\\': sb.Append("\\\\"); break;
                case '"': sb.Append("\\\""); break;
                default:
                    if (ch < 0x20 || ch == 0x7f)
                        sb.Append("\\u").Append(((int)ch).ToString("X4", CultureInfo.InvariantCulture));
                    else
                        sb.Append(ch);
                    break;
            }
        }
        return sb.ToString();
    }

    // AscTime - asctime(localtime(t)) without its newline.
    internal static string AscTime(long t)
    {
        DateTime local;
        try
        {
            local = TimeZoneInfo.ConvertTime(DateTimeOffset.FromUnixTimeSeconds(t), TimeZoneInfo.Local).DateTime;
        }
        catch (ArgumentOutOfRangeException)
        {
            return "???";
        }
        var day = local.ToString("ddd MMM", CultureInfo.InvariantCulture);
        return string.Create(CultureInfo.InvariantCulture,
            $"{day} {local.Day,2} {local:HH:mm:ss} {local.Year}");
    }

    private static string Cut(string s, int n) => s.Length > n ? s[..n] : s;

    // FlushOut - vstream_fflush(VSTREAM_OUT): false after EPIPE (stop
    // quietly), fatal on other errors.
    private static bool FlushOut(StdoutBuffer output)
    {
        var errno = output.Flush();
        if (errno == 0)
            return true;
        if (errno != 32)
            Msg.FatalStatus(ExIoErr, $"output write error: {Sys.StrError(errno)}");
        return false;
    }
}
