// NAME
//	PgsqlDict - the pgsql: table (PostgreSQL client)
// POSTFIX
//	src/global/dict_pgsql.c
// DESCRIPTION
//	Settings (pgsql_table(5)): hosts ("postgresql://..." URIs,
//	"unix:/dir", "inet:host:port" or plain names; default localhost),
//	user, password, dbname, query (or select_function, or the legacy
//	table/select_field/where_field/additional_conditions),
//	result_format, domain, expansion_limit.
//
//	Hosts are tried at random, active connections first (UNIX-domain
//	before TCP before URI); a host that fails is skipped for 60 s. The
//	client encoding is LATIN1, so key and result bytes pass unchanged.
//	Every column of every row goes through result_format; results are
//	joined with commas.
using System;
using System.Collections.Generic;
using System.Text;
using Postfix.Util;

namespace Postfix.Global.Dict;

public sealed unsafe class PgsqlDict : Dict
{
    private readonly object gate = new();

    public const string TypeName = "pgsql";

    private const int StatActive = 1 << 0;
    private const int StatFail = 1 << 1;
    private const int StatUntried = 1 << 2;
    private const int TypeUnix = 1 << 0;
    private const int TypeInet = 1 << 1;
    private const int TypeConnString = 1 << 2;
    private const int RetryConnMax = 100;
    private const int RetryConnIntv = 60;
    private const int IdleConnIntv = 60;

    private sealed class Host
    {
        public nint Db;
        public required string HostName { get; init; }
        public required string Name { get; init; }
        public string? Port { get; init; }
        public int Type;
        public int Stat = StatUntried;
        public long RetryAt;      // when a failed host may be tried again (unix seconds)
        public long IdleUntil;    // when an active connection is closed for idleness
    }

    private readonly CfgParser parser;
    private readonly DbCommon ctx;
    private readonly List<Host> hosts = new();
    private string query = "";
    private string resultFormat = "%s";
    private int expansionLimit;
    private string user = "";
    private string password = "";
    private string dbname = "";
    private Host? activeHost;

    private PgsqlDict(string name, DictOpenFlags openFlags, DictFlags dictFlags, CfgParser parser)
        : base(TypeName, name, openFlags, dictFlags)
    {
        this.parser = parser;
        ctx = new DbCommon(this);
        OwnerUid = parser.OwnerUid;
    }

    // Open - dict_pgsql_open(): no connection until the first lookup.
    public static Dict Open(string name, DictOpenFlags openFlags, DictFlags dictFlags)
    {
        if (openFlags != DictOpenFlags.ReadOnly)
            return DictSurrogate.Create(TypeName, name, openFlags, dictFlags, $"{TypeName}:{name} map requires O_RDONLY access mode");
        var parser = CfgParser.Alloc(name, out var errno);
        if (parser == null)
            return DictSurrogate.Create(TypeName, name, openFlags, dictFlags, $"open {name}: {Sys.StrError(errno)}");
        var dict = new PgsqlDict(name, openFlags, dictFlags, parser);
        dict.ParseConfig();
        return dict;
    }

    // ParseConfig - pgsql_parse_config().
    private void ParseConfig()
    {
        user = parser.GetStr("user", "", 0, 0)!;   // non-null defaults give non-null values
        password = parser.GetStr("password", "", 0, 0)!;
        dbname = parser.GetStr("dbname", "", 1, 0)!;
        resultFormat = parser.GetStr("result_format", "%s", 1, 0)!;
        expansionLimit = parser.GetInt("expansion_limit", 0, 0, 0);
        var q = parser.GetStr("query", null, 0, 0);
        if (q == null)
        {
            var selectFunction = parser.GetStr("select_function", null, 0, 0);
            q = selectFunction != null ? $"SELECT {selectFunction}('%s')" : DbCommon.SqlBuildQuery(parser);
        }
        query = q;
        ctx.Parse(query, true);
        ctx.Parse(resultFormat, false);
        ctx.ParseDomain(parser);
        Flags |= DictFlags.Fixed;
        var list = parser.GetStr("hosts", "", 0, 0)!;
        var pos = 0;
        while (RegexpSupport.NextToken(list, ref pos, ", \t\r\n", out var h))
            hosts.Add(HostInit(h));
        if (hosts.Count == 0)
        {
            if (Msg.Verbose > 0)
                Msg.Info($"pgsql_parse_config: {Name}: no hostnames specified, defaulting to 'localhost'");
            hosts.Add(HostInit("localhost"));
        }
    }

