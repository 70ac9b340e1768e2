// NAME
//	SmtpConnect, SmtpDestination - next-hop parsing, address lookup
//	and the server loop
// POSTFIX
//	src/smtp/smtp_connect.c, src/smtp/smtp_addr.c, src/util/host_port.c
// DESCRIPTION
//	Deliver() tries the request's next hop, then smtp_fallback_relay.
//	A destination is "domain" (MX lookup: hosts in preference order,
//	equal preferences shuffled; no MX: the domain's own addresses),
//	"[host]" (no MX lookup), either with ":port" (a number or a service
//	name); for LMTP also "inet:host:port" and "unix:/path". Addresses
//	come from our DNS client (smtp_host_lookup = dns) or the system
//	resolver (native), of the families inet_protocols enables. Each
//	address gets a connection (smtp_connect_timeout); a failure is
//	logged "connect to HOST[ADDR]:PORT: ERROR" and the next address is
//	tried, at most smtp_mx_address_limit addresses and
//	smtp_mx_session_limit sessions. What is left after the last server
//	is deferred or bounced with the last error.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using Postfix.Global.Deliver;
using Postfix.Global.Dns;
using Postfix.Util;

namespace Postfix.Daemons.Smtp;

internal sealed record SmtpDestination(bool Unix, string Host, int Port, bool NoMx)
{
    private static readonly char[] Blanks = { ' ', '\t' };

    // Parse - smtp_parse_destination() with host_port(); null for a syntax error.
    public static SmtpDestination? Parse(string destination, bool lmtp, string defaultService, out string error)
    {
        error = "";
        var dest = destination;
        if (lmtp)
        {
            if (dest.StartsWith("unix:", StringComparison.Ordinal))
                return new SmtpDestination(true, dest[5..], 0, true);
            if (dest.StartsWith("inet:", StringComparison.Ordinal))
                dest = dest[5..];
        }
        string host;
        string service = defaultService;
        var noMx = false;
        if (dest.StartsWith('['))
        {
            var close = dest.IndexOf(']');
            if (close < 0)
            {
                error = "missing \"]\"";
                return null;
            }
            host = dest[1..close];
            noMx = true;
            var rest = dest[(close + 1)..];
            if (rest.StartsWith(':') && rest.Length > 1)
                service = rest[1..];
            else if (rest.Length > 0 && rest != ":")
            {
                error = "garbage after \"]\"";
                return null;
            }
        }
        else
        {
            var colon = dest.LastIndexOf(':');
            if (colon >= 0 && dest.IndexOf(':') == colon)
            {
                host = dest[..colon];
                if (colon + 1 < dest.Length)
                    service = dest[(colon + 1)..];
            }
            else
            {
                host = dest;
            }
        }
        if (host.StartsWith("ipv6:", StringComparison.OrdinalIgnoreCase))
            host = host[5..];
        var port = ServicePort(service);
        if (port < 0)
        {
            error = $"unknown service: {service}/tcp";
            return null;
        }
        if (lmtp)
            noMx = true;
        return new SmtpDestination(false, host, port, noMx);
    }

    public static int ServicePort(string service)
    {
        if (service.All(char.IsAsciiDigit) && service.Length > 0)
            return int.TryParse(service, NumberStyles.None, CultureInfo.InvariantCulture, out var p) && p is > 0 and < 65536 ? p : -1;
        switch (service)
        {
            case "smtp":
                return 25;
            case "lmtp":
                return 24;
            case "submission":
                return 587;
            case "submissions":
            case "smtps":
                return 465;
        }
        try
        {
            foreach (var line in File.ReadLines("/etc/services"))
            {
                var words = line.Split(Blanks, StringSplitOptions.RemoveEmptyEntries);
                if (words.Length >= 2 && words[0] == service && words[1].EndsWith("/tcp", StringComparison.Ordinal)
                    && int.TryParse(words[1][..^4], out var p))
                    return p;
            }
        }
        catch (IOException)
        {
        }
        return -1;
    }
}

internal sealed record SmtpTarget(string Host, IPAddress Address, int Pref);

internal static class SmtpConnect
{
    private static readonly Random Shuffler = new();

