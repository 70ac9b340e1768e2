// NAME
//	PolicyClient - one check_policy_service endpoint
// POSTFIX
//	src/smtpd/smtpd_check.c (policy_client_register, check_policy_service),
//	src/util/attr_clnt.c, src/util/auto_clnt.c, src/util/attr_print_plain.c
// DESCRIPTION
//	The policy delegation protocol: "name=value" lines ended by an empty
//	line, answered by "action=..." and an empty line. The connection is
//	kept for reuse (closed after max_idle of inactivity, max_ttl of age
//	or request_limit requests); a failed request is retried try_limit
//	times with retry_delay in between. One connection per endpoint,
//	shared by the sessions of a process under a lock.
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using Postfix.Global.Config;
using Postfix.Util;

namespace Postfix.Daemons.SmtpdCheck;

public sealed class PolicyClient : IDisposable
{
    private readonly object sync = new();
    private Socket? socket;
    private NetworkStream? stream;
    private long connectedAt;
    private long lastUsed;
    private int requestCount;

    public PolicyClient(string endpoint)
    {
        Endpoint = endpoint;
        var colon = endpoint.IndexOf(':');
        Name = colon < 0 ? endpoint : endpoint[(colon + 1)..];
    }

    // Endpoint - "inet:host:port" or "unix:path" as configured.
    public string Endpoint { get; }

    // Name - the endpoint without its transport, as auto_clnt reports it.
    public string Name { get; }
    public int Timeout = 100;
    public int MaxIdle = 300;
    public int MaxTtl = 1000;
    public int TryDelay = 1;
    public int RequestLimit;
    public int TryLimit = 2;
    public string DefaultAction = "451 4.3.5 Server configuration problem";
    public string PolicyContext = "";

    // Register - policy_client_register(): "endpoint" or "{ endpoint, name=value ... }".
    public static PolicyClient Create(string spec, MailConf conf)
    {
        var name = spec;
        var overrides = new List<string>();
        if (spec.StartsWith('{'))
        {
            if (!spec.EndsWith('}'))
                Msg.Fatal($"policy service syntax error: {spec}");
            var parts = SmtpdChecker.SplitList(spec[1..^1]);
            if (parts.Count == 0)
                Msg.Fatal($"empty policy service: \"{spec}\"");
            name = parts[0];
            overrides.AddRange(parts.GetRange(1, parts.Count - 1));
        }
        var client = new PolicyClient(name)
        {
            Timeout = Time(conf, "smtpd_policy_service_timeout", conf.Eval("smtpd_policy_service_timeout")),
            MaxIdle = Time(conf, "smtpd_policy_service_max_idle", conf.Eval("smtpd_policy_service_max_idle")),
            MaxTtl = Time(conf, "smtpd_policy_service_max_ttl", conf.Eval("smtpd_policy_service_max_ttl")),
            TryDelay = Time(conf, "smtpd_policy_service_retry_delay", conf.Eval("smtpd_policy_service_retry_delay")),
            RequestLimit = Int(conf, "smtpd_policy_service_request_limit", conf.Eval("smtpd_policy_service_request_limit")),
            TryLimit = Int(conf, "smtpd_policy_service_try_limit", conf.Eval("smtpd_policy_service_try_limit")),
            DefaultAction = conf.Eval("smtpd_policy_service_default_action"),
            PolicyContext = conf.Eval("smtpd_policy_service_policy_context"),
        };
        foreach (var o in overrides)
        {
            var eq = o.IndexOf('=');
            if (eq < 0)
                Msg.Fatal($"missing '=' after attribute name: \"{o}\"");
            var key = o[..eq].Trim();
            var value = o[(eq + 1)..].Trim();
            if (value.StartsWith('{') && value.EndsWith('}'))
                value = value[1..^1].Trim();
            switch (key)
            {
                case "timeout": client.Timeout = Time(conf, key, value); break;
                case "max_idle": client.MaxIdle = Time(conf, key, value); break;
                case "max_ttl": client.MaxTtl = Time(conf, key, value); break;
                case "retry_delay": client.TryDelay = Time(conf, key, value); break;
                case "request_limit": client.RequestLimit = Int(conf, key, value); break;
                case "try_limit": client.TryLimit = Int(conf, key, value); break;
                case "default_action": client.DefaultAction = value; break;
                case "policy_context": client.PolicyContext = value; break;
                default: Msg.Fatal($"unknown attribute name: \"{key}\""); break;
            }
        }
        return client;
    }

    private static int Time(MailConf conf, string name, string value)
    {
        if (!Postfix.Util.ConvTime.TryParse(value, 's', out var seconds) || seconds < 1)
            Msg.Fatal($"invalid {name} value: \"{value}\"");
        return seconds;
    }

    private static int Int(MailConf conf, string name, string value)
    {
        if (!int.TryParse(value, out var n) || n < 0)
            Msg.Fatal($"invalid {name} value: \"{value}\"");
        return n;
    }

