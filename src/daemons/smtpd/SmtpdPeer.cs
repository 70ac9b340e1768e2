// NAME
//	SmtpdPeer - who is the SMTP client
// POSTFIX
//	src/smtpd/smtpd_peer.c
// DESCRIPTION
//	Fills in the client endpoint of a session: printable address and
//	port (IPv4-mapped IPv6 addresses become IPv4; IPv6 gets the "IPv6:"
//	prefix in its RFC 5321 form), the server endpoint, the reverse name
//	(getnameinfo with a name required) and the verified name (the
//	reverse name only when a forward lookup lists the client address;
//	otherwise "unknown" with a warning and the forged/temporary status).
//	Something that is not an Internet socket (stand-alone mode, a UNIX
//	socket) is the local host; a client that went away already is
//	"unknown".
using System;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using Postfix.Global.Bounce;
using Postfix.Util;

namespace Postfix.Daemons.Smtpd;

internal static partial class SmtpdPeer
{
    // SMTPD_PEER_CODE_*
    public const int CodeOk = 2, CodeTemp = 4, CodePerm = 5, CodeForged = 6;

    public const int AfUnspec = 0, AfInet = 2, AfInet6 = 10;

    public static void Init(SmtpdSession state, Socket? socket, bool ipv6First, bool ipv4Enabled, bool ipv6Enabled)
    {
        state.Name = null!;
        if (socket == null)
        {
            NotInet(state, ipv6First);
        }
        else
        {
            EndPoint? remote, local;
            try
            {
                remote = socket.RemoteEndPoint;
                local = socket.LocalEndPoint;
            }
            catch (SocketException)
            {
                remote = local = null;
            }
            var proxyProtocol = state.Proc.UpstreamProxyProtocol;
            if (state.Connection.PassAttributes is { } passAttrs)
            {
                FromPassAttributes(state, passAttrs);
                if (proxyProtocol.Length > 0)
                    Msg.Warn("ignoring non-empty smtpd_upstream_proxy_protocol setting behind postscreen");
            }
            else if (proxyProtocol.Length > 0 && remote != null && local != null)
            {
                if (proxyProtocol != "haproxy")
                    Msg.Fatal($"unsupported smtpd_upstream_proxy_protocol value: {proxyProtocol}");
                var ep = SmtpdHaproxy.Receive(socket, state.Proc.UpstreamProxyTimeout, ipv4Enabled, ipv6Enabled);
                if (ep == null)
                {
                    FromDefault(state, remote, local, ipv4Enabled, ipv6Enabled, ipv6First);
                    state.Flags |= SmtpdSession.FlagHangup;
                }
                else if (ep.NonProxy)
                {
                    FromDefault(state, remote, local, ipv4Enabled, ipv6Enabled, ipv6First);
                }
                else
                {
                    state.Addr = ep.ClientAddr;
                    if (ep.ClientAddr.Contains(':'))
                    {
                        state.RfcAddr = "IPv6:" + ep.ClientAddr;
                        state.AddrFamily = AfInet6;
                    }
                    else
                    {
                        state.RfcAddr = ep.ClientAddr;
                        state.AddrFamily = AfInet;
                    }
                    state.Port = ep.ClientPort;
                    state.DestAddr = ep.ServerAddr;
                    state.DestPort = ep.ServerPort;
                    state.ClientIp = IPAddress.Parse(ep.ClientAddr);
                }
            }
            else
            {
                FromDefault(state, remote, local, ipv4Enabled, ipv6Enabled, ipv6First);
            }
        }
        if (state.Name == null)
            LookupName(state);
        state.NamAddr = BuildNamAddr(state.Name!, state.Addr, state.Port, state.Config.PortLogging);
    }

    // FromPassAttributes - smtpd_peer_from_pass_attr(): the endpoints that
    // postscreen (or another "pass" proxy) sent along with the descriptor.
    private static void FromPassAttributes(SmtpdSession state, System.Collections.Generic.IReadOnlyDictionary<string, string> attrs)
    {
        if (!attrs.TryGetValue("client_address", out var addr))
            Msg.Fatal("missing client address from proxy");
        bool v6 = addr!.Contains(':');
        if (!IPAddress.TryParse(addr, out var ip)
            || (ip.AddressFamily == AddressFamily.InterNetworkV6) != v6
            || !v6 && addr.Split('.').Length != 4)
            Msg.Fatal($"bad {(v6 ? "IPv6" : "IPv4")} client address syntax from proxy: {addr}");
        state.Addr = addr;
        state.RfcAddr = v6 ? "IPv6:" + addr : addr;
        state.AddrFamily = v6 ? AfInet6 : AfInet;
        state.ClientIp = ip!;
        if (!attrs.TryGetValue("client_port", out var port))
            Msg.Fatal("missing client port from proxy");
        if (!ValidPort(port!))
            Msg.Fatal($"bad TCP client port number syntax from proxy: {port}");
        state.Port = port!;
        if (!attrs.TryGetValue("server_address", out var saddr))
            Msg.Fatal("missing server address from proxy");
        if (!IPAddress.TryParse(saddr, out _))
            Msg.Fatal($"bad IPv6 server address syntax from proxy: {saddr}");
        state.DestAddr = saddr!;
        if (!attrs.TryGetValue("server_port", out var sport))
            Msg.Fatal("missing server port from proxy");
        if (!ValidPort(sport!))
            Msg.Fatal($"bad TCP server port number syntax from proxy: {sport}");
        state.DestPort = sport!;
    }

