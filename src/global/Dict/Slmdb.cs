// NAME
//	Slmdb - simplified LMDB access with map-size recovery
// POSTFIX
//	src/util/slmdb.c
// DESCRIPTION
//	One environment, one unnamed database, no LMDB lock file
//	(MDB_NOSUBDIR | MDB_NOLOCK, as Postfix opens its tables). Outside
//	bulk mode each call runs in its own transaction. In bulk mode (a
//	postmap/postalias build) all writes go into one transaction that
//	Close() commits.
//
//	When the memory map is full, the map size grows by a factor of two
//	and the call is retried, as slmdb_recover() does. Postfix restarts
//	a failed bulk transaction by re-reading the source file; here the
//	writes of the current bulk transaction are kept in a replay log and
//	re-applied silently, so that warnings are not repeated. The log is
//	an unlinked temporary file: it lives in the page cache, not in the
//	process heap, so that a build takes no more memory than LMDB's own
//	dirty pages (as the reference's does).
using System;
using System.Threading;
using static Postfix.Global.Dict.LmdbNative;

namespace Postfix.Global.Dict;

internal sealed unsafe class Slmdb : IDisposable
{
    // Small databases still get this much room (SLMDB_FUDGE).
    private const long Fudge = 10240;
    // Recovery attempts per call (slmdb's default; dict_lmdb lowers it to
    // 2, but growing the map a few more times costs nothing).
    private const int ApiRetryLimit = 30;
    private const int BulkRetryLimit = 2 * 8 * 8;
    private const int SizeIncrement = 2;

    private nint env;
    private uint dbi;
    private nint txn;
    private nint cursor;
    private byte[]? savedKey;
    private readonly bool truncate;
    private readonly bool bulk;
    private readonly uint envFlags;
    private long currentLimit;
    private long hardLimit;
    private int bulkRetries;

    // Replay log of the bulk transaction: (key, value, flags) records.
    private System.IO.FileStream? log;
    private byte[] replayBuffer = Array.Empty<byte>();

    public int Fd { get; private set; } = -1;

    public long CurrentLimit => currentLimit;

    // Notify - verbose logging of map size changes ("using size limit").
    public Action<int, long>? Notify { get; set; }

    private Slmdb(bool truncate, bool bulk, uint envFlags, long limit)
    {
        this.truncate = truncate;
        this.bulk = bulk;
        this.envFlags = envFlags;
        currentLimit = limit;
        hardLimit = long.MaxValue;
    }

    // Open - slmdb_init() + slmdb_open(); returns an LMDB or errno status.
    public static int Open(string path, bool truncate, uint envFlags, bool bulk, long initialLimit, long fileSize, out Slmdb? db)
    {
        db = null;
        var s = new Slmdb(truncate, bulk, envFlags, initialLimit);
        if (s.currentLimit < Fudge)
            s.currentLimit = Fudge;
        // Respect the size of an existing file, as slmdb_open() does.
        if (fileSize > s.currentLimit - Fudge)
        {
            if (fileSize > s.hardLimit)
                s.hardLimit = fileSize;
            s.currentLimit = fileSize < s.hardLimit - Fudge ? fileSize + Fudge : s.hardLimit;
        }
        int status;
        if ((status = EnvCreate(out s.env)) != 0)
            return status;
        if ((status = EnvSetMapSize(s.env, (nuint)s.currentLimit)) != 0
            || (status = EnvOpen(s.env, path, envFlags, Convert.ToInt32("644", 8))) != 0
            || (status = TxnBegin(s.env, 0, envFlags & MDB_RDONLY, out s.txn)) != 0
            || (status = DbiOpen(s.txn, 0, 0, out s.dbi)) != 0
            || (status = EnvGetFd(s.env, out var fd)) != 0)
        {
            EnvClose(s.env);
            return status;
        }
        s.Fd = fd;
        if ((status = s.Prepare()) != 0)
        {
            EnvClose(s.env);
            return status;
        }
        db = s;
        return 0;
    }

