// NAME
//	AddressExplainer - the path of one address, offline
// POSTFIX
//	src/cleanup/cleanup_addr.c, src/trivial-rewrite/resolve.c,
//	src/local/alias.c (the alias lookup key), src/virtual/mailbox.c
// DESCRIPTION
//	Runs the daemons' own code in this process: trivial-rewrite's
//	AddressRewrite (canonical form) and AddressResolve (address class,
//	transport, next hop, relocated), and cleanup's CleanupSession
//	explain entry (canonical_maps, masquerading, virtual alias
//	expansion). Every table is opened through a tracing wrapper, so
//	each step lists the tables and keys it looked up and what they
//	returned. The delivery agent is the master.cf service that the
//	transport names; for local(8) and virtual(8) the key their first
//	table lookup uses is shown (alias_maps, virtual_mailbox_maps).
//	A table that cannot be opened here (a missing file, a database
//	client configuration that is absent, an unsupported type) becomes a
//	surrogate as in the daemons: every lookup fails with a temporary
//	error. The step that uses it reports the table and the reason, and
//	says what the daemon would do (defer); the explanation goes on.
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Postfix.Commands.Control.Hooks;
using Postfix.Daemons.Cleanup;
using Postfix.Daemons.TrivialRewrite;
using Postfix.Global.Address;
using Postfix.Global.Attr;
using Postfix.Global.Config;
using Postfix.Global.Dict;

namespace Postfix.Commands.Control.Explain;

internal sealed record Lookup(string Parameter, string Table, string Key, string? Result, string? Error = null);

internal sealed class Step
{
    public required string Name { get; init; }
    public required string Result { get; init; }
    public string? Note { get; set; }
    public List<Lookup> Lookups { get; } = new();
    // Tables this step needed that could not be opened (Describe()).
    public List<string> Unavailable { get; } = new();
}

internal sealed class AddressPath
{
    public required string Recipient { get; init; }
    public string Transport { get; set; } = "";
    public string Nexthop { get; set; } = "";
    public string Class { get; set; } = "";
    public List<Step> Steps { get; } = new();
}

internal sealed class AddressExplanation
{
    public required string Input { get; init; }
    public string? Sender { get; set; }
    public List<Step> SenderSteps { get; } = new();
    public List<Step> Steps { get; } = new();
    public List<AddressPath> Paths { get; } = new();
    // Every table that could not be opened (Describe()).
    public List<string> Unavailable { get; } = new();
}

// TracingDict - passes lookups to the real table and records them.
internal sealed class TracingDict : Dict
{
    private readonly Dict inner;
    private readonly string title;
    private readonly Action<Lookup> record;

    public TracingDict(Dict inner, string title, Action<Lookup> record)
        : base(inner.Type, inner.Name, inner.OpenFlags, inner.Flags)
    {
        this.inner = inner;
        this.title = title;
        this.record = record;
    }

    public override string? Lookup(string key)
    {
        inner.Flags = Flags;
        var value = inner.Lookup(key);
        SetError(inner.Error, inner.ErrorText);
        record(new Lookup(title, inner.FullName, key, value, inner.Error != DictError.None ? (inner.ErrorText ?? inner.Error.ToString()) : null));
        return value;
    }
}

// DirectRewriter - cleanup's IAddressRewriter on trivial-rewrite's own code.
internal sealed class DirectRewriter(AddressRewrite rewrite) : IAddressRewriter
{
    public string Rewrite(string context, string address) =>
        Raw.FromText(rewrite.Rewrite(context, Raw.Text(address)) ?? Raw.Text(address));
}

internal sealed class AddressExplainer
{
    private readonly MailConf conf;
    private readonly List<MasterService> services;
    private readonly List<Lookup> pending = new();
    private readonly List<string> pendingUnavailable = new();
    private readonly List<string> unavailable = new();
    private readonly AddressRewrite rewrite;
    private readonly AddressResolve resolve;
    private readonly CleanupSession session;

    public AddressExplainer(MailConf conf, List<MasterService> services)
    {
        this.conf = conf;
        this.services = services;
        DictSurrogate.Observer = Unavailable;
        rewrite = new AddressRewrite(conf);
        resolve = new AddressResolve(conf, rewrite, null, Open);
        var cfg = new CleanupConfig
        {
            EmptyAddr = conf.Eval("empty_address_recipient"),
            AddressMaps = AddressMaps.FromConf(conf, Open),
        };
        session = new CleanupSession(cfg, new DirectRewriter(rewrite), Stream.Null, "explain", 0) { Flags = CleanupFlags.MapOk };
        pending.Clear();
        pendingUnavailable.Clear();
    }

