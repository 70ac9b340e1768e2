// NAME
//	DovecotServerImpl, DovecotServer - SASL authentication through
//	Dovecot's auth service
// POSTFIX
//	src/xsasl/xsasl_dovecot_server.c
// DESCRIPTION
//	The path is "inet:HOST:PORT", "unix:PATH" or a PATH (relative paths
//	are relative to the working directory, which is the queue directory
//	in smtpd). The process keeps one connection to Dovecot, made on
//	first use: the client says VERSION 1.0 and CPID; the server's VERSION
//	(major 1), MECH lines (name and properties) and DONE complete the
//	handshake. An SPID before any MECH means the socket is the master
//	socket, not the client one.
//
//	A session's mechanism list is the server's list filtered by
//	smtpd_sasl_security_options: a mechanism is dropped when it has a
//	property the options forbid (plaintext, active, dictionary,
//	anonymous) or lacks one they require (forward_secrecy, mutual_auth);
//	"private" mechanisms are never offered.
//
//	First() sends "AUTH ID MECH service=S nologin lip=L rip=R [secured]
//	[resp=BASE64]" and Next() "CONT ID BASE64"; Dovecot answers OK (with
//	user=NAME), CONT (a base64 challenge) or FAIL (maybe reason=TEXT).
//
//	Thread-safe: sessions on several threads share the one connection.
//	Requests carry a process-wide id; a reader thread hands each reply to
//	the session waiting for that id, so that one slow answer (Dovecot
//	delays failures) does not hold up the others. A lost connection fails
//	the requests in flight ("Connection lost to authentication server")
//	and the next request reconnects.
using System;
using System.Collections.Generic;
using System.IO;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using Postfix.Util;

namespace Postfix.Xsasl;

public sealed class DovecotServerImpl : XsaslServerImpl
{
    internal const int MajorVersion = 1;
    internal const int MinorVersion = 0;

    // AUTH_TIMEOUT: connect, read and write limit in seconds.
    internal const int DefaultAuthTimeout = 10;

    // AuthTimeout - this back-end's limit (tests shorten it).
    internal int AuthTimeout { get; set; } = DefaultAuthTimeout;

    [Flags]
    internal enum SecProps
    {
        None = 0,
        NoPlaintext = 1 << 0,
        NoActive = 1 << 1,
        NoDictionary = 1 << 2,
        NoAnonymous = 1 << 3,
        ForwardSecrecy = 1 << 4,
        MutualAuth = 1 << 5,
        Private = 1 << 6,
        Positive = MutualAuth | ForwardSecrecy,
        Negative = NoPlaintext | NoActive | NoDictionary | NoAnonymous,
    }

    // smtpd_sasl_security_options names.
    private static readonly (string Name, SecProps Bit)[] ConfProps =
    [
        ("noplaintext", SecProps.NoPlaintext), ("noactive", SecProps.NoActive),
        ("nodictionary", SecProps.NoDictionary), ("noanonymous", SecProps.NoAnonymous),
        ("forward_secrecy", SecProps.ForwardSecrecy), ("mutual_auth", SecProps.MutualAuth),
    ];

    // The properties of a MECH line, as Dovecot names them.
    private static readonly (string Name, SecProps Bit)[] ServerProps =
    [
        ("plaintext", SecProps.NoPlaintext), ("active", SecProps.NoActive),
        ("dictionary", SecProps.NoDictionary), ("anonymous", SecProps.NoAnonymous),
        ("forward-secrecy", SecProps.ForwardSecrecy), ("mutual-auth", SecProps.MutualAuth),
        ("private", SecProps.Private),
    ];

    private readonly object gate = new();
    private Connection? conn;
    private uint requestIdCounter;

    internal DovecotServerImpl(string socketPath)
    {
        SocketPath = socketPath;
    }

    public string SocketPath { get; }

    public override XsaslServer? Create(XsaslServerArgs args)
    {
        if (Msg.Verbose > 0)
            Msg.Info($"xsasl_dovecot_server_create: SASL service={args.Service}, realm={args.UserRealm ?? "(null)"}");
        var props = ParseConfProps(args.SecurityOptions);
        return new DovecotServer(this, args, props);
    }

