// NAME
//	SmtpExplainer - "postfix explain smtp": the restriction lists, offline
// POSTFIX
//	src/smtpd/smtpd_check.c, src/smtpd/smtpd.c (when each check runs)
// DESCRIPTION
//	Runs smtpd's own restriction engine (Postfix.Daemons.SmtpdCheck.
//	SmtpdChecker) on a simulated session, with main.cf as the chosen
//	master.cf smtpd service sees it (its -o overrides applied). The
//	checks run at the stages smtpd runs them: CONNECT, HELO, MAIL FROM
//	at their commands, or all at RCPT TO with smtpd_delay_reject = yes
//	(without --to they are still shown, each on its own); then RCPT TO
//	for each recipient, DATA and END-OF-DATA. A tracer records every
//	restriction with its outcome and the table lookups, DNS queries and
//	policy requests behind it. Address resolution uses trivial-rewrite's
//	code in this process; verify(8) is not asked (address verification
//	reports "not done offline", as a deferral). --no-external points the
//	DNS resolver at a closed loopback port, so that DNS lists and
//	reverse lookups fail as temporary errors instead of being sent, and
//	shows each policy request without sending it (the list goes on).
//	A table that cannot be opened is a surrogate, as in smtpd: the
//	restriction that looks it up shows "table type:name: unavailable:
//	reason" and gets smtpd's temporary failure (451 4.3.5 for an access
//	table, 451 4.3.0 for address resolution), and the result says the
//	session would be deferred.
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using Postfix.Commands.Control.Hooks;
using Postfix.Daemons.SmtpdCheck;
using Postfix.Daemons.TrivialRewrite;
using Postfix.Global.Attr;
using Postfix.Global.Config;
using Postfix.Global.Deliver;
using Postfix.Global.Dict;
using Postfix.Util;

namespace Postfix.Commands.Control.Explain;

internal sealed class SmtpTraceEvent
{
    public required string Kind { get; init; }     // restriction, lookup, dns, policy
    public required string Text { get; init; }
    public string? Outcome { get; init; }
}

internal sealed class SmtpStage
{
    public required string Name { get; init; }
    public List<(string List, List<SmtpTraceEvent> Events)> Lists { get; } = new();
    public string? Reply { get; set; }
}

internal sealed class ExplainTracer : ICheckTracer
{
    // Lookups, DNS queries and policy requests come before the
    // restriction that made them: they are shown after it.
    private readonly List<SmtpTraceEvent> pending = new();
    private SmtpStage? stage;

    public SmtpStage? Stage
    {
        get => stage;
        set
        {
            Flush();
            stage = value;
        }
    }

    private List<SmtpTraceEvent> Current()
    {
        if (stage!.Lists.Count == 0)
            stage.Lists.Add(("(before any list)", new List<SmtpTraceEvent>()));
        return stage.Lists[^1].Events;
    }

    private void Flush()
    {
        if (stage != null && pending.Count > 0)
            Current().AddRange(pending);
        pending.Clear();
    }

    // End - the stage ended with reply. Lookups left over belong to a
    // restriction that smtpd abandoned with a temporary failure (a table
    // lookup error ends the evaluation at once, as smtpd_check's longjmp).
    public void End(string? reply)
    {
        if (stage == null || pending.Count == 0 || reply == null)
            return;
        Current().Add(new SmtpTraceEvent { Kind = "restriction", Text = "(the next restriction: stopped by a lookup failure)", Outcome = reply.Length == 0 ? "(hang up)" : reply });
        Flush();
    }

    public void List(string name)
    {
        Flush();
        stage?.Lists.Add((name, new List<SmtpTraceEvent>()));
    }

    public void Restriction(string restriction, string outcome)
    {
        failedAccess = false;
        if (stage == null)
            return;
        Current().Add(new SmtpTraceEvent { Kind = "restriction", Text = restriction, Outcome = outcome.Length == 0 ? "(hang up)" : outcome });
        Flush();
    }