    // Unavailable - DictSurrogate's observer: a table that could not be
    // opened, at open time and at each lookup.
    private void Unavailable(DictSurrogate table, bool access)
    {
        var what = Describe(table);
        if (!unavailable.Contains(what))
            unavailable.Add(what);
        if (access && !pendingUnavailable.Contains(what))
            pendingUnavailable.Add(what);
    }

    // Describe - "table type:name: unavailable: reason".
    public static string Describe(DictSurrogate table) =>
        $"table {table.Type}:{table.Name}: unavailable: {table.Reason}";

    // Open - maps_create() with every table wrapped for tracing.
    public Maps Open(string title, string names, DictFlags flags)
    {
        var maps = Maps.Create(title, names, flags);
        return new Maps(title, maps.Dicts.Select(d => (Dict)new TracingDict(d, title, pending.Add)));
    }

    private Step Take(string name, string result, string? note = null)
    {
        var step = new Step { Name = name, Result = result, Note = note };
        step.Lookups.AddRange(pending);
        pending.Clear();
        step.Unavailable.AddRange(pendingUnavailable);
        pendingUnavailable.Clear();
        return step;
    }

    public AddressExplanation Explain(string address, string? sender)
    {
        var x = new AddressExplanation { Input = address, Sender = sender };
        pending.Clear();
        var senderInternal = "";
        if (sender != null)
        {
            var steps = x.SenderSteps;
            senderInternal = session.ExplainSender(Raw.FromText(Quote822.Unquote(sender)), (name, result) =>
                steps.Add(Take(SenderStepName(name), Raw.Text(result))));
        }
        pending.Clear();
        var internalAddr = Raw.FromText(Quote822.Unquote(address));
        var list = session.ExplainRecipient(internalAddr, (name, result) =>
            x.Steps.Add(Take(RecipientStepName(name), Raw.Text(result), RecipientNote(name))));
        if (session.Errs != 0)
        {
            // The reply smtpd would give at the end of DATA (smtpd.c).
            var d = CleanupStatus.DetailOf(session.Errs);
            var reply = (session.Errs & (CleanupStatus.Defer | CleanupStatus.Cont)) != 0 && session.Reason != null
                ? $"{d.Smtp} {session.Reason}" : $"{d.Smtp} {d.Dsn} Error: {d.Text}";
            x.Steps[^1].Note = $"cleanup would not accept this message: would {(d.Smtp / 100 == 4 ? "defer" : "reject")} ({reply})";
        }
        foreach (var rcpt in list)
            x.Paths.Add(Resolve(Raw.Text(senderInternal), Raw.Text(rcpt)));
        x.Unavailable.AddRange(unavailable);
        return x;
    }

    private static string SenderStepName(string name) => name switch
    {
        "rewrite" => "sender: canonical form (trivial-rewrite, local context)",
        "canonical" => "sender: sender_canonical_maps, canonical_maps",
        "masquerade" => "sender: masquerade_domains",
        _ => "sender: " + name,
    };

    private static string RecipientStepName(string name) => name switch
    {
        "rewrite" => "canonical form (trivial-rewrite, local context)",
        "canonical" => "recipient_canonical_maps, canonical_maps (cleanup)",
        "masquerade" => "masquerade_domains (cleanup)",
        "virtual" => "virtual_alias_maps expansion (cleanup)",
        _ => name,
    };

    private string? RecipientNote(string name) => name switch
    {
        "rewrite" => $"myorigin={conf.Eval("myorigin")}, append_at_myorigin={conf.Eval("append_at_myorigin")}, append_dot_mydomain={conf.Eval("append_dot_mydomain")}",
        "masquerade" => conf.Eval("masquerade_domains") is { Length: > 0 } m
            ? $"masquerade_domains={m}, masquerade_classes={conf.Eval("masquerade_classes")}"
            : "masquerade_domains is empty",
        _ => null,
    };

    private AddressPath Resolve(string sender, string rcpt)
    {
        pending.Clear();
        pendingUnavailable.Clear();
        var r = resolve.Resolve(resolve.Regular, sender, rcpt);
        if ((r.Flags & MailProto.ResolveFlagFail) != 0)
            return ResolveFailed(rcpt);
        var cls = ClassName(r.Flags);
        var path = new AddressPath { Recipient = r.Recipient, Transport = r.Transport, Nexthop = r.Nexthop, Class = cls.Name };
        var domain = r.Recipient.LastIndexOf('@') is var at && at >= 0 ? r.Recipient[(at + 1)..] : "";
        var flagText = new List<string>();
        if ((r.Flags & MailProto.ResolveFlagError) != 0)
            flagText.Add("malformed address: mail would bounce");
        if ((r.Flags & MailProto.ResolveFlagRouted) != 0)
            flagText.Add("source-routed local part");
        var lookups = new List<Lookup>(pending);
        pending.Clear();
        var resolveUnavailable = new List<string>(pendingUnavailable);
        pendingUnavailable.Clear();
        var classStep = new Step
        {
            Name = "address class (trivial-rewrite)",
            Result = $"{cls.Name}: domain {domain} {cls.Why}",
            Note = flagText.Count > 0 ? string.Join("; ", flagText) : null,
        };
        var routeStep = new Step
        {
            Name = "transport and next hop (trivial-rewrite)",
            Result = $"{r.Transport}:{r.Nexthop}",
            Note = RouteWhy(r.Transport, lookups, cls.Parameter),
        };
        routeStep.Lookups.AddRange(lookups);
        classStep.Unavailable.AddRange(resolveUnavailable);
        path.Steps.Add(classStep);
        path.Steps.Add(routeStep);
        path.Steps.Add(Delivery(r.Transport, r.Nexthop, r.Recipient));
        return path;
    }

