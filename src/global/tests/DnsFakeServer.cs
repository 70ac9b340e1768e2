// NAME
//	DnsFakeServer - a tiny in-process DNS server for the resolver tests
// DESCRIPTION
//	Answers UDP and TCP queries on a loopback port from a table of
//	records: (name, type) -> list of (type, rdata). Special entries
//	make it answer with a chosen rcode, stay silent, or set the TC bit
//	on UDP so the client must retry over TCP.
using System;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using Postfix.Global.Dns;

namespace Postfix.Global.Tests;

internal sealed class DnsFakeServer : IDisposable
{
    private readonly Socket udp;
    private readonly TcpListener tcp;
    private readonly Thread udpThread;
    private readonly Thread tcpThread;
    private volatile bool stopping;

    public readonly ConcurrentDictionary<(string, int), List<(int Type, byte[] Data)>> Records = new();
    public readonly ConcurrentDictionary<string, int> Rcodes = new(StringComparer.OrdinalIgnoreCase);
    public readonly ConcurrentDictionary<string, bool> Silent = new(StringComparer.OrdinalIgnoreCase);
    public readonly ConcurrentDictionary<string, bool> TruncateUdp = new(StringComparer.OrdinalIgnoreCase);
    public int UdpQueries;
    public int TcpQueries;

    public DnsFakeServer()
    {
        udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        udp.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        Port = ((IPEndPoint)udp.LocalEndPoint!).Port;
        tcp = new TcpListener(IPAddress.Loopback, Port);
        tcp.Start();
        udpThread = new Thread(UdpLoop) { IsBackground = true };
        tcpThread = new Thread(TcpLoop) { IsBackground = true };
        udpThread.Start();
        tcpThread.Start();
    }

    public int Port { get; }

    public ResolvConf Conf(int timeout = 1, int attempts = 1, string search = "") =>
        ResolvConf.Parse($"nameserver 127.0.0.1#{Port}\noptions timeout:{timeout} attempts:{attempts}\n" + (search.Length > 0 ? $"search {search}\n" : "domain invalid.example\n"));

    public static byte[] Name(string name)
    {
        var list = new List<byte>();
        DnsWire.EncodeName(list, name);
        return list.ToArray();
    }

    public void Add(string name, int type, byte[] data) =>
        Records.GetOrAdd((name.ToLowerInvariant(), type), _ => new List<(int, byte[])>()).Add((type, data));

    public void AddA(string name, string addr) => Add(name, DnsType.A, IPAddress.Parse(addr).GetAddressBytes());
    public void AddAaaa(string name, string addr) => Add(name, DnsType.AAAA, IPAddress.Parse(addr).GetAddressBytes());
    public void AddMx(string name, int pref, string host)
    {
        var n = Name(host);
        var data = new byte[2 + n.Length];
        BinaryPrimitives.WriteUInt16BigEndian(data, (ushort)pref);
        n.CopyTo(data, 2);
        Add(name, DnsType.MX, data);
    }
    public void AddCname(string name, string target) => Add(name, DnsType.CNAME, Name(target));
    public void AddTxt(string name, string text)
    {
        var b = System.Text.Encoding.ASCII.GetBytes(text);
        var data = new byte[b.Length + 1];
        data[0] = (byte)b.Length;
        b.CopyTo(data, 1);
        Add(name, DnsType.TXT, data);
    }

    private byte[]? Answer(byte[] query, int length, bool viaUdp)
    {
        var msg = new DnsMessage(query, length);
        var q = msg.Questions(out var end)[0];
        var name = q.Name.ToLowerInvariant();
        if (Silent.ContainsKey(name))
            return null;
        var answers = new List<(string Owner, int Type, byte[] Data)>();
        var rcode = Rcodes.TryGetValue(name, out var rc) ? rc : DnsRcode.NoError;
        var known = false;
        var owner = name;
        for (var depth = 0; depth < 12 && rcode == DnsRcode.NoError; depth++)
        {
            if (Records.TryGetValue((owner, q.Type), out var direct))
            {
                known = true;
                foreach (var r in direct)
                    answers.Add((owner, r.Type, r.Data));
                break;
            }
            if (q.Type != DnsType.CNAME && Records.TryGetValue((owner, DnsType.CNAME), out var alias))
            {
                known = true;
                answers.Add((owner, DnsType.CNAME, alias[0].Data));
                var pos = 0;
                owner = DnsWire.ReadName(alias[0].Data, ref pos).ToLowerInvariant();
                continue;
            }
            foreach (var key in Records.Keys)
                if (key.Item1 == owner)
                    known = true;
            break;
        }
        if (!known && rcode == DnsRcode.NoError)
            rcode = DnsRcode.NxDomain;
        var truncate = viaUdp && TruncateUdp.ContainsKey(name);
        var reply = new List<byte>();
        reply.AddRange(query.AsSpan(0, 2).ToArray());
        reply.Add((byte)(0x80 | 0x01 | (truncate ? 0x02 : 0)));
        reply.Add((byte)(0x80 | rcode));
        reply.AddRange(new byte[] { 0, 1 });
        var count = truncate ? 0 : answers.Count;
        reply.Add((byte)(count >> 8));
        reply.Add((byte)count);
        reply.AddRange(new byte[] { 0, 0, 0, 0 });
        reply.AddRange(query.AsSpan(12, end - 12).ToArray());
        if (!truncate)
        {
            foreach (var (o, type, data) in answers)
            {
                reply.AddRange(Name(o));
                reply.AddRange(new byte[] { (byte)(type >> 8), (byte)type, 0, 1, 0, 0, 1, 0, (byte)(data.Length >> 8), (byte)data.Length });
                reply.AddRange(data);
            }
        }
        return reply.ToArray();
    }

    private void UdpLoop()
    {
        var buf = new byte[4096];
        while (!stopping)
        {
            EndPoint from = new IPEndPoint(IPAddress.Any, 0);
            int n;
            try
            {
                n = udp.ReceiveFrom(buf, ref from);
            }
            catch (Exception)
            {
                return;
            }
            Interlocked.Increment(ref UdpQueries);
            try
            {
                var reply = Answer(buf, n, true);
                if (reply != null)
                    udp.SendTo(reply, from);
            }
            catch (Exception)
            {
                // A bad query gets no answer.
            }
        }
    }

    private void TcpLoop()
    {
        while (!stopping)
        {
            TcpClient client;
            try
            {
                client = tcp.AcceptTcpClient();
            }
            catch (Exception)
            {
                return;
            }
            Interlocked.Increment(ref TcpQueries);
            using (client)
            {
                try
                {
                    var s = client.GetStream();
                    var lenBuf = new byte[2];
                    s.ReadExactly(lenBuf);
                    var body = new byte[BinaryPrimitives.ReadUInt16BigEndian(lenBuf)];
                    s.ReadExactly(body);
                    var reply = Answer(body, body.Length, false);
                    if (reply == null)
                        continue;
                    var framed = new byte[reply.Length + 2];
                    BinaryPrimitives.WriteUInt16BigEndian(framed, (ushort)reply.Length);
                    reply.CopyTo(framed, 2);
                    s.Write(framed);
                }
                catch (Exception)
                {
                    // Client went away.
                }
            }
        }
    }

    public void Dispose()
    {
        stopping = true;
        udp.Dispose();
        tcp.Stop();
    }
}
