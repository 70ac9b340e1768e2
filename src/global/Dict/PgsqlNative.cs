// NAME
//	PgsqlNative - the libpq calls that pgsql: tables use
// POSTFIX
//	src/global/dict_pgsql.c (the PQ* calls)
// DESCRIPTION
//	Debian's libpq.so.5 through P/Invoke: connect (URI or host/port
//	login), status, client encoding, string escaping, exec, results.
using System;
using System.Runtime.InteropServices;

namespace Postfix.Global.Dict;

internal static unsafe partial class PgsqlNative
{
    private const string Lib = "libpq.so.5";

    public const int ConnectionOk = 0;
    public const int PgresCommandOk = 1;
    public const int PgresTuplesOk = 2;
    public const int PgresBadResponse = 5;
    public const int PgresFatalError = 7;

    [LibraryImport(Lib, EntryPoint = "PQconnectdb")]
    public static partial nint ConnectDb(byte* conninfo);

    [LibraryImport(Lib, EntryPoint = "PQsetdbLogin")]
    public static partial nint SetDbLogin(byte* host, byte* port, byte* options, byte* tty, byte* dbName, byte* login, byte* pwd);

    [LibraryImport(Lib, EntryPoint = "PQstatus")]
    public static partial int Status(nint conn);

    [LibraryImport(Lib, EntryPoint = "PQerrorMessage")]
    public static partial nint ErrorMessageRaw(nint conn);

    [LibraryImport(Lib, EntryPoint = "PQsetClientEncoding")]
    public static partial int SetClientEncoding(nint conn, byte* encoding);

    [LibraryImport(Lib, EntryPoint = "PQescapeStringConn")]
    public static partial nuint EscapeStringConn(nint conn, byte* to, byte* from, nuint length, out int error);

    [LibraryImport(Lib, EntryPoint = "PQexec")]
    public static partial nint Exec(nint conn, byte* query);

    [LibraryImport(Lib, EntryPoint = "PQresultStatus")]
    public static partial int ResultStatus(nint res);

    [LibraryImport(Lib, EntryPoint = "PQresultErrorMessage")]
    public static partial nint ResultErrorMessageRaw(nint res);

    [LibraryImport(Lib, EntryPoint = "PQntuples")]
    public static partial int NTuples(nint res);

    [LibraryImport(Lib, EntryPoint = "PQnfields")]
    public static partial int NFields(nint res);

    [LibraryImport(Lib, EntryPoint = "PQgetvalue")]
    public static partial byte* GetValue(nint res, int row, int col);

    [LibraryImport(Lib, EntryPoint = "PQgetlength")]
    public static partial int GetLength(nint res, int row, int col);

    [LibraryImport(Lib, EntryPoint = "PQclear")]
    public static partial void Clear(nint res);

    [LibraryImport(Lib, EntryPoint = "PQfinish")]
    public static partial void Finish(nint conn);

    public static string ErrorMessage(nint conn) => conn == 0 ? "" : Marshal.PtrToStringUTF8(ErrorMessageRaw(conn)) ?? "";

    public static string ResultErrorMessage(nint res) => Marshal.PtrToStringUTF8(ResultErrorMessageRaw(res)) ?? "";
}
