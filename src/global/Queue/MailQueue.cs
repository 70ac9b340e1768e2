// NAME
//	MailQueue - queue names, hashed queue directories, queue file paths
// POSTFIX
//	src/global/mail_queue.c, src/global/mail_queue.h, src/util/dir_forest.c
// DESCRIPTION
//	Paths are relative to queue_directory, as Postfix programs chdir()
//	there first: "incoming/ID", or with hashing ("deferred" is in
//	hash_queue_names) "deferred/A/ID" for hash_queue_depth 1,
//	"deferred/A/B/ID" for 2. The subdirectory letters are the first
//	characters of the ID (of the hex microseconds for a long ID); an ID
//	shorter than the depth is padded with '_'.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text;
using Postfix.Global.Config;
using Postfix.Util;

namespace Postfix.Global.Queue;

public sealed class MailQueue
{
    public const string Maildrop = "maildrop";
    public const string Hold = "hold";
    public const string Incoming = "incoming";
    public const string Active = "active";
    public const string Deferred = "deferred";
    public const string Trace = "trace";
    public const string Defer = "defer";
    public const string Bounce = "bounce";
    public const string Corrupt = "corrupt";
    public const string Flush = "flush";
    public const string Saved = "saved";

    // Queue file modes: ready for delivery (rwx), corrupt (r), and the
    // group bits qmgr uses as flags.
    public const int StatReady = 0x1c0;      // S_IRUSR | S_IWUSR | S_IXUSR
    public const int StatCorrupt = 0x100;    // S_IRUSR
    public const int StatUnthrottle = 0x20;  // S_IRGRP
    public const int StatExpire = 0x08;      // S_IXGRP

    private static readonly char[] CommaSpace = { ',', ' ', '\t', '\r', '\n' };

    private readonly string[] hashedQueues;

    public MailQueue(string hashQueueNames = "deferred, defer", int hashQueueDepth = 1)
    {
        hashedQueues = hashQueueNames.Split(CommaSpace, StringSplitOptions.RemoveEmptyEntries);
        HashQueueDepth = hashQueueDepth;
    }

    public int HashQueueDepth { get; }

    public IReadOnlyList<string> HashedQueues => hashedQueues;

