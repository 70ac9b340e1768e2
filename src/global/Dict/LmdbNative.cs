// NAME
//	LmdbNative - the liblmdb entry points that Postfix's lmdb tables use
// POSTFIX
//	src/util/slmdb.c (the calls it makes into <lmdb.h>)
// DESCRIPTION
//	Thin [LibraryImport] declarations against the system library
//	(Debian liblmdb0). Everything is passed as raw pointers so that
//	key and value bytes never leave unmanaged or pinned memory.
using System;
using System.Runtime.InteropServices;

namespace Postfix.Global.Dict;

internal static unsafe partial class LmdbNative
{
    private const string Lib = "liblmdb.so.0";

    // Environment flags (mdb_env_open).
    public const uint MDB_NOSUBDIR = 0x4000;
    public const uint MDB_NOSYNC = 0x10000;
    public const uint MDB_RDONLY = 0x20000;
    public const uint MDB_WRITEMAP = 0x80000;
    public const uint MDB_NOLOCK = 0x400000;

    // Write flags (mdb_put).
    public const uint MDB_NOOVERWRITE = 0x10;

    // Cursor operations.
    public const int MDB_FIRST = 0;
    public const int MDB_NEXT = 8;
    public const int MDB_SET = 15;

    // Return codes.
    public const int MDB_SUCCESS = 0;
    public const int MDB_KEYEXIST = -30799;
    public const int MDB_NOTFOUND = -30798;
    public const int MDB_PANIC = -30795;
    public const int MDB_MAP_FULL = -30792;
    public const int MDB_READERS_FULL = -30790;
    public const int MDB_MAP_RESIZED = -30785;

    [StructLayout(LayoutKind.Sequential)]
    public struct MdbVal
    {
        public nuint Size;
        public byte* Data;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct MdbEnvInfo
    {
        public nint MapAddr;
        public nuint MapSize;
        public nuint LastPgno;
        public nuint LastTxnid;
        public uint MaxReaders;
        public uint NumReaders;
    }

    [LibraryImport(Lib, EntryPoint = "mdb_env_create")]
    public static partial int EnvCreate(out nint env);

    [LibraryImport(Lib, EntryPoint = "mdb_env_set_mapsize")]
    public static partial int EnvSetMapSize(nint env, nuint size);

    [LibraryImport(Lib, EntryPoint = "mdb_env_open", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int EnvOpen(nint env, string path, uint flags, int mode);

    [LibraryImport(Lib, EntryPoint = "mdb_env_close")]
    public static partial void EnvClose(nint env);

    [LibraryImport(Lib, EntryPoint = "mdb_env_sync")]
    public static partial int EnvSync(nint env, int force);

    [LibraryImport(Lib, EntryPoint = "mdb_env_get_fd")]
    public static partial int EnvGetFd(nint env, out int fd);

    [LibraryImport(Lib, EntryPoint = "mdb_env_info")]
    public static partial int EnvInfo(nint env, out MdbEnvInfo info);

    [LibraryImport(Lib, EntryPoint = "mdb_txn_begin")]
    public static partial int TxnBegin(nint env, nint parent, uint flags, out nint txn);

    [LibraryImport(Lib, EntryPoint = "mdb_txn_commit")]
    public static partial int TxnCommit(nint txn);

    [LibraryImport(Lib, EntryPoint = "mdb_txn_abort")]
    public static partial void TxnAbort(nint txn);

    [LibraryImport(Lib, EntryPoint = "mdb_txn_reset")]
    public static partial void TxnReset(nint txn);

    [LibraryImport(Lib, EntryPoint = "mdb_txn_renew")]
    public static partial int TxnRenew(nint txn);

    [LibraryImport(Lib, EntryPoint = "mdb_dbi_open")]
    public static partial int DbiOpen(nint txn, nint name, uint flags, out uint dbi);

    [LibraryImport(Lib, EntryPoint = "mdb_drop")]
    public static partial int Drop(nint txn, uint dbi, int del);

    [LibraryImport(Lib, EntryPoint = "mdb_get")]
    public static partial int Get(nint txn, uint dbi, MdbVal* key, MdbVal* data);

    [LibraryImport(Lib, EntryPoint = "mdb_put")]
    public static partial int Put(nint txn, uint dbi, MdbVal* key, MdbVal* data, uint flags);

    [LibraryImport(Lib, EntryPoint = "mdb_del")]
    public static partial int Del(nint txn, uint dbi, MdbVal* key, MdbVal* data);

    [LibraryImport(Lib, EntryPoint = "mdb_cursor_open")]
    public static partial int CursorOpen(nint txn, uint dbi, out nint cursor);

    [LibraryImport(Lib, EntryPoint = "mdb_cursor_get")]
    public static partial int CursorGet(nint cursor, MdbVal* key, MdbVal* data, int op);

    [LibraryImport(Lib, EntryPoint = "mdb_cursor_txn")]
    public static partial nint CursorTxn(nint cursor);

    [LibraryImport(Lib, EntryPoint = "mdb_cursor_close")]
    public static partial void CursorClose(nint cursor);

    [LibraryImport(Lib, EntryPoint = "mdb_strerror")]
    private static partial nint StrErrorRaw(int err);

    // StrError - mdb_strerror(): LMDB's texts, or strerror() for errno values.
    public static string StrError(int err) => Marshal.PtrToStringUTF8(StrErrorRaw(err)) ?? $"error {err}";
}