    // Request - attr_clnt_request(): the action, or null after failure.
    public string? Request(IReadOnlyList<KeyValuePair<string, string>> attrs)
    {
        var buf = new StringBuilder();
        foreach (var (k, v) in attrs)
            buf.Append(k).Append('=').Append(v).Append('\n');
        buf.Append('\n');
        var request = Encoding.UTF8.GetBytes(buf.ToString());
        lock (sync)
        {
            for (var count = 0; ;)
            {
                string? error = null;
                var now = Stopwatch.GetTimestamp();
                if (socket != null && (Elapsed(lastUsed, now) >= MaxIdle || Elapsed(connectedAt, now) >= MaxTtl || Readable()))
                    Close();
                if (socket == null && !Connect(out error))
                {
                    Msg.Warn($"connect to {Name}: {error}");
                }
                else if (stream != null)
                {
                    try
                    {
                        stream.Write(request);
                        stream.Flush();
                        var reply = ReadReply(stream, out var action);
                        if (reply && action != null)
                        {
                            lastUsed = Stopwatch.GetTimestamp();
                            if (RequestLimit > 0 && ++requestCount >= RequestLimit)
                                Close();
                            return action;
                        }
                        if (reply)
                        {
                            Msg.Warn($"missing attribute action in input from {Name}");
                            Close();
                            return null;
                        }
                        error = null;
                    }
                    catch (IOException e)
                    {
                        error = e.InnerException is SocketException se && se.SocketErrorCode == SocketError.TimedOut
                            ? "Connection timed out" : e.InnerException is SocketException se2 ? SocketText(se2) : e.Message;
                    }
                    catch (SocketException e)
                    {
                        error = SocketText(e);
                    }
                }
                if ((++count >= TryLimit && TryLimit > 0) || Msg.Verbose > 0 || error != null)
                    Msg.Warn($"problem talking to server {Name}: {error ?? "Success"}");
                Close();
                if (count >= TryLimit && TryLimit > 0)
                    return null;
                Thread.Sleep(TimeSpan.FromSeconds(TryDelay));
            }
        }
    }

    private static double Elapsed(long from, long now) => (now - from) / (double)Stopwatch.Frequency;

    private bool Readable()
    {
        try
        {
            return socket!.Poll(0, SelectMode.SelectRead);
        }
        catch (SocketException)
        {
            return true;
        }
    }

    private bool Connect(out string error)
    {
        error = "";
        var colon = Endpoint.IndexOf(':');
        var transport = colon < 0 ? "unix" : Endpoint[..colon];
        var dest = colon < 0 ? Endpoint : Endpoint[(colon + 1)..];
        Socket s;
        try
        {
            if (transport == "inet")
            {
                var c = dest.LastIndexOf(':');
                if (c < 0)
                {
                    error = "Invalid argument";
                    return false;
                }
                var host = dest[..c].Trim('[', ']');
                var port = int.Parse(dest[(c + 1)..]);
                s = new Socket(SocketType.Stream, ProtocolType.Tcp);
                var ar = s.BeginConnect(host, port, null, null);
                if (!ar.AsyncWaitHandle.WaitOne(TimeSpan.FromSeconds(Timeout)))
                {
                    s.Dispose();
                    error = "Connection timed out";
                    return false;
                }
                s.EndConnect(ar);
            }
            else
            {
                s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                s.Connect(new UnixDomainSocketEndPoint(dest));
            }
        }
        catch (SocketException e)
        {
            error = SocketText(e);
            return false;
        }
        catch (FormatException)
        {
            error = "Invalid argument";
            return false;
        }
        s.ReceiveTimeout = s.SendTimeout = Timeout * 1000;
        socket = s;
        stream = new NetworkStream(s, ownsSocket: true);
        connectedAt = lastUsed = Stopwatch.GetTimestamp();
        requestCount = 0;
        return true;
    }

    private static string SocketText(SocketException e) => e.SocketErrorCode switch
    {
        SocketError.ConnectionRefused => "Connection refused",
        SocketError.ConnectionReset => "Connection reset by peer",
        SocketError.TimedOut => "Connection timed out",
        SocketError.AddressNotAvailable => "No such file or directory",
        _ when e.NativeErrorCode == 2 => "No such file or directory",
        _ => e.Message,
    };

    // ReadReply - read "name=value" lines up to the empty line.
    private static bool ReadReply(Stream s, out string? action)
    {
        action = null;
        var line = new List<byte>();
        var any = false;
        while (true)
        {
            var b = s.ReadByte();
            if (b < 0)
                return false;
            any = true;
            if (b != '\n')
            {
                line.Add((byte)b);
                continue;
            }
            if (line.Count == 0)
                return any;
            var text = Encoding.UTF8.GetString(line.ToArray());
            line.Clear();
            var eq = text.IndexOf('=');
            if (eq > 0 && text[..eq] == "action")
                action ??= text[(eq + 1)..];
        }
    }

    private void Close()
    {
        stream?.Dispose();
        socket?.Dispose();
        stream = null;
        socket = null;
    }

    public void Dispose()
    {
        lock (sync)
            Close();
    }
}
