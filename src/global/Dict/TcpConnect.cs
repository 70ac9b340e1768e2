// NAME
//	TcpConnect - client connections for network tables
// POSTFIX
//	src/util/inet_connect.c, src/util/unix_connect.c,
//	src/util/host_port.c, src/util/auto_clnt.c (endpoint syntax)
// DESCRIPTION
//	Connect to "host:port" / "[host]:port" (TCP) or a UNIX-domain socket
//	path, with a time limit. Failures come back as an errno value so
//	that callers print the C library's text, as Postfix's %m does.
//	Endpoint() splits "inet:host:port" / "unix:path" service names.
using System;
using System.Net;
using System.Net.Sockets;

namespace Postfix.Global.Dict;

public static class TcpConnect
{
    public const int EConnRefused = 111;
    public const int ETimedOut = 110;
    public const int EAddrNotAvail = 99;
    public const int EInProgress = 115;

    // SplitHostPort - host_port(): "[host]:port" or "host:port"; false on bad syntax.
    public static bool SplitHostPort(string text, out string host, out string port)
    {
        host = port = "";
        if (text.StartsWith('['))
        {
            var close = text.IndexOf(']', StringComparison.Ordinal);
            if (close < 0 || close + 1 >= text.Length || text[close + 1] != ':')
                return false;
            host = text[1..close];
            port = text[(close + 2)..];
        }
        else
        {
            var colon = text.LastIndexOf(':');
            if (colon < 0)
                return false;
            host = text[..colon];
            port = text[(colon + 1)..];
        }
        return host.Length > 0 && port.Length > 0;
    }

    // Inet - inet_connect(): a connected stream socket, or null and errno.
    public static Socket? Inet(string hostPort, int timeoutSeconds, out int errno)
    {
        errno = 0;
        if (!SplitHostPort(hostPort, out var host, out var portText))
        {
            if (hostPort.Contains(':', StringComparison.Ordinal))
                Postfix.Util.Msg.Fatal($"{hostPort}: missing host or port");
            host = hostPort;
            portText = "";
        }
        if (!int.TryParse(portText, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var port)
            || port > 65535)
        {
            Postfix.Util.Msg.Warn($"host or service {hostPort} not found: Servname not supported for ai_socktype");
            errno = EAddrNotAvail;
            return null;
        }
        IPAddress[] addresses;
        if (IPAddress.TryParse(host, out var literal))
        {
            addresses = new[] { literal };
        }
        else
        {
            try
            {
                addresses = System.Net.Dns.GetHostAddresses(host);
            }
            catch (SocketException)
            {
                Postfix.Util.Msg.Warn($"host or service {hostPort} not found: Name or service not known");
                errno = EAddrNotAvail;
                return null;
            }
        }
        foreach (var address in addresses)
        {
            var sock = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            if (Connect(sock, new IPEndPoint(address, port), timeoutSeconds, out errno))
                return sock;
            sock.Dispose();
        }
        if (addresses.Length == 0)
            errno = EAddrNotAvail;
        return null;
    }

    // Unix - unix_connect(): a connected UNIX-domain socket, or null and errno.
    public static Socket? Unix(string path, int timeoutSeconds, out int errno)
    {
        // .NET reports a missing socket file as "address not available".
        if (!System.IO.File.Exists(path) && !System.IO.Directory.Exists(path))
        {
            errno = 2;   // ENOENT
            return null;
        }
        var sock = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        if (Connect(sock, new UnixDomainSocketEndPoint(path), timeoutSeconds, out errno))
            return sock;
        sock.Dispose();
        return null;
    }

    // Service - "inet:host:port", "unix:path" (or "local:path"); a connected
    // socket, or null and errno. A malformed service name is fatal, as in
    // auto_clnt_create().
    public static Socket? Service(string service, int timeoutSeconds, out int errno, out string endpoint)
    {
        var colon = service.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0)
            Postfix.Util.Msg.Fatal($"need service transport:endpoint instead of \"{service}\"");
        var transport = service[..colon];
        endpoint = service[(colon + 1)..];
        switch (transport)
        {
            case "inet":
                return Inet(endpoint, timeoutSeconds, out errno);
            case "unix":
            case "local":
                return Unix(endpoint, timeoutSeconds, out errno);
            default:
                Postfix.Util.Msg.Fatal($"invalid transport name: {transport} in service: {service}");
                errno = 0;
                return null;
        }
    }

    // CheckService - the open-time syntax check of auto_clnt_create().
    public static void CheckService(string service)
    {
        var colon = service.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0)
            Postfix.Util.Msg.Fatal($"need service transport:endpoint instead of \"{service}\"");
        var transport = service[..colon];
        if (transport is not ("inet" or "unix" or "local"))
            Postfix.Util.Msg.Fatal($"invalid transport name: {transport} in service: {service}");
    }

    private static bool Connect(Socket sock, EndPoint ep, int timeoutSeconds, out int errno)
    {
        errno = 0;
        try
        {
            var task = sock.ConnectAsync(ep);
            if (!task.Wait(TimeSpan.FromSeconds(timeoutSeconds)))
            {
                errno = ETimedOut;
                return false;
            }
            sock.SendTimeout = sock.ReceiveTimeout = timeoutSeconds * 1000;
            return true;
        }
        catch (AggregateException e) when (e.InnerException is SocketException se)
        {
            errno = Errno(se);
            return false;
        }
        catch (SocketException se)
        {
            errno = Errno(se);
            return false;
        }
    }

    // Errno - the errno behind a SocketException (NativeErrorCode is errno on Unix).
    public static int Errno(SocketException e) => e.SocketErrorCode switch
    {
        SocketError.ConnectionRefused => EConnRefused,
        SocketError.TimedOut => ETimedOut,
        SocketError.ConnectionReset => 104,
        SocketError.HostUnreachable => 113,
        SocketError.NetworkUnreachable => 101,
        SocketError.AccessDenied => 13,
        SocketError.AddressNotAvailable when e.NativeErrorCode is > 0 and < 200 => e.NativeErrorCode,
        _ => e.NativeErrorCode is > 0 and < 200 ? e.NativeErrorCode : EConnRefused,
    };
}
