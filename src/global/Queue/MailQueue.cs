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
