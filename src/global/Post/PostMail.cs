// NAME
//	PostMail - submit a message that the mail system itself generates
// POSTFIX
//	src/global/post_mail.c (post_mail_fopen_nowait, post_mail_fprintf,
//	post_mail_fputs, post_mail_fclose), int_filt.c, smtputf8.c
//	(smtputf8_autodetect)
// DESCRIPTION
//	OpenNoWait() connects to public/$cleanup_service (relative to the
//	queue directory, the daemons' working directory), reads the queue
//	ID that cleanup announces, sends the cleanup flags and a minimal
//	envelope (arrival time, log origin "local", trace flags, sender,
//	one recipient), then the Received: and Date: headers. The caller
//	writes the rest of the message one line per call (Line: text that
//	goes out as UTF-8; Octets: one char per byte; Record: raw queue
//	file records, for copying message content unchanged). Close() ends
//	the message and returns cleanup's status (0: queued); Abort()
//	drops the connection so that cleanup discards what it got.
using System;
using System.IO;
using System.Net.Sockets;
using System.Text;
using Postfix.Global.Attr;
using Postfix.Global.Config;
using Postfix.Global.Queue;
using Postfix.Util;

namespace Postfix.Global.Post;

public sealed class PostMail : IDisposable
{
    // Mail source classes (mail_proto.h MAIL_SRC_MASK_*).
    public const int SourceSendmail = 1 << 0, SourceSmtpd = 1 << 1, SourceQmqpd = 1 << 2, SourceForward = 1 << 3,
        SourceBounce = 1 << 4, SourceNotify = 1 << 5, SourceVerify = 1 << 6;

    // Cleanup flags and status bits (cleanup_user.h).
    public const int CleanupFlagFilter = 1 << 1, CleanupFlagMapOk = 1 << 5, CleanupFlagMilter = 1 << 6,
        CleanupFlagSmtpUtf8 = 1 << 8, CleanupFlagAutoUtf8 = 1 << 9;
    public const int CleanupStatWrite = 1 << 1;

    private const int SmtpUtf8Requested = 1 << 0;

    private readonly Stream stream;
    private readonly AttrStream attrs;
    private readonly RecordWriter records;
    private bool failed;

    private PostMail(Stream stream, AttrStream attrs)
    {
        this.stream = stream;
        this.attrs = attrs;
        records = new RecordWriter(stream);
    }

    // QueueId - the queue ID cleanup assigned to the new message.
    public string QueueId { get; private set; } = "";

    // Settings - what post_mail reads from main.cf.
    public sealed class Settings
    {
        public string CleanupService { get; init; } = MailProto.ServiceCleanup;
        public string MyHostname { get; init; } = "localhost";
        public string MailName { get; init; } = "Postfix";
        public string InternalFilterClasses { get; init; } = "";
        public bool SmtpUtf8Enable { get; init; } = true;
        public string SmtpUtf8AutodetectClasses { get; init; } = "sendmail, verify";

        public static Settings FromConfig(MailConf conf) => new()
        {
            CleanupService = conf.Eval("cleanup_service_name"),
            MyHostname = conf.Eval("myhostname"),
            MailName = conf.Eval("mail_name"),
            InternalFilterClasses = conf.Eval("internal_mail_filter_classes"),
            SmtpUtf8Enable = conf.Bool("smtputf8_enable"),
            SmtpUtf8AutodetectClasses = conf.Eval("smtputf8_autodetect_classes"),
        };
    }

    // Now - the clock (tests replace it).
    public static Func<DateTimeOffset> Now { get; set; } = () => DateTimeOffset.UtcNow;

    // OpenNoWait - post_mail_fopen_nowait(): null (with a warning) when
    // the cleanup service cannot be reached; fatal when it does not
    // speak the protocol.
    public static PostMail? OpenNoWait(Settings settings, string sender, string recipient, int sourceClass,
        int traceFlags, int utf8Flags)
    {
        var name = MailProto.ClassPublic + "/" + settings.CleanupService;
        Socket sock;
        try
        {
            sock = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            sock.Connect(new UnixDomainSocketEndPoint(name));
        }
        catch (SocketException e)
        {
            Msg.Warn($"connect to {name}: {Sys.StrError(SocketErrno(e))}");
            return null;
        }
        var net = new NetworkStream(sock, ownsSocket: true);
        return Open(settings, net, sender, recipient, sourceClass, traceFlags, utf8Flags);
    }