    // ParseConfProps - name_mask_opt(..., NAME_MASK_ANY_CASE | NAME_MASK_FATAL).
    internal static SecProps ParseConfProps(string options)
    {
        var result = SecProps.None;
        foreach (var name in options.Split([',', ' ', '\t', '\r', '\n'], StringSplitOptions.RemoveEmptyEntries))
        {
            var found = false;
            foreach (var (n, bit) in ConfProps)
            {
                if (string.Equals(n, name, StringComparison.OrdinalIgnoreCase))
                {
                    result |= bit;
                    found = true;
                    break;
                }
            }
            if (!found)
                Msg.Fatal($"unknown xsasl_dovecot_server_create value \"{name}\" in \"{options}\"");
        }
        return result;
    }

    // ParseServerProps - the tab-separated MECH properties; unknown ones are ignored.
    internal static SecProps ParseServerProps(string props)
    {
        var result = SecProps.None;
        foreach (var name in props.Split('\t', StringSplitOptions.RemoveEmptyEntries))
        {
            foreach (var (n, bit) in ServerProps)
            {
                if (string.Equals(n, name, StringComparison.OrdinalIgnoreCase))
                {
                    result |= bit;
                    break;
                }
            }
        }
        return result;
    }

    // Filter - xsasl_dovecot_server_mech_filter().
    internal static List<string> Filter(IEnumerable<(string Name, SecProps Props)> mechanisms, SecProps conf)
    {
        var pos = conf & SecProps.Positive;
        var neg = conf & SecProps.Negative;
        var keep = new List<string>();
        foreach (var (name, props) in mechanisms)
        {
            if ((props & pos) == pos && (props & neg) == 0)
            {
                keep.Add(name);
                if (Msg.Verbose > 0)
                    Msg.Info($"xsasl_dovecot_server_mech_filter: keep mechanism: {name}");
            }
            else if (Msg.Verbose > 0)
            {
                Msg.Info($"xsasl_dovecot_server_mech_filter: skip mechanism: {name}");
            }
        }
        return keep;
    }

    // Mechanisms - the server's mechanisms, connecting when needed (null:
    // no connection).
    internal List<(string Name, SecProps Props)>? Mechanisms()
    {
        lock (gate)
        {
            var c = Current();
            return c?.Mechanisms;
        }
    }

    // Current - the live connection, made on demand (gate held).
    private Connection? Current()
    {
        if (conn != null && !conn.Dead)
            return conn;
        conn?.Dispose();
        conn = Connection.Open(SocketPath, AuthTimeout);
        return conn;
    }

    // Send - send one request line (made from the new request id) and
    // return the pending reply; on a write failure reconnect and try once
    // more. null with reply set when that failed.
    internal Pending? Send(Func<uint, string> line, bool reconnect, out string? failure)
    {
        failure = null;
        lock (gate)
        {
            for (var i = 0; i < 2; i++)
            {
                var c = reconnect ? Current() : conn;
                if (c == null || (!reconnect && c.Dead))
                {
                    failure = reconnect ? null : "Connection lost to authentication server";
                    return null;
                }
                var id = ++requestIdCounter;
                var pending = c.Expect(id);
                if (c.Write(line(id)))
                    return pending;
                c.Forget(id);
                if (!reconnect)
                {
                    failure = "Connection lost to authentication server";
                    return null;
                }
                if (i == 1)
                {
                    failure = "Can't connect to authentication server";
                    return null;
                }
                c.Dispose();
                conn = null;
            }
        }
        return null;
    }

    // SendCont - a continuation for an existing request id.
    internal Pending? SendCont(uint id, string response)
    {
        lock (gate)
        {
            var c = conn;
            if (c == null || c.Dead)
                return null;
            var pending = c.Expect(id);
            if (c.Write($"CONT\t{id}\t{response}\n"))
                return pending;
            c.Forget(id);
            return null;
        }
    }

    public override void Dispose()
    {
        lock (gate)
        {
            conn?.Dispose();
            conn = null;
        }
        base.Dispose();
    }

    // Pending - one request's reply line (command and the rest after the id).
    internal sealed class Pending
    {
        private readonly ManualResetEventSlim done = new();
        private string? line;

        public uint Id { get; init; }

        public void Complete(string? reply)
        {
            line = reply;
            done.Set();
        }

        // Wait - the reply line, or null (connection lost, timeout).
        public string? Wait(TimeSpan timeout) => done.Wait(timeout) ? line : null;
    }

    // Connection - one handshaken stream to Dovecot and its reader thread.
    private sealed class Connection : IDisposable
    {
        private readonly Socket socket;
        private readonly NetworkStream stream;
        private readonly StreamReader reader;
        private readonly Dictionary<uint, Pending> pending = [];
        private volatile bool dead;

