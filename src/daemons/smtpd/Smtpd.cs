// NAME
//	Smtpd - smtpd(8), the SMTP server
// POSTFIX
//	src/smtpd/smtpd.c (main, pre_jail_init, post_jail_init,
//	smtpd_service)
// DESCRIPTION
//	Runs under the threaded server skeleton: one process serves many
//	SMTP sessions, each on its own thread. Process-wide state (the
//	parameters, the restriction engine, the anvil client, the TLS and
//	SASL set-up) lives in Process; each session gets an SmtpdSession.
//	With -S (sendmail -bs) the single session is stdin/stdout and mail
//	goes through postdrop.
using System;
using System.Collections.Generic;
using System.Threading;
using Postfix.Daemons.Anvil;
using Postfix.Daemons.SmtpdCheck;
using Postfix.Global.Attr;
using Postfix.Global.Config;
using Postfix.Global.Deliver;
using Postfix.Global.Dict;
using Postfix.Server;
using Postfix.Util;

namespace Postfix.Daemons.Smtpd;

public static class Smtpd
{
    // Sessions per process before the master is told this one is busy.
    public const int MaxSessions = 100;

    private static Process? process;

    public static int Run(string[] args) =>
        ThreadedServer.Run(args, Service, new ServerOptions
        {
            PreInit = PreInit,
            PostInit = PostInit,
            InFlowDelay = true,
        }, MaxSessions);

    private static void PreInit(ServerContext ctx)
    {
        MakeLoggingThreadSafe();
        process = new Process(ctx);
    }

    private static void PostInit(ServerContext ctx) => process!.PostInit(ctx);

    private static void Service(ServerContext ctx, ClientConnection conn)
    {
        if (ctx.Args.Length > 0)
            Msg.Fatal($"unexpected command-line argument: {ctx.Args[0]}");
        var session = new SmtpdSession(process!, ctx, conn);
        session.Serve();
    }

    // MakeLoggingThreadSafe - sessions log from several threads; the log
    // sinks write to one socket each, so serialize them.
    private static void MakeLoggingThreadSafe()
    {
        var gate = new object();
        for (var i = 0; i < Msg.Sinks.Count; i++)
        {
            var sink = Msg.Sinks[i];
            Msg.Sinks[i] = (level, text) =>
            {
                lock (gate)
                    sink(level, text);
            };
        }
    }

