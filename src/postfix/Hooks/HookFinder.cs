// NAME
//	HookFinder - the integration points a configuration actually wires
// POSTFIX
//	src/smtpd/smtpd_check.c (restriction names), src/global/maps.c,
//	src/milter/milter.c (milter list syntax), src/master/master_ent.c
// DESCRIPTION
//	Find() evaluates every HookCatalog point once for main.cf and once
//	for each master.cf service that runs a daemon reading it, with that
//	service's -o overrides applied. A point counts only when its value
//	is set explicitly (in main.cf, directly or through a parameter it
//	references, or by -o), never by a built-in default. Each value is
//	split into its endpoints: a restriction list into policy servers,
//	access tables, DNS lists, verification and SASL checks (restriction
//	classes are followed); a milter list into inet:/unix: sockets; a
//	transport into the master.cf service it names (an SMTP/LMTP next
//	hop, a pipe command line). Hooks with the same stage, parameter,
//	endpoint and protocol are merged, and list the services they apply
//	to. master.cf itself adds pipe and spawn commands, postscreen and
//	re-injection listeners.
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Postfix.Global.Config;
using Postfix.Global.Dict;

namespace Postfix.Commands.Control.Hooks;

internal sealed class Hook
{
    public required string Stage { get; init; }
    public required string Parameter { get; init; }
    public required string Endpoint { get; init; }
    public required string Protocol { get; init; }
    public string Origin { get; set; } = "main.cf";
    public List<string> Services { get; } = new();
    public string? Detail { get; set; }
}

internal sealed class HookFinder
{
    private static readonly string[] Postfixdaemons =
    [
        "anvil", "bounce", "cleanup", "discard", "dnsblog", "error", "flush", "lmtp", "local", "master", "oqmgr", "pickup",
        "pipe", "postlogd", "postscreen", "proxymap", "qmgr", "qmqpd", "scache", "showq", "smtp", "smtpd", "spawn",
        "tlsmgr", "tlsproxy", "trivial-rewrite", "verify", "virtual",
    ];

    private static readonly Dictionary<string, string> RestrictionStage = new()
    {
        ["smtpd_client_restrictions"] = "smtpd connect",
        ["smtpd_helo_restrictions"] = "smtpd HELO",
        ["smtpd_sender_restrictions"] = "smtpd MAIL",
        ["smtpd_relay_restrictions"] = "smtpd RCPT",
        ["smtpd_recipient_restrictions"] = "smtpd RCPT",
        ["smtpd_data_restrictions"] = "smtpd DATA",
        ["smtpd_end_of_data_restrictions"] = "smtpd end of data",
        ["smtpd_etrn_restrictions"] = "smtpd ETRN",
    };

    private readonly MailConf main;
    private readonly List<MasterService> services;
    private readonly List<Hook> hooks = new();
    private readonly Dictionary<string, Hook> byKey = new(StringComparer.Ordinal);

    public HookFinder(MailConf main, List<MasterService> services)
    {
        this.main = main;
        this.services = services;
    }

    public List<MasterService> Services => services;

    // Used - catalog parameters that produced at least one hook.
    public HashSet<string> Used { get; } = new(StringComparer.Ordinal);

    public List<Hook> Find()
    {
        foreach (var point in HookCatalog.Points)
        {
            var readers = services.Where(s => point.Daemons.Contains("*") || point.Daemons.Contains(s.Command)).ToList();
            if (Explicit(main, point.Parameter))
                Evaluate(point, main, readers.Where(s => s.Override(point.Parameter) == null && !OverridesReference(s, point.Parameter)).ToList(), "main.cf");
            foreach (var s in readers)
            {
                if (s.Override(point.Parameter) != null || OverridesReference(s, point.Parameter))
                {
                    var conf = s.Conf(main);
                    if (Explicit(conf, point.Parameter))
                        Evaluate(point, conf, [s], "master.cf");
                }
            }
        }
        UnreferencedClasses();
        FromMasterCf();
        return Sorted();
    }

    // Classes expanded from a restriction list.
    private readonly HashSet<string> expandedClasses = new(StringComparer.Ordinal);

    // UnreferencedClasses - restriction classes that no list names
    // directly: access table results ("greylisting") reach them.
    private void UnreferencedClasses()
    {
        if (!Explicit(main, "smtpd_restriction_classes"))
            return;
        var svcs = services.Where(s => s.Command == "smtpd").ToList();
        foreach (var name in Items(main.Eval("smtpd_restriction_classes")))
        {
            if (expandedClasses.Contains(name))
                continue;
            Restrictions(name + " (restriction class, reached through access table results)", "smtpd restriction class",
                main.Eval(name), main, svcs, "main.cf", new HashSet<string>());
        }
    }