    private bool failedAccess;

    // Unavailable - a lookup in a table that could not be opened.
    public void Unavailable(string line)
    {
        failedAccess = true;
        if (stage != null && !pending.Any(e => e.Kind == "table" && e.Text == line))
            pending.Add(new SmtpTraceEvent { Kind = "table", Text = line.StartsWith("table ", StringComparison.Ordinal) ? line[6..] : line, Outcome = "temporary lookup error" });
    }

    public void Lookup(string table, string key, string? result)
    {
        var outcome = result ?? (failedAccess ? "lookup error (table unavailable)" : "not found");
        failedAccess = false;
        pending.Add(new SmtpTraceEvent { Kind = "lookup", Text = $"{table} key \"{key}\"", Outcome = outcome });
    }

    public void Dns(string query, string type, string outcome) =>
        pending.Add(new SmtpTraceEvent { Kind = "dns", Text = $"{query} {type}", Outcome = outcome });

    public void Policy(string endpoint, string request, string? reply) =>
        pending.Add(new SmtpTraceEvent { Kind = "policy", Text = endpoint + " request: " + request.Replace('\n', ' '), Outcome = reply ?? "(not sent: --no-external)" });
}

internal static class SmtpExplainer
{
    private const string Usage = "explain smtp [-c config_dir] [--service NAME] --client ADDR[,HOSTNAME] [--helo NAME] [--from ADDR] [--to ADDR ...] [--sasl USER] [--tls] [--no-external] [--format text|json]";