    // Deliver - smtp_connect(): every destination until the recipients are done.
    public static void Deliver(SmtpState state, Func<Stream, Socket?, SmtpChat>? chatFactory = null, byte[]? queueBytes = null)
    {
        var settings = state.Settings;
        var request = state.Request;
        var sites = new List<string> { request.Nexthop };
        if (!settings.Lmtp)
            sites.AddRange(settings.FallbackRelay);
        var why = state.Why;
        why.Reset();
        for (var i = 0; i < sites.Count && state.LeftCount > 0; i++)
        {
            var finalNexthop = i == sites.Count - 1;
            var dest = SmtpDestination.Parse(sites[i], settings.Lmtp, settings.Lmtp ? LmtpPort(settings) : settings.DefaultService, out var error);
            if (dest == null)
                Msg.Fatal($"{error} in server description: {sites[i]}");
            if (dest!.Unix)
            {
                state.FinalServer = finalNexthop;
                var local = new SmtpSessionInfo(settings.MyHostname, dest.Host, 0, true);
                SmtpReuse.Policy(state, dest.Host, dest.Host);
                if (!(state.CacheLoad && TryServer(state, local, () => null, queueBytes, sites[i], SmtpReuseMode.Nexthop)))
                    TryServer(state, local, () => ConnectUnix(dest.Host, settings, why), queueBytes, sites[i]);
                state.RequestNexthop = "";
                continue;
            }
            List<SmtpTarget> targets;
            var loopDetect = !settings.Lmtp && dest.Port == 25;
            var iAmMx = false;
            if (DnsLookup.IsHostAddress(dest.Host) && IPAddress.TryParse(dest.Host, out var numeric))
            {
                why.Reset();
                targets = new List<SmtpTarget> { new(dest.Host, numeric, 0) };
                if (loopDetect && FindSelf(targets, settings) != null)
                {
                    why.Simple("5.4.6", $"mail for {dest.Host} loops back to myself");
                    targets.Clear();
                }
            }
            else if (dest.NoMx || !settings.LookupDns)
            {
                targets = HostAddr(dest.Host, settings, why, loopDetect);
            }
            else
            {
                targets = DomainAddr(dest.Host, settings, why, loopDetect, out iAmMx);
            }
            // A loop, or this host is an MX host: no fall-back relays.
            if (iAmMx || (targets.Count == 0 && why.Status.Length > 0 && why.Status[1..] == ".4.6"))
                finalNexthop = true;
            // Connection caching is decided at the first next hop; cached
            // sessions go first, then new connections (smtp_reuse_session).
            if (targets.Count > 0 && i == 0)
                SmtpReuse.Policy(state, dest.Host, sites[i]);
            var addrCount = 0;
            var sessCount = 0;
            var bestPref = targets.Count > 0 ? targets[0].Pref : 0;
            if (targets.Count > 0 && state.CacheLoad)
            {
                if (state.CacheUsed.Count > 0)
                    targets.RemoveAll(t => state.CacheUsed.Contains(t.Address.ToString()));
                sessCount = addrCount = ReuseSessions(state, targets, dest.Port, bestPref, finalNexthop, queueBytes, sites[i]);
            }
            var retryPlain = false;
            for (var t = 0; t < targets.Count && state.LeftCount > 0; t++)
            {
                var target = targets[t];
                var last = t == targets.Count - 1;
                if (settings.MxAddressLimit > 0 && ++addrCount == settings.MxAddressLimit)
                    last = true;
                state.FinalServer = finalNexthop && last;
                var info = new SmtpSessionInfo(target.Host, target.Address.ToString(), dest.Port, false);
                if (target.Pref == bestPref)
                    info.Features |= SmtpFeatures.BestMx;
                var used = TryServer(state, info, () => ConnectInet(target, dest.Port, settings, why), queueBytes, sites[i],
                    state.CacheLoad && target.Pref != bestPref && !retryPlain ? SmtpReuseMode.Address : SmtpReuseMode.None,
                    plaintext: retryPlain);
                // A failed opportunistic TLS handshake: the same address
                // again without TLS, not counted against the limits.
                if ((retryPlain = info.TlsRetryPlain) && state.LeftCount > 0)
                {
                    if (settings.MxAddressLimit > 0)
                        addrCount--;
                    t--;
                    continue;
                }
                if (used && settings.MxSessionLimit > 0 && ++sessCount == settings.MxSessionLimit)
                    break;
                if (settings.MxAddressLimit > 0 && addrCount == settings.MxAddressLimit)
                    break;
            }
            if (state.LeftCount == 0)
                break;
            if (finalNexthop)
                break;
        }
        state.RequestNexthop = "";
        if (state.LeftCount > 0)
        {
            state.Session = null;
            if (why.Status.Length == 0)
                why.Simple("4.3.0", "server unavailable or unable to receive mail");
            else if (!why.Status.StartsWith('4') && !settings.Lmtp && sites.Count > 1 && request.Nexthop != sites[^1]
                && settings.FallbackRelay.Contains(sites[^1]))
            {
                Msg.Warn($"{SmtpSettings.Prefix(settings.Lmtp)}_fallback_relay configuration problem");
                why.SetStatus("4.3.5");
            }
            else if (!why.Status.StartsWith('4') && !settings.Lmtp && settings.RelayHost.Length > 0 && sites[0] == settings.RelayHost)
            {
                Msg.Warn("relayhost configuration problem");
                why.SetStatus("4.3.5");
            }
            else if (!why.Status.StartsWith('4') && !settings.Lmtp && why.Status.Length > 1 && why.Status[1..] == ".4.6"
                && settings.BestMxTransport.Length > 0)
            {
                // Mail for the next hop loops back to this host: best_mx_transport takes it.
                why.Reset();
                state.Status = DeliverPass.PassAll(Postfix.Global.Attr.MailProto.ClassPrivate, settings.BestMxTransport, request);
                return;
            }
            state.FinalServer = true;
            state.SessFail();
        }
    }

