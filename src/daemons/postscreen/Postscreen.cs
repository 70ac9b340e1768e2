// NAME
//	Postscreen - the zombie blocker in front of smtpd(8)
// POSTFIX
//	src/postscreen/postscreen.c, postscreen_early.c, postscreen_misc.c,
//	postscreen_send.c, postscreen_dnsbl.c
// DESCRIPTION
//	One process (master.cf process limit 1) takes every inbound SMTP
//	connection, one thread per client. It looks the client up in
//	postscreen_access_list (permit_mynetworks, permit, reject, dunno,
//	type:table), then in the cache of clients that passed their tests
//	recently (PASS OLD). Otherwise it runs the tests before the SMTP
//	greeting: the pregreet test (a "220-" teaser, then
//	postscreen_greet_wait seconds in which a well-behaved client stays
//	silent) and the DNSBL score (dnsblog(8) asks every list in
//	postscreen_dnsbl_sites in parallel; the weights of the matching
//	replies add up). A client that passes all tests (PASS NEW) is
//	recorded in postscreen_cache_map, and every permitted client is handed
//	to the smtpd "pass" service: the socket goes over a UNIX-domain
//	connection with SCM_RIGHTS, followed by the client and server
//	endpoints as an attribute list. A client that fails with action
//	"drop" gets a 521 reply and is disconnected.
//
//	Not done here: the tests after the greeting (pipelining, non-SMTP
//	commands, bare newlines; they are treated as disabled), the dummy
//	SMTP engine behind the "enforce" actions (an enforced client is
//	dropped with the 550 text as a 521), STARTTLS through tlsproxy,
//	the upstream proxy protocol, and the periodic cache cleanup.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using Postfix.Global.Attr;
using Postfix.Global.Config;
using Postfix.Global.Deliver;
using Postfix.Global.Dict;
using Postfix.Server;
using Postfix.Util;

namespace Postfix.Daemons.Postscreen;

public enum PscAction
{
    Ignore,
    Enforce,
    Drop,
}

public static class Postscreen
{
    private const int MaxSessions = 10000;
    internal static PscSettings S = null!;
    private static Dict? cache;
    private static string cacheName = "";
    private static int cleanupStarted;
    private const string LastCleanupKey = "_LAST_CACHE_CLEANUP_COMPLETED_";
    private static readonly object CacheLock = new();
    private static readonly Dictionary<string, ClientInfo> Clients = new(StringComparer.Ordinal);

    internal sealed class ClientInfo
    {
        public int Concurrency;
        public int PassNewCount;
        public PscTestTimes Times = new();
    }

    public static int Run(string[] args) =>
        ThreadedServer.Run(args, Service, new ServerOptions
        {
            PreInit = PreInit,
            PostInit = ctx => S.CheckProtocols(),
            Solitary = true,
            NoUseLimit = true,
        }, MaxSessions, 128 * 1024);

    private static void PreInit(ServerContext ctx)
    {
        S = new PscSettings(ctx.Conf);
        var map = ctx.Conf.Eval("postscreen_cache_map");
        cacheName = map;
        if (map.Length > 0)
        {
            try
            {
                cache = DictOpen.Open(map, DictOpenFlags.ReadWrite | DictOpenFlags.Create,
                    DictFlags.DupReplace | DictFlags.SyncUpdate | DictFlags.OpenLock);
            }
            catch (FatalException)
            {
                throw;
            }
        }
    }

    private static string Endpoint(EndPoint? ep, out string port)
    {
        port = "0";
        if (ep is not IPEndPoint ip)
            return "127.0.0.1";
        port = ip.Port.ToString(CultureInfo.InvariantCulture);
        var a = ip.Address.IsIPv4MappedToIPv6 ? ip.Address.MapToIPv4() : ip.Address;
        var text = a.ToString();
        var pct = text.IndexOf('%');
        return pct >= 0 ? text[..pct] : text;
    }