    public static int Run(MailConf main, List<MasterService> services, string? serviceName, string? client, string? helo,
        string? from, List<string> to, string? sasl, bool tls, bool noExternal, string format)
    {
        if (client == null)
            Msg.Fatal($"usage: {Msg.Tag} {Usage}");
        var smtpds = services.Where(s => s.Command == "smtpd").ToList();
        MasterService? svc = null;
        if (serviceName != null)
        {
            svc = smtpds.FirstOrDefault(s => s.Name == serviceName || s.Label == serviceName);
            if (svc == null)
                Msg.Fatal($"explain smtp: no smtpd service \"{serviceName}\" in {main.ConfigDirectory}/master.cf");
        }
        else
        {
            svc = smtpds.FirstOrDefault(s => s.Name == "smtp" && s.Type == "inet") ?? smtpds.FirstOrDefault();
        }
        var conf = svc != null ? svc.Conf(main) : main;
        if (noExternal)
        {
            var resolv = Path.Combine(Path.GetTempPath(), $"postfix-explain-resolv.{Environment.ProcessId}");
            File.WriteAllText(resolv, "nameserver 127.0.0.1#9\noptions timeout:1 attempts:1\n");
            Environment.SetEnvironmentVariable("POSTFIX_RESOLV_CONF", resolv);
            AppDomain.CurrentDomain.ProcessExit += (_, _) => File.Delete(resolv);
        }

        var tracer = new ExplainTracer();
        var unavailable = new List<string>();
        DictSurrogate.Observer = (table, access) =>
        {
            var line = AddressExplainer.Describe(table);
            if (!unavailable.Contains(line))
                unavailable.Add(line);
            if (access)
                tracer.Unavailable(line);
        };
        var label = svc?.Label ?? "(main.cf only)";
        var stages = new List<SmtpStage>();
        void Report(string verdict)
        {
            if (format == "json")
                Json(ProgramHost.Out, main.ConfigDirectory, label, client, stages, unavailable, verdict);
            else
                Text(ProgramHost.Out, main.ConfigDirectory, label, client, stages, unavailable, verdict);
        }
        // A configuration that smtpd refuses (a fatal error at start-up,
        // e.g. no working relay restriction, or an inet_interfaces address
        // this machine lacks) is the result; the report is still given.
        AddressRewrite rewrite;
        AddressResolve resolve;
        SmtpdChecker checker;
        try
        {
            rewrite = new AddressRewrite(conf);
            resolve = new AddressResolve(conf, rewrite);
            checker = NewChecker();
        }
        catch (FatalException e)
        {
            Report($"smtpd would not start here: fatal: {e.Message}");
            return 0;
        }
        SmtpdChecker NewChecker() => new SmtpdChecker(conf)
        {
            Tracer = tracer,
            NoExternal = noExternal,
            QueueDirectory = conf.Eval("queue_directory"),
            Resolver = (sender, addr) =>
            {
                var s = sender.Length > 0 ? rewrite.Rewrite("local", sender) ?? sender : sender;
                var a = addr.Length > 0 ? rewrite.Rewrite("local", addr) ?? addr : addr;
                var r = resolve.Resolve(resolve.Regular, s, a);
                return new ResolveReply(r.Transport, r.Nexthop, r.Recipient, r.Flags);
            },
            Verifier = _ => (VerifyClient.StatOk, 1, "address verification is not done offline"),
        };

        var comma = client.IndexOf(',');
        var addr = comma >= 0 ? client[..comma] : client;
        var name = comma >= 0 ? client[(comma + 1)..] : null;
        var v6 = addr.Contains(':');
        var state = new SmtpdState
        {
            Addr = addr,
            Name = name ?? "unknown",
            ReverseName = name ?? "unknown",
            NameStatus = name != null ? 2 : 5,
            ReverseNameStatus = name != null ? 2 : 5,
            NamAddr = $"{name ?? "unknown"}[{addr}]",
            RfcAddr = v6 ? "IPv6:" + addr : addr,
            AddrFamily = v6 ? 10 : 2,
            Port = "0",
            Service = svc?.Name ?? "smtpd",
            Protocol = helo != null ? "ESMTP" : "SMTP",
        };
        if (sasl != null)
        {
            state.SaslUsername = sasl;
            state.SaslMethod = "PLAIN";
            state.SaslActive = true;
        }
        if (tls)
            state.Tls = new SmtpdTls { Protocol = "TLSv1.3", CipherName = "TLS_AES_256_GCM_SHA384", CipherUseBits = 256, CipherAlgBits = 256 };

        string? fatal = null;
        string? Stage(string stageName, string where, Func<string?> check)
        {
            var st = new SmtpStage { Name = stageName };
            stages.Add(st);
            tracer.Stage = st;
            state.Where = where;
            try
            {
                st.Reply = check();
            }
            catch (FatalException e)
            {
                // smtpd would terminate: the client sees the connection drop.
                fatal = e.Message;
                st.Reply = "";
            }
            tracer.End(st.Reply);
            tracer.Stage = null;
            return st.Reply;
        }

        var delay = conf.Bool("smtpd_delay_reject");
        string? final = null;
        checker.CheckRewrite(state);
        if (!delay || to.Count == 0)
        {
            final = Stage("CONNECT", "CONNECT", () => checker.CheckClient(state));
            if (final == null && helo != null)
                final = Stage($"HELO {helo}", "HELO", () => checker.CheckHelo(state, helo));
            if (final == null && from != null)
                final = Stage($"MAIL FROM:<{from}>", "MAIL", () => checker.CheckMail(state, from));
        }
        state.HeloName = helo;
        state.Sender = from ?? (to.Count > 0 ? "" : null);
        var accepted = 0;
        if (final == null)
        {
            foreach (var rcpt in to)
            {
                var reply = Stage($"RCPT TO:<{rcpt}>", "RCPT", () => checker.CheckRcpt(state, rcpt));
                if (reply == null)
                {
                    accepted++;
                    state.RcptCount++;
                }
            }
            if (accepted > 0)
            {
                state.Recipient = to.Count == 1 ? to[0] : null;
                final = Stage("DATA", "DATA", () => checker.CheckData(state));
                if (final == null)
                    final = Stage("END-OF-DATA", "END-OF-MESSAGE", () => checker.CheckEod(state));
            }
        }
        var verdict = fatal != null ? $"smtpd would terminate (fatal: {fatal}): the connection is dropped"
            : final != null ? (final.Length == 0 ? "connection dropped (hang up)" : (final.StartsWith('4') ? "would defer (temporary failure): " : "rejected: ") + final)
            : to.Count > 0 && accepted == 0 && stages.Any(st => st.Reply is { Length: > 0 } r && r[0] == '4')
                ? "would defer: every recipient got a temporary (4xx) reply"
            : to.Count > 0 && accepted == 0 ? "every recipient rejected"
            : to.Count > 0 ? $"accepted for {accepted} of {to.Count} recipient(s)" + Actions(state)
            : "not rejected";
        Report(verdict);
        return 0;
    }

