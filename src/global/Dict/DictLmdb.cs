// NAME
//	DictLmdb - tables in OpenLDAP LMDB files (name.lmdb)
// POSTFIX
//	src/util/dict_lmdb.c
// DESCRIPTION
//	The file is name + ".lmdb", one unnamed database, opened without a
//	subdirectory and without LMDB's lock file, exactly as Postfix does,
//	so that tables built here and by Postfix are interchangeable. Keys
//	and values are written with a trailing NUL unless -n says otherwise;
//	lookups try with and without the NUL until one form is found.
//
//	hash: and btree: tables are served by the same code (there is no
//	Berkeley DB here, as in Postfix 3.11 without BDB): they keep their
//	type name but live in name.lmdb, and their duplicate warnings name
//	the file, as Berkeley DB tables did.
using System;
using System.Buffers;
using System.IO;
using Postfix.Util;
using static Postfix.Global.Dict.LmdbNative;

namespace Postfix.Global.Dict;

public sealed class DictLmdb : Dict
{
    public const string TypeName = "lmdb";
    public const string Suffix = ".lmdb";

    private readonly Slmdb db;
    private readonly string filePath;
    private readonly bool legacy;

    // MapSize - $lmdb_map_size, the initial memory map size.
    public static long MapSize { get; set; } = 16777216;

    private DictLmdb(string type, string name, string filePath, Slmdb db, DictOpenFlags openFlags, DictFlags flags, bool legacy)
        : base(type, name, openFlags, flags)
    {
        this.db = db;
        this.filePath = filePath;
        this.legacy = legacy;
    }

    // FilePath - the LMDB file behind the table.
    public string FilePath => filePath;

    // Open - lmdb:name.
    public static Dict Open(string name, DictOpenFlags openFlags, DictFlags dictFlags) =>
        OpenFile(TypeName, name, name + Suffix, openFlags, dictFlags);

    // OpenHash - hash:name, redirected to name.lmdb.
    public static Dict OpenHash(string name, DictOpenFlags openFlags, DictFlags dictFlags) =>
        OpenLegacy("hash", name, openFlags, dictFlags);

    // OpenBtree - btree:name, redirected to name.lmdb.
    public static Dict OpenBtree(string name, DictOpenFlags openFlags, DictFlags dictFlags) =>
        OpenLegacy("btree", name, openFlags, dictFlags);

    private static Dict OpenLegacy(string type, string name, DictOpenFlags openFlags, DictFlags dictFlags)
    {
        var path = name + Suffix;
        // A Berkeley DB file left from before: say what to do about it.
        if ((openFlags & DictOpenFlags.Create) == 0 && !File.Exists(path) && File.Exists(name + ".db"))
            Msg.Warn($"{name}.db is a Berkeley DB file, which this Postfix cannot read; "
                + $"rebuild the table with \"postmap {type}:{name}\" (or \"postalias {type}:{name}\" for an alias file), "
                + $"which creates {path}");
        // Berkeley DB did not create a table unless asked to; LMDB would.
        if ((openFlags & DictOpenFlags.Create) == 0 && !File.Exists(path))
            return DictSurrogate.Create(type, name, openFlags, dictFlags, $"open database {path}: {StrError(Postfix.Util.Sys.ENOENT)}");
        return OpenFile(type, name, path, openFlags, dictFlags, legacy: true);
    }