        private Connection(Socket socket)
        {
            this.socket = socket;
            stream = new NetworkStream(socket, ownsSocket: true);
            reader = new StreamReader(stream, new UTF8Encoding(false), false, 4096);
        }

        public List<(string Name, SecProps Props)> Mechanisms { get; } = [];

        public bool Dead => dead;

        public static Connection? Open(string path, int timeout)
        {
            if (Msg.Verbose > 0)
                Msg.Info("xsasl_dovecot_server_connect: Connecting");
            var s = ConnectSocket(path, timeout, out var errno);
            if (s == null)
            {
                Msg.Warn($"SASL: Connect to Dovecot auth socket '{path}' failed: {Sys.StrError(errno)}");
                return null;
            }
            s.SendTimeout = timeout * 1000;
            s.ReceiveTimeout = timeout * 1000;
            var c = new Connection(s);
            if (!c.Handshake())
            {
                c.Dispose();
                return null;
            }
            // The reader thread waits as long as it takes; requests time out on their own.
            s.ReceiveTimeout = 0;
            var t = new Thread(c.ReadLoop) { IsBackground = true, Name = "dovecot-auth" };
            t.Start();
            return c;
        }

        private static Socket? ConnectSocket(string path, int timeout, out int errno)
        {
            errno = 0;
            Socket? s = null;
            try
            {
                if (path.StartsWith("inet:", StringComparison.Ordinal))
                {
                    var hostPort = path[5..];
                    var colon = hostPort.LastIndexOf(':');
                    var host = colon < 0 ? hostPort : hostPort[..colon];
                    var port = colon < 0 ? "" : hostPort[(colon + 1)..];
                    if (host.StartsWith('[') && host.EndsWith(']'))
                        host = host[1..^1];
                    if (!int.TryParse(port, out var portNumber))
                    {
                        errno = 22;
                        return null;
                    }
                    s = new Socket(SocketType.Stream, ProtocolType.Tcp);
                    var task = s.ConnectAsync(host.Length == 0 ? "localhost" : host, portNumber);
                    if (!task.Wait(TimeSpan.FromSeconds(timeout)))
                    {
                        errno = 110;
                        s.Dispose();
                        return null;
                    }
                }
                else
                {
                    var p = path.StartsWith("unix:", StringComparison.Ordinal) ? path[5..] : path;
                    s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                    s.Connect(new UnixDomainSocketEndPoint(p));
                }
                return s;
            }
            catch (AggregateException e) when (e.InnerException is SocketException se)
            {
                errno = Errno(se);
            }
            catch (SocketException se)
            {
                errno = Errno(se);
            }
            catch (ArgumentException)
            {
                errno = 22;
            }
            s?.Dispose();
            return null;
        }

        private static int Errno(SocketException e) => e.SocketErrorCode switch
        {
            SocketError.ConnectionRefused => 111,
            SocketError.AddressNotAvailable => 2,
            SocketError.AccessDenied => 13,
            SocketError.TimedOut => 110,
            SocketError.HostNotFound => 2,
            SocketError.ConnectionReset => 104,
            SocketError.Shutdown => 32,
            _ => e.NativeErrorCode > 0 && e.NativeErrorCode < 4096 ? e.NativeErrorCode : 5,
        };

        private bool Handshake()
        {
            if (!Write($"VERSION\t{MajorVersion}\t{MinorVersion}\nCPID\t{Environment.ProcessId}\n"))
            {
                Msg.Warn($"SASL: Couldn't send handshake: {Sys.StrError(lastErrno)}");
                return false;
            }
            var haveMech = false;
            string? line;
            while ((line = ReadLine()) != null)
            {
                if (Msg.Verbose > 0)
                    Msg.Info($"xsasl_dovecot_server_connect: auth reply: {line}");
                var tab = line.IndexOf('\t');
                var cmd = tab < 0 ? line : line[..tab];
                string? rest = tab < 0 ? null : line[(tab + 1)..];
                switch (cmd)
                {
                    case "VERSION":
                    {
                        var parts = (rest ?? "").Split('\t');
                        if (parts.Length < 2 || !uint.TryParse(parts[0], out var major) || !uint.TryParse(LeadingDigits(parts[1]), out _))
                        {
                            Msg.Warn("SASL: Protocol version error");
                            return false;
                        }
                        if (major != MajorVersion)
                        {
                            Msg.Warn($"SASL: Protocol version mismatch ({(int)major} vs. {MajorVersion})");
                            return false;
                        }
                        break;
                    }
                    case "MECH" when rest != null:
                    {
                        haveMech = true;
                        var t = rest.IndexOf('\t');
                        var name = t < 0 ? rest : rest[..t];
                        var props = t < 0 ? SecProps.None : ParseServerProps(rest[(t + 1)..]);
                        if ((props & SecProps.Private) != 0)
                            break;
                        Mechanisms.Add((name, props));
                        break;
                    }
                    case "SPID":
                        if (!haveMech)
                        {
                            Msg.Warn("SASL: Connected to wrong auth socket (auth-master instead of auth-client)");
                            return false;
                        }
                        break;
                    case "DONE":
                        return true;
                }
            }
            return false;
        }

