// NAME
//	MasterConfig - read master.cf into services
// POSTFIX
//	src/master/master_ent.c, src/global/match_service.c
// DESCRIPTION
//	Read() parses master.cf with the reference's rules: logical lines,
//	"-" for a column's default, y/n booleans, numeric columns, "{ }"
//	quoted arguments, master_service_disable, and the same fatal texts
//	("master.cf: line N: ..."). Defaults: private y, unprivileged y,
//	chroot n (y below compatibility level 1), wakeup 0, process limit
//	$default_process_limit.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Net;
using Postfix.Global.Config;
using Postfix.Util;

namespace Postfix.Daemons.Master;

internal sealed class MasterConfig
{
    private static readonly char[] Blanks = [' ', '\t', '\r', '\n'];

    private readonly string path;
    private readonly MailConf conf;
    private readonly bool detached;
    private int line;

    public MasterConfig(MailConf conf, bool detached)
    {
        this.conf = conf;
        this.detached = detached;
        path = conf.ConfigDirectory + "/" + MailConf.MasterConfFile;
    }

    public List<MasterService> Read()
    {
        byte[] data;
        try
        {
            data = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Msg.Fatal($"open {path}: {Sys.StrError(Sys.ErrnoOf(e))}");
            return null!;
        }
        var families = MyNetworks.Families(conf.Eval("inet_protocols"));
        var disable = conf.Eval("master_service_disable");
        if (families.Count == 0)
        {
            Msg.Warn($"all network protocols are disabled (inet_protocols = {conf.Eval("inet_protocols")})");
            Msg.Warn("disabling all type \"inet\" services in master.cf");
            disable = "inet," + disable;
        }
        var disabled = disable.Split([',', ' ', '\t', '\r', '\n'], StringSplitOptions.RemoveEmptyEntries);
        var reader = new LogicalLineReader(data, path);
        var list = new List<MasterService>();
        string? text;
        while ((text = reader.Next(out var first)) != null)
        {
            line = first;
            var rest = text.AsSpan();
            var name = Token(ref rest);
            if (name == null)
                continue;
            var transport = StrField(ref rest, "transport type", null);
            if (IsDisabled(disabled, name, transport))
                continue;
            list.Add(Entry(name, transport, rest.ToString(), families));
        }
        return list;
    }

    private static bool IsDisabled(string[] patterns, string name, string transport)
    {
        foreach (var p in patterns)
        {
            var slash = p.IndexOf('/');
            if (slash < 0 ? p.Equals(transport, StringComparison.OrdinalIgnoreCase)
                : p[..slash].Equals(name, StringComparison.OrdinalIgnoreCase) && p[(slash + 1)..].Equals(transport, StringComparison.OrdinalIgnoreCase))
                return true;
        }
        return false;
    }

