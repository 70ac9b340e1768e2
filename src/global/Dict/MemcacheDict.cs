// NAME
//	MemcacheDict - the memcache: table (memcached client)
// POSTFIX
//	src/global/dict_memcache.c, src/global/memcache_proto.c
// DESCRIPTION
//	Settings (memcache_table(5)): memcache (server, default
//	inet:localhost:11211), backup (a table that holds the real data),
//	key_format, domain, ttl, timeout, flags, max_try, retry_pause,
//	line_size_limit, data_size_limit. Lookups try memcache, then the
//	backup table, and copy a backup hit into memcache. Updates and
//	deletes (read-write open) go to both. Keys that are empty, outside
//	"domain", or contain white space are skipped.
using System;
using System.IO;
using System.Net.Sockets;
using System.Text;
using Postfix.Util;

namespace Postfix.Global.Dict;

public sealed class MemcacheDict : Dict
{
    private readonly object gate = new();

    public const string TypeName = "memcache";

    private readonly CfgParser parser;
    private readonly DbCommon ctx;
    private readonly Dict? backup;
    private readonly string? keyFormat;
    private readonly string service;
    private readonly int timeout;
    private readonly int ttl;
    private readonly int mcFlags;
    private readonly int errPause;
    private readonly int maxTries;
    private readonly int maxLine;
    private readonly int maxData;
    private BufferedStream? stream;
    private string keyBuf = "";
    private DictError mcError;

    // Sleep - the pause between attempts (tests replace it).
    internal static Action<int> Sleep { get; set; } = static s => System.Threading.Thread.Sleep(s * 1000);

    private MemcacheDict(string name, DictOpenFlags openFlags, DictFlags dictFlags, CfgParser parser)
        : base(TypeName, name, openFlags, dictFlags)
    {
        this.parser = parser;
        ctx = new DbCommon(this);
        keyFormat = parser.GetStr("key_format", "%s", 0, 0);
        timeout = parser.GetInt("timeout", 2, 0, 0);
        ttl = parser.GetInt("ttl", 3600, 0, 0);
        mcFlags = parser.GetInt("flags", 0, 0, 0);
        errPause = parser.GetInt("retry_pause", 1, 1, 0);
        maxTries = parser.GetInt("max_try", 2, 1, 0);
        maxLine = parser.GetInt("line_size_limit", 1024, 1, 0);
        maxData = parser.GetInt("data_size_limit", 10240, 1, 0);
        service = parser.GetStr("memcache", "inet:localhost:11211", 0, 0)!;   // non-null default
        TcpConnect.CheckService(service);
        var backupName = parser.GetStr("backup", null, 0, 0);
        if (backupName != null)
            backup = DictOpen.Open(backupName, openFlags, dictFlags);
        ctx.Parse(keyFormat ?? "", true);
        ctx.ParseDomain(parser);
        Flags |= DictFlags.Fixed | DictFlags.MultiWriter;
        OwnerUid = parser.OwnerUid;
    }

    // Open - dict_memcache_open().
    public static Dict Open(string name, DictOpenFlags openFlags, DictFlags dictFlags)
    {
        if ((dictFlags & DictFlags.NoUnauth) != 0)
            return DictSurrogate.Create(TypeName, name, openFlags, dictFlags, $"{TypeName}:{name} map is not allowed for security-sensitive data");
        var mode = openFlags & DictOpenFlags.ReadWrite;
        if (mode != DictOpenFlags.ReadOnly && mode != DictOpenFlags.ReadWrite)
            return DictSurrogate.Create(TypeName, name, openFlags, dictFlags, $"{TypeName}:{name} map requires O_RDONLY or O_RDWR access mode");
        var parser = CfgParser.Alloc(name, out var errno);
        if (parser == null)
            return DictSurrogate.Create(TypeName, name, openFlags, dictFlags, $"open {name}: {Sys.StrError(errno)}");
        return new MemcacheDict(name, mode, dictFlags, parser);
    }

    // ValidKey - dict_memcache_valid_key(): prepare keyBuf; false to skip.
    private bool ValidKey(string name, string operation, bool noisy)
    {
        string? why = null;
        mcError = DictError.None;
        if (name.Length == 0)
        {
            why = "empty lookup key";
        }
        else if (!ctx.CheckDomain(name))
        {
            why = "domain mismatch";
        }
        else
        {
            var key = (Flags & DictFlags.FoldFix) != 0 ? RegexpSupport.FoldAscii(name) : name;
            if (keyFormat != null && keyFormat != "%s")
            {
                var sb = new StringBuilder();
                keyBuf = ctx.Expand(keyFormat, key, null, sb, null) ? sb.ToString() : "";
            }
            else
            {
                keyBuf = key;
            }
            if (keyBuf.Length == 0)
                why = "empty lookup key expansion";
            else if (keyBuf.AsSpan().IndexOfAny(" \t\n\r\f\v") >= 0)
                why = "name contains space";
        }
        if (why == null)
            return true;
        var text = $"{Name}: skipping {operation} for name \"{name}\": {why}";
        if (noisy)
            Msg.Warn(text);
        else if (Msg.Verbose > 0)
            Msg.Info(text);
        return false;
    }