    // Prepare - empty the database when truncating; keep the transaction in bulk mode.
    private int Prepare()
    {
        var status = 0;
        if (truncate)
        {
            if ((status = Drop(txn, dbi, 0)) != 0)
            {
                TxnAbort(txn);
                txn = 0;
                return status;
            }
            if (!bulk)
            {
                status = TxnCommit(txn);
                txn = 0;
            }
        }
        else if (!bulk)
        {
            TxnAbort(txn);
            txn = 0;
        }
        return status;
    }

    // Recover - grow the map or wait for readers; true when the caller may retry.
    private bool Recover(int status, ref int apiRetries)
    {
        CloseCursor();
        if (readTxn != 0)
        {
            // No transaction of ours may be open while the map is resized.
            TxnAbort(readTxn);
            readTxn = 0;
        }
        if (++apiRetries >= (bulk ? BulkRetryLimit : ApiRetryLimit))
            return false;
        if (bulk && ++bulkRetries > BulkRetryLimit)
            return false;
        switch (status)
        {
            case MDB_MAP_FULL:
                if (currentLimit < hardLimit / SizeIncrement)
                    currentLimit *= SizeIncrement;
                else if (currentLimit < hardLimit)
                    currentLimit = hardLimit;
                else
                    return false;
                Notify?.Invoke(MDB_MAP_FULL, currentLimit);
                if (EnvSetMapSize(env, (nuint)currentLimit) != 0)
                    return false;
                break;
            case MDB_MAP_RESIZED:
                if (EnvSetMapSize(env, 0) != 0)
                    return false;
                EnvInfo(env, out var info);
                currentLimit = (long)info.MapSize;
                Notify?.Invoke(MDB_MAP_RESIZED, currentLimit);
                break;
            case MDB_READERS_FULL:
                Notify?.Invoke(MDB_READERS_FULL, 0);
                Thread.Sleep(1000);
                break;
            default:
                return false;
        }
        if (bulk)
            return RestartBulk() == 0;
        return true;
    }

    // RestartBulk - new bulk transaction with everything written so far.
    private int RestartBulk()
    {
        int status;
        if ((status = TxnBegin(env, 0, envFlags & MDB_RDONLY, out txn)) != 0)
            return status;
        if ((status = Prepare()) != 0)
            return status;
        if (log == null)
            return 0;
        log.Flush();
        log.Position = 0;
        Span<byte> head = stackalloc byte[12];
        while (log.Position < log.Length)
        {
            log.ReadExactly(head);
            var klen = BitConverter.ToInt32(head);
            var vlen = BitConverter.ToInt32(head[4..]);
            var flags = BitConverter.ToUInt32(head[8..]);
            if (replayBuffer.Length < klen + vlen)
                replayBuffer = new byte[Math.Max(klen + vlen, 4096)];
            log.ReadExactly(replayBuffer, 0, klen + vlen);
            fixed (byte* p = replayBuffer)
            {
                var k = new MdbVal { Size = (nuint)klen, Data = p };
                var v = new MdbVal { Size = (nuint)vlen, Data = p + klen };
                status = LmdbNative.Put(txn, dbi, &k, &v, flags);
            }
            if (status != 0 && status != MDB_KEYEXIST)
            {
                TxnAbort(txn);
                txn = 0;
                var retries = 0;
                return Recover(status, ref retries) ? 0 : status;
            }
        }
        log.Seek(0, System.IO.SeekOrigin.End);
        return 0;
    }

    private void LogPut(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, uint flags)
    {
        log ??= NewLog();
        Span<byte> head = stackalloc byte[12];
        BitConverter.TryWriteBytes(head, key.Length);
        BitConverter.TryWriteBytes(head[4..], value.Length);
        BitConverter.TryWriteBytes(head[8..], flags);
        log.Write(head);
        log.Write(key);
        log.Write(value);
    }

