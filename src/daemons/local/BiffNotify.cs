// NAME
//	BiffNotify - the comsat ("biff") notice after a mailbox delivery
// POSTFIX
//	src/local/biff_notify.c
// DESCRIPTION
//	Send() sends one UDP datagram, "LOGNAME@OFFSET" and a null byte
//	(OFFSET: where the new message starts in the mailbox), to the biff
//	service (the udp port /etc/services names) on localhost. The address
//	and the socket are made once and reused. Problems are warnings, as
//	in the reference ("service not found: biff/udp", "host not found:
//	localhost", "biff_notify: ERROR").
using System;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Postfix.Util;

namespace Postfix.Daemons.Local;

internal static class BiffNotify
{
    private static IPEndPoint? target;
    private static Socket? socket;

    public static void Send(string logname, long offset)
    {
        if (target == null)
        {
            var port = ServicePort("biff", "udp");
            if (port < 0)
            {
                Msg.Warn("service not found: biff/udp");
                return;
            }
            IPAddress? addr = null;
            try
            {
                foreach (var a in Dns.GetHostAddresses("localhost"))
                {
                    if (a.AddressFamily == AddressFamily.InterNetwork)
                    {
                        addr = a;
                        break;
                    }
                }
            }
            catch (SocketException)
            {
            }
            if (addr == null)
            {
                Msg.Warn("host not found: localhost");
                return;
            }
            target = new IPEndPoint(addr, port);
        }
        try
        {
            socket ??= new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        }
        catch (SocketException e)
        {
            Msg.Warn($"socket: {e.Message}");
            return;
        }
        var text = Encoding.UTF8.GetBytes(logname + "@" + offset.ToString(System.Globalization.CultureInfo.InvariantCulture) + "\0");
        try
        {
            if (socket.SendTo(text, target) != text.Length)
                Msg.Warn("biff_notify: short write");
        }
        catch (SocketException e)
        {
            Msg.Warn($"biff_notify: {e.Message}");
        }
    }

    // ServicePort - getservbyname(NAME, PROTO) from /etc/services; -1 when absent.
    internal static int ServicePort(string name, string proto)
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines("/etc/services");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return -1;
        }
        foreach (var raw in lines)
        {
            var line = raw;
            var hash = line.IndexOf('#');
            if (hash >= 0)
                line = line[..hash];
            var f = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < 2)
                continue;
            var slash = f[1].IndexOf('/');
            if (slash < 0 || !f[1][(slash + 1)..].Equals(proto, StringComparison.Ordinal))
                continue;
            var match = f[0] == name;
            for (var i = 2; !match && i < f.Length; i++)
                match = f[i] == name;
            if (match && int.TryParse(f[1][..slash], out var port) && port is > 0 and < 65536)
                return port;
        }
        return -1;
    }
}