    // Lookup - one lookup at a time per table: the match buffers (and
    // connections) belong to the table, as in a Postfix process.
    public override string? Lookup(string key)
    {
        lock (gate)
            return LookupLocked(key);
    }

    private string? LookupLocked(string key)
    {
        if (!ValidKey(key, "lookup", false))
        {
            SetError(mcError);
            return null;
        }
        var result = Get();
        var error = mcError;
        var errorText = ErrorText;
        if (backup != null && result == null)
        {
            result = backup.Lookup(key);
            error = backup.Error;
            errorText = backup.ErrorText;
            if (result != null)
                Set(result, ttl);
        }
        if (Msg.Verbose > 0)
            Msg.Info($"dict_memcache_lookup: {Name}: key \"{key}\"({keyBuf}) => {result ?? (mcError != 0 ? "(memcache error)" : backup != null && backup.Error != 0 ? "(backup error)" : "(not found)")}");
        SetError(error, errorText);
        return result;
    }

    public override DictStatus Update(string key, string value)
    {
        lock (gate)
            return UpdateLocked(key, value);
    }

    private DictStatus UpdateLocked(string key, string value)
    {
        if ((OpenFlags & DictOpenFlags.ReadWrite) == 0)
            return base.Update(key, value);
        if (!ValidKey(key, "update", true))
        {
            SetError(mcError);
            return DictStatus.Fail;
        }
        var status = Set(value, ttl);
        var error = mcError;
        if (backup != null)
        {
            status = backup.Update(key, value);
            error = backup.Error;
        }
        SetError(error);
        return status;
    }

    public override DictStatus Delete(string key)
    {
        lock (gate)
            return DeleteLocked(key);
    }

    private DictStatus DeleteLocked(string key)
    {
        if ((OpenFlags & DictOpenFlags.ReadWrite) == 0)
            return base.Delete(key);
        if (!ValidKey(key, "delete", false))
        {
            SetError(mcError);
            return mcError != 0 ? DictStatus.Error : DictStatus.Fail;
        }
        var status = Del();
        var error = mcError;
        if (backup != null)
        {
            status = backup.Delete(key);
            error = backup.Error;
        }
        SetError(error);
        return status;
    }

    public override DictStatus Sequence(DictSeq function, out string key, out string value)
    {
        if (backup == null)
        {
            Msg.Warn($"database {TypeName}:{Name}: first/next support requires backup database");
            key = value = "";
            SetError(DictError.None);
            return DictStatus.Fail;
        }
        var status = backup.Sequence(function, out key, out value);
        SetError(backup.Error);
        return status;
    }

    // Get - dict_memcache_get().
    private string? Get()
    {
        for (var count = 0; count < maxTries; count++)
        {
            if (count > 0)
                Sleep(errPause);
            var fp = Access();
            if (fp == null)
                break;
            try
            {
                Send(fp, $"get {keyBuf}");
                var reply = ReadLine(fp);
                if (reply == null)
                {
                    if (count > 0)
                        Msg.Warn($"database {TypeName}:{Name}: I/O error");
                }
                else if (reply == "END")
                {
                    mcError = DictError.None;
                    return null;
                }
                else if (!ParseValue(reply, out var todo) || todo < 0 || todo > maxData)
                {
                    if (count > 0)
                        Msg.Warn($"{Name}: unexpected memcache server reply: {Cut(reply, 30)}");
                }
                else
                {
                    var data = new byte[todo];
                    if (!ReadExact(fp, data) || fp.ReadByte() != '\r' || fp.ReadByte() != '\n')
                    {
                        if (count > 0)
                            Msg.Warn($"{Name}: EOF receiving memcache server reply");
                    }
                    else
                    {
                        if (ReadLine(fp) != "END")
                            Recover();
                        mcError = DictError.None;
                        var nul = Array.IndexOf(data, (byte)0);
                        return RegexpSupport.Decode(nul >= 0 ? data.AsSpan(0, nul) : data);
                    }
                }
            }
            catch (IOException e)
            {
                if (count > 0)
                    Msg.Warn($"database {TypeName}:{Name}: I/O error: {Sys.StrError(IoErrno(e))}");
            }
            Recover();
        }
        mcError = DictError.Retry;
        return null;
    }