    // LookupFailure - the class of a recipient that could not be resolved.
    public const string LookupFailure = "lookup failure";

    // ResolveFailed - trivial-rewrite could not resolve (a table lookup
    // failed): qmgr defers the recipient, smtpd replies 451 4.3.0.
    private AddressPath ResolveFailed(string rcpt)
    {
        var step = Take("address class, transport and next hop (trivial-rewrite)", "table lookup failure",
            "would defer (4.3.0 address resolver failure); smtpd would reply 451 4.3.0 <" + rcpt + ">: Temporary lookup failure");
        var path = new AddressPath { Recipient = rcpt, Transport = "(deferred)", Nexthop = "4.3.0 address resolver failure", Class = LookupFailure };
        path.Steps.Add(step);
        return path;
    }

    private static (string Name, string Why, string? Parameter) ClassName(int flags)
    {
        if ((flags & MailProto.ResolveClassLocal) != 0)
            return ("local", "is listed in mydestination (or is a local interface address)", "local_transport");
        if ((flags & MailProto.ResolveClassAlias) != 0)
            return ("virtual alias", "is in virtual_alias_domains (an unmatched address is unknown)", null);
        if ((flags & MailProto.ResolveClassVirtual) != 0)
            return ("virtual mailbox", "is in virtual_mailbox_domains", "virtual_transport");
        if ((flags & MailProto.ResolveClassRelay) != 0)
            return ("relay", "is in relay_domains", "relay_transport");
        if ((flags & MailProto.ResolveClassDefault) != 0)
            return ("default (remote)", "is not a local, virtual or relay domain", "default_transport");
        return ("unknown", "could not be classified", null);
    }

    private string RouteWhy(string transport, List<Lookup> lookups, string? classParameter)
    {
        var hits = lookups.Where(l => l.Result != null).ToList();
        if (hits.FirstOrDefault(l => l.Parameter == "relocated_maps") is { } rel)
            return $"relocated_maps {rel.Table} has {rel.Key}: the recipient bounces with the new address";
        if (hits.FirstOrDefault(l => l.Parameter == "transport_maps") is { } tm)
            return $"transport_maps {tm.Table} entry {tm.Key} = {tm.Result}";
        if (hits.FirstOrDefault(l => l.Parameter == "sender_dependent_default_transport_maps") is { } sd)
            return $"sender_dependent_default_transport_maps {sd.Table} entry {sd.Key} = {sd.Result}";
        var why = classParameter != null ? $"{classParameter} = {conf.Eval(classParameter)}" : "the virtual alias class always resolves to the error transport";
        if (classParameter is "default_transport" or "relay_transport" && conf.Eval("relayhost") is { Length: > 0 } rh)
            why += $", relayhost = {rh}";
        if (hits.FirstOrDefault(l => l.Parameter == "sender_dependent_relayhost_maps") is { } sr)
            why += $", sender_dependent_relayhost_maps {sr.Table} entry {sr.Key} = {sr.Result}";
        return why;
    }

