// NAME
//	SqliteDict - the sqlite: table (SQLite database client)
// POSTFIX
//	src/global/dict_sqlite.c
// DESCRIPTION
//	Some reference messages end in "\n", which Postfix's msg_output()
//	prints as "?"; they are written with the "?" here.
//
//	Settings (sqlite_table(5)): dbpath, query (or the legacy table,
//	select_field, where_field, additional_conditions), result_format,
//	domain, expansion_limit. The key is expanded into the query with
//	SQL quoting ('' for '), every row's first column through
//	result_format; results are joined with commas. Keys that are not
//	valid UTF-8 are not looked up.
using System;
using System.Text;
using Postfix.Util;

namespace Postfix.Global.Dict;

public sealed unsafe class SqliteDict : Dict
{
    private readonly object gate = new();

    public const string TypeName = "sqlite";

    private readonly CfgParser parser;
    private readonly DbCommon ctx;
    private string query = "";
    private string resultFormat = "%s";
    private int expansionLimit;
    private nint db;

    private SqliteDict(string name, DictOpenFlags openFlags, DictFlags dictFlags, CfgParser parser)
        : base(TypeName, name, openFlags, dictFlags)
    {
        this.parser = parser;
        ctx = new DbCommon(this);
        OwnerUid = parser.OwnerUid;
    }

    // Open - dict_sqlite_open().
    public static Dict Open(string name, DictOpenFlags openFlags, DictFlags dictFlags)
    {
        if (openFlags != DictOpenFlags.ReadOnly)
            return DictSurrogate.Create(TypeName, name, openFlags, dictFlags, $"{TypeName}:{name} map requires O_RDONLY access mode");
        var parser = CfgParser.Alloc(name, out var errno);
        if (parser == null)
            return DictSurrogate.Create(TypeName, name, openFlags, dictFlags, $"open {name}: {Sys.StrError(errno)}");
        var dict = new SqliteDict(name, openFlags, dictFlags, parser);
        var dbpath = dict.ParseConfig();
        var path = Encoding.UTF8.GetBytes(dbpath + "\0");
        fixed (byte* p = path)
        {
            if (SqliteNative.Open(p, out dict.db) != SqliteNative.Ok)
                Msg.Fatal($"{TypeName}:{name}: Can't open database: {SqliteNative.ErrMsg(dict.db)}?");
        }
        return dict;
    }

    // ParseConfig - sqlite_parse_config(); returns dbpath.
    private string ParseConfig()
    {
        var dbpath = parser.GetStr("dbpath", "", 1, 0)!;   // a non-null default gives a non-null value
        query = parser.GetStr("query", null, 0, 0) ?? DbCommon.SqlBuildQuery(parser);
        resultFormat = parser.GetStr("result_format", "%s", 1, 0)!;
        expansionLimit = parser.GetInt("expansion_limit", 0, 0, 0);
        ctx.Parse(query, true);
        ctx.Parse(resultFormat, false);
        ctx.ParseDomain(parser);
        Flags |= DictFlags.Fixed;
        return dbpath;
    }

    // QuoteSql - sqlite3_mprintf("%q"): double each single quote.
    internal static void QuoteSql(string text, StringBuilder result)
    {
        foreach (var c in text)
        {
            if (c == '\'')
                result.Append('\'');
            result.Append(c);
        }
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
        SetError(DictError.None);
        if ((Flags & DictFlags.Utf8Active) == 0 && !IsUtf8(key))
        {
            if (Msg.Verbose > 0)
                Msg.Info($"dict_sqlite_lookup: {parser.Name}: Skipping lookup of non-UTF-8 key '{key}'");
            return null;
        }
        if ((Flags & DictFlags.FoldFix) != 0)
            key = RegexpSupport.FoldAscii(key);
        if (!ctx.CheckDomain(key))
        {
            if (Msg.Verbose > 0)
                Msg.Info($"dict_sqlite_lookup: {parser.Name}: Skipping lookup of '{key}'");
            return null;
        }
        var sql = new StringBuilder();
        if (!ctx.Expand(query, key, null, sql, QuoteSql))
            return null;
        if (Msg.Verbose > 0)
            Msg.Info($"dict_sqlite_lookup: {parser.Name}: Searching with query {sql}");
        var sqlBytes = RegexpSupport.Encode(sql + "\0");
        nint stmt;
        fixed (byte* s = sqlBytes)
        {
            if (SqliteNative.Prepare(db, s, -1, out stmt, out var tail) != SqliteNative.Ok)
                Msg.Fatal($"dict_sqlite_lookup: {parser.Name}: SQL prepare failed: {SqliteNative.ErrMsg(db)}?");
            if (tail != null && *tail != 0 && Msg.Verbose > 0)
                Msg.Info($"dict_sqlite_lookup: {parser.Name}: Ignoring text at end of query: {System.Runtime.InteropServices.Marshal.PtrToStringUTF8((nint)tail)}");
        }
        var result = new StringBuilder();
        var expansion = 0;
        int status;
        while ((status = SqliteNative.Step(stmt)) != SqliteNative.Done)
        {
            if (status == SqliteNative.Row)
            {
                var text = SqliteNative.ColumnText(stmt, 0);
                string? value = text == null ? null : RegexpSupport.Decode(new ReadOnlySpan<byte>(text, SqliteNative.ColumnBytes(stmt, 0)));
                if (ctx.Expand(resultFormat, value, key, result, null)
                    && expansionLimit > 0 && ++expansion > expansionLimit)
                {
                    Msg.Warn($"dict_sqlite_lookup: {parser.Name}: Expansion limit exceeded for key '{key}'");
                    SetError(DictError.Retry);
                    break;
                }
            }
            else
            {
                Msg.Warn($"dict_sqlite_lookup: {parser.Name}: SQL step failed for query '{sql}': {SqliteNative.ErrMsg(db)}?");
                SetError(DictError.Retry);
                break;
            }
        }
        if (SqliteNative.Finalize(stmt) != SqliteNative.Ok)
            Msg.Fatal($"dict_sqlite_lookup: {parser.Name}: SQL finalize failed for query '{sql}': {SqliteNative.ErrMsg(db)}?");
        return Error == DictError.None && result.Length > 0 ? result.ToString() : null;
    }

    private static bool IsUtf8(string key)
    {
        foreach (var c in key)
        {
            if (c >= 0x80)
                return System.Text.Unicode.Utf8.IsValid(RegexpSupport.Encode(key));
        }
        return true;
    }

    protected override void Dispose(bool disposing)
    {
        if (db != 0)
        {
            if (SqliteNative.Close(db) != SqliteNative.Ok)
                Msg.Fatal($"dict_sqlite_close: close {parser.Name} failed");
            db = 0;
        }
        base.Dispose(disposing);
    }
}