    // Process - what all sessions of this process share.
    internal sealed class Process
    {
        public Process(ServerContext ctx)
        {
            var conf = ctx.Conf;
            Config = new SmtpdConfig(conf);
            Checker = new SmtpdChecker(conf);
            var protocols = MyNetworks.Families(conf.Eval("inet_protocols"));
            Ipv4Enabled = protocols.Contains(2);
            Ipv6Enabled = protocols.Contains(10);
            Ipv6First = protocols.Count > 0 && protocols[0] == 10;
            NotifyMask = NotifyClasses(conf.Eval("notify_classes"));
            var milterMaps = conf.Eval("smtpd_milter_maps");
            if (milterMaps.Length > 0)
                milterMapTable = Maps.Create("smtpd_milter_maps", milterMaps, DictFlags.Lock);
            smtpdMilters = conf.Eval("smtpd_milters");
            MilterDaemonName = conf.Eval("milter_macro_daemon_name");
            ProxyFilter = conf.Eval("smtpd_proxy_filter");
            UpstreamProxyProtocol = ctx.StandAlone ? "" : conf.Eval("smtpd_upstream_proxy_protocol");
            UpstreamProxyTimeout = SmtpdConfig.Time(conf, "smtpd_upstream_proxy_timeout");
            ProxyTimeout = SmtpdConfig.Time(conf, "smtpd_proxy_timeout");
            ProxyEhlo = conf.Eval("smtpd_proxy_ehlo");
            foreach (var opt in conf.Eval("smtpd_proxy_options").Split([',', ' ', '\t'], StringSplitOptions.RemoveEmptyEntries))
            {
                if (string.Equals(opt, "speed_adjust", StringComparison.OrdinalIgnoreCase))
                    ProxySpeedAdjust = true;
                else
                    Msg.Fatal($"unknown smtpd_proxy_options value \"{opt}\" in \"{conf.Eval("smtpd_proxy_options")}\"");
            }
            verifySenderTtl = SmtpdConfig.Time(conf, "address_verify_sender_ttl");
            MilterV = conf.Eval("milter_macro_v");
            flushDomains = new MatchList("fast_flush_domains", conf.Eval("fast_flush_domains"), hostList: true,
                SmtpdConfig.ParentStyle(conf.Eval("parent_domain_matches_subdomains"), "fast_flush_domains"));
            var level = conf.Eval("smtpd_tls_security_level").ToLowerInvariant();
            TlsWrapperMode = conf.Bool("smtpd_tls_wrappermode");
            UseTls = conf.Bool("smtpd_use_tls");
            EnforceTls = conf.Bool("smtpd_enforce_tls");
            TlsAuthOnly = conf.Bool("smtpd_tls_auth_only");
            if (!TlsWrapperMode && level.Length > 0)
            {
                switch (level)
                {
                    case "secure":
                    case "verify":
                    case "fingerprint":
                        Msg.Warn($"smtpd_tls_security_level: unsupported TLS level \"{level}\", using \"encrypt\"");
                        EnforceTls = UseTls = true;
                        break;
                    case "encrypt":
                        EnforceTls = UseTls = true;
                        break;
                    case "may":
                        EnforceTls = false;
                        UseTls = true;
                        break;
                    case "none":
                        EnforceTls = UseTls = false;
                        break;
                    default:
                        Msg.Fatal($"Invalid TLS level \"{level}\"");
                        break;
                }
            }
            EnforceTls = TlsWrapperMode || EnforceTls;
            TlsAuthOnly = TlsAuthOnly || EnforceTls;
            UseTls = UseTls || EnforceTls;
            BrokenAuthClients = conf.Bool("broken_sasl_auth_clients");
            var saslExceptions = conf.Eval("smtpd_sasl_exceptions_networks");
            if (saslExceptions.Length > 0)
                SaslExceptions = new MatchList("smtpd_sasl_exceptions_networks", saslExceptions, hostList: true);
            if (ctx.StandAlone)
            {
                UseTls = EnforceTls = TlsAuthOnly = false;
            }
            if (UseTls)
                TlsContext = SmtpdTlsContext.Load(conf, EnforceTls);
            RequireClientCert = conf.Bool("smtpd_tls_req_ccert") && EnforceTls;
            SaslEnable = conf.Bool("smtpd_sasl_auth_enable");
            SaslType = conf.Eval("smtpd_sasl_type");
            SaslService = conf.Eval("smtpd_sasl_service");
            SaslRealm = conf.Eval("smtpd_sasl_local_domain");
            SaslOptions = conf.Eval("smtpd_sasl_security_options");
            SaslTlsOptions = conf.Eval("smtpd_sasl_tls_security_options");
            SaslResponseLimit = SmtpdConfig.Int(conf, "smtpd_sasl_response_limit");
            if (SaslEnable)
            {
                SaslImpl = Postfix.Xsasl.XsaslServerImpl.Init(SaslType, conf.Eval("smtpd_sasl_path"));
                if (SaslImpl == null)
                    Msg.Fatal("SASL per-process initialization failed");
                SaslMechFilter = new MatchList("smtpd_sasl_mechanism_filter", conf.Eval("smtpd_sasl_mechanism_filter"), hostList: false);
            }
            AutodetectSmtpd = false;
            foreach (var name in conf.Eval("smtputf8_autodetect_classes").Split([',', ' ', '\t', '\r', '\n'],
                         StringSplitOptions.RemoveEmptyEntries))
            {
                if (string.Equals(name, "smtpd", StringComparison.OrdinalIgnoreCase)
                    || string.Equals(name, "all", StringComparison.OrdinalIgnoreCase))
                    AutodetectSmtpd = true;
            }
        }