    private static string LmtpPort(SmtpSettings settings) => settings.LmtpTcpPort;

    // ReuseSessions - smtp_reuse_session(): deliver over the session
    // cached under the request's next hop, then over those cached under
    // the best MX addresses; each address used leaves the list (all of
    // it at the session or address limit). The count of sessions used.
    private static int ReuseSessions(SmtpState state, List<SmtpTarget> targets, int port, int bestPref, bool finalNexthop,
        byte[]? queueBytes, string site)
    {
        var settings = state.Settings;
        var count = 0;
        void Used(SmtpSessionInfo s)
        {
            count++;
            if (targets.Count == 0)
                return;
            if (count == settings.MxSessionLimit || count == settings.MxAddressLimit)
                targets.Clear();
            else if (targets.FindIndex(t => t.Address.ToString() == s.Addr) is var at and >= 0)
                targets.RemoveAt(at);
        }
        if (targets.Count > 0 && state.LeftCount > 0 && state.RequestNexthop.Length > 0)
        {
            var first = new SmtpSessionInfo(targets[0].Host, targets[0].Address.ToString(), port, false);
            state.FinalServer = false;
            TryServer(state, first, () => null, queueBytes, site, SmtpReuseMode.Nexthop, s =>
            {
                Used(s);
                state.FinalServer = finalNexthop && targets.Count == 0;
            });
        }
        for (var t = 0; state.LeftCount > 0 && t < targets.Count;)
        {
            var target = targets[t];
            if (target.Pref != bestPref)
                break;
            var info = new SmtpSessionInfo(target.Host, target.Address.ToString(), port, false) { Features = SmtpFeatures.BestMx };
            state.FinalServer = false;
            var index = t;
            var found = TryServer(state, info, () => null, queueBytes, site, SmtpReuseMode.AddressOnly, s =>
            {
                Used(s);
                state.FinalServer = finalNexthop && index >= targets.Count;
            });
            if (!found)
                t++;
        }
        return count;
    }