        private static string LeadingDigits(string s)
        {
            var n = 0;
            while (n < s.Length && char.IsAsciiDigit(s[n]))
                n++;
            return s[..n];
        }

        private int lastErrno;

        private string? ReadLine()
        {
            try
            {
                return reader.ReadLine();
            }
            catch (IOException e)
            {
                lastErrno = e.InnerException is SocketException se ? Errno(se) : 5;
                return null;
            }
            catch (ObjectDisposedException)
            {
                return null;
            }
        }

        public bool Write(string text)
        {
            if (dead)
                return false;
            try
            {
                var bytes = Encoding.UTF8.GetBytes(text);
                stream.Write(bytes);
                return true;
            }
            catch (IOException e)
            {
                lastErrno = e.InnerException is SocketException se ? Errno(se) : 5;
            }
            catch (ObjectDisposedException)
            {
                lastErrno = 9;
            }
            MarkDead();
            return false;
        }

        public Pending Expect(uint id)
        {
            var p = new Pending { Id = id };
            lock (pending)
                pending[id] = p;
            return p;
        }

        public void Forget(uint id)
        {
            lock (pending)
                pending.Remove(id);
        }

        // ReadLoop - hand each OK, CONT or FAIL line to its request.
        private void ReadLoop()
        {
            string? line;
            while ((line = ReadLine()) != null)
            {
                if (Msg.Verbose > 0)
                    Msg.Info($"xsasl_dovecot_handle_reply: auth reply: {line}");
                var tab = line.IndexOf('\t');
                if (tab < 0)
                    continue;
                var cmd = line[..tab];
                if (cmd is not ("OK" or "CONT" or "FAIL"))
                    continue;
                var rest = line[(tab + 1)..];
                var t2 = rest.IndexOf('\t');
                var idText = t2 < 0 ? rest : rest[..t2];
                if (!TryParseId(idText, out var id))
                    continue;
                Pending? p;
                lock (pending)
                {
                    if (pending.Remove(id, out p) == false)
                        continue;
                }
                p!.Complete(line);
            }
            MarkDead();
        }

        // TryParseId - strtoul(id, NULL, 0).
        private static bool TryParseId(string s, out uint id)
        {
            id = 0;
            if (s.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
                return uint.TryParse(s.AsSpan(2), System.Globalization.NumberStyles.HexNumber, null, out id);
            if (s.Length > 1 && s[0] == '0')
            {
                try
                {
                    id = Convert.ToUInt32(s, 8);
                    return true;
                }
                catch (FormatException)
                {
                    return false;
                }
            }
            return uint.TryParse(LeadingDigits(s), out id);
        }

        private void MarkDead()
        {
            dead = true;
            List<Pending> failed;
            lock (pending)
            {
                failed = [.. pending.Values];
                pending.Clear();
            }
            foreach (var p in failed)
                p.Complete(null);
        }

        public void Dispose()
        {
            dead = true;
            try
            {
                socket.Shutdown(SocketShutdown.Both);
            }
            catch (SocketException)
            {
                // Already gone.
            }
            catch (ObjectDisposedException)
            {
                // Already closed.
            }
            stream.Dispose();
            MarkDead();
        }
    }
}

// DovecotServer - one SMTP session's use of the Dovecot back-end.
public sealed class DovecotServer : XsaslServer
{
    private readonly DovecotServerImpl impl;
    private readonly XsaslServerArgs args;
    private readonly DovecotServerImpl.SecProps secProps;
    private List<string>? mechanisms;
    private string? mechanismList;
    private uint lastRequestId;
    private string? username;

