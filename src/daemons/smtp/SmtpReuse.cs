// NAME
//	SmtpReuse - SMTP/LMTP connection caching through scache(8)
// POSTFIX
//	src/smtp/smtp_reuse.c, smtp_session.c (passivate, activate),
//	smtp_key.c, smtp_connect.c (smtp_cache_policy, smtp_cleanup_session)
// DESCRIPTION
//	Init() reads the {smtp,lmtp}_connection_cache_* and
//	connection_reuse_* parameters; caching is on when
//	connection_cache_destinations is not empty or on-demand caching is
//	enabled. Policy() decides per delivery request: a destination in
//	the list is looked up and stored; otherwise, with on-demand caching,
//	the queue manager's CONN_LOAD and CONN_STORE request flags decide.
//	A session stored after its mail transaction goes to the cache
//	server under its endpoint (service, address, port, TLS level) and,
//	for the first good session of a request, also under the request's
//	next-hop destination. With SASL passwords configured, both keys
//	also name what selects the credentials (the sender, with
//	sender-dependent authentication; the current next hop and the host
//	name), so an authenticated session is reused only where the same
//	login would be made; at TLS levels that verify the server, the
//	endpoint key names the current next hop as well. ReuseNexthop() and ReuseAddr() take a session
//	back and probe it with RSET before use. A session is reused for at
//	most connection_reuse_time_limit after it was made and, when set,
//	connection_reuse_count_limit times; it idles in the cache for at
//	most connection_cache_time_limit.
//
//	Sessions that used TLS are not cached (the reference passes the TLS
//	state along with the descriptor, through tlsproxy(8)).
//	Properties use the reference's plain attribute format and feature
//	bits, so cache entries are interchangeable with the reference's.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Net.Sockets;
using System.Text;
using Postfix.Daemons.Scache;
using Postfix.Global.Config;
using Postfix.Global.Deliver;
using Postfix.Global.Dict;
using Postfix.Server;
using Postfix.Util;

namespace Postfix.Daemons.Smtp;

// SmtpReuseMode - how TryServer gets its session.
internal enum SmtpReuseMode
{
    None,           // a new connection
    Address,        // a cached session for the address, else a new connection
    AddressOnly,    // a cached session for the address, or nothing
    Nexthop,        // a cached session for the request's next hop, or nothing
}

internal static class SmtpReuse
{
    private static ScacheClient? client;
    private static bool onDemand;
    private static List<(bool Negate, string? Word, Maps? Table)>? cacheDestinations;
    private static int cacheTimeLimit = 2;
    private static int reuseTimeLimit = 300;
    private static int reuseCountLimit;
    private static string service = "smtp";
    private static bool saslPasswords;
    private static bool senderAuth;

    // Reference feature bits (smtp.h) for the passivated properties.
    private static readonly (SmtpFeatures Ours, int Theirs)[] FeatureBits =
    [
        (SmtpFeatures.Esmtp, 1 << 0), (SmtpFeatures.EightBitMime, 1 << 1), (SmtpFeatures.Pipelining, 1 << 2),
        (SmtpFeatures.Size, 1 << 3), (SmtpFeatures.StartTls, 1 << 4), (SmtpFeatures.Auth, 1 << 5),
        (SmtpFeatures.XforwardName, 1 << 7), (SmtpFeatures.XforwardAddr, 1 << 8), (SmtpFeatures.XforwardProto, 1 << 9),
        (SmtpFeatures.XforwardHelo, 1 << 10), (SmtpFeatures.XforwardDomain, 1 << 11), (SmtpFeatures.BestMx, 1 << 12),
        (SmtpFeatures.Dsn, 1 << 15), (SmtpFeatures.XforwardPort, 1 << 18), (SmtpFeatures.XforwardIdent, 1 << 20),
        (SmtpFeatures.SmtpUtf8, 1 << 21),
    ];

    private static readonly char[] ListDelims = { ' ', ',', '\t', '\r', '\n' };

    public static bool Enabled => client != null && !client.Disabled;