    private static bool ValidPort(string port) =>
        port.Length > 0 && port.Length <= 5 && System.Linq.Enumerable.All(port, char.IsAsciiDigit)
        && int.Parse(port, System.Globalization.CultureInfo.InvariantCulture) <= 65535;

    private static void FromDefault(SmtpdSession state, EndPoint? remote, EndPoint? local, bool ipv4Enabled, bool ipv6Enabled,
        bool ipv6First)
    {
        if (remote == null || local == null)
            NoClient(state);
        else if (remote is IPEndPoint rip && local is IPEndPoint lip)
            FromAddr(state, rip, lip, ipv4Enabled, ipv6Enabled);
        else
            NotInet(state, ipv6First);
    }

    public static string BuildNamAddr(string name, string addr, string port, bool portLogging) =>
        portLogging ? $"{name}[{addr}]:{port}" : $"{name}[{addr}]";

    private static void FromAddr(SmtpdSession state, IPEndPoint remote, IPEndPoint local, bool ipv4Enabled, bool ipv6Enabled)
    {
        var ip = remote.Address;
        if (ip.AddressFamily == AddressFamily.InterNetwork && !ipv4Enabled
            || ip.AddressFamily == AddressFamily.InterNetworkV6 && !ipv6Enabled && !(ip.IsIPv4MappedToIPv6 && ipv4Enabled))
            Msg.Fatal($"cannot handle socket type {(ip.AddressFamily == AddressFamily.InterNetworkV6 ? "AF_INET6" : "AF_INET")} with \"inet_protocols = {state.Config.Conf.Eval("inet_protocols")}\"");
        state.Port = remote.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (ip.AddressFamily == AddressFamily.InterNetworkV6)
        {
            if (ipv4Enabled && ip.IsIPv4MappedToIPv6)
            {
                ip = ip.MapToIPv4();
                state.Addr = ip.ToString();
                state.RfcAddr = state.Addr;
                state.AddrFamily = AfInet;
            }
            else
            {
                ip.ScopeId = 0;
                state.Addr = ip.ToString();
                state.RfcAddr = "IPv6:" + state.Addr;
                state.AddrFamily = AfInet6;
            }
        }
        else
        {
            state.Addr = ip.ToString();
            state.RfcAddr = state.Addr;
            state.AddrFamily = AfInet;
        }
        state.ClientIp = ip;
        var lip = local.Address;
        if (lip.AddressFamily == AddressFamily.InterNetworkV6)
            lip.ScopeId = 0;
        state.DestAddr = lip.ToString();
        state.DestPort = local.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    private static void NotInet(SmtpdSession state, bool ipv6First)
    {
        state.Name = "localhost";
        state.ReverseName = "localhost";
        state.Addr = ipv6First ? "::1" : "127.0.0.1";
        state.RfcAddr = ipv6First ? "IPv6:::1" : "127.0.0.1";
        state.AddrFamily = AfUnspec;
        state.NameStatus = CodeOk;
        state.ReverseNameStatus = CodeOk;
        state.Port = "0";
        state.DestAddr = state.Addr;
        state.DestPort = state.Port;
    }

    private static void NoClient(SmtpdSession state)
    {
        state.Name = "unknown";
        state.ReverseName = "unknown";
        state.Addr = "unknown";
        state.RfcAddr = "unknown";
        state.AddrFamily = AfUnspec;
        state.NameStatus = CodePerm;
        state.ReverseNameStatus = CodePerm;
        state.Port = "unknown";
        state.DestAddr = "unknown";
        state.DestPort = "unknown";
    }

    private static void LookupName(SmtpdSession state)
    {
        if (!state.Config.PeernameLookup || state.ClientIp == null)
        {
            state.Name = "unknown";
            state.ReverseName = "unknown";
            state.NameStatus = CodePerm;
            state.ReverseNameStatus = CodePerm;
            return;
        }
        var err = ReverseLookup(state.ClientIp, out var name);
        if (err != 0)
        {
            state.Name = "unknown";
            state.ReverseName = "unknown";
            state.NameStatus = state.ReverseNameStatus = TempError(err) ? CodeTemp : CodePerm;
            return;
        }
        state.Name = name!;
        state.ReverseName = name!;
        state.NameStatus = CodeOk;
        state.ReverseNameStatus = CodeOk;
        err = ForwardLookup(name!, state.ClientIp, out var found);
        if (err != 0)
        {
            Msg.Warn($"hostname {name} does not resolve to address {state.Addr}: {GaiStrError(err)}");
            state.Name = "unknown";
            state.NameStatus = TempError(err) ? CodeTemp : CodeForged;
        }
        else if (!found)
        {
            Msg.Warn($"hostname {name} does not resolve to address {state.Addr}");
            state.Name = "unknown";
            state.NameStatus = CodeForged;
        }
    }

    private const int EaiAgain = -3, EaiMemory = -10, EaiSystem = -11, EaiNoname = -2;

    private static bool TempError(int e) => e == EaiAgain || e == EaiMemory || e == EaiSystem;

    [LibraryImport("libc", EntryPoint = "getnameinfo")]
    private static unsafe partial int GetNameInfo(byte* sa, uint salen, byte* host, uint hostlen, byte* serv, uint servlen, int flags);

    [LibraryImport("libc", EntryPoint = "getaddrinfo", StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int GetAddrInfo(string node, string? service, AddrInfo* hints, AddrInfo** res);

    [LibraryImport("libc", EntryPoint = "freeaddrinfo")]
    private static unsafe partial void FreeAddrInfo(AddrInfo* res);

    [LibraryImport("libc", EntryPoint = "gai_strerror")]
    private static partial nint GaiStrErrorRaw(int code);

    public static string GaiStrError(int code) => Marshal.PtrToStringUTF8(GaiStrErrorRaw(code)) ?? "unknown error";

    [StructLayout(LayoutKind.Sequential)]
    private unsafe struct AddrInfo
    {
        public int Flags;
        public int Family;
        public int SockType;
        public int Protocol;
        public uint AddrLen;
        public byte* Addr;
        public byte* CanonName;
        public AddrInfo* Next;
    }

    private const int NiNameReqd = 8;

    private static int FillSockaddr(IPAddress ip, Span<byte> sa)
    {
        sa.Clear();
        var bytes = ip.GetAddressBytes();
        if (ip.AddressFamily == AddressFamily.InterNetwork)
        {
            BitConverter.TryWriteBytes(sa, (ushort)AfInet);
            bytes.CopyTo(sa[4..]);
            return 16;
        }
        BitConverter.TryWriteBytes(sa, (ushort)AfInet6);
        bytes.CopyTo(sa[8..]);
        return 28;
    }

    // ReverseLookup - sockaddr_to_hostname(): a name, or a getnameinfo()
    // error (numeric or malformed names count as "no name").
    public static unsafe int ReverseLookup(IPAddress ip, out string? name)
    {
        name = null;
        Span<byte> sa = stackalloc byte[28];
        var len = FillSockaddr(ip, sa);
        var host = stackalloc byte[1025];
        int err;
        fixed (byte* psa = sa)
            err = GetNameInfo(psa, (uint)len, host, 1025, null, 0, NiNameReqd);
        if (err != 0)
            return err;
        var n = 0;
        while (n < 1025 && host[n] != 0)
            n++;
        var text = Encoding.UTF8.GetString(host, n);
        // Reject numeric or malformed names, as the reference does.
        if (!MailParamsCheck.ValidHostname(text, false) || IPAddress.TryParse(text, out _) || text.All(c => char.IsAsciiDigit(c) || c == '.'))
        {
            if (Msg.Verbose > 0)
                Msg.Info($"sockaddr_to_hostname: bad or numeric hostname: {text}");
            return EaiNoname;
        }
        name = text;
        return 0;
    }

    // ForwardLookup - does name list the address?
    public static unsafe int ForwardLookup(string name, IPAddress ip, out bool found)
    {
        found = false;
        var hints = new AddrInfo
        {
            Family = ip.AddressFamily == AddressFamily.InterNetwork ? AfInet : AfInet6,
            SockType = 1,
        };
        AddrInfo* res;
        var err = GetAddrInfo(name, null, &hints, &res);
        if (err != 0)
            return err;
        var want = ip.GetAddressBytes();
        for (var p = res; p != null; p = p->Next)
        {
            ReadOnlySpan<byte> addr;
            if (p->Family == AfInet && want.Length == 4)
                addr = new ReadOnlySpan<byte>(p->Addr + 4, 4);
            else if (p->Family == AfInet6 && want.Length == 16)
                addr = new ReadOnlySpan<byte>(p->Addr + 8, 16);
            else
                continue;
            if (addr.SequenceEqual(want))
            {
                found = true;
                break;
            }
        }
        FreeAddrInfo(res);
        return 0;
    }
}

internal static class StringAllExtension
{
    public static bool All(this string s, Func<char, bool> pred)
    {
        foreach (var c in s)
        {
            if (!pred(c))
                return false;
        }
        return true;
    }
}