    internal DovecotServer(DovecotServerImpl impl, XsaslServerArgs args, DovecotServerImpl.SecProps secProps)
    {
        this.impl = impl;
        this.args = args;
        this.secProps = secProps;
    }

    public override string MechanismList
    {
        get
        {
            if (mechanismList == null)
            {
                var all = impl.Mechanisms();
                if (all == null)
                    return "";
                mechanisms = DovecotServerImpl.Filter(all, secProps);
                mechanismList = string.Join(' ', mechanisms);
            }
            return mechanismList;
        }
    }

    public override string? Username => username;

    // IsValidBase64 - only the base64 alphabet and '='.
    internal static bool IsValidBase64(string data)
    {
        foreach (var c in data)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c == '+' || c == '/' || c == '='))
                return false;
        }
        return true;
    }

    public override XsaslStatus First(string mechanism, string? initialResponse, out string reply)
    {
        if (Msg.Verbose > 0)
            Msg.Info($"xsasl_dovecot_server_first: sasl_method {mechanism}"
                + (initialResponse != null ? ", init_response " + initialResponse : ""));
        if (mechanisms == null)
        {
            _ = MechanismList;
            if (mechanisms == null)
            {
                reply = "";
                return XsaslStatus.Temp;
            }
        }
        if (!mechanisms.Exists(m => string.Equals(m, mechanism, StringComparison.OrdinalIgnoreCase)))
        {
            reply = "Invalid authentication mechanism";
            return XsaslStatus.Fail;
        }
        if (initialResponse != null && !IsValidBase64(initialResponse))
        {
            reply = "Invalid base64 data in initial response";
            return XsaslStatus.Fail;
        }
        var pending = impl.Send(id =>
        {
            var sb = new StringBuilder();
            sb.Append("AUTH\t").Append(id).Append('\t').Append(mechanism)
                .Append("\tservice=").Append(args.Service).Append("\tnologin\tlip=").Append(args.ServerAddr)
                .Append("\trip=").Append(args.ClientAddr);
            if (args.TlsActive)
                sb.Append("\tsecured");
            if (initialResponse != null)
                sb.Append("\tresp=").Append(initialResponse);
            sb.Append('\n');
            return sb.ToString();
        }, reconnect: true, out var failure);
        if (pending == null)
        {
            reply = failure ?? "";
            return XsaslStatus.Temp;
        }
        lastRequestId = pending.Id;
        return HandleReply(pending, out reply);
    }

    public override XsaslStatus Next(string response, out string reply)
    {
        if (!IsValidBase64(response))
        {
            reply = "Invalid base64 data in continued response";
            return XsaslStatus.Fail;
        }
        var pending = impl.SendCont(lastRequestId, response);
        if (pending == null)
        {
            reply = "Connection lost to authentication server";
            return XsaslStatus.Temp;
        }
        return HandleReply(pending, out reply);
    }

    // HandleReply - xsasl_dovecot_handle_reply().
    private XsaslStatus HandleReply(DovecotServerImpl.Pending pending, out string reply)
    {
        var line = pending.Wait(TimeSpan.FromSeconds(impl.AuthTimeout));
        if (line == null)
        {
            reply = "Connection lost to authentication server";
            return XsaslStatus.Temp;
        }
        var fields = line.Split('\t');
        var cmd = fields[0];
        switch (cmd)
        {
            case "OK":
                ParseArgs(fields, true, out reply);
                if (username == null)
                {
                    Msg.Warn($"missing Dovecot server {cmd} username field");
                    reply = "Authentication backend error";
                    return XsaslStatus.Fail;
                }
                return XsaslStatus.Done;
            case "CONT":
                if (fields.Length < 3)
                {
                    Msg.Warn($"missing Dovecot server {cmd} reply field");
                    reply = "Authentication backend error";
                    return XsaslStatus.Fail;
                }
                reply = fields[2];
                return XsaslStatus.More;
            default:
                ParseArgs(fields, false, out reply);
                return XsaslStatus.Fail;
        }
    }

    private void ParseArgs(string[] fields, bool success, out string reply)
    {
        username = null;
        reply = "";
        for (var i = 2; i < fields.Length; i++)
        {
            var f = fields[i];
            if (f.StartsWith("user=", StringComparison.Ordinal))
                username = Msg.Printable(f[5..]);
            else if (f.StartsWith("reason=", StringComparison.Ordinal) && !success)
                reply = Msg.Printable(f[7..]);
        }
    }
}