    // OpenFile - open or create the LMDB file; a surrogate on failure.
    internal static Dict OpenFile(string type, string name, string path, DictOpenFlags openFlags, DictFlags dictFlags, bool legacy = false, string? shownPath = null, long sizeHint = 0)
    {
        var envFlags = MDB_NOSUBDIR | MDB_NOLOCK;
        var readOnly = (openFlags & DictOpenFlags.ReadWrite) == 0;
        if (readOnly)
            envFlags |= MDB_RDONLY;
        var bulk = (dictFlags & DictFlags.BulkUpdate) != 0;
        if (bulk)
            envFlags |= MDB_NOSYNC;     // Close() syncs once, at the end.
        long size = 0;
        try
        {
            var fi = new FileInfo(path);
            if (fi.Exists)
                size = fi.Length;
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        var status = Slmdb.Open(path, (openFlags & DictOpenFlags.Truncate) != 0, envFlags, bulk, Math.Max(MapSize, sizeHint), size, out var db);
        if (status != 0 || db == null)
            return DictSurrogate.Create(type, name, openFlags, dictFlags, $"open database {path}: {StrError(status)}");
        var flags = dictFlags | DictFlags.Fixed | DictFlags.MultiWriter;
        if ((dictFlags & (DictFlags.Try0Null | DictFlags.Try1Null)) == 0)
            flags |= DictFlags.Try0Null | DictFlags.Try1Null;
        var dict = new DictLmdb(type, name, shownPath ?? path, db, openFlags, flags, legacy);
        dict.TrackFile(path);
        if (Msg.Verbose > 0)
        {
            db.Notify = dict.NotifyResize;
            Msg.Info($"database {type}:{name}: using size limit {db.CurrentLimit} during open");
        }
        // Warn about a stale table, except right after an edit.
        if ((dictFlags & DictFlags.Lock) != 0)
        {
            try
            {
                var src = new FileInfo(name);
                var dst = new FileInfo(path);
                if (src.Exists && src.LastWriteTimeUtc > dst.LastWriteTimeUtc
                    && src.LastWriteTimeUtc < DateTime.UtcNow.AddSeconds(-100))
                    Msg.Warn($"database {path} is older than source file {name}");
            }
            catch (IOException)
            {
            }
        }
        return dict;
    }

    private void NotifyResize(int code, long limit)
    {
        switch (code)
        {
            case MDB_MAP_FULL:
                Msg.Info($"database {FullName}: using size limit {limit} after MDB_MAP_FULL");
                break;
            case MDB_MAP_RESIZED:
                Msg.Info($"database {FullName}: using size limit {limit} after MDB_MAP_RESIZED");
                break;
            default:
                Msg.Info($"database {FullName}: pausing after MDB_READERS_FULL");
                break;
        }
    }

    // KeyBytes - the key as stored: folded when asked, with room for a NUL.
    // ASCII keys (the common case) go into a reused buffer.
    private byte[] KeyBytes(string key, out int length)
    {
        var ascii = true;
        foreach (var c in key)
        {
            if (c >= 0x80)
            {
                ascii = false;
                break;
            }
        }
        if (!ascii)
        {
            var k = (Flags & DictFlags.FoldFix) != 0 ? DictText.Fold(key) : key;
            var bytes = DictText.Encode(k);
            length = bytes.Length;
            var buf = new byte[length + 1];
            bytes.CopyTo(buf, 0);
            return buf;
        }
        if (keyBuf.Length < key.Length + 1)
            keyBuf = new byte[Math.Max(key.Length + 1, keyBuf.Length * 2)];
        var fold = (Flags & DictFlags.FoldFix) != 0;
        for (var i = 0; i < key.Length; i++)
        {
            var c = key[i];
            keyBuf[i] = (byte)(fold && c >= 'A' && c <= 'Z' ? c + 32 : c);
        }
        length = key.Length;
        return keyBuf;
    }

    private byte[] keyBuf = new byte[256];

    private byte[]? valueBuf;

    public override bool CanLookupBytes => true;

    // LookupBytes - dict_lmdb_lookup() on raw bytes: fold ASCII as
    // lowercase() does, try with and without the NUL, no allocation.
    public override bool LookupBytes(ReadOnlySpan<byte> key, out ReadOnlySpan<byte> value)
    {
        value = default;
        if (keyBuf.Length < key.Length + 1)
            keyBuf = new byte[Math.Max(key.Length + 1, keyBuf.Length * 2)];
        key.CopyTo(keyBuf);
        if ((Flags & DictFlags.FoldFix) != 0)
            DictText.FoldAscii(keyBuf.AsSpan(0, key.Length));
        LockFile(DictSys.LockShared);
        try
        {
            SetError(DictError.None);
            var length = 0;
            var status = MDB_NOTFOUND;
            if ((Flags & DictFlags.Try1Null) != 0)
            {
                keyBuf[key.Length] = 0;
                status = db.GetInto(keyBuf.AsSpan(0, key.Length + 1), ref valueBuf, out length);
                if (status == 0)
                    Flags &= ~DictFlags.Try0Null;
                else if (status != MDB_NOTFOUND)
                    Msg.Fatal($"error reading {FullName}: {StrError(status)}");
            }
            if (status != 0 && (Flags & DictFlags.Try0Null) != 0 && !(legacy && key.Length == 0))
            {
                status = db.GetInto(keyBuf.AsSpan(0, key.Length), ref valueBuf, out length);
                if (status == 0)
                    Flags &= ~DictFlags.Try1Null;
                else if (status != MDB_NOTFOUND)
                    Msg.Fatal($"error reading {FullName}: {StrError(status)}");
            }
            if (status != 0)
                return false;
            var v = valueBuf.AsSpan(0, length);
            var nul = v.IndexOf((byte)0);
            value = nul < 0 ? v : v[..nul];
            return true;
        }
        finally
        {
            LockFile(DictSys.LockNone);
        }
    }

    public override string? Lookup(string key)
    {
        var buf = KeyBytes(key, out var len);
        var v = LookupBytes(buf, len);
        return v == null ? null : DictText.DecodeCString(v);
    }

    // LockFile - per-access lock, as Postfix takes it when asked (DICT_FLAG_LOCK).
    private void LockFile(int kind)
    {
        if ((Flags & DictFlags.Lock) == 0)
            return;
        if (!DictSys.Lock(db.Fd, kind))
            Msg.Fatal($"{Name}: {(kind == DictSys.LockNone ? "unlock" : "lock")} dictionary: {Postfix.Util.Sys.LastError()}");
    }

    // LookupBytes - key[..length] with key[length] free for the NUL.
    private byte[]? LookupBytes(byte[] key, int length)
    {
        LockFile(DictSys.LockShared);
        try
        {
            return LookupLocked(key, length);
        }
        finally
        {
            LockFile(DictSys.LockNone);
        }
    }

    private byte[]? LookupLocked(byte[] key, int length)
    {
        SetError(DictError.None);
        byte[]? value = null;
        if ((Flags & DictFlags.Try1Null) != 0)
        {
            key[length] = 0;
            var status = db.Get(key.AsSpan(0, length + 1), out value);
            if (status == 0)
                Flags &= ~DictFlags.Try0Null;
            else if (status != MDB_NOTFOUND)
                Msg.Fatal($"error reading {FullName}: {StrError(status)}");
        }
        // Berkeley DB looked up empty keys quietly; LMDB refuses them.
        if (value == null && (Flags & DictFlags.Try0Null) != 0 && !(legacy && length == 0))
        {
            var status = db.Get(key.AsSpan(0, length), out value);
            if (status == 0)
                Flags &= ~DictFlags.Try1Null;
            else if (status != MDB_NOTFOUND)
                Msg.Fatal($"error reading {FullName}: {StrError(status)}");
        }
        return value;
    }

    public override DictStatus Update(string key, string value)
    {
        var k = (Flags & DictFlags.FoldFix) != 0 ? DictText.Fold(key) : key;
        return PutBytes(DictText.Encode(k), DictText.Encode(value), false);
    }

    // PutBytes - store raw bytes (postmap's fast path); folds unless folded.
    public DictStatus PutBytes(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, bool fold = true)
    {
        SetError(DictError.None);
        if ((Flags & DictFlags.Try1Null) != 0 && (Flags & DictFlags.Try0Null) != 0)
            Flags &= ~DictFlags.Try0Null;
        var nul = (Flags & DictFlags.Try1Null) != 0 ? 1 : 0;
        var klen = key.Length + nul;
        var vlen = value.Length + nul;
        var rented = ArrayPool<byte>.Shared.Rent(klen + vlen);
        try
        {
            var kspan = rented.AsSpan(0, klen);
            key.CopyTo(kspan);
            if (fold && (Flags & DictFlags.FoldFix) != 0)
                DictText.FoldAscii(kspan[..key.Length]);
            if (nul == 1)
                kspan[key.Length] = 0;
            var vspan = rented.AsSpan(klen, vlen);
            value.CopyTo(vspan);
            if (nul == 1)
                vspan[value.Length] = 0;
            LockFile(DictSys.LockExclusive);
            int status;
            try
            {
                status = db.Put(kspan, vspan, (Flags & DictFlags.DupReplace) != 0 ? 0 : MDB_NOOVERWRITE);
            }
            finally
            {
                LockFile(DictSys.LockNone);
            }
            if (status == 0)
                return DictStatus.Success;
            if (status == MDB_KEYEXIST)
            {
                if ((Flags & DictFlags.DupIgnore) != 0)
                {
                }
                else
                {
                    var shown = DictText.Show(kspan[..key.Length]);
                    var where = legacy ? filePath : FullName;
                    if ((Flags & DictFlags.DupWarn) != 0)
                        Msg.Warn($"{where}: duplicate entry: \"{shown}\"");
                    else
                        Msg.Fatal($"{where}: duplicate entry: \"{shown}\"");
                }
                return DictStatus.Fail;
            }
            Msg.Fatal($"error updating {FullName}: {StrError(status)}");
            return DictStatus.Error;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    public override DictStatus Delete(string key)
    {
        LockFile(DictSys.LockExclusive);
        try
        {
            return DeleteLocked(key);
        }
        finally
        {
            LockFile(DictSys.LockNone);
        }
    }

    private DictStatus DeleteLocked(string key)
    {
        SetError(DictError.None);
        var buf = KeyBytes(key, out var len);
        var result = 1;
        if ((Flags & DictFlags.Try1Null) != 0)
        {
            buf[len] = 0;
            var status = db.Del(buf.AsSpan(0, len + 1));
            if (status == 0)
            {
                Flags &= ~DictFlags.Try0Null;
                result = 0;
            }
            else if (status != MDB_NOTFOUND)
                Msg.Fatal($"error deleting from {FullName}: {StrError(status)}");
        }
        if (result > 0 && (Flags & DictFlags.Try0Null) != 0 && !(legacy && len == 0))
        {
            var status = db.Del(buf.AsSpan(0, len));
            if (status == 0)
            {
                Flags &= ~DictFlags.Try1Null;
                result = 0;
            }
            else if (status != MDB_NOTFOUND)
                Msg.Fatal($"error deleting from {FullName}: {StrError(status)}");
        }
        return result == 0 ? DictStatus.Success : DictStatus.Fail;
    }

    public override DictStatus Sequence(DictSeq function, out string key, out string value)
    {
        SetError(DictError.None);
        key = value = "";
        LockFile(DictSys.LockShared);
        int status;
        byte[] k, v;
        try
        {
            status = db.CursorGet(function == DictSeq.First ? MDB_FIRST : MDB_NEXT, out k, out v);
        }
        finally
        {
            LockFile(DictSys.LockNone);
        }
        if (status == MDB_NOTFOUND)
            return DictStatus.Fail;
        if (status != 0)
        {
            Msg.Fatal($"error seeking {FullName}: {StrError(status)}");
            return DictStatus.Error;
        }
        key = DictText.DecodeCString(k);
        value = DictText.DecodeCString(v);
        return DictStatus.Success;
    }

    // Commit - finish a bulk build: commit, then force the file to disk.
    public void Commit()
    {
        var status = db.Commit(sync: true);
        if (status != 0)
            Msg.Fatal($"error updating {FullName}: {StrError(status)}");
    }

    // Fd - the descriptor of the LMDB file (for locks).
    public int Fd => db.Fd;

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            var status = db.Commit(sync: (Flags & DictFlags.BulkUpdate) != 0);
            db.Dispose();
            if (status != 0)
                Msg.Fatal($"error closing {FullName}: {StrError(status)}");
        }
        base.Dispose(disposing);
    }
}
