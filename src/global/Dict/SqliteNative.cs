// NAME
//	SqliteNative - the libsqlite3 calls that sqlite: tables use
// POSTFIX
//	src/global/dict_sqlite.c (the sqlite3_* calls)
// DESCRIPTION
//	Debian's libsqlite3.so.0 through P/Invoke: open, prepare, step,
//	first column text, finalize, close, error message.
using System;
using System.Runtime.InteropServices;

namespace Postfix.Global.Dict;

internal static unsafe partial class SqliteNative
{
    private const string Lib = "libsqlite3.so.0";

    public const int Ok = 0;
    public const int Row = 100;
    public const int Done = 101;

    [LibraryImport(Lib, EntryPoint = "sqlite3_open")]
    public static partial int Open(byte* filename, out nint db);

    [LibraryImport(Lib, EntryPoint = "sqlite3_close")]
    public static partial int Close(nint db);

    [LibraryImport(Lib, EntryPoint = "sqlite3_errmsg")]
    public static partial nint ErrMsgRaw(nint db);

    [LibraryImport(Lib, EntryPoint = "sqlite3_prepare_v2")]
    public static partial int Prepare(nint db, byte* sql, int nbyte, out nint stmt, out byte* tail);

    [LibraryImport(Lib, EntryPoint = "sqlite3_step")]
    public static partial int Step(nint stmt);

    [LibraryImport(Lib, EntryPoint = "sqlite3_column_text")]
    public static partial byte* ColumnText(nint stmt, int col);

    [LibraryImport(Lib, EntryPoint = "sqlite3_column_bytes")]
    public static partial int ColumnBytes(nint stmt, int col);

    [LibraryImport(Lib, EntryPoint = "sqlite3_finalize")]
    public static partial int Finalize(nint stmt);

    // ErrMsg - sqlite3_errmsg() as a string.
    public static string ErrMsg(nint db) => Marshal.PtrToStringUTF8(ErrMsgRaw(db)) ?? "";
}