    private List<Hook> Sorted()
    {
        int Rank(string stage)
        {
            var i = Array.IndexOf(HookCatalog.Stages, stage);
            return i < 0 ? HookCatalog.Stages.Length : i;
        }
        return hooks.Select((h, i) => (h, i)).OrderBy(x => Rank(x.h.Stage)).ThenBy(x => x.i).Select(x => x.h).ToList();
    }

    // Explicit - the value is set, not a built-in default: the
    // parameter, or a parameter its value refers to, is in the table.
    private static bool Explicit(MailConf conf, string name)
    {
        var raw = conf.LookupRaw(name);
        if (raw != null)
            return conf.Eval(name).Trim().Length > 0;
        return false;
    }

    // OverridesReference - the service overrides a parameter that the
    // main.cf value of name refers to ($name).
    private bool OverridesReference(MasterService s, string name)
    {
        var raw = main.LookupRaw(name);
        if (raw == null || !raw.Contains('$'))
            return false;
        foreach (var (n, _) in s.Overrides)
        {
            if (raw.Contains("$" + n, StringComparison.Ordinal) || raw.Contains("${" + n, StringComparison.Ordinal)
                || raw.Contains("$(" + n, StringComparison.Ordinal))
                return true;
        }
        return false;
    }

    private void Add(string stage, string parameter, string endpoint, string protocol, IEnumerable<MasterService> svcs, string origin, string? detail = null)
    {
        var key = string.Join('\n', stage, parameter, endpoint, protocol, origin);
        if (!byKey.TryGetValue(key, out var hook))
        {
            hook = new Hook { Stage = stage, Parameter = parameter, Endpoint = endpoint, Protocol = protocol, Origin = origin, Detail = detail };
            byKey[key] = hook;
            hooks.Add(hook);
        }
        foreach (var s in svcs)
        {
            if (!hook.Services.Contains(s.Label))
                hook.Services.Add(s.Label);
        }
        var baseName = parameter.Split(' ')[0];
        Used.Add(baseName);
    }

