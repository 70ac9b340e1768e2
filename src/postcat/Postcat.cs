// NAME
//	Postcat - print queue files in human-readable form
// POSTFIX
//	src/postcat/postcat.c
// DESCRIPTION
//	Reads each file (or stdin) as a record stream and prints one line
//	per record, section markers between the envelope, the message
//	content and the extracted segment. A small state machine (envelope,
//	header, body) selects what -e, -h and -b show, and uses the size
//	record to seek past parts that are not shown, as Postfix does; the
//	seeks fail on a pipe with Postfix's messages. Output reaches stdout
//	only where Postfix flushes it (see PostcatOutput).
using System;
using System.IO;
using System.Text;
using Microsoft.Win32.SafeHandles;
using Postfix.Global.Bounce;
using Postfix.Global.Config;
using Postfix.Global.Queue;
using Postfix.Util;

namespace Postfix.Commands.Postcat;

internal static class Postcat
{
    private const int FlagSearchQueue = 1 << 0;
    private const int FlagPrintOffset = 1 << 1;
    private const int FlagPrintEnv = 1 << 2;
    private const int FlagPrintHeader = 1 << 3;
    private const int FlagPrintBody = 1 << 4;
    private const int FlagPrintRtypeDec = 1 << 5;
    private const int FlagRaw = 1 << 7;
    private const int MaskPrintText = FlagPrintHeader | FlagPrintBody;
    private const int MaskPrintAll = FlagPrintEnv | MaskPrintText;

    private const int StateEnv = 0;
    private const int StateHeader = 1;
    private const int StateBody = 2;

    private const int Einval = 22;

    // The largest offset lseek() takes on ext4 with 4 KiB blocks (its
    // s_maxbytes): "postcat -s" beyond it fails with EINVAL there. Other
    // file systems have other limits; this is the common case.
    private const long MaxFileOffset = 17592186040320;
    private const int Eisdir = 21;

    // Where -q looks, in this order (twice, in case the file moves).
    private static readonly string[] QueueNames =
    {
        MailQueue.Maildrop, MailQueue.Incoming, MailQueue.Active, MailQueue.Deferred, MailQueue.Hold, MailQueue.Saved,
    };

    private static readonly char[] CommaSpace = { ',', ' ', '\t', '\r', '\n' };