    // TryServer - connect, HELO, transfer; true when a session was made.
    private static bool TryServer(SmtpState state, SmtpSessionInfo info, Func<(Stream, Socket?)?> connect, byte[]? queueBytes, string dest,
        SmtpReuseMode reuse = SmtpReuseMode.None, Action<SmtpSessionInfo>? reused = null, bool plaintext = false)
    {
        SmtpChat? chat = null;
        if (reuse == SmtpReuseMode.Nexthop && (chat = SmtpReuse.ReuseNexthop(state, ref info)) == null)
            return false;
        var tlsPolicy = SmtpTlsPolicy.ForSession(state.Settings, info, dest, info.Port == 0);
        if (tlsPolicy.Level == TlsLevel.Invalid)
        {
            state.Why.Simple(tlsPolicy.WhyStatus, tlsPolicy.WhyText);
            Msg.Warn($"TLS policy lookup for {dest}/{info.Host}: {tlsPolicy.WhyText}");
            return false;
        }
        // A retry after a failed opportunistic TLS handshake: no TLS.
        if (plaintext)
            tlsPolicy.Level = TlsLevel.None;
        var tlsKey = SmtpReuse.LevelKey(tlsPolicy.Level);
        if (chat == null && reuse is SmtpReuseMode.Address or SmtpReuseMode.AddressOnly)
            chat = SmtpReuse.ReuseAddr(state, ref info, tlsKey, dest);
        if (chat != null)
        {
            reused?.Invoke(info);
        }
        else
        {
            if (reuse is SmtpReuseMode.AddressOnly or SmtpReuseMode.Nexthop)
                return false;
            var conn = connect();
            if (conn == null)
            {
                if (Msg.Verbose > 0 || true)
                    Msg.Info(state.Why.Reason);
                return false;
            }
            var (stream, socket) = conn.Value;
            chat = new SmtpChat(stream, socket);
            info.Chat = chat;
            info.Socket = socket;
            SmtpReuse.NewSession(state, info);
        }
        state.Session = info;
        var proto = new SmtpProto(state, chat)
        {
            QueueFileBytes = queueBytes,
            FinalDelivery = state.Settings.FinalDelivery,
            Sasl = state.Settings.Sasl,
            Dest = dest,
            TlsPolicy = tlsPolicy,
        };
        if (!info.FromCache && proto.Helo() != 0)
        {
            info.DontCache();
            // A refused greeting: say goodbye when the connection is still up.
            if (state.Why.Status.Length > 0 && !info.Forbidden
                && !state.Why.Reason.StartsWith("lost connection", StringComparison.Ordinal)
                && !state.Why.Reason.StartsWith("conversation with", StringComparison.Ordinal))
                proto.Quit();
        }
        else
        {
            proto.Xfer();
        }
        state.TlsSessionFallback = null;
        SmtpReuse.Cleanup(state, info, chat, dest, tlsKey);
        state.Session = null;
        return true;
    }