    private static void Service(ServerContext ctx, ClientConnection conn)
    {
        var socket = conn.Socket;
        if (socket == null)
            Msg.Fatal("postscreen: stand-alone mode is not supported");
        var addr = Endpoint(socket!.RemoteEndPoint, out var port);
        var saddr = Endpoint(socket.LocalEndPoint, out var sport);
        Msg.Info($"CONNECT from [{addr}]:{port} to [{saddr}]:{sport}");
        if (cache != null && Interlocked.Exchange(ref cleanupStarted, 1) == 0)
            new Thread(CacheCleanupLoop, 128 * 1024) { IsBackground = true, Name = "cache-cleanup" }.Start();
        ClientInfo info;
        lock (Clients)
        {
            if (!Clients.TryGetValue(addr, out info!))
                Clients[addr] = info = new ClientInfo();
            info.Concurrency++;
        }
        try
        {
            var session = new PscSession(socket, addr, port, saddr, sport, info);
            session.Screen();
            if (session.HandedOff)
            {
                // Let go of our copy only: disposing a NetworkStream shuts
                // the socket down, which would cut smtpd off too. The
                // descriptor is swapped for /dev/null, which the dispose
                // then closes harmlessly.
                var devNull = System.IO.File.OpenHandle("/dev/null");
                Sys.Dup2((int)devNull.DangerousGetHandle(), (int)socket.Handle);
                devNull.Dispose();
            }
        }
        finally
        {
            lock (Clients)
            {
                if (--info.Concurrency == 0)
                    Clients.Remove(addr);
            }
        }
    }

    // CacheCleanupLoop - dict_cache_clean_event(): every
    // postscreen_cache_cleanup_interval, drop the entries whose tests all
    // expired more than postscreen_cache_retention_time ago.
    private static void CacheCleanupLoop()
    {
        var interval = ServerParams.Time(S.Conf, "postscreen_cache_cleanup_interval");
        var retention = ServerParams.Time(S.Conf, "postscreen_cache_retention_time");
        if (interval <= 0)
            return;
        while (true)
        {
            long wait;
            lock (CacheLock)
            {
                var last = cache!.Lookup(LastCleanupKey);
                var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
                wait = last != null && long.TryParse(last, NumberStyles.Integer, CultureInfo.InvariantCulture, out var t)
                    ? Math.Min(t + interval - now, interval) : 0;
            }
            if (wait > 0)
                Thread.Sleep(TimeSpan.FromSeconds(wait));
            CacheCleanup(retention);
        }
    }

    private static void CacheCleanup(int retention)
    {
        lock (CacheLock)
        {
            var drop = new List<string>();
            var retained = 0;
            var then = DateTimeOffset.UtcNow.ToUnixTimeSeconds() - retention;
            var f = DictSeq.First;
            DictStatus st;
            while ((st = cache!.Sequence(f, out var key, out var value)) == DictStatus.Success)
            {
                f = DictSeq.Next;
                if (key == LastCleanupKey)
                    continue;
                if ((PscTestTimes.Parse(value).Todo(then, S.Enabled) & PscFlags.AnyTodo) == 0)
                    retained++;
                else
                    drop.Add(key);
            }
            if (st == DictStatus.Error)
            {
                Msg.Warn($"{cacheName}: cache cleanup scan terminated due to error");
                Msg.Info($"cache {cacheName} partial cleanup: retained={retained} dropped={drop.Count} entries");
                return;
            }
            foreach (var k in drop)
                cache.Delete(k);
            Msg.Info($"cache {cacheName} full cleanup: retained={retained} dropped={drop.Count} entries");
            cache.Update(LastCleanupKey, DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture));
        }
    }

    internal static string? CacheLookup(string addr)
    {
        if (cache == null)
            return null;
        lock (CacheLock)
            return cache.Lookup(addr);
    }

    internal static bool HaveCache => cache != null;

    internal static void CacheUpdate(string addr, string value)
    {
        if (cache == null)
            return;
        lock (CacheLock)
        {
            if (cache.Update(addr, value) == DictStatus.Error)
                Msg.Warn($"{cache.FullName}: cache update for {addr} failed");
        }
    }
}