        public void PostInit(ServerContext ctx)
        {
            var c = Config;
            if (c.ConnRateLimit != 0 || c.ConnCountLimit != 0 || c.MessageRateLimit != 0 || c.RecipientRateLimit != 0
                || c.NewTlsRateLimit != 0 || c.AuthRateLimit != 0)
                Anvil = new AnvilClient(null);
            var minfree = SmtpdConfig.Long(ctx.Conf, "queue_minfree");
            if (minfree > 0 && c.MessageSizeLimit > 0 && minfree / 1.5 < c.MessageSizeLimit)
                Msg.Warn($"queue_minfree({minfree}) should be at least 1.5*message_size_limit({c.MessageSizeLimit})");
        }

        public SmtpdConfig Config { get; }

        public SmtpdChecker Checker { get; }

        public AnvilClient? Anvil { get; private set; }

        public bool Ipv4Enabled { get; }

        public bool Ipv6Enabled { get; }

        public bool Ipv6First { get; }

        public int NotifyMask { get; }

        public bool TlsWrapperMode { get; }

        public bool UseTls { get; }

        public bool EnforceTls { get; }

        public bool TlsAuthOnly { get; }

        public bool BrokenAuthClients { get; }

        public SmtpdTlsContext? TlsContext { get; }

        public bool SaslEnable { get; }

        public string SaslType { get; }

        public string SaslService { get; }

        public string SaslRealm { get; }

        public string SaslOptions { get; }

        public string SaslTlsOptions { get; }

        public int SaslResponseLimit { get; }

        public Postfix.Xsasl.XsaslServerImpl? SaslImpl { get; }

        public MatchList? SaslMechFilter { get; }

        public bool RequireClientCert { get; }

        public MatchList? SaslExceptions { get; }

        public bool SaslCompiled => true;

        public bool AutodetectSmtpd { get; }

        public bool ProxySpeedAdjust { get; }

        public string ProxyFilter { get; } = "";

        public string UpstreamProxyProtocol { get; } = "";

        public int UpstreamProxyTimeout { get; }

        public int ProxyTimeout { get; }

        public string ProxyEhlo { get; } = "";

        public string MilterDaemonName { get; private set; } = "";

        public string MilterV { get; private set; } = "";

        // Connections to trivial-rewrite, one per session that needs one
        // at a time (sessions do not wait for each other's round trips).
        private readonly System.Collections.Concurrent.ConcurrentBag<(RewriteClient Rewrite, ResolveClient Resolve)> addressClients = new();

        private (RewriteClient Rewrite, ResolveClient Resolve) TakeAddressClients() =>
            addressClients.TryTake(out var c) ? c : (new RewriteClient(null), new ResolveClient(null));

        // ResolveAddr - smtpd_resolve_addr().
        public ResolveReply ResolveAddr(string sender, string addr)
        {
            var c = TakeAddressClients();
            try
            {
                var s = RewriteInternal(c.Rewrite, sender);
                var a = RewriteInternal(c.Rewrite, addr);
                var r = c.Resolve.Resolve(s, a) ?? new ResolveReply("", "", a, 0);
                return r with { Recipient = r.Recipient.ToLowerInvariant() };
            }
            finally
            {
                addressClients.Add(c);
            }
        }

        // RewriteInternal - rewrite_clnt_internal(): the internal form is
        // quoted for trivial-rewrite and unquoted after (an empty address
        // goes as "", never as a null address).
        private static string RewriteInternal(RewriteClient rewriter, string addr)
        {
            var rewritten = rewriter.Rewrite(MailProto.RewriteLocal, Postfix.Global.Address.Quote822.Local(addr));
            return rewritten == null ? addr : Postfix.Global.Address.Quote822.Unquote(rewritten);
        }

        private readonly Maps? milterMapTable;
        private readonly string smtpdMilters;
        private readonly MatchList flushDomains;

        // MilterList - smtpd_milter_maps for the client, else smtpd_milters.
        public string MilterList(string addr)
        {
            if (milterMapTable != null)
            {
                lock (MatchList.Gate)
                {
                    var v = milterMapTable.Find(addr);
                    if (v != null)
                        return v;
                }
            }
            return smtpdMilters;
        }