    private MasterService Entry(string name, string transport, string restText, List<int> families)
    {
        var rest = restText.AsSpan();
        ServiceType type = transport switch
        {
            "inet" => ServiceType.Inet,
            "unix" => ServiceType.Unix,
            "unix-dgram" => ServiceType.UnixDgram,
            "fifo" => ServiceType.Fifo,
            "pass" => ServiceType.Pass,
            _ => Fatal<ServiceType>($"bad transport type: {transport}"),
        };
        var addresses = new List<IPAddress>();
        var port = 0;
        var localOnly = type != ServiceType.Inet && type != ServiceType.Pass;
        string endpoint;
        var isPrivate = BoolField(ref rest, "private", "y");
        if (type == ServiceType.Inet)
        {
            var (host, portText) = SplitHostPort(name);
            port = ResolvePort(portText, name);
            if (host.Length > 0)
            {
                if (!IPAddress.TryParse(host, out var ip))
                {
                    if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase))
                        ip = IPAddress.Loopback;
                    else
                        Fatal<int>($"bad hostname or network address: {name}");
                }
                addresses.Add(ip!);
            }
            else
            {
                var interfaces = conf.Eval("inet_interfaces");
                if (interfaces.Trim().Equals("all", StringComparison.OrdinalIgnoreCase))
                {
                    foreach (var f in families)
                        addresses.Add(f == 2 ? IPAddress.Any : IPAddress.IPv6Any);
                }
                else
                {
                    foreach (var a in MyNetworks.OwnAddresses(interfaces, families))
                        addresses.Add(new IPAddress(a.Address));
                }
            }
            if (addresses.Count == 0)
                Fatal<int>($"no valid IP address found: {name}");
            localOnly = addresses.TrueForAll(IPAddress.IsLoopback);
            if (isPrivate)
                Fatal<int>("inet service cannot be private");
            endpoint = host.Length > 0 ? $"[{host}]:{port}" : port.ToString(CultureInfo.InvariantCulture);
        }
        else
        {
            endpoint = (isPrivate ? "private/" : "public/") + name;
        }
        var unprivileged = BoolField(ref rest, "unprivileged", "y");
        var chroot = BoolField(ref rest, "chroot", CompatLevel.FromString(conf.Eval("compatibility_level"), t => Msg.Fatal(t)) < CompatLevel.FromString("1", t => Msg.Fatal(t)) ? "y" : "n");
        var wakeText = StrField(ref rest, "wakeup_time", "0");
        var wakeup = IntValue("wakeup_time", wakeText);
        var conditional = wakeup > 0 && wakeText.EndsWith('?');
        var maxProc = IntValue("max_proc", StrField(ref rest, "max_proc", conf.Eval("default_process_limit")));
        var command = StrField(ref rest, "command", null);
        var serv = new MasterService
        {
            ExtName = name,
            Type = type,
            Transport = transport,
            Name = endpoint,
            InetPort = port,
            LocalOnly = localOnly,
            WakeupTime = wakeup,
            ConditionalWakeup = conditional,
            MaxProc = maxProc,
            ThrottleDelay = TimeValue(conf.Eval("service_throttle_time")),
            Path = conf.Eval("daemon_directory") + "/" + command,
            ListenFdCount = type == ServiceType.Inet ? addresses.Count : 1,
        };
        serv.InetAddresses.AddRange(addresses);
        var args = serv.Args;
        args.Add(command);
        if (maxProc == 1)
            args.Add("-l");
        if (maxProc == 0)
            args.Add("-z");
        var slash = command.LastIndexOf('/');
        if ((slash >= 0 ? command[(slash + 1)..] : command) != name)
            args.AddRange(["-n", name]);
        args.AddRange(["-t", transport]);
        if (!detached)
            args.Add("-d");
        for (var i = 0; i < Msg.Verbose; i++)
            args.Add("-v");
        if (unprivileged)
            args.Add("-u");
        if (chroot)
            args.Add("-c");
        if (!localOnly && maxProc > 1)
        {
            args.AddRange(["-o", "stress="]);
            serv.StressArg = args.Count - 1;
        }
        if (serv.ListenFdCount > 1)
            args.AddRange(["-s", serv.ListenFdCount.ToString(CultureInfo.InvariantCulture)]);
        string? arg;
        while ((arg = QuotedToken(ref rest)) != null)
            args.Add(arg);
        return serv;
    }

    // SplitHostPort - "host:port", "[host]:port" or "port".
    private static (string Host, string Port) SplitHostPort(string name)
    {
        if (name.StartsWith('['))
        {
            var close = name.IndexOf(']', StringComparison.Ordinal);
            if (close > 0 && close + 1 < name.Length && name[close + 1] == ':')
                return (name[1..close], name[(close + 2)..]);
        }
        var colon = name.LastIndexOf(':');
        return colon < 0 ? ("", name) : (name[..colon], name[(colon + 1)..]);
    }

    private int ResolvePort(string port, string name)
    {
        if (int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n < 65536)
            return n;
        var p = Services.Lookup(port);
        if (p < 0)
            Fatal<int>($"unknown service: {port}/tcp in \"{name}\"");
        return p;
    }

    private static int TimeValue(string text) => Postfix.Server.ServerParams.Time(text);

    private string? Token(ref ReadOnlySpan<char> rest)
    {
        rest = rest.TrimStart(Blanks);
        if (rest.IsEmpty)
            return null;
        var end = rest.IndexOfAny(Blanks);
        var tok = end < 0 ? rest : rest[..end];
        rest = end < 0 ? ReadOnlySpan<char>.Empty : rest[end..];
        return tok.ToString();
    }

    private string? QuotedToken(ref ReadOnlySpan<char> rest)
    {
        rest = rest.TrimStart(Blanks);
        if (rest.IsEmpty)
            return null;
        if (rest[0] == '{')
        {
            var len = BalPar.Length(rest);
            var whole = len > 0 ? rest[..len].ToString() : rest.ToString();
            rest = len > 0 ? rest[len..] : ReadOnlySpan<char>.Empty;
            var value = BalPar.Extract(whole, out var err);
            if (err != null)
                Fatal<int>(err);
            return value;
        }
        return Token(ref rest);
    }

    private string StrField(ref ReadOnlySpan<char> rest, string name, string? def)
    {
        var value = Token(ref rest);
        if (value == null)
            return Fatal<string>($"missing \"{name}\" field");
        if (value == "-")
        {
            if (def == null)
                return Fatal<string>($"field \"{name}\" has no default value");
            return def;
        }
        return value;
    }

    private bool BoolField(ref ReadOnlySpan<char> rest, string name, string def)
    {
        var value = StrField(ref rest, name, def);
        return value switch
        {
            "y" => true,
            "n" => false,
            _ => Fatal<bool>($"field \"{name}\": bad value: \"{value}\""),
        };
    }

    private int IntValue(string name, string value)
    {
        if (value.Length == 0 || !char.IsAsciiDigit(value[0]))
            return Fatal<int>($"field \"{name}\": bad value: \"{value}\"");
        var end = 0;
        while (end < value.Length && char.IsAsciiDigit(value[end]))
            end++;
        return int.TryParse(value.AsSpan(0, end), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : int.MaxValue;
    }

    private T Fatal<T>(string text)
    {
        Msg.Fatal($"{path}: line {line}: {text}");
        return default!;
    }
}