// PscSettings - the main.cf parameters postscreen uses.
internal sealed class PscSettings
{
    public PscSettings(MailConf conf)
    {
        Conf = conf;
        GreetWait = ServerParams.Time(conf, "postscreen_greet_wait");
        var banner = conf.Eval("postscreen_greet_banner");
        Teaser = banner.Length > 0 ? $"220-{banner}\r\n" : null;
        PregreetAction = Action(conf, "postscreen_greet_action");
        PregreetTtl = ServerParams.Time(conf, "postscreen_greet_ttl");
        var replyMapName = conf.Eval("postscreen_dnsbl_reply_map");
        Maps? replyMap = replyMapName.Length > 0 ? Maps.Create("postscreen_dnsbl_reply_map", replyMapName, DictFlags.Lock) : null;
        Sites = DnsblSites.Parse(conf.Eval("postscreen_dnsbl_sites"), replyMap == null ? null : d => replyMap.Find(d));
        DnsblThreshold = ServerParams.Int(conf, "postscreen_dnsbl_threshold");
        DnsblAction = Action(conf, "postscreen_dnsbl_action");
        DnsblMinTtl = ServerParams.Time(conf, "postscreen_dnsbl_min_ttl");
        DnsblMaxTtl = ServerParams.Time(conf, "postscreen_dnsbl_max_ttl");
        DnsblTimeout = ServerParams.Time(conf, "postscreen_dnsbl_timeout");
        DenylistAction = Action(conf, "postscreen_denylist_action");
        AccessList = Acl.Parse(conf, conf.Eval("postscreen_access_list"));
        CconnLimit = ServerParams.Int(conf, "postscreen_client_connection_count_limit");
        Respectful = conf.Bool("respectful_logging");
        SmtpdService = "private/" + conf.Eval("smtpd_service_name");
        DnsblogService = "private/" + conf.Eval("dnsblog_service_name");
        ServiceName = conf.Eval("smtpd_service_name");
        Enabled = [Teaser != null, !Sites.IsEmpty, false, false, false];
        foreach (var p in new[] { "postscreen_pipelining_enable", "postscreen_non_smtp_command_enable", "postscreen_bare_newline_enable" })
        {
            if (conf.Bool(p))
                Msg.Warn($"{p} = yes is not supported by this postscreen; the test is not done");
        }
        if (!int.TryParse(conf.Eval("delay_logging_resolution_limit"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var res))
            res = 2;
        DelayResolution = res;
    }

    public MailConf Conf { get; }
    public int GreetWait { get; }
    public string? Teaser { get; }
    public PscAction PregreetAction { get; }
    public int PregreetTtl { get; }
    public DnsblSites Sites { get; }
    public int DnsblThreshold { get; }
    public PscAction DnsblAction { get; }
    public int DnsblMinTtl { get; }
    public int DnsblMaxTtl { get; }
    public int DnsblTimeout { get; }
    public PscAction DenylistAction { get; }
    public Acl AccessList { get; }
    public int CconnLimit { get; }
    public bool Respectful { get; }
    public string SmtpdService { get; }
    public string ServiceName { get; }
    public string DnsblogService { get; }
    public bool[] Enabled { get; }
    public int DelayResolution { get; }

    public void CheckProtocols()
    {
        if (MyNetworks.Families(Conf.Eval("inet_protocols")).Count == 0)
            Msg.Fatal($"all network protocols are disabled (inet_protocols = {Conf.Eval("inet_protocols")})");
    }

    private static PscAction Action(MailConf conf, string name)
    {
        var v = conf.Eval(name);
        return v.ToLowerInvariant() switch
        {
            "ignore" => PscAction.Ignore,
            "enforce" => PscAction.Enforce,
            "drop" => PscAction.Drop,
            _ => Fail(name, v),
        };
    }

    private static PscAction Fail(string name, string v)
    {
        Msg.Fatal($"unknown {name} value: \"{v}\"");
        return PscAction.Ignore;
    }
}

// Acl - server_acl(3): postscreen_access_list.
internal sealed class Acl
{
    public enum Verdict
    {
        Dunno,
        Permit,
        Reject,
        Error,
    }

    private readonly List<string> items;
    private readonly Dictionary<string, Dict> tables;
    private readonly AddrList mynetworks;

    private Acl(List<string> items, Dictionary<string, Dict> tables, AddrList mynetworks)
    {
        this.items = items;
        this.tables = tables;
        this.mynetworks = mynetworks;
    }

    public static Acl Parse(MailConf conf, string text)
    {
        var items = new List<string>(Split(text));
        var tables = new Dictionary<string, Dict>(StringComparer.Ordinal);
        foreach (var item in items)
        {
            if (item.Contains(':') && !tables.ContainsKey(item))
                tables[item] = DictOpen.Open(item, DictOpenFlags.ReadOnly, DictFlags.Lock | DictFlags.FoldFix);
        }
        return new Acl(items, tables, new AddrList(conf.Eval("mynetworks")));
    }