    // Run - main(): options, configuration, then each file in turn.
    internal static int Run(string[] args)
    {
        var myname = Msg.Tag;
        var flags = 0;
        long startOffset = 0;
        var getopt = new GetOpt(args, "bc:dehoqrs:v", myname);
        int ch;
        while ((ch = getopt.Next()) != -1)
        {
            switch (ch)
            {
                case 'b':
                    flags |= FlagPrintBody;
                    break;
                case 'c':
                    Environment.SetEnvironmentVariable(MailConf.ConfEnvPath, getopt.Optarg);
                    break;
                case 'd':
                    flags |= FlagPrintRtypeDec;
                    break;
                case 'e':
                    flags |= FlagPrintEnv;
                    break;
                case 'h':
                    flags |= FlagPrintHeader;
                    break;
                case 'o':
                    flags |= FlagPrintOffset;
                    break;
                case 'q':
                    flags |= FlagSearchQueue;
                    break;
                case 'r':
                    flags |= FlagRaw;
                    break;
                case 's':
                    var arg = getopt.Optarg!; // 's' takes an argument
                    if (!AllDigits(arg))
                        Msg.Fatal($"bad offset: {arg}");
                    startOffset = Atol(Encoding.UTF8.GetBytes(arg));
                    break;
                case 'v':
                    Msg.Verbose++;
                    break;
                default:
                    Usage(myname);
                    break;
            }
        }
        if ((flags & MaskPrintAll) == 0)
            flags |= MaskPrintAll;

        // mail_conf_read(), then import_environment's name=value settings
        // (TZ changes how the times print).
        var conf = MailConf.Read();
        BounceConfig.CheckMainCf(conf, conf.ConfigDirectory);
        if (Msg.Verbose > 0)
            VerboseParams(conf);
        foreach (var item in conf.Eval("import_environment").Split(CommaSpace, StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = item.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
                Environment.SetEnvironmentVariable(item[..eq], item[(eq + 1)..]);
        }

        var output = new PostcatOutput();
        var optind = getopt.Optind;
        if (optind == args.Length)
        {
            var data = ReadStdin(out var seekable);
            Cat(data, "stdin", true, seekable, flags, startOffset, output);
        }
        else if ((flags & FlagSearchQueue) != 0)
        {
            var queueDir = conf.Eval("queue_directory");
            try
            {
                Directory.SetCurrentDirectory(queueDir);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Msg.Fatal($"chdir {queueDir}: {Sys.StrError(Sys.ErrnoOf(e))}");
            }
            var mq = MailQueue.FromConfig(conf);
            for (; optind < args.Length; optind++)
            {
                var id = args[optind];
                if (!QueueId.IsValid(id))
                    Msg.Fatal($"bad mail queue ID: {id}");
                byte[]? data = null;
                string path = "";
                var errno = 0;
                var isDir = false;
                for (var tries = 0; data == null && tries < 2; tries++)
                {
                    foreach (var queue in QueueNames)
                    {
                        path = mq.Path(queue, id);
                        data = OpenRead(path, out errno, out isDir);
                        if (data != null)
                            break;
                    }
                }
                if (data == null)
                    Msg.Fatal($"open queue file {id}: {Sys.StrError(errno)}");
                Cat(data, path, false, true, flags, startOffset, output);
                if (isDir)
                    Msg.Warn($"close {id}: {Sys.StrError(Eisdir)}");
            }
        }
        else
        {
            for (; optind < args.Length; optind++)
            {
                var path = args[optind];
                var data = OpenRead(path, out var errno, out var isDir);
                if (data == null)
                    Msg.Fatal($"open {path}: {Sys.StrError(errno)}");
                Cat(data, path, false, true, flags, startOffset, output);
                if (isDir)
                    Msg.Warn($"close {path}: {Sys.StrError(Eisdir)}");
            }
        }
        return 0;
    }

    // VerboseParams - what mail_params_init() logs with -v: the protocol
    // and mynetworks_style masks, the interface scan, the computed
    // mynetworks (only when main.cf does not set it).
    private static void VerboseParams(MailConf conf)
    {
        var protocols = conf.Eval("inet_protocols");
        Msg.Info($"name_mask: {protocols}");
        var families = MyNetworks.Families(protocols);
        var interfaces = conf.Eval("inet_interfaces").Trim().ToLowerInvariant();
        var scan = families.Count > 0 && interfaces is ("all" or "loopback-only");
        void Configured()
        {
            foreach (var f in families)
                Msg.Info($"inet_addr_local: configured {Sys.InterfaceAddresses(f).Count} IPv{(f == 2 ? 4 : 6)} addresses");
        }
        if (conf.LookupRaw("mynetworks") == null)
        {
            var style = conf.Eval("mynetworks_style");
            Msg.Info($"name_mask: {style}");
            if (scan)
                Configured();
            var nets = MyNetworks.Compute(style, interfaces, protocols);
            var list = nets.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (list.Length > 1)
            {
                foreach (var n in list)
                    Msg.Info($"been_here: {n}: 0");
            }
            Msg.Info($"mynetworks_core: {nets}");
        }
        else if (scan)
        {
            Configured();
        }
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void Usage(string myname) =>
        Msg.Fatal($"usage: {myname} [-b (body text)] [-c config_dir] [-d (decimal record type)] [-e (envelope records)] [-h (header text)] [-q (access queue)] [-v] [file(s)...]");

    // Cat - postcat(): print one queue file.
    internal static void Cat(ReadOnlySpan<byte> data, string path, bool isStdin, bool seekable, int flags, long startOffset, PostcatOutput o)
    {
        var fp = new RecordReader(data, path, seekable) { MaxOffset = MaxFileOffset };
        var prevType = 0;
        var recFlags = Msg.Verbose > 0 ? RecordFlags.None : RecordFlags.Default;

        // Skip over or absorb some bytes.
        if (startOffset > 0)
        {
            if (isStdin)
            {
                for (long offset = 0; offset < startOffset; offset++)
                {
                    if (fp.ReadByte() < 0)
                        Msg.Fatal($"{path}: skip {startOffset} bytes failed after {offset}");
                }
            }
            else if (!fp.Seek(startOffset))
            {
                Msg.Fatal($"{path}: seek to {startOffset}: {SeekError(fp)}");
            }
        }

        // See if this is a plausible file.
        if (startOffset == 0)
        {
            var first = fp.ReadByte();
            if (first >= 0)
            {
                if (!RecordType.InSet(RecordType.Envelope, first))
                {
                    Msg.Warn($"{path}: input is not a valid queue file");
                    return;
                }
                fp.Unread();
            }
        }

        if (startOffset == 0 && (flags & FlagPrintEnv) != 0)
            o.Text($"*** ENVELOPE RECORDS {path} ***\n");
        var state = StateEnv;
        var doPrint = (flags & FlagPrintEnv) != 0;
        long dataOffset = -1;
        long dataSize = -1;

        for (;;)
        {
            long offset = 0;
            if ((flags & FlagPrintOffset) != 0)
                offset = fp.Tell();
            var recType = fp.ReadRaw(out var rec, 0, recFlags);
            if (recType == RecordType.Error)
                Msg.Fatal("record read error");
            if (recType == RecordType.Eof)
                break;
            var str = RecordReader.CString(rec);

            // Records with side effects on the state machine or the reading order.
            if (RecordType.IsText(recType))
            {
                // Wrong when the body starts with white space, as in Postfix.
                if (state == StateHeader && (flags & MaskPrintText) != 0 && prevType != RecordType.Cont
                    && !(IsHeader(str) > 0 || (str.Length > 0 && (str[0] == ' ' || str[0] == '\t'))))
                {
                    state = StateBody;
                    doPrint = (flags & FlagPrintBody) != 0;
                    if (!doPrint && (flags & FlagPrintEnv) == 0)
                        break;
                    if (!doPrint && (flags & FlagPrintEnv) != 0 && dataOffset >= 0 && dataSize >= 0
                        && !fp.Seek(dataOffset + dataSize))
                        Msg.Fatal($"seek error: {SeekError(fp)}");
                }
            }
            else if (recType == RecordType.Mesg)
            {
                if (state != StateEnv)
                    Msg.Warn($"{path}: out-of-order message content marker");
                if ((flags & FlagPrintEnv) != 0)
                    Marker(o, flags, path, offset, recType, "MESSAGE CONTENTS");
                if ((flags & MaskPrintText) == 0 && dataOffset >= 0 && dataSize >= 0
                    && !fp.Seek(dataOffset + dataSize))
                    Msg.Fatal($"seek error: {SeekError(fp)}");
                state = StateHeader;
                doPrint = (flags & FlagPrintHeader) != 0;
                continue;
            }
            else if (recType == RecordType.Xtra)
            {
                if (state != StateHeader && state != StateBody)
                    Msg.Warn($"{path}: out-of-order extracted segment marker");
                if (doPrint && prevType == RecordType.Cont)
                    o.Byte((byte)'\n');
                if ((flags & FlagPrintEnv) != 0)
                    Marker(o, flags, path, offset, recType, "HEADER EXTRACTED");
                state = StateEnv;
                doPrint = (flags & FlagPrintEnv) != 0;
                if (!doPrint)
                    break;
                continue;
            }
            else if (recType == RecordType.End)
            {
                if (state != StateEnv)
                    Msg.Warn($"{path}: out-of-order message end marker");
                if ((flags & FlagPrintEnv) != 0)
                    Marker(o, flags, path, offset, recType, "MESSAGE FILE END");
                if ((flags & FlagRaw) != 0)
                    continue;
                break;
            }
            else if (recType == RecordType.Ptr)
            {
                // Seen only with -v (otherwise the reader follows pointers).
                if (doPrint)
                    PrintRecord(o, flags, offset, recType, str);
                if ((flags & FlagRaw) == 0 && fp.Goto(rec) == RecordType.Error)
                    Msg.Fatal("bad pointer record, or input is not seekable");
                continue;
            }
            else if (recType == RecordType.Size)
            {
                if (doPrint)
                    PrintRecord(o, flags, offset, recType, str);
                if (dataSize >= 0 || dataOffset >= 0)
                {
                    Msg.Warn("file contains multiple size records");
                }
                else
                {
                    // sscanf("%ld %ld"): fields are stored as far as they convert.
                    var pos = 0;
                    var n = 0;
                    if (SizeRecord.ScanLong(str, ref pos, out var v1))
                    {
                        dataSize = v1;
                        n++;
                        if (SizeRecord.ScanLong(str, ref pos, out var v2))
                        {
                            dataOffset = v2;
                            n++;
                        }
                    }
                    if (n != 2 || dataOffset <= 0 || dataSize <= 0)
                        Msg.Warn($"invalid size record: {RecordReader.Head(str, 100)}");
                    if ((flags & FlagPrintEnv) == 0)
                    {
                        if (!fp.Seek(dataOffset))
                            Msg.Fatal($"seek error: {SeekError(fp)}");
                        state = StateHeader;
                        doPrint = (flags & FlagPrintHeader) != 0;
                    }
                }
                continue;
            }

            // Side-effect-free records are looked at only when printed.
            if (!doPrint)
                continue;
            Prefix(o, flags, offset, recType);
            switch (recType)
            {
                case RecordType.Time:
                    o.Text(RecordType.Name(recType) + ": " + AscTime(Atol(str)));
                    break;
                case RecordType.Warn:
                    o.Text(RecordType.Name(recType) + ": " + AscTime(Atol(str)));
                    break;
                case RecordType.Cont:
                    // The same letter as the content filter record.
                    if (state == StateEnv)
                        o.Text(RecordType.Name(recType) + ": ");
                    else if (Msg.Verbose > 0)
                        o.Text("unterminated_text: ");
                    o.Bytes(rec);
                    if (state == StateEnv || Msg.Verbose > 0 || (flags & FlagPrintOffset) != 0)
                    {
                        recType = 0;
                        o.Byte((byte)'\n');
                    }
                    break;
                case RecordType.Norm:
                    if (Msg.Verbose > 0)
                        o.Text(RecordType.Name(recType) + ": ");
                    o.Bytes(rec);
                    o.Byte((byte)'\n');
                    break;
                case RecordType.Dtxt:
                    o.Text(RecordType.Name(recType) + ": ");
                    o.Bytes(rec);
                    o.Byte((byte)'\n');
                    break;
                case RecordType.Attr:
                    var error = SplitNameValue(str, out var name, out var value);
                    if (error != null)
                    {
                        Msg.Warn($"{path}: malformed attribute: {error}: {RecordReader.Head(str, 100)}");
                        break;
                    }
                    if (name.SequenceEqual("create_time"u8))
                    {
                        o.Text("create_time: " + AscTime(Atol(value)));
                    }
                    else
                    {
                        o.Text(RecordType.Name(recType) + ": ");
                        o.Bytes(name);
                        o.Byte((byte)'=');
                        o.Bytes(value);
                        o.Byte((byte)'\n');
                    }
                    break;
                default:
                    o.Text(RecordType.Name(recType) + ": ");
                    o.Bytes(str);
                    o.Byte((byte)'\n');
                    break;
            }
            prevType = recType;

            // In case the next record is broken.
            o.Flush();
        }
    }

    private static string SeekError(RecordReader fp) => Sys.StrError(fp.Seekable ? Einval : RecordReader.Espipe);

    private static void Prefix(PostcatOutput o, int flags, long offset, int type)
    {
        if ((flags & FlagPrintOffset) != 0)
            o.Text(((ulong)offset).ToString(System.Globalization.CultureInfo.InvariantCulture).PadLeft(9) + " ");
        if ((flags & FlagPrintRtypeDec) != 0)
            o.Text(type.ToString(System.Globalization.CultureInfo.InvariantCulture).PadLeft(3) + " ");
    }

    // Marker - PRINT_MARKER: a section line, flushed.
    private static void Marker(PostcatOutput o, int flags, string path, long offset, int type, string text)
    {
        Prefix(o, flags, offset, type);
        o.Text($"*** {text} {path} ***\n");
        o.Flush();
    }

    // PrintRecord - PRINT_RECORD: "name: data", flushed.
    private static void PrintRecord(PostcatOutput o, int flags, long offset, int type, ReadOnlySpan<byte> str)
    {
        Prefix(o, flags, offset, type);
        o.Text(RecordType.Name(type) + ": ");
        o.Bytes(str);
        o.Byte((byte)'\n');
        o.Flush();
    }

    // IsHeader - is_header(): the length of a "name:" prefix (the name
    // printable ASCII without ':', blanks allowed before the colon), else 0.
    internal static int IsHeader(ReadOnlySpan<byte> s)
    {
        const int init = 0, inChar = 1, inCharSpace = 2;
        var state = init;
        var len = 0;
        foreach (var c in s)
        {
            switch (c)
            {
                case (byte)' ':
                case (byte)'\t':
                    if (state == inChar)
                        state = inCharSpace;
                    if (state == inCharSpace)
                        continue;
                    return 0;
                case (byte)':':
                    return state == inChar || state == inCharSpace ? len : 0;
                default:
                    if (c == 0 || c >= 0x80 || c < 0x20 || c == 0x7f)
                        return 0;
                    if (state == init)
                        state = inChar;
                    if (state == inChar)
                    {
                        len++;
                        continue;
                    }
                    return 0;
            }
        }
        return 0;
    }

    // SplitNameValue - split_nameval(): "name = value" with blanks trimmed.
    internal static string? SplitNameValue(ReadOnlySpan<byte> buf, out ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value)
    {
        name = value = default;
        var np = 0;
        while (np < buf.Length && IsSpace(buf[np]))
            np++;
        if (np == buf.Length || buf[np] == '=')
            return "missing attribute name";
        var ep = np;
        while (ep < buf.Length && !IsSpace(buf[ep]) && buf[ep] != '=')
            ep++;
        var cp = ep;
        while (cp < buf.Length && IsSpace(buf[cp]))
            cp++;
        if (cp == buf.Length || buf[cp] != '=')
            return "missing '=' after attribute name";
        cp++;
        while (cp < buf.Length && IsSpace(buf[cp]))
            cp++;
        var end = buf.Length;
        while (end > cp && IsSpace(buf[end - 1]))
            end--;
        name = buf[np..ep];
        value = buf[cp..end];
        return null;
    }

    private static bool IsSpace(byte b) => b == ' ' || (b >= '\t' && b <= '\r');

    private static bool AllDigits(string s)
    {
        if (s.Length == 0)
            return false;
        foreach (var c in s)
        {
            if (c < '0' || c > '9')
                return false;
        }
        return true;
    }

    // Atol - atol(): blanks, sign, digits; saturates like strtol().
    internal static long Atol(ReadOnlySpan<byte> s)
    {
        var pos = 0;
        return SizeRecord.ScanLong(s, ref pos, out var v) ? v : 0;
    }

    private static readonly string[] Days = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
    private static readonly string[] Months = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

    // AscTime - asctime(localtime(&t)): "Sat Nov 21 06:45:10 2026\n".
    internal static string AscTime(long t)
    {
        long offset = 0;
        if (t > -62135596800L && t < 253402300799L)
        {
            var utc = DateTimeOffset.FromUnixTimeSeconds(t);
            offset = (long)TimeZoneInfo.Local.GetUtcOffset(utc).TotalSeconds;
        }
        var local = t + offset;
        var days = FloorDiv(local, 86400);
        var secs = local - days * 86400;
        CivilFromDays(days, out var year, out var month, out var day);
        var wday = (int)(((days % 7) + 11) % 7); // 1970-01-01 was a Thursday
        return string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"{Days[wday]} {Months[month - 1]}{day,3} {secs / 3600:00}:{secs / 60 % 60:00}:{secs % 60:00} {year}\n");
    }

    private static long FloorDiv(long a, long b) => a >= 0 ? a / b : -((-a + b - 1) / b);

    // CivilFromDays - proleptic Gregorian date of a day count since 1970.
    private static void CivilFromDays(long z, out long year, out int month, out int day)
    {
        z += 719468;
        var era = FloorDiv(z, 146097);
        var doe = z - era * 146097;
        var yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        var doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        var mp = (5 * doy + 2) / 153;
        day = (int)(doy - (153 * mp + 2) / 5 + 1);
        month = (int)(mp < 10 ? mp + 3 : mp - 9);
        year = yoe + era * 400 + (month <= 2 ? 1 : 0);
    }

    // OpenRead - vstream_fopen(O_RDONLY) and read it all; a directory
    // opens but reads as empty (the read fails with EISDIR).
    private static byte[]? OpenRead(string path, out int errno, out bool isDir)
    {
        errno = 0;
        isDir = false;
        try
        {
            if (Directory.Exists(path))
            {
                isDir = true;
                return Array.Empty<byte>();
            }
            return File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            errno = Sys.ErrnoOf(e);
            return null;
        }
    }

    // ReadStdin - all of stdin; seekable when it is a regular file.
    private static byte[] ReadStdin(out bool seekable)
    {
        using var handle = new SafeFileHandle((IntPtr)0, false);
        try
        {
            using var fs = new FileStream(handle, FileAccess.Read, 1);
            seekable = fs.CanSeek;
            using var ms = new MemoryStream();
            fs.CopyTo(ms);
            return ms.ToArray();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            seekable = false;
            return Array.Empty<byte>();
        }
    }
}