    private void Evaluate(HookPoint p, MailConf conf, List<MasterService> svcs, string origin)
    {
        var value = conf.Eval(p.Parameter).Trim();
        switch (p.Kind)
        {
            case HookKind.Restrictions:
                Restrictions(p.Parameter, RestrictionStage[p.Parameter], value, conf, svcs, origin, new HashSet<string>());
                break;
            case HookKind.Milters:
                foreach (var m in Items(value))
                {
                    var text = MasterServices.Unbrace(m);
                    var first = Items(text).FirstOrDefault() ?? text;
                    var settings = text.Length > first.Length ? text[first.Length..].Trim(' ', ',', '\t') : null;
                    Add(p.Stage, p.Parameter, first, "milter", svcs, origin, settings is { Length: > 0 } ? settings : null);
                }
                break;
            case HookKind.Tables:
                foreach (var t in Items(value))
                    Add(p.Stage, p.Parameter, t, TableProtocol(p.Protocol, t), svcs, origin, TableDetail(conf, t));
                break;
            case HookKind.TableOrDomains:
                foreach (var t in Items(value))
                {
                    if (IsTable(t))
                        Add(p.Stage, p.Parameter, t, TableProtocol(p.Protocol, t), svcs, origin, TableDetail(conf, t));
                }
                if (Items(value).Any(t => !IsTable(t)))
                    Add(p.Stage, p.Parameter, string.Join(", ", Items(value).Where(t => !IsTable(t))), p.Protocol, svcs, origin);
                break;
            case HookKind.ProxyFilter:
                Add(p.Stage, p.Parameter, value, p.Protocol, svcs, origin, Listener(value));
                break;
            case HookKind.Transport:
                Transport(p, value, svcs, origin);
                break;
            case HookKind.NextHop:
                Add(p.Stage, p.Parameter, value, p.Protocol, svcs, origin);
                break;
            case HookKind.Command:
                // $name here is local(8)'s per-delivery expansion: show it as written.
                Add(p.Stage, p.Parameter, (conf.Lookup(p.Parameter) ?? value).Trim(), p.Protocol, svcs, origin);
                break;
            case HookKind.Sasl:
                if (conf.Bool(p.Parameter))
                {
                    var type = conf.Eval("smtpd_sasl_type");
                    var path = conf.Eval("smtpd_sasl_path");
                    Add(p.Stage, p.Parameter, type + ":" + SocketPath(path), $"SASL server ({type})", svcs, origin, Listener(path));
                }
                break;
            case HookKind.SaslClient:
                if (conf.Bool(p.Parameter))
                {
                    var prefix = p.Parameter.StartsWith("lmtp", StringComparison.Ordinal) ? "lmtp" : "smtp";
                    var maps = conf.Eval(prefix + "_sasl_password_maps");
                    if (maps.Length == 0)
                        Add(p.Stage, p.Parameter, "(no " + prefix + "_sasl_password_maps)", p.Protocol, svcs, origin);
                    foreach (var t in Items(maps))
                        Add(p.Stage, prefix + "_sasl_password_maps", t, TableProtocol("SASL client credentials", t), svcs, origin, TableDetail(conf, t));
                }
                break;
            case HookKind.Dnsbl:
                foreach (var site in Items(value))
                {
                    var star = site.LastIndexOf('*');
                    var weight = star > 0 && int.TryParse(site[(star + 1)..], out var w) ? w : 1;
                    Add(p.Stage, p.Parameter, site, weight < 0 ? "DNSWL" : "DNSBL", svcs, origin);
                }
                break;
            case HookKind.HostList:
                Add(p.Stage, p.Parameter, string.Join(", ", Items(value)), p.Protocol, svcs, origin);
                break;
            case HookKind.YesFlag:
                if (conf.Bool(p.Parameter))
                    Add(p.Stage, p.Parameter, "yes", p.Protocol, svcs, origin);
                break;
            case HookKind.Tls:
                if (!value.Equals("none", StringComparison.OrdinalIgnoreCase))
                {
                    string? detail = null;
                    if (p.Parameter.StartsWith("smtpd", StringComparison.Ordinal))
                    {
                        var chain = conf.Eval("smtpd_tls_chain_files");
                        var cert = chain.Length > 0 ? chain : conf.Eval("smtpd_tls_cert_file");
                        if (cert.Length > 0)
                            detail = "certificate " + cert;
                    }
                    Add(p.Stage, p.Parameter, value, p.Protocol, svcs, origin, detail);
                }
                break;
            default:
                Add(p.Stage, p.Parameter, value, p.Protocol, svcs, origin);
                break;
        }
    }

    // Items - a comma/space separated list, {} grouping kept.
    public static List<string> Items(string value)
    {
        var list = new List<string>();
        var pos = 0;
        while (RegexpSupport.NextToken(value, ref pos, ", \t\r\n", out var token))
        {
            if (token.Length > 0)
                list.Add(token);
        }
        return list;
    }

    private static readonly string[] TableTypes =
    [
        "btree", "cdb", "cidr", "dbm", "environ", "fail", "hash", "inline", "internal", "ldap", "lmdb", "memcache",
        "mongodb", "mysql", "nis", "nisplus", "pcre", "pgsql", "pipemap", "proxy", "randmap", "regexp", "sdbm",
        "socketmap", "sqlite", "static", "tcp", "texthash", "unionmap", "unix",
    ];

    public static bool IsTable(string item)
    {
        if (item.StartsWith('{'))
            return false;
        var colon = item.IndexOf(':');
        return colon > 0 && TableTypes.Contains(item[..colon].ToLowerInvariant());
    }

    // TableProtocol - what kind of lookup a table spec is.
    public static string TableProtocol(string role, string spec)
    {
        var s = spec;
        var via = "";
        if (s.StartsWith("proxy:", StringComparison.OrdinalIgnoreCase))
        {
            via = " via proxymap";
            s = s[6..];
        }
        var colon = s.IndexOf(':');
        var type = colon > 0 ? s[..colon].ToLowerInvariant() : "";
        var kind = type switch
        {
            "tcp" => "tcp_table client",
            "socketmap" => "socketmap client",
            "mysql" or "pgsql" or "sqlite" => "SQL (" + type + ")",
            "ldap" => "LDAP",
            "memcache" => "memcache",
            "mongodb" => "MongoDB",
            "" => "",
            _ => type,
        };
        return kind.Length == 0 ? role : $"{role}, {kind}{via}";
    }