    // Open - post_mail_init() over an already connected stream.
    public static PostMail Open(Settings settings, Stream connection, string sender, string recipient,
        int sourceClass, int traceFlags, int utf8Flags)
    {
        var attrs = new AttrStream(connection, "public/" + settings.CleanupService + " socket");
        var flags = InternalFilterFlags(settings, sourceClass) | CleanupFlagMapOk
            | Utf8AutodetectFlags(settings, sourceClass)
            | ((utf8Flags & SmtpUtf8Requested) != 0 ? CleanupFlagSmtpUtf8 : 0);
        var v = new AttrValue[2];
        if (attrs.Receive([AttrSpec.StrEq(MailProto.AttrProto, MailProto.ProtoCleanup), AttrSpec.Str(MailProto.AttrQueueId)],
                v, AttrFlags.Strict) != 1
            || !attrs.Send(w => w.Int(MailProto.AttrFlags, flags)))
        {
            attrs.Dispose();
            Msg.Fatal($"unable to contact the {settings.CleanupService} service");
        }
        var post = new PostMail(new BufferedStream(connection, 2 * 4096), attrs) { QueueId = v[1].Str };
        var now = Now();
        var date = MailDate.Format(now.ToUnixTimeSeconds());
        var w = post.records;
        post.Guard(() =>
        {
            w.PutTime(now.ToUnixTimeSeconds(), now.ToUnixTimeMilliseconds() % 1000 * 1000);
            w.PutAttr("log_message_origin", "local");
            w.PutAttr("trace_flags", traceFlags.ToString(System.Globalization.CultureInfo.InvariantCulture));
            w.Put(RecordType.From, sender);
            w.Put(RecordType.Rcpt, recipient);
            w.Put(RecordType.Mesg, ReadOnlySpan<byte>.Empty);
        });
        post.Line($"Received: by {settings.MyHostname} ({settings.MailName})");
        post.Line($"\tid {post.QueueId}; {date}");
        post.Line("Date: " + date);
        return post;
    }

    // Failed - a write error happened (vstream_ferror()).
    public bool Failed => failed;

    // Line - post_mail_fputs(): one line of text, UTF-8 encoded.
    public void Line(string text) => Record(RecordType.Norm, Encoding.UTF8.GetBytes(text));

    // Octets - one line of octet-string text (one char per byte).
    public void Octets(string text) => Record(RecordType.Norm, Encoding.Latin1.GetBytes(text));

    // Record - rec_put(): one raw record.
    public void Record(int type, ReadOnlySpan<byte> data)
    {
        if (failed)
            return;
        try
        {
            records.Put(type, data);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            failed = true;
        }
    }

    private void Guard(Action a)
    {
        try
        {
            a();
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            failed = true;
        }
    }

    // Close - post_mail_fclose(): end the message; cleanup's status.
    public int Close()
    {
        var status = 0;
        if (failed)
        {
            status = CleanupStatWrite;
        }
        else
        {
            Guard(() =>
            {
                records.Put(RecordType.Xtra, ReadOnlySpan<byte>.Empty);
                records.Put(RecordType.End, ReadOnlySpan<byte>.Empty);
                stream.Flush();
            });
            var v = new AttrValue[1];
            if (failed || attrs.Receive([AttrSpec.Int(MailProto.AttrStatus)], v, AttrFlags.Missing) != 1)
                status = CleanupStatWrite;
            else
                status = v[0].Int;
        }
        Dispose();
        return status;
    }

    // Abort - vstream_fclose() without the end marker: cleanup drops the message.
    public void Abort() => Dispose();

    public void Dispose()
    {
        try
        {
            attrs.Dispose();
        }
        catch (Exception e) when (e is IOException or SocketException)
        {
            // The peer is gone; nothing to release.
        }
    }

    // InternalFilterFlags - int_filt_flags().
    public static int InternalFilterFlags(Settings settings, int sourceClass)
    {
        if (sourceClass == 0 || settings.InternalFilterClasses.Length == 0)
            return 0;
        var mask = ClassMask("internal_mail_filter_classes", settings.InternalFilterClasses, internalOnly: true);
        if (mask == 0)
            Msg.Warn($"internal_mail_filter_classes: bad input: {settings.InternalFilterClasses}");
        return (mask & sourceClass) != 0 ? CleanupFlagFilter | CleanupFlagMilter : 0;
    }

    // Utf8AutodetectFlags - smtputf8_autodetect().
    public static int Utf8AutodetectFlags(Settings settings, int sourceClass)
    {
        if (settings.SmtpUtf8AutodetectClasses.Length == 0)
            return 0;
        var mask = ClassMask("smtputf8_autodetect_classes", settings.SmtpUtf8AutodetectClasses, internalOnly: false);
        if (mask == 0)
            Msg.Warn($"smtputf8_autodetect_classes: bad input: {settings.SmtpUtf8AutodetectClasses}");
        return (mask & sourceClass) != 0 ? CleanupFlagAutoUtf8 : 0;
    }

    // ClassMask - name_mask() over the mail source class names; only
    // notify and bounce count for internal filtering.
    private static int ClassMask(string parameter, string names, bool internalOnly)
    {
        var mask = 0;
        foreach (var name in names.Split([',', ' ', '\t', '\r', '\n'], StringSplitOptions.RemoveEmptyEntries))
        {
            var bit = name switch
            {
                "sendmail" => SourceSendmail,
                "smtpd" => SourceSmtpd,
                "qmqpd" => SourceQmqpd,
                "forward" => SourceForward,
                "bounce" => SourceBounce,
                "notify" => SourceNotify,
                "verify" => SourceVerify,
                "all" when !internalOnly => SourceSendmail | SourceSmtpd | SourceQmqpd | SourceForward | SourceBounce
                                            | SourceNotify | SourceVerify,
                _ => -1,
            };
            if (bit < 0)
                Msg.Fatal($"unknown {parameter} value \"{name}\" in \"{names}\"");
            if (internalOnly && (bit & (SourceBounce | SourceNotify)) == 0)
                bit = 0;
            mask |= bit;
        }
        return mask;
    }

    private static int SocketErrno(SocketException e) => e.SocketErrorCode switch
    {
        SocketError.AddressNotAvailable => 2,
        SocketError.ConnectionRefused => 111,
        SocketError.AccessDenied => 13,
        _ => e.NativeErrorCode,
    };
}
