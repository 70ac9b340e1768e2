// NAME
//	Flush - flush(8), the fast flush server
// POSTFIX
//	src/flush/flush.c, src/global/flush_clnt.h (requests and status codes)
// DESCRIPTION
//	A single-client server on public/flush. It keeps, per destination
//	that $fast_flush_domains lists, a logfile $queue_directory/flush/SITE
//	(SITE: the ASCII name, letters and digits lower-cased, anything else
//	"_") with the queue IDs of mail deferred for that destination.
//	Each client first gets the protocol announcement, then sends one
//	request:
//	add (site, queue_id)	append the queue ID to the site's logfile;
//	send_site (site)	for each distinct queue ID in the logfile,
//		touch the queue file and move it from deferred to incoming,
//		empty the logfile and ask the queue manager to scan incoming
//		(after telling it to forget dead destinations);
//	send_file (queue_id)	the same for one queue file, which is also
//		marked as to be delivered even if its destination is throttled;
//	rfrsh (or a master wakeup)	send_site for logfiles unread for
//		$fast_flush_refresh_time, and remove empty logfiles that did not
//		change for $fast_flush_purge_time;
//	purge	the same for every logfile.
//	The reply is a status: 0 done, 3 bad request, 4 site not eligible,
//	-1 lookup failure.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Net.Sockets;
using System.Text;
using Postfix.Daemons.TrivialRewrite;
using Postfix.Global.Attr;
using Postfix.Global.Config;
using Postfix.Global.Dict;
using Postfix.Global.Queue;
using Postfix.Server;
using Postfix.Util;

namespace Postfix.Daemons.Flush;