    // TableDetail - where an SQL/LDAP/memcache/tcp/socketmap table goes.
    private static string? TableDetail(MailConf conf, string spec)
    {
        var s = spec.StartsWith("proxy:", StringComparison.OrdinalIgnoreCase) ? spec[6..] : spec;
        var colon = s.IndexOf(':');
        if (colon <= 0)
            return null;
        var type = s[..colon].ToLowerInvariant();
        var name = s[(colon + 1)..];
        if (type is "tcp" or "socketmap")
            return "server " + name;
        if (type is not ("mysql" or "pgsql" or "ldap" or "memcache" or "sqlite" or "mongodb"))
            return null;
        var file = name;
        if (!File.Exists(file))
            file = Path.Combine(conf.ConfigDirectory, Path.GetFileName(name));
        if (!File.Exists(file))
            return null;
        string[] keys = type switch
        {
            "ldap" => ["server_host"],
            "memcache" => ["memcache"],
            "sqlite" => ["dbpath"],
            _ => ["hosts", "host", "uri"],
        };
        foreach (var line in File.ReadAllLines(file))
        {
            var eq = line.IndexOf('=');
            if (eq <= 0 || line.TrimStart().StartsWith('#'))
                continue;
            var k = line[..eq].Trim();
            if (keys.Contains(k))
                return k + " = " + line[(eq + 1)..].Trim();
        }
        return null;
    }

    // SocketPath - a policy/SASL/milter endpoint; a bare or private/ name
    // is a UNIX socket under the queue directory.
    private string SocketPath(string path)
    {
        if (path.StartsWith("inet:", StringComparison.Ordinal) || path.StartsWith("unix:", StringComparison.Ordinal)
            || path.StartsWith('/'))
            return path;
        return path;
    }

    // Listener - the master.cf service behind a private/NAME or
    // 127.0.0.1:PORT endpoint, described.
    private string? Listener(string endpoint)
    {
        var e = endpoint;
        if (e.StartsWith("unix:", StringComparison.Ordinal))
            e = e[5..];
        else if (e.StartsWith("inet:", StringComparison.Ordinal))
            e = e[5..];
        MasterService? svc = null;
        if (e.StartsWith("private/", StringComparison.Ordinal) || e.StartsWith("public/", StringComparison.Ordinal))
            svc = services.FirstOrDefault(s => s.Type == "unix" && s.Name == e[(e.IndexOf('/') + 1)..]);
        else
            svc = services.FirstOrDefault(s => s.Type == "inet" && s.Name == e);
        if (svc == null)
            return null;
        var argv = svc.Argv();
        return $"master.cf service {svc.Label} runs {svc.Command}" + (argv != null ? ": " + argv : "");
    }

    private void Restrictions(string parameter, string stage, string value, MailConf conf, List<MasterService> svcs,
        string origin, HashSet<string> seen)
    {
        var classes = new HashSet<string>(Items(conf.Eval("smtpd_restriction_classes")), StringComparer.Ordinal);
        var words = Items(value);
        for (var i = 0; i < words.Count; i++)
        {
            var w = words[i];
            var lw = w.ToLowerInvariant();
            string? Next() => i + 1 < words.Count ? words[++i] : null;
            if (lw == "check_policy_service")
            {
                var arg = Next();
                if (arg == null)
                    continue;
                var inner = MasterServices.Unbrace(arg);
                var ep = Items(inner).FirstOrDefault() ?? inner;
                var opts = inner.Length > ep.Length ? inner[ep.Length..].Trim(' ', ',') : "";
                var detail = Listener(ep);
                if (opts.Length > 0)
                    detail = detail == null ? opts : detail + "; " + opts;
                Add(stage, parameter, ep, "policy delegation", svcs, origin, detail);
            }
            else if (lw.StartsWith("check_", StringComparison.Ordinal) && lw.EndsWith("_access", StringComparison.Ordinal))
            {
                var arg = Next();
                if (arg != null)
                    Add(stage, parameter, arg, TableProtocol("access table (" + lw + ")", arg), svcs, origin, TableDetail(conf, arg));
            }
            else if (lw is "reject_rbl_client" or "reject_rhsbl_client" or "reject_rhsbl_sender" or "reject_rhsbl_recipient"
                     or "reject_rhsbl_helo" or "reject_rhsbl_reverse_client" or "permit_dnswl_client" or "permit_rhswl_client"
                     or "reject_maps_rbl")
            {
                var arg = lw == "reject_maps_rbl" ? conf.Eval("maps_rbl_domains") : Next();
                if (arg != null)
                    Add(stage, parameter, arg, (lw.StartsWith("permit", StringComparison.Ordinal) ? "DNSWL (" : "DNSBL (") + lw + ")", svcs, origin);
            }
            else if (lw is "reject_unverified_recipient" or "reject_unverified_sender")
            {
                Add(stage, parameter, "verify(8)", "address verification (" + lw + ")", svcs, origin);
            }
            else if (lw is "reject_sender_login_mismatch" or "reject_authenticated_sender_login_mismatch"
                     or "reject_known_sender_login_mismatch" or "reject_unauthenticated_sender_login_mismatch")
            {
                var maps = conf.Eval("smtpd_sender_login_maps");
                Add(stage, parameter, maps.Length > 0 ? maps : "(smtpd_sender_login_maps unset)", "SASL sender login check (" + lw + ")", svcs, origin);
            }
            else if (classes.Contains(w) && seen.Add(w))
            {
                expandedClasses.Add(w);
                Restrictions(w + " (class in " + parameter + ")", stage, conf.Eval(w), conf, svcs, origin, seen);
            }
        }
    }

