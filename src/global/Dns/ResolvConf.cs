// NAME
//	ResolvConf - the stub resolver's configuration
// POSTFIX
//	(the resolver library's res_ninit(), resolv.conf(5))
// DESCRIPTION
//	Load reads resolv.conf(5): "nameserver" (at most three), "domain",
//	"search" (the last of the two wins), and "options ndots:N
//	timeout:N attempts:N". Without a nameserver the local host
//	(127.0.0.1 port 53) is used; without domain or search the
//	default domain is the host name's part after the first dot.
//
//	Test override: the file read is $POSTFIX_RESOLV_CONF when that
//	environment variable is set (a daemon needs it listed in
//	import_environment), else ResolvConf.DefaultPath, which a program
//	may also set. As an extension, a nameserver may carry a port as
//	"ADDRESS#PORT" (the notation of dnsmasq), so that tests can use an
//	unprivileged server; the system resolver does not understand it.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Net;

namespace Postfix.Global.Dns;

public sealed class ResolvConf
{
    public const string EnvironmentOverride = "POSTFIX_RESOLV_CONF";
    public const int MaxNameservers = 3;

    public static string DefaultPath { get; set; } = "/etc/resolv.conf";

    public List<IPEndPoint> Nameservers { get; } = new();
    public List<string> Search { get; } = new();
    public int Ndots { get; set; } = 1;
    public int TimeoutSeconds { get; set; } = 5;
    public int Attempts { get; set; } = 2;

    // CurrentPath - the file Load() reads by default.
    public static string CurrentPath
    {
        get
        {
            var env = Environment.GetEnvironmentVariable(EnvironmentOverride);
            return string.IsNullOrEmpty(env) ? DefaultPath : env;
        }
    }

    public static ResolvConf Load() => Load(CurrentPath);

    public static ResolvConf Load(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            text = "";
        }
        return Parse(text);
    }

    public static ResolvConf Parse(string text)
    {
        var conf = new ResolvConf();
        var haveSearch = false;
        foreach (var rawLine in text.Split('\n'))
        {
            var line = rawLine.Trim();
            if (line.Length == 0 || line[0] is '#' or ';')
                continue;
            var words = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            switch (words[0])
            {
                case "nameserver" when words.Length > 1:
                    if (conf.Nameservers.Count < MaxNameservers && ParseServer(words[1]) is { } ep)
                        conf.Nameservers.Add(ep);
                    break;
                case "domain" when words.Length > 1:
                    conf.Search.Clear();
                    conf.Search.Add(words[1].TrimEnd('.'));
                    haveSearch = true;
                    break;
                case "search":
                    conf.Search.Clear();
                    for (var i = 1; i < words.Length && conf.Search.Count < 32; i++)
                        conf.Search.Add(words[i].TrimEnd('.'));
                    haveSearch = true;
                    break;
                case "options":
                    for (var i = 1; i < words.Length; i++)
                        conf.ApplyOption(words[i]);
                    break;
            }
        }
        if (Environment.GetEnvironmentVariable("RES_OPTIONS") is { } resOptions)
            foreach (var opt in resOptions.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
                conf.ApplyOption(opt);
        if (!haveSearch)
        {
            var host = SafeHostName();
            var dot = host.IndexOf('.');
            if (dot > 0 && dot + 1 < host.Length)
                conf.Search.Add(host[(dot + 1)..]);
        }
        if (conf.Nameservers.Count == 0)
            conf.Nameservers.Add(new IPEndPoint(IPAddress.Loopback, 53));
        return conf;
    }

    private void ApplyOption(string opt)
    {
        static int Value(string s, int max) =>
            int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? Math.Min(v, max) : -1;
        if (opt.StartsWith("ndots:", StringComparison.Ordinal) && Value(opt[6..], 15) is >= 0 and var n)
            Ndots = n;
        else if (opt.StartsWith("timeout:", StringComparison.Ordinal) && Value(opt[8..], 30) is >= 1 and var t)
            TimeoutSeconds = t;
        else if (opt.StartsWith("attempts:", StringComparison.Ordinal) && Value(opt[9..], 5) is >= 1 and var a)
            Attempts = a;
    }

    // ParseServer - "1.2.3.4", "::1", or with the "#port" extension.
    internal static IPEndPoint? ParseServer(string word)
    {
        var port = 53;
        var hash = word.IndexOf('#');
        if (hash >= 0)
        {
            if (!int.TryParse(word[(hash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535)
                return null;
            word = word[..hash];
        }
        var pct = word.IndexOf('%');
        return IPAddress.TryParse(pct >= 0 ? word[..pct] : word, out var addr) ? new IPEndPoint(addr, port) : null;
    }

    private static string SafeHostName()
    {
        try
        {
            return System.Net.Dns.GetHostName();
        }
        catch (Exception)
        {
            return "";
        }
    }
}