    // StoreSessions - hand good sessions to scache(8) instead of ending
    // them with QUIT (a switch for tests).
    internal static bool StoreSessions = true;

    // Detached - sockets whose descriptor went to the cache: kept
    // reachable so that no finalizer acts on a descriptor number reused
    // since.
    private static readonly List<Socket> Detached = [];

    // Detach - close our descriptor of a socket whose connection lives on
    // elsewhere (in scache(8), or in a copy): a .NET socket disposed the
    // usual way would shut the connection down for every copy.
    internal static void Detach(Socket socket)
    {
        var fd = (int)socket.Handle;
        socket.SafeHandle.SetHandleAsInvalid();
        GC.SuppressFinalize(socket);
        Detached.Add(socket);
        Sys.Close(fd);
    }

    // Init - the cache parameters; p is "smtp" or "lmtp".
    public static void Init(MailConf conf, string serviceName, string p)
    {
        service = serviceName;
        onDemand = conf.Bool($"{p}_connection_cache_on_demand");
        cacheTimeLimit = ServerParams.Time(conf, $"{p}_connection_cache_time_limit");
        reuseTimeLimit = ServerParams.Time(conf, $"{p}_connection_reuse_time_limit");
        reuseCountLimit = ServerParams.Int(conf, $"{p}_connection_reuse_count_limit");
        saslPasswords = conf.Eval($"{p}_sasl_password_maps").Trim().Length > 0;
        senderAuth = saslPasswords && conf.Bool($"{p}_sender_dependent_authentication");
        var destName = $"{p}_connection_cache_destinations";
        var destinations = conf.Eval(destName);
        if (destinations.Trim().Length > 0)
            cacheDestinations = ParseList(destName, destinations);
        if (cacheDestinations != null || onDemand)
            client = new ScacheClient(conf.Eval("connection_cache_service_name"),
                ServerParams.Time(conf, "connection_cache_protocol_timeout"))
            {
                IdleLimit = ServerParams.Time(conf, "ipc_idle"),
                TtlLimit = ServerParams.Time(conf, "ipc_ttl"),
            };
    }

    // LoopDelay, OnTimer - the server loop's timer: the cache server
    // connection closes when idle, so that scache(8) can go away.
    public static int LoopDelay() => client?.IdleDelay() ?? -1;

    public static void OnTimer() => client?.CloseIdle();

    // ParseList - string_list_init(): words, !negation, /file, type:table.
    private static List<(bool, string?, Maps?)> ParseList(string title, string text)
    {
        var list = new List<(bool, string?, Maps?)>();
        foreach (var raw in text.Split(ListDelims, StringSplitOptions.RemoveEmptyEntries))
        {
            var word = raw;
            var negate = false;
            while (word.StartsWith('!'))
            {
                negate = !negate;
                word = word[1..];
            }
            if (word.StartsWith('/'))
            {
                foreach (var line in File.ReadAllLines(word))
                {
                    var t = line.Trim();
                    if (t.Length > 0 && !t.StartsWith('#'))
                        foreach (var sub in ParseList(title, t))
                            list.Add((sub.Item1 ^ negate, sub.Item2, sub.Item3));
                }
            }
            else if (word.Contains(':'))
            {
                list.Add((negate, null, Maps.Create(title, word, DictFlags.Lock | DictFlags.FoldFix)));
            }
            else
            {
                list.Add((negate, word, null));
            }
        }
        return list;
    }

    private static bool ListMatch(string name)
    {
        if (cacheDestinations == null)
            return false;
        foreach (var (negate, word, table) in cacheDestinations)
        {
            var hit = word != null ? string.Equals(word, name, StringComparison.OrdinalIgnoreCase)
                : table!.Find(name.ToLowerInvariant()) != null;
            if (hit)
                return !negate;
        }
        return false;
    }