        private string? timeIndependentSender;

        // ValidVerifySender - valid_verify_sender_addr(): the address
        // verification probe sender (its time-independent form) when addr
        // is one, else null.
        public string? ValidVerifySender(string addr)
        {
            var verifySender = Config.VerifySender;
            if (verifySender.Length == 0 || verifySender == "<>")
                return addr.Length == 0 ? "" : null;
            if (timeIndependentSender == null)
            {
                var c = TakeAddressClients();
                try
                {
                    timeIndependentSender = c.Rewrite.Rewrite(MailProto.RewriteLocal, verifySender) ?? verifySender;
                }
                finally
                {
                    addressClients.Add(c);
                }
            }
            var mine = timeIndependentSender;
            var myAt = mine.IndexOf('@');
            var baseLen = myAt >= 0 ? myAt : mine.Length;
            if (addr.Length < baseLen || string.Compare(mine, 0, addr, 0, baseLen, StringComparison.OrdinalIgnoreCase) != 0)
                return null;
            var theirAt = addr.IndexOf('@');
            if (theirAt < 0 && myAt >= 0)
                return null;
            if (theirAt >= 0 && (myAt < 0 || !string.Equals(addr[theirAt..], mine[myAt..], StringComparison.OrdinalIgnoreCase)))
                return null;
            if (verifySenderTtl > 0)
            {
                var end = theirAt >= 0 ? theirAt : addr.Length;
                var stamp = addr[baseLen..end];
                if (stamp.Length == 0 || !TryParseBase31(stamp, out var theirs))
                    return null;
                var now = (ulong)DateTimeOffset.UtcNow.ToUnixTimeSeconds() / (ulong)verifySenderTtl;
                if (theirs + 1 < now || theirs > now + 1)
                    return null;
            }
            else if (addr.Length > baseLen && addr[baseLen] != '@')
            {
                return null;
            }
            return mine;
        }

        private int verifySenderTtl;

        private static bool TryParseBase31(string s, out ulong value)
        {
            value = 0;
            foreach (var c in s)
            {
                int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'z' ? c - 'a' + 10 : c >= 'A' && c <= 'Z' ? c - 'A' + 10 : 99;
                if (d >= 31)
                    return false;
                value = value * 31 + (ulong)d;
            }
            return true;
        }

        // FlushSendSite - flush_send_site().
        public int FlushSendSite(string site)
        {
            if (Msg.Verbose > 0)
                Msg.Info($"flush_send_site: site {site}");
            int status;
            if (flushDomains.MatchHost(site, ""))
                status = MailCommandClient.Command(MailProto.ClassPublic, Config.FlushService, MailProto.ProtoFlush,
                    w => w.Str(MailProto.AttrReq, "send_site").Str(MailProto.AttrSite, site));
            else
                status = flushDomains.Error ? FlushClient.StatFail : FlushClient.StatDeny;
            if (Msg.Verbose > 0)
                Msg.Info($"flush_send_site: site {site} status {status}");
            return status;
        }

        private static int NotifyClasses(string value)
        {
            var mask = 0;
            foreach (var name in value.Split([',', ' ', '\t', '\r', '\n'], StringSplitOptions.RemoveEmptyEntries))
            {
                mask |= name.ToLowerInvariant() switch
                {
                    "bounce" => SmtpdSession.MailErrorBounce,
                    "2bounce" => SmtpdSession.MailError2Bounce,
                    "data" => SmtpdSession.MailErrorData,
                    "delay" => SmtpdSession.MailErrorDelay,
                    "policy" => SmtpdSession.MailErrorPolicy,
                    "protocol" => SmtpdSession.MailErrorProtocol,
                    "resource" => SmtpdSession.MailErrorResource,
                    "software" => SmtpdSession.MailErrorSoftware,
                    _ => BadClass(name, value),
                };
            }
            return mask;
        }

        private static int BadClass(string name, string value)
        {
            Msg.Fatal($"unknown notify_classes value \"{name}\" in \"{value}\"");
            return 0;
        }
    }
}