    // NewLog - an anonymous temporary file (unlinked at once).
    private static System.IO.FileStream NewLog()
    {
        var path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"slmdb-replay.{Environment.ProcessId}.{Guid.NewGuid():N}");
        var f = new System.IO.FileStream(path, System.IO.FileMode.CreateNew, System.IO.FileAccess.ReadWrite, System.IO.FileShare.None, 1 << 16);
        System.IO.File.Delete(path);
        return f;
    }

    // Get - look up key; the value is copied out (null when not found).
    public int Get(ReadOnlySpan<byte> key, out byte[]? value)
    {
        byte[]? buf = null;
        var status = GetInto(key, ref buf, out var length);
        value = status == 0 ? buf.AsSpan(0, length).ToArray() : null;
        return status;
    }

    // GetInto - slmdb_get() copying the value into a reusable buffer (grown
    // as needed); the lookup path of postmap -q - allocates nothing per key.
    public int GetInto(ReadOnlySpan<byte> key, ref byte[]? buffer, out int length)
    {
        length = 0;
        var retries = 0;
        for (;;)
        {
            var t = txn;
            int status;
            if (t == 0)
            {
                // One read transaction handle, reset after each lookup and
                // renewed before the next: the same fresh snapshot per
                // lookup as begin/abort, without allocating a handle.
                if (readTxn != 0 && (status = TxnRenew(readTxn)) != 0)
                {
                    TxnAbort(readTxn);
                    readTxn = 0;
                    if (Recover(status, ref retries))
                        continue;
                    return status;
                }
                if (readTxn == 0 && (status = TxnBegin(env, 0, MDB_RDONLY, out readTxn)) != 0)
                {
                    readTxn = 0;
                    if (Recover(status, ref retries))
                        continue;
                    return status;
                }
                t = readTxn;
            }
            fixed (byte* kp = key)
            {
                var k = new MdbVal { Size = (nuint)key.Length, Data = kp };
                MdbVal v;
                status = LmdbNative.Get(t, dbi, &k, &v);
                if (status == 0)
                {
                    length = (int)v.Size;
                    if (buffer == null || buffer.Length < length)
                        buffer = new byte[Math.Max(length, 256)];
                    new ReadOnlySpan<byte>(v.Data, length).CopyTo(buffer);
                }
            }
            if (status != 0 && status != MDB_NOTFOUND)
            {
                TxnAbort(t);
                if (t == txn)
                    txn = 0;
                else
                    readTxn = 0;
                if (Recover(status, ref retries))
                    continue;
                return status;
            }
            if (t == readTxn)
                TxnReset(readTxn);
            return status;
        }
    }

    // The reusable read transaction of GetInto (reset between lookups).
    private nint readTxn;

    // Put - store key and value (flags: MDB_NOOVERWRITE or 0).
    public int Put(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, uint flags)
    {
        var retries = 0;
        for (;;)
        {
            var t = txn;
            int status;
            if (t == 0 && (status = TxnBegin(env, 0, 0, out t)) != 0)
            {
                if (Recover(status, ref retries))
                    continue;
                return status;
            }
            fixed (byte* kp = key)
            fixed (byte* vp = value)
            {
                var k = new MdbVal { Size = (nuint)key.Length, Data = kp };
                var v = new MdbVal { Size = (nuint)value.Length, Data = vp };
                status = LmdbNative.Put(t, dbi, &k, &v, flags);
            }
            if (status == MDB_KEYEXIST)
            {
                if (txn == 0)
                    TxnAbort(t);
                return status;
            }
            if (status != 0)
            {
                TxnAbort(t);
                if (t == txn)
                    txn = 0;
                if (Recover(status, ref retries))
                    continue;
                return status;
            }
            if (bulk)
            {
                LogPut(key, value, flags);
                return 0;
            }
            if (txn == 0 && (status = TxnCommit(t)) != 0)
            {
                if (Recover(status, ref retries))
                    continue;
                return status;
            }
            return 0;
        }
    }

    // Del - remove key.
    public int Del(ReadOnlySpan<byte> key)
    {
        var retries = 0;
        for (;;)
        {
            var t = txn;
            int status;
            if (t == 0 && (status = TxnBegin(env, 0, 0, out t)) != 0)
            {
                if (Recover(status, ref retries))
                    continue;
                return status;
            }
            fixed (byte* kp = key)
            {
                var k = new MdbVal { Size = (nuint)key.Length, Data = kp };
                status = LmdbNative.Del(t, dbi, &k, null);
            }
            if (status == MDB_NOTFOUND)
            {
                if (txn == 0)
                    TxnAbort(t);
                return status;
            }
            if (status != 0)
            {
                TxnAbort(t);
                if (t == txn)
                    txn = 0;
                if (Recover(status, ref retries))
                    continue;
                return status;
            }
            if (txn == 0 && (status = TxnCommit(t)) != 0)
            {
                if (Recover(status, ref retries))
                    continue;
                return status;
            }
            return 0;
        }
    }

    // CursorGet - first/next entry. Without LMDB locks the cursor is closed
    // after each step and re-positioned on the saved key, as slmdb does.
    public int CursorGet(int op, out byte[] key, out byte[] value)
    {
        key = value = Array.Empty<byte>();
        if (bulk)
            return MDB_PANIC;
        var retries = 0;
        for (;;)
        {
            int status = 0;
            if (cursor == 0)
            {
                if ((status = TxnBegin(env, 0, MDB_RDONLY, out var t)) != 0)
                {
                    if (Recover(status, ref retries))
                        continue;
                    return status;
                }
                if ((status = CursorOpen(t, dbi, out cursor)) != 0)
                {
                    TxnAbort(t);
                    cursor = 0;
                    if (Recover(status, ref retries))
                        continue;
                    return status;
                }
                if (savedKey != null && op != MDB_FIRST)
                {
                    fixed (byte* sp = savedKey)
                    {
                        var sk = new MdbVal { Size = (nuint)savedKey.Length, Data = sp };
                        status = LmdbNative.CursorGet(cursor, &sk, null, MDB_SET);
                    }
                }
            }
            MdbVal k = default, v = default;
            if (status == 0)
                status = LmdbNative.CursorGet(cursor, &k, &v, op);
            if (status == 0)
            {
                key = new ReadOnlySpan<byte>(k.Data, (int)k.Size).ToArray();
                value = v.Data == null ? Array.Empty<byte>() : new ReadOnlySpan<byte>(v.Data, (int)v.Size).ToArray();
                savedKey = key;
                if ((envFlags & MDB_NOLOCK) != 0)
                    CloseCursor();
                return 0;
            }
            CloseCursor();
            if (status == MDB_NOTFOUND)
            {
                savedKey = null;
                return status;
            }
            if (Recover(status, ref retries))
                continue;
            return status;
        }
    }

    private void CloseCursor()
    {
        if (cursor == 0)
            return;
        var t = CursorTxn(cursor);
        CursorClose(cursor);
        cursor = 0;
        TxnAbort(t);
    }

    // Commit - commit the bulk transaction (retrying after map growth) and
    // force the data to disk when asked to.
    public int Commit(bool sync)
    {
        var status = 0;
        var retries = 0;
        while (bulk && txn != 0)
        {
            var t = txn;
            txn = 0;
            if ((status = TxnCommit(t)) == 0)
                break;
            if (!Recover(status, ref retries))
                return status;
        }
        log?.Dispose();
        log = null;
        if (sync && (status = EnvSync(env, 1)) != 0)
            return status;
        return status;
    }

    public void Dispose()
    {
        log?.Dispose();
        log = null;
        CloseCursor();
        if (readTxn != 0)
        {
            TxnAbort(readTxn);
            readTxn = 0;
        }
        if (txn != 0)
        {
            TxnAbort(txn);
            txn = 0;
        }
        if (env != 0)
        {
            EnvClose(env);
            env = 0;
        }
    }
}
