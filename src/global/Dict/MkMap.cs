// NAME
//	MkMap - create or update a table in bulk (postmap, postalias)
// POSTFIX
//	src/global/mkmap_open.c, src/global/mkmap_lmdb.c
// DESCRIPTION
//	Open() starts a build. A full rebuild (DictOpenFlags.Truncate) of an
//	lmdb/hash/btree table writes a new file next to the old one, in one
//	LMDB transaction, syncs it and renames it over the old file, so that
//	readers see the old table or the new one and a failed build leaves
//	the old table untouched. The old file's permissions and owner carry
//	over; concurrent builders serialize on a lock on the old file.
//	Incremental updates (postmap -i) change the table in place.
//
//	Types that Postfix cannot build get Postfix's (Debian's) messages.
using System;
using System.IO;
using Postfix.Util;

namespace Postfix.Global.Dict;

public sealed class MkMap : IDisposable
{
    private readonly DictLmdb? lmdb;
    private readonly string? tempPath;
    private readonly string? finalPath;
    private FileStream? lockStream;
    private bool closed;

    private MkMap(Dict dict, DictLmdb? lmdb, string? tempPath, string? finalPath, FileStream? lockStream)
    {
        Dict = dict;
        this.lmdb = lmdb;
        this.tempPath = tempPath;
        this.finalPath = finalPath;
        this.lockStream = lockStream;
    }

    // Dict - the table being written (with the UTF-8 layer when active).
    public Dict Dict { get; }

    // Open - mkmap_open(): all errors are fatal. SourceSize (the size of
    // the source file, if known) sizes the first memory map of a build so
    // that a large table need not grow it step by step.
    public static MkMap Open(string type, string path, DictOpenFlags openFlags, DictFlags dictFlags, long sourceSize = 0)
    {
        if (!IsCreatable(type))
        {
            if (DictOpen.IsKnown(type))
                Msg.Fatal($"unsupported dictionary type: {type} does not support bulk-mode creation.");
            Msg.Fatal($"unsupported dictionary type: {type}. Is the postfix-{type} package installed?");
        }
        if (Msg.Verbose > 0)
            Msg.Info($"open {type} {path}");
        dictFlags |= DictFlags.DupWarn;
        Dict dict;
        DictLmdb? lmdb = null;
        string? temp = null;
        string? final = null;
        FileStream? lockStream = null;
        if (type == "fail")
            dict = DictFail.Open(path, openFlags, dictFlags);
        else if ((openFlags & DictOpenFlags.Truncate) != 0)
        {
            final = path + DictLmdb.Suffix;
            temp = final + ".tmp" + Sys.GetPid().ToString(System.Globalization.CultureInfo.InvariantCulture);
            lockStream = LockOld(final);
            Sys.Unlink(temp);
            dict = DictLmdb.OpenFile(type, path, temp, openFlags, dictFlags | DictFlags.BulkUpdate, legacy: type != "lmdb", shownPath: final, sizeHint: sourceSize * 3);
            lmdb = dict as DictLmdb;
        }
        else
        {
            dict = DictOpen.Open3(type, path, openFlags & ~DictOpenFlags.Truncate, dictFlags);
            lmdb = dict as DictLmdb;
        }
        if ((dict.Flags & DictFlags.Utf8Active) == 0 && DictOpen.NeedUtf8(dictFlags))
            dict = DictUtf8.Activate(dict);
        return new MkMap(dict, lmdb, temp, final, lockStream);
    }

    // IsCreatable - types with bulk-create support.
    public static bool IsCreatable(string type) => type is "btree" or "fail" or "hash" or "lmdb";

    // LockOld - exclusive lock on the table being replaced, if any.
    private static FileStream? LockOld(string final)
    {
        FileStream fs;
        try
        {
            fs = new FileStream(final, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
        if (Sys.Flock((int)fs.SafeFileHandle.DangerousGetHandle(), Sys.LOCK_EX) < 0)
            Msg.Fatal($"lock {final}: {Sys.LastError()}");
        return fs;
    }

    // Append - mkmap_append(): store one entry.
    public void Append(string key, string value)
    {
        var status = Dict.Update(key, value);
        // fail: tables report through the caller's "write error" check.
        if (status != DictStatus.Success && Dict.Error != DictError.None && Dict is not DictFail)
            Msg.Fatal($"{Dict.Type}:{Dict.Name}: update failed");
    }

    // AppendBytes - the same for raw bytes, without decoding when possible.
    public void AppendBytes(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        if (lmdb != null && ReferenceEquals(Dict, lmdb))
        {
            lmdb.PutBytes(key, value);
            return;
        }
        Append(DictText.Decode(key), DictText.Decode(value));
    }

    // Close - mkmap_close(): commit, sync and put the new table in place.
    public void Close()
    {
        if (closed)
            return;
        closed = true;
        if (lmdb != null && tempPath != null && finalPath != null)
        {
            lmdb.Commit();
            CopyOwnership(finalPath, tempPath);
            Dict.Dispose();
            if (Sys.Rename(tempPath, finalPath) < 0)
            {
                var why = Sys.LastError();
                Sys.Unlink(tempPath);
                Msg.Fatal($"rename {tempPath} to {finalPath}: {why}");
            }
        }
        else
            Dict.Dispose();
        lockStream?.Dispose();
        lockStream = null;
    }

    // CopyOwnership - the new file keeps the old file's mode and owner.
    private static void CopyOwnership(string oldPath, string newPath)
    {
        try
        {
            if (!File.Exists(oldPath))
                return;
            if (!DictSys.Stat(oldPath, out var uid, out var gid, out var mode))
                return;
            Sys.Chmod(newPath, mode & 0xfff);
            if (Sys.GetEuid() == 0)
                Sys.Chown(newPath, uid, gid);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    // Abort - give up a build: the old table stays as it was.
    public void Abort()
    {
        if (closed)
            return;
        closed = true;
        try
        {
            Dict.Dispose();
        }
        catch (FatalException)
        {
        }
        if (tempPath != null)
            Sys.Unlink(tempPath);
        lockStream?.Dispose();
        lockStream = null;
    }

    public void Dispose()
    {
        if (!closed)
            Abort();
    }
}