    private void Transport(HookPoint p, string value, List<MasterService> svcs, string origin)
    {
        var colon = value.IndexOf(':');
        var transport = colon >= 0 ? value[..colon] : value;
        var nexthop = colon >= 0 ? value[(colon + 1)..] : "";
        var svc = services.FirstOrDefault(s => s.Name == transport && s.Type == "unix");
        string protocol;
        string endpoint = value;
        string? detail = null;
        var filter = p.Parameter == "content_filter";
        if (svc == null)
        {
            protocol = p.Protocol;
            detail = $"no master.cf service \"{transport}\"";
        }
        else
        {
            switch (svc.Command)
            {
                case "smtp":
                    protocol = filter ? "after-queue content filter over SMTP" : "SMTP delivery";
                    break;
                case "lmtp":
                    protocol = filter ? "after-queue content filter over LMTP" : "LMTP delivery";
                    break;
                case "pipe":
                    protocol = filter ? "after-queue content filter over pipe" : "pipe delivery";
                    endpoint = svc.Argv() ?? value;
                    detail = $"transport {svc.Label}" + (svc.Attribute("user") is { } u ? ", user=" + u : "");
                    break;
                default:
                    protocol = filter ? "after-queue content filter (" + svc.Command + ")" : svc.Command + " delivery";
                    break;
            }
            if (nexthop.Length > 0 && svc.Command is "smtp" or "lmtp")
            {
                endpoint = nexthop;
                detail = $"transport {svc.Label}";
            }
        }
        Add(p.Stage, p.Parameter, endpoint, protocol, svcs, origin, detail);
    }

    // FromMasterCf - hooks that master.cf wires by itself.
    private void FromMasterCf()
    {
        foreach (var s in services)
        {
            switch (s.Command)
            {
                case "pipe":
                    Add("pipe delivery", "master.cf " + s.Label, s.Argv() ?? "(no argv=)", "pipe command", [s], "master.cf",
                        s.Attribute("user") is { } u ? "user=" + u : null);
                    break;
                case "spawn":
                    Add("master services", "master.cf " + s.Label, s.Argv() ?? "(no argv=)", "spawned server (policy or filter)", [s], "master.cf",
                        s.Attribute("user") is { } u2 ? "user=" + u2 : null);
                    break;
                case "postscreen":
                    Add("postscreen", "master.cf " + s.Label, s.Name, "postscreen in front of smtpd", [s], "master.cf");
                    break;
                case "smtpd" when s.Type == "inet" && s.Override("content_filter") is { Length: 0 }:
                    Add("master services", "master.cf " + s.Label, s.Name, "re-injection listener (content_filter cleared)", [s], "master.cf");
                    break;
                case "smtpd" when s.Type == "pass":
                    Add("postscreen", "master.cf " + s.Label, s.Name, "smtpd behind postscreen", [s], "master.cf");
                    break;
                case "tlsproxy" or "dnsblog" or "proxymap" or "proxywrite":
                    break;
                default:
                    if (!Postfixdaemons.Contains(s.Command))
                        Add("master services", "master.cf " + s.Label, string.Join(' ', new[] { s.Command }.Concat(s.Args)),
                            "non-Postfix command run by master", [s], "master.cf");
                    break;
            }
        }
    }
}