    // HostInit - host_init(): URI, "unix:/path", "inet:host:port", name.
    private static Host HostInit(string hostName)
    {
        if (hostName.StartsWith("postgresql:", StringComparison.Ordinal))
            return new Host { HostName = hostName, Name = hostName, Type = TypeConnString };
        var d = hostName.StartsWith("unix:", StringComparison.Ordinal) || hostName.StartsWith("inet:", StringComparison.Ordinal)
            ? hostName[5..] : hostName;
        if (d.Length > 0 && d[0] != '/')
        {
            var colon = d.LastIndexOf(':');
            return colon < 0
                ? new Host { HostName = hostName, Name = d, Type = TypeInet }
                : new Host { HostName = hostName, Name = d[..colon], Port = d[(colon + 1)..], Type = TypeInet };
        }
        return new Host { HostName = hostName, Name = d, Type = TypeUnix };
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
        if ((Flags & DictFlags.FoldFix) != 0)
            key = RegexpSupport.FoldAscii(key);
        if (!ctx.CheckDomain(key))
        {
            if (Msg.Verbose > 0)
                Msg.Info($"dict_pgsql_lookup: Skipping lookup of '{key}'");
            return null;
        }
        // Check the key against the query template before any connection.
        if (!ctx.Expand(query, key, null, new StringBuilder(), null))
            return null;
        var res = Query(key);
        if (res == 0)
        {
            SetError(DictError.Retry);
            return null;
        }
        try
        {
            var rows = PgsqlNative.NTuples(res);
            if (Msg.Verbose > 0)
                Msg.Info($"dict_pgsql_lookup: retrieved {rows} rows");
            var cols = PgsqlNative.NFields(res);
            var result = new StringBuilder();
            var expansion = 0;
            for (var i = 0; i < rows && Error == DictError.None; i++)
            {
                for (var j = 0; j < cols; j++)
                {
                    var value = RegexpSupport.Decode(new ReadOnlySpan<byte>(PgsqlNative.GetValue(res, i, j), PgsqlNative.GetLength(res, i, j)));
                    if (ctx.Expand(resultFormat, value, key, result, null)
                        && expansionLimit > 0 && ++expansion > expansionLimit)
                    {
                        Msg.Warn($"dict_pgsql_lookup: {parser.Name}: Expansion limit exceeded for key: '{key}'");
                        SetError(DictError.Retry);
                        break;
                    }
                }
            }
            return Error == DictError.None && result.Length > 0 ? result.ToString() : null;
        }
        finally
        {
            PgsqlNative.Clear(res);
        }
    }

    // Query - plpgsql_query(): run the query on some live host; 0 if none could.
    private nint Query(string key)
    {
        Host? host;
        while ((host = GetActive()) != null)
        {
            activeHost = host;
            var sql = new StringBuilder();
            ctx.Expand(query, key, null, sql, QuoteSql);
            activeHost = null;
            if (host.Stat == StatFail)
            {
                DownHost(host);
                continue;
            }
            var bytes = RegexpSupport.Encode(sql + "\0");
            nint res;
            fixed (byte* q = bytes)
                res = PgsqlNative.Exec(host.Db, q);
            if (res != 0)
            {
                var status = PgsqlNative.ResultStatus(res);
                switch (status)
                {
                    case PgsqlNative.PgresTuplesOk:
                    case PgsqlNative.PgresCommandOk:
                        if (Msg.Verbose > 0)
                            Msg.Info($"dict_pgsql: successful query from host {host.HostName}");
                        host.IdleUntil = Now() + IdleConnIntv;
                        return res;
                    case PgsqlNative.PgresFatalError:
                        Msg.Warn($"pgsql query failed: fatal error from host {host.HostName}: {Sanitize(PgsqlNative.ResultErrorMessage(res))}");
                        break;
                    case PgsqlNative.PgresBadResponse:
                        Msg.Warn($"pgsql query failed: protocol error, host {host.HostName}");
                        break;
                    default:
                        Msg.Warn($"pgsql query failed: unknown code 0x{status:x} from host {host.HostName}");
                        break;
                }
                PgsqlNative.Clear(res);
            }
            else
            {
                Msg.Warn($"pgsql query failed: fatal error from host {host.HostName}: {Sanitize(PgsqlNative.ErrorMessage(host.Db))}");
            }
            DownHost(host);
        }
        return 0;
    }

    // QuoteSql - dict_pgsql_quote(): PQescapeStringConn() on the active connection.
    private void QuoteSql(string text, StringBuilder result)
    {
        var host = activeHost;
        if (host == null)
        {
            Msg.Panic("dict_pgsql_quote: bogus dict_pgsql->active_host");
            return;
        }
        if (host.Stat == StatFail)
            return;
        var from = RegexpSupport.Encode(text);
        var to = new byte[2 * from.Length + 1];
        nuint n;
        int err;
        fixed (byte* f = from)
        fixed (byte* t = to)
            n = PgsqlNative.EscapeStringConn(host.Db, t, from.Length == 0 ? t : f, (nuint)from.Length, out err);
        if (err != 0)
        {
            Msg.Warn($"dict pgsql: (host {host.HostName}) cannot escape input string: {Sanitize(PgsqlNative.ErrorMessage(host.Db))}");
            host.Stat = StatFail;
            return;
        }
        result.Append(RegexpSupport.Decode(to.AsSpan(0, (int)n)));
    }