public static partial class Flush
{
    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "ftruncate", SetLastError = true)]
    private static partial int Ftruncate(int fd, long length);

    private static int Errno => System.Runtime.InteropServices.Marshal.GetLastPInvokeError();

    public const int StatFail = -1;
    public const int StatOk = 0;
    public const int StatBad = 3;
    public const int StatDeny = 4;

    private const int RefreshOnly = 0;
    private const int UnthrottleBefore = 1 << 0;
    private const int UnthrottleAfter = 1 << 1;
    private const int DupFilterSize = 10000;
    private const int LockExclusive = 2, LockUnlock = 8;     // LOCK_EX, LOCK_UN

    private static readonly AttrSpec[] RequestSpec = [AttrSpec.Str(MailProto.AttrReq)];
    private static readonly AttrSpec[] AddSpec = [AttrSpec.Str("site"), AttrSpec.Str(MailProto.AttrQueueId)];
    private static readonly AttrSpec[] SiteSpec = [AttrSpec.Str("site")];
    private static readonly AttrSpec[] FileSpec = [AttrSpec.Str(MailProto.AttrQueueId)];

    private static DomainMatchList? flushDomains;
    private static MailQueue queue = new();
    private static string queueService = "qmgr";
    private static int refreshTime, purgeTime, ipcTimeout;

    public static int Run(string[] args) => SingleServer.Run(args, Service, new ServerOptions
    {
        Unlimited = true,
        PreInit = ctx => Init(ctx.Conf),
    });

    internal static void Init(MailConf conf)
    {
        refreshTime = TimeParam(conf, "fast_flush_refresh_time", 'h');
        purgeTime = TimeParam(conf, "fast_flush_purge_time", 'd');
        ipcTimeout = TimeParam(conf, "ipc_timeout", 's');
        queueService = conf.Eval("queue_service_name");
        queue = MailQueue.FromConfig(conf);
        flushDomains = DomainMatchList.DomainList("fast_flush_domains", conf.Eval("fast_flush_domains"),
            AccessSearch.ParentStyle(conf.Eval("parent_domain_matches_subdomains"), "fast_flush_domains"));
    }

    // TimeParam - a time value; a bare number is in the default's unit.
    internal static int TimeParam(MailConf conf, string name, char defUnit)
    {
        var v = conf.Eval(name);
        var i = 0;
        while (i < v.Length && char.IsAsciiDigit(v[i]))
            i++;
        long mult = -1, n = 0;
        if (i > 0 && i >= v.Length - 1)
            mult = (i < v.Length ? v[i] : defUnit) switch { 'w' => 604800, 'd' => 86400, 'h' => 3600, 'm' => 60, 's' => 1, _ => -1 };
        if (mult < 0 || !long.TryParse(v.AsSpan(0, i), NumberStyles.None, CultureInfo.InvariantCulture, out n)
            || n * mult > int.MaxValue || n * mult <= 0)
            Msg.Fatal($"invalid {name}: \"{v}\"");
        return (int)(n * mult);
    }

    private static long Now() => DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    // SiteToPath - flush_site_to_path(): a harmless file name, or null.
    internal static string? SiteToPath(string site)
    {
        var ascii = site;
        if (!HostSyntax.IsAscii(site))
        {
            try
            {
                ascii = new System.Globalization.IdnMapping().GetAscii(site);
            }
            catch (ArgumentException)
            {
                Msg.Warn($"midna_domain_to_ascii_create: Problem translating domain \"{Clip(site)}\" to ASCII form: malformed UTF-8");
                return null;
            }
        }
        if (!HostSyntax.ValidHostname(ascii))
        {
            Msg.Warn($"midna_domain_to_ascii_create: Problem translating domain \"{Clip(site)}\" to ASCII form: malformed ASCII label(s)");
            return null;
        }
        var sb = new StringBuilder(ascii.Length);
        foreach (var ch in ascii)
            sb.Append(char.IsAsciiLetterOrDigit(ch) ? char.ToLowerInvariant(ch) : '_');
        if (Msg.Verbose > 0)
            Msg.Info($"site {site} to path {sb}");
        return sb.ToString();
    }

    private static string Clip(string s) => s.Length > 100 ? s[..100] : s;

    private static int AddService(string site, string queueId)
    {
        if (Msg.Verbose > 0)
            Msg.Info($"flush_add_service: site {site} queue_id {queueId}");
        if (!flushDomains!.Match(site))
            return flushDomains.Error != 0 ? StatFail : StatDeny;
        var path = SiteToPath(site);
        return path == null ? StatDeny : AddPath(path, queueId);
    }

    private static int AddPath(string path, string queueId)
    {
        if (!QueueId.IsValid(path))
            return StatBad;
        var file = queue.Path(MailQueue.Flush, path);
        var fd = Sys.Open(file, Sys.O_CREAT | Sys.O_APPEND | Sys.O_WRONLY, 0x180);
        if (fd < 0)
            Msg.Fatal($"flush_add_path: open fast flush logfile {path}: {Sys.StrError(Errno)}");
        try
        {
            if (Sys.Flock(fd, LockExclusive) < 0)
                Msg.Fatal($"flush_add_path: lock fast flush logfile {path}: {Sys.StrError(Errno)}");
            var bytes = Encoding.ASCII.GetBytes(queueId + "\n");
            if (Sys.Write(fd, bytes) != bytes.Length)
                Msg.Warn($"write fast flush logfile {path}: {Sys.StrError(Errno)}");
            if (Sys.Flock(fd, LockUnlock) < 0)
                Msg.Fatal($"flush_add_path: unlock fast flush logfile {path}: {Sys.StrError(Errno)}");
        }
        finally
        {
            Sys.Close(fd);
        }
        return StatOk;
    }

    private static int SendService(string site, int how)
    {
        if (Msg.Verbose > 0)
            Msg.Info($"flush_send_service: site {site}");
        if (!flushDomains!.Match(site))
            return flushDomains.Error != 0 ? StatFail : StatDeny;
        var path = SiteToPath(site);
        return path == null ? StatDeny : SendPath(path, how);
    }

    // OneFile - flush_one_file(): touch, maybe unthrottle, and move one
    // queue file to incoming; 1 when the file was there.
    private static int OneFile(string queueId, long now, int how)
    {
        var queueName = MailQueue.Deferred;
        string path;
        for (; ; queueName = MailQueue.Incoming)
        {
            path = queue.Path(queueName, queueId);
            if (Sys.Utime(path, now) == 0)
                break;
            var errno = Errno;
            if (errno != Sys.ENOENT)
                Msg.Warn($"flush_one_file: update {path} time stamps: {Sys.StrError(errno)}");
            if (queueName == MailQueue.Incoming)
                return 0;
        }
        if ((how & UnthrottleAfter) != 0)
        {
            int fd;
            for (; ; queueName = MailQueue.Incoming, path = queue.Path(queueName, queueId))
            {
                if ((fd = Sys.Open(path, Sys.O_RDWR, 0)) >= 0)
                    break;
                var errno = Errno;
                if (errno != Sys.ENOENT)
                    Msg.Warn($"flush_one_file: open {path}: {Sys.StrError(errno)}");
                if (errno != Sys.ENOENT || queueName == MailQueue.Incoming)
                    return 0;
            }
            try
            {
                if (!Sys.Stat(path, out var st) || (st.Mode & MailQueue.StatReady) != MailQueue.StatReady)
                    return 0;
                if (Sys.Fchmod(fd, (int)(st.Mode & 0xfff) | MailQueue.StatUnthrottle) < 0)
                    Msg.Warn($"flush_one_file: fchmod {path}: {Sys.StrError(Errno)}");
            }
            finally
            {
                Sys.Close(fd);
            }
        }
        if (queueName != MailQueue.Incoming)
        {
            var to = queue.Path(MailQueue.Incoming, queueId);
            if (Sys.Rename(path, to) < 0)
            {
                var errno = Errno;
                if (errno == Sys.ENOENT && MailQueue.MakeDirs(to) && Sys.Rename(path, to) == 0)
                    return 1;
                if (Errno != Sys.ENOENT)
                    Msg.Warn($"{path}: rename from {queueName} to {MailQueue.Incoming}: {Sys.StrError(Errno)}");
            }
        }
        return 1;
    }

    // SendPath - flush_send_path(): deliver what a logfile names.
    private static int SendPath(string path, int how)
    {
        if (!QueueId.IsValid(path))
            return StatBad;
        var file = queue.Path(MailQueue.Flush, path);
        var fd = Sys.Open(file, Sys.O_RDWR, 0x180);
        if (fd < 0)
        {
            if (Errno != Sys.ENOENT)
                Msg.Fatal($"flush_send_path: open fast flush logfile {path}: {Sys.StrError(Errno)}");
            return StatOk;
        }
        var count = 0;
        try
        {
            if (Sys.Flock(fd, LockExclusive) < 0)
                Msg.Fatal($"flush_send_path: lock fast flush logfile {path}: {Sys.StrError(Errno)}");
            if ((how & UnthrottleBefore) != 0)
                MailTrigger.Trigger(null, MailProto.ClassPublic, queueService, "F"u8);
            var content = ReadAll(fd);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            var now = Now();
            foreach (var id in Lines(content))
            {
                count++;
                if (!QueueId.IsValid(id))
                {
                    Msg.Warn($"bad queue id \"{(id.Length > 30 ? id[..30] : id)}...\" in fast flush logfile {path}");
                    continue;
                }
                if (seen.Count >= DupFilterSize || !seen.Contains(id))
                {
                    if (Msg.Verbose > 0)
                        Msg.Info($"flush_send_path: logfile {path}: update queue file {id} time stamps");
                    if (seen.Count <= DupFilterSize)
                        seen.Add(id);
                    count += OneFile(id, now, how);
                }
                else if (Msg.Verbose > 0)
                {
                    Msg.Info($"flush_send_path: logfile {path}: skip queue file {id} as duplicate");
                }
            }
            if (count > 0 && Ftruncate(fd, 0) < 0)
                Msg.Fatal($"flush_send_path: truncate fast flush logfile {path}: {Sys.StrError(Errno)}");
            Sys.Utime(file, Now());
            if (Sys.Flock(fd, LockUnlock) < 0)
                Msg.Fatal($"flush_send_path: unlock fast flush logfile {path}: {Sys.StrError(Errno)}");
        }
        finally
        {
            Sys.Close(fd);
        }
        if (count > 0)
        {
            if (Msg.Verbose > 0)
                Msg.Info($"flush_send_path: requesting delivery for logfile {path}");
            MailTrigger.Trigger(null, MailProto.ClassPublic, queueService, "I"u8);
        }
        return StatOk;
    }

    private static byte[] ReadAll(int fd)
    {
        var ms = new MemoryStream();
        var buf = new byte[8192];
        nint n;
        while ((n = Sys.Read(fd, buf)) > 0)
            ms.Write(buf, 0, (int)n);
        return ms.ToArray();
    }

    // Lines - the logfile's records, as vstring_get_nonl() reads them.
    private static IEnumerable<string> Lines(byte[] content)
    {
        var start = 0;
        while (start < content.Length)
        {
            var nl = Array.IndexOf(content, (byte)'\n', start);
            var end = nl < 0 ? content.Length : nl;
            yield return ByteText.Decode(content.AsSpan(start, end - start));
            start = end + 1;
        }
    }

    private static int SendFileService(string queueId)
    {
        if (!QueueId.IsValid(queueId))
            return StatBad;
        if (Msg.Verbose > 0)
            Msg.Info($"flush_send_file_service: requesting delivery for queue_id {queueId}");
        if (OneFile(queueId, Now(), UnthrottleAfter) > 0)
            MailTrigger.Trigger(null, MailProto.ClassPublic, queueService, "I"u8);
        return StatOk;
    }

    // RefreshService - flush_refresh_service(): logfiles older than maxAge.
    private static int RefreshService(int maxAge)
    {
        using var scan = new ScanDir(MailQueue.Flush);
        string? sitePath;
        while ((sitePath = scan.NextQueueFile()) != null)
        {
            if (!QueueId.IsValid(sitePath))
                continue;
            var path = queue.Path(MailQueue.Flush, sitePath);
            FileInfo info;
            try
            {
                info = new FileInfo(path);
                if (!info.Exists)
                {
                    if (Msg.Verbose > 0)
                        Msg.Info($"flush_refresh_service: {path}: No such file or directory");
                    continue;
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Msg.Warn($"flush_refresh_service: stat {path}: {Postfix.Util.Sys.ErrorText(e)}");
                continue;
            }
            var now = Now();
            if (info.Length == 0)
            {
                if (new DateTimeOffset(info.LastWriteTimeUtc).ToUnixTimeSeconds() + purgeTime < now)
                {
                    if (Sys.Unlink(path) < 0)
                        Msg.Warn($"remove logfile {path}: {Sys.StrError(Errno)}");
                    else if (Msg.Verbose > 0)
                        Msg.Info($"flush_refresh_service: unlink {path}, empty and unchanged for {purgeTime / 86400} days");
                }
                else if (Msg.Verbose > 0)
                {
                    Msg.Info($"flush_refresh_service: skip logfile {sitePath} - empty log");
                }
            }
            else if (new DateTimeOffset(info.LastAccessTimeUtc).ToUnixTimeSeconds() + maxAge < now)
            {
                if (Msg.Verbose > 0)
                    Msg.Info($"flush_refresh_service: flush logfile {sitePath}");
                SendPath(sitePath, RefreshOnly);
            }
            else if (Msg.Verbose > 0)
            {
                Msg.Info($"flush_refresh_service: skip logfile {sitePath}, unread for <{maxAge / 3600} hours(s) ");
            }
        }
        return StatOk;
    }

    // ReceiveRequest - flush_request_receive(): a master wakeup (at most
    // two bytes, null-terminated) or an attribute request.
    private static string? ReceiveRequest(ClientConnection conn, AttrStream s)
    {
        s.Send(w => w.Str(MailProto.AttrProto, "queue_flush_protocol"));
        if (conn.Socket is { } socket)
        {
            if (!socket.Poll((int)Math.Min(int.MaxValue, (long)ipcTimeout * 1_000_000), SelectMode.SelectRead))
            {
                Msg.Warn($"timeout while waiting for data from {s.Path}");
                return null;
            }
            if (socket.Available <= 2)
            {
                var sb = new StringBuilder();
                var one = new byte[1];
                var got = false;
                while (conn.Stream.Read(one, 0, 1) == 1)
                {
                    got = true;
                    if (one[0] == 0)
                        break;
                    sb.Append((char)one[0]);
                }
                if (!got)
                {
                    Msg.Warn($"end-of-input while reading request from {s.Path}: {Sys.StrError(Errno)}");
                    return null;
                }
                return sb.ToString();
            }
        }
        var values = new AttrValue[1];
        if (s.Receive(RequestSpec, values, AttrFlags.More | AttrFlags.Strict) != 1)
            return null;
        return values[0].Str;
    }

    private static void Service(ServerContext ctx, ClientConnection conn)
    {
        if (ctx.Args.Length > 0)
            Msg.Fatal($"unexpected command-line argument: {ctx.Args[0]}");
        var s = new AttrStream(conn.Stream, ctx.ServiceName + " socket");
        var status = StatBad;
        void Reply(int value) => s.Send(w => w.Int(MailProto.AttrStatus, value));
        var request = ReceiveRequest(conn, s);
        if (request == null)
        {
            Reply(status);
            return;
        }
        switch (request)
        {
            case "add":
                {
                    var v = new AttrValue[2];
                    if (s.Receive(AddSpec, v, AttrFlags.Strict) == 2 && QueueId.IsValid(v[1].Str))
                        status = AddService(v[0].Str, v[1].Str);
                    Reply(status);
                    break;
                }
            case "send_site":
                {
                    var v = new AttrValue[1];
                    if (s.Receive(SiteSpec, v, AttrFlags.Strict) == 1)
                        status = SendService(v[0].Str, UnthrottleBefore);
                    Reply(status);
                    break;
                }
            case "send_file":
                {
                    var v = new AttrValue[1];
                    if (s.Receive(FileSpec, v, AttrFlags.Strict) == 1)
                        status = SendFileService(v[0].Str);
                    Reply(status);
                    break;
                }
            case "rfrsh":
            case "W":
                Reply(StatOk);
                RefreshService(refreshTime);
                break;
            case "purge":
                Reply(StatOk);
                RefreshService(0);
                break;
        }
    }
}