    internal static string[] Split(string text) =>
        text.Split([',', ' ', '\t', '\r', '\n'], StringSplitOptions.RemoveEmptyEntries);

    public Verdict Eval(string addr, string origin) => Eval(addr, items, origin);

    private Verdict Eval(string addr, IEnumerable<string> list, string origin)
    {
        foreach (var acl in list)
        {
            if (acl.Equals("reject", StringComparison.Ordinal))
                return Verdict.Reject;
            if (acl.Equals("permit", StringComparison.Ordinal))
                return Verdict.Permit;
            if (acl.Equals("permit_mynetworks", StringComparison.Ordinal))
            {
                if (mynetworks.Match(addr))
                    return Verdict.Permit;
                continue;
            }
            if (acl.Contains(':'))
            {
                if (!tables.TryGetValue(acl, out var dict))
                {
                    Msg.Warn($"{origin}: unexpected dictionary: {acl}");
                    return Verdict.Error;
                }
                string? value;
                lock (dict)
                    value = dict.Lookup(addr);
                if (value != null)
                {
                    var v = Eval(addr, Split(value), acl);
                    if (v != Verdict.Dunno)
                        return v;
                }
                else if (dict.Error != DictError.None)
                {
                    Msg.Warn($"{origin}: {acl}: table lookup error -- ignoring the remainder of this access list");
                    return Verdict.Error;
                }
                continue;
            }
            if (acl.Equals("dunno", StringComparison.Ordinal))
                return Verdict.Dunno;
            Msg.Warn($"{origin}: unknown command: {acl} -- ignoring the remainder of this access list");
            return Verdict.Error;
        }
        return Verdict.Dunno;
    }
}

// AddrList - addr_match_list(3): addresses, networks and tables.
internal sealed class AddrList
{
    private readonly List<(bool Negate, IPAddress? Net, int Bits, Dict? Table)> patterns = new();

    public AddrList(string text)
    {
        foreach (var raw in Acl.Split(text))
        {
            var item = raw;
            var negate = false;
            while (item.StartsWith('!'))
            {
                negate = !negate;
                item = item[1..];
            }
            if (item.StartsWith('/'))
            {
                foreach (var line in System.IO.File.ReadAllLines(item))
                {
                    var t = line.Trim();
                    if (t.Length > 0 && !t.StartsWith('#'))
                        Add(negate, t);
                }
                continue;
            }
            Add(negate, item);
        }
    }

    private void Add(bool negate, string item)
    {
        var unbracketed = item.Replace("[", "").Replace("]", "");
        var slash = unbracketed.IndexOf('/');
        var host = slash >= 0 ? unbracketed[..slash] : unbracketed;
        if (IPAddress.TryParse(host, out var net))
        {
            var bits = net.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
            if (slash >= 0 && !int.TryParse(unbracketed[(slash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out bits))
                Msg.Fatal($"bad net/mask pattern: \"{item}\"");
            patterns.Add((negate, net, bits, null));
        }
        else if (item.Contains(':'))
        {
            patterns.Add((negate, null, 0, DictOpen.Open(item, DictOpenFlags.ReadOnly, DictFlags.Lock | DictFlags.FoldFix)));
        }
        else
        {
            Msg.Warn($"mynetworks: ignoring non-address pattern \"{item}\"");
        }
    }

    public bool Match(string addr)
    {
        if (!IPAddress.TryParse(addr, out var ip))
            return false;
        var bytes = ip.GetAddressBytes();
        foreach (var (negate, net, bits, table) in patterns)
        {
            bool hit;
            if (table != null)
            {
                lock (table)
                    hit = table.Lookup(addr) != null;
            }
            else
            {
                var nb = net!.GetAddressBytes();
                hit = nb.Length == bytes.Length && Prefix(nb, bytes, bits);
            }
            if (hit)
                return !negate;
        }
        return false;
    }

    private static bool Prefix(byte[] a, byte[] b, int bits)
    {
        for (var i = 0; i < a.Length && bits > 0; i++, bits -= 8)
        {
            var mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
            if ((a[i] & mask) != (b[i] & mask))
                return false;
        }
        return true;
    }
}