    // Policy - smtp_cache_policy() for the first next hop; with caching
    // on, the request's next hop becomes the destination label.
    public static void Policy(SmtpState state, string domain, string nexthop)
    {
        state.CacheLoad = state.CacheStore = false;
        if (!Enabled)
            return;
        if (ListMatch(domain))
        {
            state.CacheLoad = state.CacheStore = true;
        }
        else if (onDemand)
        {
            state.CacheLoad = (state.Request.Flags & DelReqFlags.ConnLoad) != 0;
            state.CacheStore = (state.Request.Flags & DelReqFlags.ConnStore) != 0;
        }
        if (state.CacheLoad || state.CacheStore)
            state.RequestNexthop = nexthop;
    }

    private static long Now() => DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    // NewSession - smtp_session_alloc(): a new connection may be cached
    // until the reuse time limit when the request stores connections.
    public static void NewSession(SmtpState state, SmtpSessionInfo info)
    {
        info.ExpireTime = StoreSessions && state.CacheStore && Enabled ? Now() + reuseTimeLimit : 0;
        info.ReuseCount = 0;
    }

    // IsExpired - THIS_SESSION_IS_EXPIRED.
    public static bool IsExpired(SmtpSessionInfo info) =>
        info.IsCached && (info.ExpireTime < Now() || (reuseCountLimit > 0 && info.ReuseCount >= reuseCountLimit));

    // LevelKey - the TLS level number of the endpoint key.
    public static string LevelKey(int level) => level.ToString(CultureInfo.InvariantCulture);

    public static string LevelKey(string? level) => (level ?? "").ToLowerInvariant() switch
    {
        "" or "none" => "0",
        "may" => "1",
        "encrypt" => "2",
        "fingerprint" => "3",
        "half-dane" => "4",
        "dane" => "5",
        "dane-only" => "6",
        "verify" => "7",
        "secure" => "8",
        _ => "-1",
    };

    // KeyField - smtp_key_append_str(): "*" when empty, base64 when the
    // text holds the delimiter or the place holder.
    private static void KeyField(StringBuilder b, string? text)
    {
        if (string.IsNullOrEmpty(text))
            b.Append('*');
        else if (text.IndexOfAny(['\n', '*']) >= 0)
            b.Append(Convert.ToBase64String(Encoding.UTF8.GetBytes(text)));
        else
            b.Append(text);
        b.Append('\n');
    }

    // DestLabel - SMTP_KEY_MASK_SCACHE_DEST_LABEL: service, the sender
    // (sender-dependent SASL credentials), request next hop.
    internal static string DestLabel(string serviceName, string? sender, string requestNexthop)
    {
        var b = new StringBuilder();
        KeyField(b, serviceName);
        if (sender != null)
            KeyField(b, sender);
        KeyField(b, requestNexthop);
        return b.ToString();
    }

    // EndpLabel - SMTP_KEY_MASK_SCACHE_ENDP_LABEL: service, the sender
    // (sender-dependent SASL credentials), the current next hop (SASL
    // credentials, or a TLS level that matches the server's name), the
    // host name (SASL credentials), address, port, TLS level. Null
    // fields are not part of the key.
    internal static string EndpLabel(string serviceName, string? sender, string? curNexthop, string? hostName,
        string addr, int port, string tlsLevel)
    {
        var b = new StringBuilder();
        KeyField(b, serviceName);
        if (sender != null)
            KeyField(b, sender);
        if (curNexthop != null)
            KeyField(b, curNexthop);
        if (hostName != null)
            KeyField(b, hostName);
        KeyField(b, addr);
        b.Append(port.ToString(CultureInfo.InvariantCulture)).Append('\n');
        b.Append(tlsLevel).Append('\n');
        return b.ToString();
    }

    private static string DestLabel(SmtpState state) =>
        DestLabel(service, senderAuth ? state.Request.Sender : null, state.RequestNexthop);

