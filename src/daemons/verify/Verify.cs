// NAME
//	Verify - the verify(8) daemon: the address verification cache
// POSTFIX
//	src/verify/verify.c, src/global/verify_sender_addr.c
// DESCRIPTION
//	A multi-client server. Each request is "query" (what is known about
//	an address: deliverable, undeliverable, or still being probed) or
//	"update" (a delivery agent's probe result). Entries are kept in
//	address_verify_map ("status:probed:updated:text"), or in memory when
//	that parameter is empty. A query that finds no usable entry, or an
//	entry due for a refresh, sends a probe message through the cleanup
//	service (sender $address_verify_sender, trace flag "verify"), at
//	most once per 1000 seconds per address. A failed probe does not
//	replace a cached "deliverable" result before that result expires.
using System;
using System.Globalization;
using Postfix.Global.Attr;
using Postfix.Global.Config;
using Postfix.Global.Dict;
using Postfix.Global.Post;
using Postfix.Server;
using Postfix.Util;

namespace Postfix.Daemons.Verify;

public static class Verify
{
    private static VerifyCache? cache;
    private static int cleanupInterval;
    private static long nextCleanup;

    // RunCleanup - one step of the cache cleanup when a run is due or
    // under way; the next run starts address_verify_cache_cleanup_interval
    // after this one ends. Steps alternate with client requests.
    private static void RunCleanup()
    {
        if (cache == null || cleanupInterval <= 0)
            return;
        if (!cache.CleanupRunning && Environment.TickCount64 < nextCleanup)
            return;
        if (!cache.CleanupStep())
            nextCleanup = Environment.TickCount64 + cleanupInterval * 1000L;
    }

    // CleanupDelay - seconds until the next cleanup step: none while a
    // run is under way, else until the next run is due.
    private static int CleanupDelay()
    {
        if (cleanupInterval <= 0 || cache == null)
            return -1;
        if (cache.CleanupRunning)
            return 0;
        return (int)Math.Max(0, (nextCleanup - Environment.TickCount64 + 999) / 1000);
    }

    public static int Run(string[] args) => MultiServer.Run(args, Service, new ServerOptions
    {
        PreInit = PreInit,
        Loop = _ => CleanupDelay(),
        Timer = _ => RunCleanup(),
        PostAccept = (_, conn) => Channel(conn).Send(w => w.Str(MailProto.AttrProto, MailProto.ProtoVerify)),
        Solitary = true,
        OnExit = _ => cache?.Close(),
    });

    private static void PreInit(ServerContext ctx)
    {
        var conf = ctx.Conf;
        var settings = VerifySettings.FromConfig(conf);
        Dict map;
        var spec = conf.Eval("address_verify_map");
        const DictFlags flags = DictFlags.DupReplace | DictFlags.SyncUpdate | DictFlags.OpenLock | DictFlags.Utf8Request;
        var saved = Sys.Umask(0x12);
        try
        {
            map = spec.Length > 0
                ? DictOpen.Open(DataRedirect(conf, spec), DictOpenFlags.Create | DictOpenFlags.ReadWrite, flags)
                : DictHt.Open("verify", DictOpenFlags.Create | DictOpenFlags.ReadWrite, flags);
        }
        finally
        {
            Sys.Umask(saved);
        }
        var post = PostMail.Settings.FromConfig(conf);
        var rewriter = new RewriteClient(null);
        var cacheName = spec.Length > 0 ? DataRedirect(conf, spec) : "internal:verify";
        cache = new VerifyCache(map, settings, () => DateTimeOffset.UtcNow.ToUnixTimeSeconds(), (sender, rcpt) =>
        {
            var probe = PostMail.OpenNoWait(post, sender, rcpt, PostMail.SourceVerify, VerifyCache.DelReqFlagMtaVerify, 0);
            probe?.Close();
        })
        {
            SenderRewrite = s => rewriter.Rewrite(MailProto.RewriteLocal, s) ?? s,
            Name = cacheName,
        };
        cleanupInterval = settings.CleanupInterval;
        if (cleanupInterval > 0)
            nextCleanup = Environment.TickCount64 + cache.CleanupDelay(cleanupInterval) * 1000L;
    }

    // DataRedirect - data_redirect_map(): a relative file name of a
    // file-based map lives in $data_directory.
    private static string DataRedirect(MailConf conf, string spec)
    {
        var colon = spec.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0)
            return spec;
        var type = spec[..colon];
        var name = spec[(colon + 1)..];
        if (type is "btree" or "hash" or "lmdb" or "cdb" or "dbm" or "sdbm" or "texthash" && !name.StartsWith('/'))
            return type + ":" + conf.Eval("data_directory") + "/" + name;
        return spec;
    }

    private static AttrStream Channel(ClientConnection conn)
    {
        if (conn.State is not AttrStream s)
        {
            s = new AttrStream(conn.Stream, "verify socket");
            conn.State = s;
        }
        return s;
    }

    private static void Service(ServerContext ctx, ClientConnection conn)
    {
        if (ctx.Args.Length > 0)
            Msg.Fatal($"unexpected command-line argument: {ctx.Args[0]}");
        var s = Channel(conn);
        do
        {
            if (!cache!.Serve(s))
            {
                conn.Disconnect();
                return;
            }
        }
        while (s.Buffered > 0);
    }
}

// VerifySettings - the daemon's parameter tables.
internal sealed class VerifySettings
{
    public int PositiveExpire = 31 * 86400;
    public int PositiveRefresh = 7 * 86400;
    public int NegativeExpire = 3 * 86400;
    public int NegativeRefresh = 3 * 3600;
    public bool NegativeCache = true;
    public string Sender = "double-bounce";
    public int SenderTtl;
    public int CleanupInterval;

    public static VerifySettings FromConfig(MailConf conf)
    {
        var s = new VerifySettings
        {
            PositiveExpire = Time(conf, "address_verify_positive_expire_time", 'd', 1),
            PositiveRefresh = Time(conf, "address_verify_positive_refresh_time", 'd', 1),
            NegativeExpire = Time(conf, "address_verify_negative_expire_time", 'd', 1),
            NegativeRefresh = Time(conf, "address_verify_negative_refresh_time", 'h', 1),
            NegativeCache = conf.Bool("address_verify_negative_cache"),
            Sender = conf.Eval("address_verify_sender"),
            SenderTtl = Time(conf, "address_verify_sender_ttl", 's', 0),
        };
        s.CleanupInterval = Time(conf, "address_verify_cache_cleanup_interval", 'h', 0);
        return s;
    }

    // Time - get_mail_conf_time() with a lower bound.
    private static int Time(MailConf conf, string name, char defUnit, int min)
    {
        var value = conf.Eval(name);
        var i = 0;
        while (i < value.Length && char.IsAsciiDigit(value[i]))
            i++;
        long n = 0;
        if (i == 0 || !long.TryParse(value[..i], NumberStyles.None, CultureInfo.InvariantCulture, out n))
            Msg.Fatal($"parameter {name}: bad time value or unit: {value}");
        var unit = i < value.Length ? value[i] : defUnit;
        long mult = unit switch { 'w' => 7 * 86400, 'd' => 86400, 'h' => 3600, 'm' => 60, 's' => 1, _ => 0 };
        if (mult == 0 || n * mult > int.MaxValue)
            Msg.Fatal($"parameter {name}: bad time value or unit: {value}");
        var seconds = (int)(n * mult);
        if (min != 0 && seconds < min)
            Msg.Fatal($"invalid {name}: {seconds} (min {min})");
        return seconds;
    }
}