    private static (Stream, Socket?)? ConnectInet(SmtpTarget target, int port, SmtpSettings settings, DsnBuf why)
    {
        var socket = new Socket(target.Address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        if (!BindSource(socket, target.Address.AddressFamily, settings, why))
        {
            socket.Dispose();
            return null;
        }
        try
        {
            // A non-blocking connect waited for with poll(), then blocking
            // mode again: no .NET asynchronous operation, so the socket is
            // never registered with the runtime's epoll engine, which would
            // still watch it after its descriptor went to scache(8).
            socket.Blocking = false;
            try
            {
                socket.Connect(new IPEndPoint(target.Address, port));
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.WouldBlock or SocketError.InProgress)
            {
                var micros = Math.Max(1, settings.ConnectTimeout) * 1_000_000L;
                if (!socket.Poll(micros > int.MaxValue ? -1 : (int)micros, SelectMode.SelectWrite))
                {
                    var error = (SocketError)(int)socket.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.Error)!;
                    if (error == SocketError.Success)
                    {
                        socket.Dispose();
                        why.Simple("4.4.1", $"connect to {target.Host}[{target.Address}]:{port}: Connection timed out");
                        return null;
                    }
                    throw new SocketException((int)error);
                }
                var soError = (SocketError)(int)socket.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.Error)!;
                if (soError != SocketError.Success)
                    throw new SocketException((int)soError);
            }
            // Carry on with a plain blocking socket on a copy of the
            // descriptor: the .NET socket that made the connection stays in
            // its non-blocking state (and shuts the connection down when
            // disposed), which a session handed to scache(8) cannot have.
            var copy = Sys.DupCloexec((int)socket.Handle);
            if (copy < 0)
                throw new SocketException((int)SocketError.TooManyOpenSockets);
            Sys.NonBlocking(copy, false);
            SmtpReuse.Detach(socket);
            var plain = new Socket(new SafeSocketHandle((IntPtr)copy, ownsHandle: true));
            plain.NoDelay = true;
            return (new NetworkStream(plain, ownsSocket: true), plain);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            why.Simple("4.4.1", $"connect to {target.Host}[{target.Address}]:{port}: {Sys.StrError(e.ErrorCode)}");
            return null;
        }
    }

    // BindSource - the source address: smtp_bind_address(6), or else
    // the one non-loopback interface address of the family, if there is
    // exactly one. False when an enforced binding failed.
    private static bool BindSource(Socket socket, AddressFamily family, SmtpSettings settings, DsnBuf why)
    {
        const string fn = "smtp_connect_addr";
        var v6 = family == AddressFamily.InterNetworkV6;
        var bindAddr = v6 ? settings.BindAddress6 : family == AddressFamily.InterNetwork ? settings.BindAddress : "";
        var bindVar = $"{SmtpSettings.Prefix(settings.Lmtp)}_bind_address{(v6 ? "6" : "")}";
        if (bindAddr.Length > 0)
        {
            var text = bindAddr;
            if (text.StartsWith('['))
            {
                var close = text.IndexOf(']');
                if (close < 0 || close != text.Length - 1)
                    Msg.Fatal($"{fn}: malformed {bindVar} parameter: {bindAddr}");
                text = text[1..close];
            }
            if (!IPAddress.TryParse(text, out var addr) || !DnsLookup.IsHostAddress(text))
            {
                Msg.Fatal($"{fn}: bad {bindVar} parameter: {bindAddr}: Name or service not known");
                return false;
            }
            try
            {
                socket.Bind(new IPEndPoint(addr, 0));
                if (Msg.Verbose > 0)
                    Msg.Info($"{fn}: bind {text}");
            }
            catch (SocketException e)
            {
                Msg.Warn($"{fn}: bind {text}: {Sys.StrError(e.ErrorCode)}");
                if (settings.BindAddressEnforce)
                {
                    why.Simple("4.4.0", "server configuration error");
                    return false;
                }
            }
            return true;
        }
        if (settings.OwnAddresses == null)
            return true;
        byte[]? own = null;
        var count = 0;
        var len = v6 ? 16 : 4;
        foreach (var a in settings.OwnAddresses)
        {
            if (a.Length == len && count++ == 0)
                own = a;
        }
        if (count == 1 && own != null)
        {
            var ip = new IPAddress(own);
            if (!IPAddress.IsLoopback(ip))
            {
                try
                {
                    socket.Bind(new IPEndPoint(ip, 0));
                }
                catch (SocketException e)
                {
                    Msg.Warn($"{fn}: bind {ip}: {Sys.StrError(e.ErrorCode)}");
                }
            }
        }
        return true;
    }

    private static (Stream, Socket?)? ConnectUnix(string path, SmtpSettings settings, DsnBuf why)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(path));
            return (new NetworkStream(socket, ownsSocket: true), socket);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            why.Simple("4.4.1", $"connect to {settings.MyHostname}[{path}]: {Sys.StrError(e.ErrorCode)}");
            return null;
        }
    }

    private static int[] AddressTypes(SmtpSettings s)
    {
        var list = new List<int>();
        if (s.UseIpv6 && s.PreferIpv6)
            list.Add(DnsType.AAAA);
        if (s.UseIpv4)
            list.Add(DnsType.A);
        if (s.UseIpv6 && !s.PreferIpv6)
            list.Add(DnsType.AAAA);
        return list.ToArray();
    }

    private static bool SoftDsn(DsnBuf why) => why.Status.StartsWith('4');

    // AddrOne - smtp_addr_one(): the addresses of one host, appended.
    private static void AddrOne(List<SmtpTarget> list, string host, int pref, SmtpSettings settings, DsnBuf why)
    {
        if (settings.LookupDns)
        {
            var status = DnsLookup.LookupList(host, DnsFlags.None, AddressTypes(settings), false, out var records, out var reason);
            switch (status)
            {
                case DnsStatus.Ok:
                    // The name of the server: the one looked up, or with
                    // smtp_cname_overrides_servername the CNAME target.
                    foreach (var rr in records)
                        list.Add(new SmtpTarget(settings.CnameOverridesServername && rr.Rname.Length > 0 ? rr.Rname : host,
                            rr.Address!, pref));
                    return;
                case DnsStatus.Fail:
                    why.Simple(SoftDsn(why) ? "4.4.3" : "5.4.3", reason);
                    return;
                case DnsStatus.Inval:
                    why.Simple(SoftDsn(why) ? "4.4.4" : "5.4.4", reason);
                    return;
                case DnsStatus.Policy:
                    why.Simple("4.7.0", reason);
                    return;
                case DnsStatus.NotFound:
                    why.Simple(SoftDsn(why) ? "4.4.4" : "5.4.4", reason);
                    break;
                default:
                    why.Simple("4.4.3", reason);
                    return;
            }
        }
        if (settings.LookupNative)
        {
            IPAddress[] addrs;
            try
            {
                addrs = System.Net.Dns.GetHostAddresses(host);
            }
            catch (SocketException e)
            {
                var retry = e.SocketErrorCode == SocketError.TryAgain;
                why.Simple(SoftDsn(why) || retry ? "4.4.4" : "5.4.4",
                    $"{host}: {(e.SocketErrorCode == SocketError.HostNotFound ? "Name or service not known" : e.Message)}");
                return;
            }
            var found = 0;
            foreach (var a in addrs)
            {
                if (a.AddressFamily == AddressFamily.InterNetwork && !settings.UseIpv4)
                    continue;
                if (a.AddressFamily == AddressFamily.InterNetworkV6 && !settings.UseIpv6)
                    continue;
                list.Add(new SmtpTarget(host, a, pref));
                found++;
            }
            if (found == 0)
                why.Simple(SoftDsn(why) ? "4.4.4" : "5.4.4", $"{host}: host not found");
        }
    }

    // FindSelf - smtp_find_self(): the first address that is one of
    // ours ($inet_interfaces) or our proxy's ($proxy_interfaces).
    private static SmtpTarget? FindSelf(List<SmtpTarget> list, SmtpSettings settings)
    {
        static bool In(List<byte[]>? addrs, byte[] bytes) => addrs != null && addrs.Exists(a => a.AsSpan().SequenceEqual(bytes));
        foreach (var t in list)
        {
            var bytes = t.Address.GetAddressBytes();
            if (In(settings.OwnAddresses, bytes) || In(settings.ProxyAddresses, bytes))
                return t;
        }
        return null;
    }

    // HostAddr - smtp_host_addr(): one host, no MX lookup.
    internal static List<SmtpTarget> HostAddr(string host, SmtpSettings settings, DsnBuf why, bool loopDetect = false)
    {
        why.Reset();
        var list = new List<SmtpTarget>();
        AddrOne(list, host, 0, settings, why);
        if (list.Count > 0 && loopDetect && FindSelf(list, settings) != null)
        {
            why.Simple("5.4.6", $"mail for {host} loops back to myself");
            list.Clear();
            return list;
        }
        return Order(list, settings);
    }

    // DomainAddr - smtp_domain_addr(): the MX hosts' addresses, best first.
    internal static List<SmtpTarget> DomainAddr(string name, SmtpSettings settings, DsnBuf why)
        => DomainAddr(name, settings, why, false, out _);

    internal static List<SmtpTarget> DomainAddr(string name, SmtpSettings settings, DsnBuf why, bool loopDetect, out bool iAmMx)
    {
        iAmMx = false;
        why.Reset();
        var status = DnsLookup.Lookup(name, DnsType.MX, DnsFlags.None, out var mx, out var reason);
        var list = new List<SmtpTarget>();
        switch (status)
        {
            case DnsStatus.Ok:
                var sorted = Shuffle(mx).OrderBy(r => r.Pref).ToList();
                foreach (var rr in sorted)
                    AddrOne(list, rr.Text!, rr.Pref, settings, why);
                if (list.Count == 0)
                {
                    if (settings.DeferMxAddress && !SoftDsn(why))
                        why.SetStatus("4" + why.Status[1..]);
                    Msg.Warn($"no MX host for {name} has a valid address record");
                    return list;
                }
                if (loopDetect && FindSelf(list, settings) is { } self)
                {
                    // Only the MX hosts better than this one are worth a try.
                    iAmMx = true;
                    var bestPref = sorted[0].Pref;
                    var bestFound = list[0].Pref;
                    var cut = list.FindIndex(t => t.Pref == self.Pref);
                    list.RemoveRange(cut, list.Count - cut);
                    if (list.Count == 0)
                    {
                        if (bestPref != bestFound)
                            why.Simple("4.4.4", $"unable to find primary relay for {name}");
                        else
                            why.Simple("5.4.6", $"mail for {name} loops back to myself");
                        return list;
                    }
                }
                return Order(list, settings);
            case DnsStatus.NotFound:
                return HostAddr(name, settings, why);
            case DnsStatus.Inval:
                why.Simple("5.4.4", reason);
                break;
            case DnsStatus.NullMx:
                why.Simple("5.1.0", reason);
                break;
            case DnsStatus.Policy:
                why.Simple("4.7.0", reason);
                break;
            case DnsStatus.Fail:
                why.Simple("5.4.3", reason);
                break;
            default:
                why.Simple("4.4.3", reason);
                break;
        }
        if (settings.IgnoreMxLookupError && status is not (DnsStatus.NullMx or DnsStatus.Policy))
            return HostAddr(name, settings, why);
        return list;
    }

    private static List<T> Shuffle<T>(List<T> list)
    {
        var copy = new List<T>(list);
        lock (Shuffler)
        {
            for (var i = copy.Count - 1; i > 0; i--)
            {
                var j = Shuffler.Next(i + 1);
                (copy[i], copy[j]) = (copy[j], copy[i]);
            }
        }
        return copy;
    }

    // Order - shuffle (smtp_randomize_addresses), then a stable sort by preference and protocol.
    private static List<SmtpTarget> Order(List<SmtpTarget> list, SmtpSettings settings)
    {
        if (list.Count < 2)
            return list;
        var items = settings.RandomizeAddresses ? Shuffle(list) : list;
        int Family(SmtpTarget t) =>
            settings.PreferIpv6 ? (t.Address.AddressFamily == AddressFamily.InterNetworkV6 ? 0 : 1)
            : settings.PreferIpv4 ? (t.Address.AddressFamily == AddressFamily.InterNetwork ? 0 : 1) : 0;
        var sorted = items.OrderBy(t => t.Pref).ThenBy(Family).ToList();
        if (settings.MxAddressLimit > 0 && settings.BalanceInetProtocols)
            sorted = BalanceInetProtocols(sorted, settings.MxAddressLimit);
        return sorted;
    }

    // BalanceInetProtocols - smtp_balance_inet_proto(): when
    // smtp_mx_address_limit would cut the list, keep addresses of both
    // families (half the limit each, or all of the scarcer family), in
    // the list's order; the extra one of an odd limit goes to the family
    // of the first address.
    internal static List<SmtpTarget> BalanceInetProtocols(List<SmtpTarget> list, int limit, int rrListLimit = 100)
    {
        if (limit > rrListLimit)
            limit = rrListLimit;
        var v4 = list.Count(t => t.Address.AddressFamily == AddressFamily.InterNetwork);
        var v6 = list.Count - v4;
        if (v4 == 0 || v6 == 0 || v4 + v6 <= limit)
            return list;
        int v4Keep, v6Keep;
        if (v6 <= limit / 2)
        {
            v6Keep = v6;
            v4Keep = limit - v6;
        }
        else if (v4 <= limit / 2)
        {
            v4Keep = v4;
            v6Keep = limit - v4;
        }
        else
        {
            v4Keep = (limit + (list[0].Address.AddressFamily == AddressFamily.InterNetwork ? 1 : 0)) / 2;
            v6Keep = limit - v4Keep;
        }
        var kept = new List<SmtpTarget>(limit);
        foreach (var t in list)
        {
            if (t.Address.AddressFamily == AddressFamily.InterNetwork ? v4Keep-- > 0 : v6Keep-- > 0)
                kept.Add(t);
        }
        return kept;
    }
}