    private static string Actions(SmtpdState s)
    {
        var parts = new List<string>();
        if (s.Discard)
            parts.Add("DISCARD");
        if (s.SavedFilter != null)
            parts.Add("FILTER " + s.SavedFilter);
        if (s.SavedRedirect != null)
            parts.Add("REDIRECT " + s.SavedRedirect);
        foreach (var b in s.SavedBcc)
            parts.Add("BCC " + b);
        if ((s.SavedFlags & SmtpdChecker.CleanupFlagHold) != 0)
            parts.Add("HOLD");
        foreach (var p in s.Prepend)
            parts.Add("PREPEND " + p);
        return parts.Count == 0 ? "" : "; actions: " + string.Join(", ", parts);
    }

    private static void Text(TextWriter o, string dir, string service, string client, List<SmtpStage> stages, List<string> unavailable, string verdict)
    {
        o.WriteLine($"smtp session from {client} to service {service} (configuration {dir})");
        foreach (var st in stages)
        {
            o.WriteLine($"{st.Name}:");
            foreach (var (list, events) in st.Lists)
            {
                o.WriteLine($"  {list}");
                foreach (var e in events)
                {
                    if (e.Kind == "restriction")
                        o.WriteLine($"    {e.Text} -> {e.Outcome}");
                    else if (e.Kind == "table")
                        o.WriteLine($"      table {e.Text} ({e.Outcome})");
                    else
                        o.WriteLine($"      {e.Kind} {e.Text}: {e.Outcome}");
                }
            }
            o.WriteLine($"  => {(st.Reply == null ? "ok" : st.Reply.Length == 0 ? "(hang up)" : st.Reply)}");
        }
        if (unavailable.Count > 0)
        {
            o.WriteLine("unavailable tables (lookups fail with a temporary error, as in smtpd):");
            foreach (var u in unavailable)
                o.WriteLine($"  {u}");
        }
        o.WriteLine($"result: {verdict}");
    }

    private static void Json(TextWriter o, string dir, string service, string client, List<SmtpStage> stages, List<string> unavailable, string verdict)
    {
        var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("config_directory", dir);
            w.WriteString("service", service);
            w.WriteString("client", client);
            w.WriteStartArray("stages");
            foreach (var st in stages)
            {
                w.WriteStartObject();
                w.WriteString("stage", st.Name);
                w.WriteStartArray("lists");
                foreach (var (list, events) in st.Lists)
                {
                    w.WriteStartObject();
                    w.WriteString("list", list);
                    w.WriteStartArray("events");
                    foreach (var e in events)
                    {
                        w.WriteStartObject();
                        w.WriteString("kind", e.Kind);
                        w.WriteString("text", e.Text);
                        w.WriteString("outcome", e.Outcome);
                        w.WriteEndObject();
                    }
                    w.WriteEndArray();
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                if (st.Reply == null)
                    w.WriteNull("reply");
                else
                    w.WriteString("reply", st.Reply);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartArray("unavailable");
            foreach (var u in unavailable)
                w.WriteStringValue(u);
            w.WriteEndArray();
            w.WriteString("result", verdict);
            w.WriteEndObject();
        }
        o.Write(Encoding.UTF8.GetString(ms.ToArray()));
        o.Write('\n');
    }
}