    // TLS_MUST_MATCH: fingerprint and stronger levels check the server's
    // identity against the next hop.
    private static bool MustMatch(string tlsLevel) =>
        int.TryParse(tlsLevel, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n > 2;

    private static string EndpLabel(SmtpState state, SmtpSessionInfo info, string dest, string tlsLevel) =>
        EndpLabel(service, senderAuth ? state.Request.Sender : null,
            saslPasswords || MustMatch(tlsLevel) ? dest : null, saslPasswords ? info.Host : null,
            info.Addr, info.Port, tlsLevel);

    internal static int FeaturesOut(SmtpFeatures f)
    {
        var n = 0;
        foreach (var (ours, theirs) in FeatureBits)
            if ((f & ours) != 0)
                n |= theirs;
        return n;
    }

    internal static SmtpFeatures FeaturesIn(int n)
    {
        var f = SmtpFeatures.None;
        foreach (var (ours, theirs) in FeatureBits)
            if ((n & theirs) != 0)
                f |= ours;
        return f;
    }

    // PlainAttrs - attr_print_plain(): "name=value" lines and an empty line.
    private static string PlainAttrs(params (string Name, string Value)[] attrs)
    {
        var b = new StringBuilder();
        foreach (var (name, value) in attrs)
            b.Append(name).Append('=').Append(value).Append('\n');
        return b.Append('\n').ToString();
    }

    internal static Dictionary<string, string>? ParsePlain(string text)
    {
        var d = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0)
                break;
            var eq = line.IndexOf('=');
            if (eq <= 0)
                return null;
            d.TryAdd(line[..eq], line[(eq + 1)..]);
        }
        return d;
    }

    internal static string DestProp(string dest, SmtpSessionInfo info) => PlainAttrs(
        ("destination", dest), ("host_name", info.Host), ("host_addr", info.Addr),
        ("destination_features", (FeaturesOut(info.Features) & (1 << 12)).ToString(CultureInfo.InvariantCulture)));

    internal static string EndpProp(string tlsLevel, SmtpSessionInfo info) => PlainAttrs(
        ("tls_level", tlsLevel), ("reuse_count", info.ReuseCount.ToString(CultureInfo.InvariantCulture)),
        ("endpoint_features", (FeaturesOut(info.Features) & ~(1 << 12)).ToString(CultureInfo.InvariantCulture)),
        ("expire_time", info.ExpireTime.ToString(CultureInfo.InvariantCulture)));

    // Activate - smtp_session_activate(): the session from its properties,
    // or null for properties that do not parse.
    internal static SmtpSessionInfo? Activate(SmtpSessionInfo template, string? destProp, string endpProp)
    {
        var endp = ParsePlain(endpProp);
        if (endp == null || !endp.TryGetValue("reuse_count", out var rc) || !int.TryParse(rc, out var reuse)
            || !endp.TryGetValue("endpoint_features", out var ef) || !int.TryParse(ef, out var endpFeatures)
            || !endp.TryGetValue("expire_time", out var et) || !long.TryParse(et, out var expire))
        {
            Msg.Warn("smtp_session_activate: bad cached endp properties");
            return null;
        }
        var host = template.Host;
        var addr = template.Addr;
        var destFeatures = 0;
        if (!string.IsNullOrEmpty(destProp))
        {
            var dest = ParsePlain(destProp);
            if (dest == null || !dest.TryGetValue("host_name", out var h) || !dest.TryGetValue("host_addr", out var a)
                || !dest.TryGetValue("destination_features", out var df) || !int.TryParse(df, out destFeatures))
            {
                Msg.Warn("smtp_session_passivate: bad cached dest properties");
                return null;
            }
            host = h;
            addr = a;
        }
        return new SmtpSessionInfo(host, addr, template.Port, template.Unix)
        {
            Features = FeaturesIn(endpFeatures | destFeatures),
            FromCache = true,
            ExpireTime = expire,
            ReuseCount = reuse + 1,
        };
    }

    // Reuse - smtp_reuse_common(): a chat over the cached descriptor,
    // probed with RSET; null when the probe fails.
    private static SmtpChat? Reuse(SmtpState state, SmtpSessionInfo info, int fd)
    {
        Socket socket;
        try
        {
            // O_NONBLOCK belongs to the file description, shared with the
            // process that saved it: a .NET socket made from the descriptor
            // assumes blocking mode, so a read would fail at once with
            // EAGAIN if the saver left it non-blocking.
            Sys.NonBlocking(fd, false);
            socket = new Socket(new SafeSocketHandle((IntPtr)fd, ownsHandle: true));
        }
        catch (SocketException)
        {
            Sys.Close(fd);
            return null;
        }
        var chat = new SmtpChat(new NetworkStream(socket, ownsSocket: true), socket) { PeerLabel = info.NamAddrPort };
        try
        {
            chat.Timeout = state.Settings.RsetTimeout;
            chat.Command("RSET");
            var resp = chat.Response();
            if (resp.Code / 100 != 2)
            {
                chat.Dispose();
                return null;
            }
        }
        catch (SmtpStreamException)
        {
            chat.Dispose();
            return null;
        }
        info.Chat = chat;
        info.Socket = socket;
        state.CacheUsed.Add(info.Addr);
        return chat;
    }

    // ReuseNexthop - smtp_reuse_nexthop(): a session cached under the
    // request's next hop; info becomes that session's host and address.
    public static SmtpChat? ReuseNexthop(SmtpState state, ref SmtpSessionInfo info)
    {
        if (!Enabled || state.RequestNexthop.Length == 0)
            return null;
        var label = DestLabel(state);
        var fd = client!.FindDest(label, out var destProp, out var endpProp);
        if (fd < 0)
            return null;
        var session = Activate(info, destProp, endpProp);
        if (session == null)
        {
            Msg.Warn($"smtp_reuse_common: bad cached session attribute for {label}");
            Sys.Close(fd);
            return null;
        }
        var chat = Reuse(state, session, fd);
        if (chat != null)
            info = session;
        return chat;
    }

    // ReuseAddr - smtp_reuse_addr(): a session cached under this endpoint.
    public static SmtpChat? ReuseAddr(SmtpState state, ref SmtpSessionInfo info, string tlsLevel, string dest)
    {
        if (!Enabled)
            return null;
        var label = EndpLabel(state, info, dest, tlsLevel);
        var fd = client!.FindEndp(label, out var endpProp);
        if (fd < 0)
            return null;
        var session = Activate(info, null, endpProp);
        if (session == null)
        {
            Msg.Warn($"smtp_reuse_common: bad cached session attribute for {label}");
            Sys.Close(fd);
            return null;
        }
        session.Features |= info.Features & SmtpFeatures.BestMx;
        var chat = Reuse(state, session, fd);
        if (chat != null)
            info = session;
        return chat;
    }

    // Cleanup - smtp_cleanup_session(): save a good cached session (under
    // the request next hop too, the first time), or close it; a good
    // session ends the request's next-hop caching.
    public static void Cleanup(SmtpState state, SmtpSessionInfo info, SmtpChat chat, string dest, string tlsLevel)
    {
        var throttled = info.Throttled;
        if (IsExpired(info))
        {
            info.DontCache();
            QuitNow(state, chat);
        }
        if (info.IsCached && Enabled && chat.Stream is NetworkStream && !chat.HasBufferedInput && info.Socket is { Connected: true } socket)
        {
            var endpLabel = EndpLabel(state, info, dest, tlsLevel);
            if (state.RequestNexthop.Length > 0)
                client!.SaveDest(cacheTimeLimit, DestLabel(state), DestProp(dest, info), endpLabel);
            var fd = (int)socket.Handle;
            client!.SaveEndp(cacheTimeLimit, endpLabel, EndpProp(tlsLevel, info), fd);
            // Close our copy only: disposing a .NET socket may shut the
            // connection down, which would kill the cached copy too. The
            // socket and its stream are never disposed nor finalized.
            GC.SuppressFinalize(chat.Stream);
            Detach(socket);
        }
        else
        {
            chat.Dispose();
        }
        info.Chat = null;
        info.Socket = null;
        if (state.RequestNexthop.Length > 0 && !throttled)
            state.RequestNexthop = "";
        state.Request.Stats.ReuseCount = 0;
    }

    private static void QuitNow(SmtpState state, SmtpChat chat)
    {
        try
        {
            chat.Timeout = state.Settings.QuitTimeout;
            chat.Command("QUIT");
            chat.Flush();
            if (!state.Settings.SkipQuitResponse)
                chat.Response();
        }
        catch (SmtpStreamException)
        {
        }
    }
}