    // Set - dict_memcache_set().
    private DictStatus Set(string value, int expire)
    {
        var data = RegexpSupport.Encode(value);
        if (data.Length > maxData)
        {
            Msg.Warn($"database {TypeName}:{Name}: data for key {keyBuf} is too long (data_size_limit={maxData}) -- not stored");
            mcError = DictError.None;
            return DictStatus.Fail;
        }
        for (var count = 0; count < maxTries; count++)
        {
            if (count > 0)
                Sleep(errPause);
            var fp = Access();
            if (fp == null)
                break;
            try
            {
                Send(fp, $"set {keyBuf} {mcFlags} {expire} {data.Length}");
                fp.Write(data);
                fp.Write("\r\n"u8);
                fp.Flush();
                var reply = ReadLine(fp);
                if (reply == null)
                {
                    if (count > 0)
                        Msg.Warn($"database {TypeName}:{Name}: I/O error");
                }
                else if (reply != "STORED")
                {
                    if (count > 0)
                        Msg.Warn($"database {TypeName}:{Name}: update failed: {Cut(reply, 30)}");
                }
                else
                {
                    mcError = DictError.None;
                    return DictStatus.Success;
                }
            }
            catch (IOException e)
            {
                if (count > 0)
                    Msg.Warn($"database {TypeName}:{Name}: I/O error: {Sys.StrError(IoErrno(e))}");
            }
            Recover();
        }
        mcError = DictError.Retry;
        return DictStatus.Error;
    }

    // Del - dict_memcache_del().
    private DictStatus Del()
    {
        for (var count = 0; count < maxTries; count++)
        {
            if (count > 0)
                Sleep(errPause);
            var fp = Access();
            if (fp == null)
                break;
            try
            {
                Send(fp, $"delete {keyBuf}");
                var reply = ReadLine(fp);
                if (reply == null)
                {
                    if (count > 0)
                        Msg.Warn($"database {TypeName}:{Name}: I/O error");
                }
                else if (reply == "DELETED")
                {
                    mcError = DictError.None;
                    return DictStatus.Success;
                }
                else if (reply == "NOT_FOUND")
                {
                    mcError = DictError.None;
                    return DictStatus.Fail;
                }
                else if (count > 0)
                {
                    Msg.Warn($"database {TypeName}:{Name}: delete failed: {Cut(reply, 30)}");
                }
            }
            catch (IOException e)
            {
                if (count > 0)
                    Msg.Warn($"database {TypeName}:{Name}: I/O error: {Sys.StrError(IoErrno(e))}");
            }
            Recover();
        }
        mcError = DictError.Retry;
        return DictStatus.Error;
    }

    // Access - auto_clnt_access(): the connection, made on demand.
    private BufferedStream? Access()
    {
        if (stream != null)
            return stream;
        var sock = TcpConnect.Service(service, timeout, out var errno, out var endpoint);
        if (sock == null)
        {
            var text = Sys.StrError(errno);
            Msg.Warn($"connect to {endpoint}: {text}");
            SetError(DictError.Retry, text);
            return null;
        }
        stream = new BufferedStream(new NetworkStream(sock, true));
        return stream;
    }

    private void Recover()
    {
        stream?.Dispose();
        stream = null;
    }

    private static void Send(Stream fp, string line)
    {
        fp.Write(RegexpSupport.Encode(line + "\r\n"));
        fp.Flush();
    }

    // ReadLine - memcache_get(): one CRLF or LF line; null at EOF or when too long.
    private string? ReadLine(Stream fp)
    {
        var buf = new MemoryStream();
        while (buf.Length < maxLine)
        {
            var b = fp.ReadByte();
            if (b < 0)
                return null;
            if (b == '\n')
            {
                var bytes = buf.ToArray();
                var n = bytes.Length > 0 && bytes[^1] == '\r' ? bytes.Length - 1 : bytes.Length;
                return RegexpSupport.Decode(bytes.AsSpan(0, n));
            }
            buf.WriteByte((byte)b);
        }
        // Stopped in the middle of CRLF: finish it.
        var bb = buf.ToArray();
        if (bb.Length > 0 && bb[^1] == '\r' && fp.ReadByte() == '\n')
            return RegexpSupport.Decode(bb.AsSpan(0, bb.Length - 1));
        return null;
    }

    private static bool ReadExact(Stream fp, byte[] data)
    {
        var got = 0;
        while (got < data.Length)
        {
            var n = fp.Read(data, got, data.Length - got);
            if (n <= 0)
                return false;
            got += n;
        }
        return true;
    }

    // ParseValue - sscanf("VALUE %*s %*s %ld").
    private static bool ParseValue(string reply, out long todo)
    {
        todo = 0;
        var fields = reply.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        return fields.Length >= 4 && fields[0] == "VALUE"
            && long.TryParse(fields[3], System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out todo);
    }

    private static string Cut(string s, int n) => s.Length > n ? s[..n] : s;

    private static int IoErrno(IOException e) => e.InnerException is SocketException se ? TcpConnect.Errno(se) : 104;

    protected override void Dispose(bool disposing)
    {
        Recover();
        backup?.Dispose();
        base.Dispose(disposing);
    }
}