    private Step Delivery(string transport, string nexthop, string rcpt)
    {
        var svc = services.FirstOrDefault(s => s.Name == transport && s.Type == "unix");
        if (transport == "error")
            return new Step { Name = "delivery agent", Result = "error(8): the recipient bounces", Note = nexthop };
        if (svc == null)
            return new Step { Name = "delivery agent", Result = $"master.cf has no service {transport}/unix: mail would stay deferred" };
        var command = svc.Command;
        string result;
        string? note = null;
        var local = rcpt.LastIndexOf('@') is var at && at > 0 ? rcpt[..at] : rcpt;
        var dconf = svc.Conf(conf);
        switch (command)
        {
            case "local":
            {
                result = $"local(8) via {svc.Label}";
                var aliases = dconf.Eval("alias_maps");
                var parts = new List<string>();
                if (aliases.Length > 0)
                {
                    Maps maps;
                    try
                    {
                        maps = Open("alias_maps", aliases, DictFlags.Lock | DictFlags.FoldFix);
                    }
                    catch (Postfix.Util.FatalException)
                    {
                        pending.Clear();
                        return new Step { Name = "delivery agent", Result = result, Note = $"alias_maps = {aliases} cannot be opened: local(8) would defer the mail" };
                    }
                    var key = local.ToLowerInvariant();
                    var delim = dconf.Eval("recipient_delimiter");
                    maps.Find(key);
                    var failed = maps.Error != DictError.None;
                    var step0 = Take("", "");
                    var hit = step0.Lookups.FirstOrDefault(l => l.Result != null);
                    parts.Add(hit != null ? $"alias_maps: {hit.Table} {key} -> {hit.Result}"
                        : failed ? $"alias_maps lookup of {key} failed: local(8) would defer (4.3.0 alias database unavailable)"
                        : $"alias_maps: no entry for {key}");
                    var s = new Step { Name = "delivery agent", Result = result };
                    s.Lookups.AddRange(step0.Lookups);
                    s.Unavailable.AddRange(step0.Unavailable);
                    if (!failed && hit == null)
                        parts.Add(LocalRest(dconf));
                    else if (!failed && delim.Length > 0)
                        parts.Add($"recipient_delimiter={delim}");
                    s.Note = string.Join("; ", parts.Where(p => p.Length > 0));
                    return s;
                }
                parts.Add(LocalRest(dconf));
                note = string.Join("; ", parts.Where(p => p.Length > 0));
                break;
            }
            case "virtual":
            {
                result = $"virtual(8) via {svc.Label}";
                var mboxes = dconf.Eval("virtual_mailbox_maps");
                if (mboxes.Length > 0)
                {
                    Maps maps;
                    try
                    {
                        maps = Open("virtual_mailbox_maps", mboxes, DictFlags.Lock | DictFlags.FoldFix);
                    }
                    catch (Postfix.Util.FatalException)
                    {
                        pending.Clear();
                        return new Step { Name = "delivery agent", Result = result, Note = $"virtual_mailbox_maps = {mboxes} cannot be opened: virtual(8) would defer the mail" };
                    }
                    var found = AccessSearch.MailAddrFind(maps, rcpt, out _, new AccessFindOptions { RecipientDelimiter = dconf.Eval("recipient_delimiter") });
                    var s = Take("delivery agent", result, found != null
                        ? $"mailbox {dconf.Eval("virtual_mailbox_base")}/{found}"
                        : maps.Error != DictError.None
                        ? $"virtual_mailbox_maps lookup of {rcpt} failed: virtual(8) would defer (4.3.5 mail system configuration error)"
                        : "no virtual_mailbox_maps entry: the recipient bounces");
                    return s;
                }
                break;
            }
            case "pipe":
                result = $"pipe(8) via {svc.Label}";
                note = svc.Argv() is { } argv ? "command: " + argv.Replace("${nexthop}", nexthop, StringComparison.Ordinal)
                    .Replace("${recipient}", rcpt, StringComparison.Ordinal) : null;
                break;
            case "smtp" or "lmtp":
                result = $"{command}(8) via {svc.Label} to {nexthop}";
                if (dconf.Eval(command + "_tls_security_level") is { Length: > 0 } lvl)
                    note = $"{command}_tls_security_level={lvl}";
                if (dconf.Bool(command + "_sasl_auth_enable"))
                    note = (note == null ? "" : note + ", ") + $"SASL with {dconf.Eval(command + "_sasl_password_maps")}";
                break;
            default:
                result = $"{command} via {svc.Label}";
                break;
        }
        return new Step { Name = "delivery agent", Result = result, Note = note };
    }

    private static string LocalRest(MailConf c)
    {
        var parts = new List<string>();
        if (c.Eval("mailbox_transport") is { Length: > 0 } mt)
            parts.Add("mailbox_transport=" + mt);
        else if (c.Eval("mailbox_command") is { Length: > 0 })
            parts.Add("mailbox_command=" + c.Lookup("mailbox_command"));
        else if (c.Eval("home_mailbox") is { Length: > 0 } hm)
            parts.Add("home_mailbox=" + hm);
        else
            parts.Add("mailbox in " + c.Eval("mail_spool_directory"));
        parts.Insert(0, "forward_path=" + c.Lookup("forward_path"));
        if (c.Eval("fallback_transport") is { Length: > 0 } ft)
            parts.Add("fallback_transport=" + ft);
        if (c.Eval("luser_relay") is { Length: > 0 } lr)
            parts.Add("luser_relay=" + lr);
        return string.Join("; ", parts);
    }
}