    // GetActive - dict_pgsql_get_active().
    private Host? GetActive()
    {
        var now = Now();
        foreach (var h in hosts)
        {
            // The reference closes idle connections from a timer; here it
            // happens at the next use.
            if (h.Stat == StatActive && h.IdleUntil > 0 && h.IdleUntil <= now)
                CloseHost(h);
        }
        var host = FindHost(StatActive, TypeUnix) ?? FindHost(StatActive, TypeInet) ?? FindHost(StatActive, TypeConnString);
        if (host != null)
        {
            if (Msg.Verbose > 0)
                Msg.Info($"dict_pgsql_get_active: found active connection to host {host.HostName}");
            return host;
        }
        for (var count = RetryConnMax; --count > 0;)
        {
            host = FindHost(StatUntried | StatFail, TypeUnix)
                ?? FindHost(StatUntried | StatFail, TypeInet)
                ?? FindHost(StatUntried | StatFail, TypeConnString);
            if (host == null)
                break;
            if (Msg.Verbose > 0)
                Msg.Info($"dict_pgsql_get_active: attempting to connect to host {host.HostName}");
            ConnectSingle(host);
            if (host.Stat == StatActive)
                return host;
        }
        return null;
    }

    // FindHost - a random host in one of the states and of the type.
    private Host? FindHost(int stat, int type)
    {
        var now = Now();
        var candidates = new List<Host>();
        foreach (var h in hosts)
        {
            if ((h.Stat & stat) != 0 && (type == 0 || (h.Type & type) != 0)
                && !(h.Stat == StatFail && h.RetryAt > 0 && h.RetryAt >= now))
                candidates.Add(h);
        }
        return candidates.Count == 0 ? null : candidates[candidates.Count > 1 ? Random.Shared.Next(candidates.Count) : 0];
    }

    // ConnectSingle - plpgsql_connect_single().
    private void ConnectSingle(Host host)
    {
        if (host.Type == TypeConnString)
        {
            var conninfo = Encoding.UTF8.GetBytes(host.Name + "\0");
            fixed (byte* c = conninfo)
                host.Db = PgsqlNative.ConnectDb(c);
        }
        else
        {
            var h = Z(host.Name);
            var p = host.Port == null ? null : Z(host.Port);
            var d = Z(dbname);
            var u = Z(user);
            var w = Z(password);
            fixed (byte* hp = h)
            fixed (byte* pp = p)
            fixed (byte* dp = d)
            fixed (byte* up = u)
            fixed (byte* wp = w)
                host.Db = PgsqlNative.SetDbLogin(hp, pp, null, null, dp, up, wp);
        }
        if (host.Db == 0 || PgsqlNative.Status(host.Db) != PgsqlNative.ConnectionOk)
        {
            Msg.Warn($"connect to pgsql server {host.HostName}: {Sanitize(PgsqlNative.ErrorMessage(host.Db))}");
            DownHost(host);
            return;
        }
        if (Msg.Verbose > 0)
            Msg.Info($"dict_pgsql: successful connection to host {host.HostName}");
        fixed (byte* enc = "LATIN1\0"u8)
        {
            if (PgsqlNative.SetClientEncoding(host.Db, enc) != 0)
            {
                Msg.Warn($"dict_pgsql: cannot set the encoding to LATIN1, skipping {host.HostName}");
                DownHost(host);
                return;
            }
        }
        host.Stat = StatActive;
    }

    private static byte[] Z(string s) => RegexpSupport.Encode(s + "\0");

    private static void CloseHost(Host host)
    {
        if (host.Db != 0)
            PgsqlNative.Finish(host.Db);
        host.Db = 0;
        host.Stat = StatUntried;
        host.IdleUntil = 0;
    }

    private static void DownHost(Host host)
    {
        if (host.Db != 0)
            PgsqlNative.Finish(host.Db);
        host.Db = 0;
        host.RetryAt = Now() + RetryConnIntv;
        host.Stat = StatFail;
        host.IdleUntil = 0;
    }

    private static long Now() => DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    // Sanitize - control characters as '?', as Postfix's msg_output() does.
    private static string Sanitize(string s)
    {
        var sb = new StringBuilder(s.Length);
        foreach (var c in s)
            sb.Append(c < 0x20 || c == 0x7f ? '?' : c);
        return sb.ToString();
    }

    protected override void Dispose(bool disposing)
    {
        foreach (var h in hosts)
            CloseHost(h);
        base.Dispose(disposing);
    }
}