    // FromConfig - hash_queue_names and hash_queue_depth of main.cf.
    public static MailQueue FromConfig(MailConf conf)
    {
        var depth = int.TryParse(conf.Eval("hash_queue_depth"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var d) ? d : 1;
        return new MailQueue(conf.Eval("hash_queue_names"), depth);
    }

    // NameOk - mail_queue_name_ok(): 1-100 letters and digits.
    public static bool NameOk(string queueName)
    {
        if (queueName.Length == 0 || queueName.Length > 100)
            return false;
        foreach (var c in queueName)
        {
            if (!char.IsAsciiLetterOrDigit(c))
                return false;
        }
        return true;
    }

    // IsHashed - whether a queue uses subdirectories (case-insensitive, as Postfix).
    public bool IsHashed(string queueName)
    {
        foreach (var q in hashedQueues)
        {
            if (string.Equals(q, queueName, StringComparison.OrdinalIgnoreCase))
                return true;
        }
        return false;
    }

    // Dir - mail_queue_dir(): "queue/" plus the hash subdirectories.
    public string Dir(string queueName, string queueId)
    {
        if (!NameOk(queueName))
            Msg.Panic($"mail_queue_dir: bad queue name: {queueName}");
        if (!QueueId.IsValid(queueId))
            Msg.Panic($"mail_queue_dir: bad queue id: {queueId}");
        var sb = new StringBuilder(queueName.Length + 2 + 2 * HashQueueDepth);
        sb.Append(queueName).Append('/');
        if (IsHashed(queueName))
            sb.Append(DirForest(QueueId.HashKey(queueId), HashQueueDepth));
        return sb.ToString();
    }

    // Path - mail_queue_path(): the queue file's path below queue_directory.
    public string Path(string queueName, string queueId) => Dir(queueName, queueId) + queueId;

    // DirForest - dir_forest(): one directory level per leading character.
    public static string DirForest(string name, int depth)
    {
        if (name.Length == 0)
            Msg.Panic("dir_forest: empty path");
        if (depth < 1)
            Msg.Panic($"dir_forest: depth {depth}");
        var sb = new StringBuilder(2 * depth);
        for (var n = 0; n < depth; n++)
        {
            var ch = n < name.Length ? name[n] : '_';
            if (n < name.Length && (ch < 0x20 || ch > 0x7e || ch == '.' || ch == '/'))
                Msg.Panic($"dir_forest: invalid pathname: {name}");
            sb.Append(ch).Append('/');
        }
        return sb.ToString();
    }

    // ReadFile - mail_queue_open() for reading: the file's bytes, or null with
    // the errno of the failure (ENOENT when it is in another queue).
    public byte[]? ReadFile(string queueDirectory, string queueName, string queueId, out string path, out int errno)
    {
        path = Path(queueName, queueId);
        errno = 0;
        try
        {
            return File.ReadAllBytes(System.IO.Path.Combine(queueDirectory, path));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            errno = Sys.ErrnoOf(e);
            return null;
        }
    }

    // Enter - mail_queue_enter(): create a new file in a queue below the
    // current directory (queue_directory) under a temporary name
    // "queue/usec.pid", then rename it to its queue ID, made from the
    // time and the file's inode (inodeOf: fstat's st_ino, which .NET does
    // not expose; the caller passes Sys's). Returns the open stream
    // (read-write, positioned at 0), the queue ID and the path. Mode:
    // the file mode bits (StatReady, or 0600 while being written).
    public FileStream Enter(string queueName, int mode, bool longIds, Func<FileStream, ulong> inodeOf, out string queueId, out string path)
    {
        FileStream stream;
        string tempPath;
        for (;;)
        {
            var now = DateTimeOffset.UtcNow;
            tempPath = string.Create(CultureInfo.InvariantCulture, $"{queueName}/{now.UtcTicks / 10 % 1_000_000}.{Sys.GetPid()}");
            try
            {
                stream = new FileStream(tempPath, FileMode.CreateNew, FileAccess.ReadWrite);
                // The mode open(2) would have applied (.NET creates with 0666 & ~umask).
                Sys.Fchmod((int)stream.SafeFileHandle.DangerousGetHandle(), mode);
                break;
            }
            catch (IOException) when (File.Exists(tempPath) || Directory.Exists(tempPath))
            {
                // EEXIST or EISDIR: someone raced us; try another name.
                continue;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Msg.Warn($"mail_queue_enter: create file {tempPath}: {Sys.StrError(Sys.ErrnoOf(e))}");
                System.Threading.Thread.Sleep(10000);
            }
        }
        var inode = inodeOf(stream);
        for (var count = 0; ; count++)
        {
            queueId = QueueId.Make(longIds, DateTimeOffset.UtcNow, inode);
            path = Path(queueName, queueId);
            if (Sys.Rename(tempPath, path) == 0)
                break;
            var errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            if (errno == Eperm || errno == Eisdir)
                continue;
            if (errno != Enoent || !MakeDirs(path))
                Msg.Warn($"mail_queue_enter: rename {tempPath} to {path}: {Sys.StrError(errno)}");
            if (count > 1000)
                Msg.Fatal($"mail_queue_enter: rename {tempPath} to {path}: giving up");
        }
        return stream;
    }

    private const int Eperm = 1;
    private const int Enoent = 2;
    private const int Eisdir = 21;

    // MakeDirs - mail_queue_mkdirs(): create the missing directories of a
    // queue file path (mode 0700).
    public static bool MakeDirs(string filePath)
    {
        var slash = filePath.LastIndexOf('/');
        if (slash < 0)
            Msg.Panic($"mail_queue_mkdirs: no slash in: {filePath}");
        try
        {
            var dir = Directory.CreateDirectory(filePath[..slash]);
            return Sys.Chmod(dir.FullName, 0x1c0) == 0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
