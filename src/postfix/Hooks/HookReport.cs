// NAME
//	HookReport - "postfix hooks" output as text, JSON or Graphviz
// DESCRIPTION
//	Text groups the hooks by stage, one "protocol: endpoint" line each,
//	followed by the parameter and services that wire it and what lies
//	behind the endpoint. JSON carries the same fields for scripts. Dot
//	draws this server's mail flow: the inet listeners, cleanup, the
//	queue, qmgr and trivial-rewrite, the delivery transports defined in
//	master.cf, and every hook as a box hanging off the stage it acts in.
//	A content filter is drawn as the transport that hands mail to it and
//	the way it comes back: the re-injection smtpd of master.cf (a
//	service whose -o content_filter is empty), or sendmail(1) when the
//	filter is a pipe command that calls it.
//	With --all, the catalog points nobody wires are listed with their
//	purpose.
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;

namespace Postfix.Commands.Control.Hooks;

internal static class HookReport
{
    public static void Text(TextWriter o, string configDir, List<Hook> hooks, IEnumerable<HookPoint>? unused)
    {
        o.WriteLine($"Integration points configured in {configDir}:");
        if (hooks.Count == 0)
            o.WriteLine("  (none)");
        string? stage = null;
        foreach (var h in hooks)
        {
            if (h.Stage != stage)
            {
                stage = h.Stage;
                o.WriteLine();
                o.WriteLine($"[{stage}]");
            }
            o.WriteLine($"  {h.Protocol}: {h.Endpoint}");
            o.WriteLine($"      {h.Parameter} ({h.Origin}){Services(h)}");
            if (h.Detail != null)
                o.WriteLine($"      {h.Detail}");
        }
        if (unused != null)
        {
            o.WriteLine();
            o.WriteLine("Available, not used:");
            foreach (var p in unused)
                o.WriteLine($"  [{p.Stage}] {p.Parameter}: {p.Purpose}");
        }
    }

    private static string Services(Hook h) =>
        h.Services.Count == 0 ? "" : " for " + string.Join(", ", h.Services);

    public static void Json(Stream stream, string configDir, List<Hook> hooks, IEnumerable<HookPoint>? unused)
    {
        using var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        w.WriteStartObject();
        w.WriteString("config_directory", configDir);
        w.WriteStartArray("hooks");
        foreach (var h in hooks)
        {
            w.WriteStartObject();
            w.WriteString("stage", h.Stage);
            w.WriteString("parameter", h.Parameter);
            w.WriteString("origin", h.Origin);
            w.WriteStartArray("services");
            foreach (var s in h.Services)
                w.WriteStringValue(s);
            w.WriteEndArray();
            w.WriteString("endpoint", h.Endpoint);
            w.WriteString("protocol", h.Protocol);
            if (h.Detail != null)
                w.WriteString("detail", h.Detail);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        if (unused != null)
        {
            w.WriteStartArray("available");
            foreach (var p in unused)
            {
                w.WriteStartObject();
                w.WriteString("stage", p.Stage);
                w.WriteString("parameter", p.Parameter);
                w.WriteString("purpose", p.Purpose);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        w.WriteEndObject();
        w.Flush();
        stream.WriteByte((byte)'\n');
    }

    private static string Q(string s)
    {
        var sb = new StringBuilder("\"");
        foreach (var c in s)
        {
            if (c is '"' or '\\')
                sb.Append('\\');
            if (c is '\n' or '\r')
            {
                sb.Append("\\n");
                continue;
            }
            sb.Append(c);
        }
        return sb.Append('"').ToString();
    }

    // StageNode - the flow node a hook stage hangs off.
    private static string StageNode(string stage) => stage switch
    {
        "postscreen" => "postscreen",
        _ when stage.StartsWith("smtpd", StringComparison.Ordinal) => "smtpd",
        "cleanup" => "cleanup",
        "trivial-rewrite" => "trivial_rewrite",
        "qmgr" => "qmgr",
        "local delivery" => "d_local",
        "virtual delivery" => "d_virtual",
        "pipe delivery" => "d_pipe",
        "smtp delivery" => "d_smtp",
        "lmtp delivery" => "d_lmtp",
        "address verification" => "verify",
        "bounce and notifications" => "bounce",
        "logging" => "logging",
        _ => "master",
    };

    public static void Dot(TextWriter o, string configDir, List<Hook> hooks, List<MasterService> services, string mainContentFilter = "")
    {
        o.WriteLine("digraph postfix {");
        o.WriteLine("  rankdir=LR;");
        o.WriteLine($"  label={Q("Postfix mail flow: " + configDir)};");
        o.WriteLine("  node [fontname=\"Helvetica\", fontsize=10];");
        o.WriteLine("  edge [fontname=\"Helvetica\", fontsize=9];");
        o.WriteLine("  internet [shape=ellipse, label=\"network clients\"];");
        o.WriteLine("  sendmail [shape=ellipse, label=\"sendmail(1)\\nmaildrop\"];");
        o.WriteLine("  cleanup [shape=box, style=rounded, label=\"cleanup\"];");
        o.WriteLine("  queue [shape=cylinder, label=\"incoming/active/deferred\"];");
        o.WriteLine("  qmgr [shape=box, style=rounded, label=\"qmgr\"];");
        o.WriteLine("  trivial_rewrite [shape=box, style=rounded, label=\"trivial-rewrite\"];");
        o.WriteLine("  sendmail -> cleanup [label=\"pickup\"];");
        o.WriteLine("  cleanup -> queue;");
        o.WriteLine("  queue -> qmgr;");
        o.WriteLine("  qmgr -> trivial_rewrite [dir=both, style=dotted, label=\"resolve\"];");
        var used = new HashSet<string> { "cleanup", "qmgr", "trivial_rewrite" };
        var n = 0;
        foreach (var s in services)
        {
            var id = "svc" + n++;
            if (s.Type is "inet" or "pass" && s.Command is "smtpd" or "postscreen" or "qmqpd")
            {
                o.WriteLine($"  {id} [shape=box, label={Q(s.Label + "\n" + s.Command)}];");
                if (s.Type == "inet")
                    o.WriteLine($"  internet -> {id};");
                else
                    o.WriteLine($"  postscreen_any -> {id} [label=\"pass\"];");
                if (s.Command == "postscreen")
                {
                    o.WriteLine($"  postscreen_any [shape=point];");
                    o.WriteLine($"  {id} -> postscreen_any;");
                    o.WriteLine($"  postscreen -> {id} [style=invis];");
                }
                else
                {
                    var cleanup = s.Override("cleanup_service_name") is { Length: > 0 } c ? c : "cleanup";
                    var label = s.Override("content_filter") is { } f ? (f.Length == 0 ? "no filter" : "filter " + f) : "";
                    o.WriteLine($"  {id} -> cleanup [label={Q(cleanup == "cleanup" ? label : (cleanup + " " + label).Trim())}];");
                    o.WriteLine($"  smtpd -> {id} [style=invis];");
                }
            }
            else if (s.Type == "unix" && s.Command is "smtp" or "lmtp" or "local" or "virtual" or "pipe" or "discard" or "error")
            {
                var argv = s.Command == "pipe" ? s.Argv() : null;
                var text = s.Name + "\n" + s.Command + (argv != null ? "\n" + Trunc(argv, 50) : "");
                o.WriteLine($"  {id} [shape=box, label={Q(text)}];");
                o.WriteLine($"  qmgr -> {id};");
                var stageNode = s.Command switch
                {
                    "smtp" => "d_smtp",
                    "lmtp" => "d_lmtp",
                    "local" => "d_local",
                    "virtual" => "d_virtual",
                    "pipe" => "d_pipe",
                    _ => null,
                };
                if (stageNode != null)
                {
                    o.WriteLine($"  {stageNode} [shape=point];");
                    o.WriteLine($"  {id} -> {stageNode} [arrowhead=none, style=dotted];");
                    used.Add(stageNode);
                }
            }
        }
        ContentFilters(o, services, mainContentFilter);
        var h = 0;
        foreach (var hook in hooks)
        {
            var node = StageNode(hook.Stage);
            if (!used.Contains(node))
            {
                var label = node switch
                {
                    "smtpd" => "smtpd",
                    "postscreen" => "postscreen",
                    "verify" => "verify",
                    "bounce" => "bounce",
                    "logging" => "logging",
                    "master" => "master",
                    _ => hook.Stage,
                };
                o.WriteLine($"  {node} [shape=box, style=\"rounded,dashed\", label={Q(label)}];");
                used.Add(node);
            }
            var id = "hook" + h++;
            o.WriteLine($"  {id} [shape=note, style=filled, fillcolor=lightyellow, label={Q(hook.Protocol + "\n" + Trunc(hook.Endpoint, 60) + "\n(" + hook.Parameter + ")")}];");
            o.WriteLine($"  {node} -> {id} [style=dashed, arrowhead=odot, label={Q(hook.Stage)}];");
        }
        o.WriteLine("}");
    }

    // ContentFilters - each content_filter (main.cf, or a service's -o)
    // as a node fed by its transport, with the re-injection path back.
    private static void ContentFilters(TextWriter o, List<MasterService> services, string mainContentFilter)
    {
        var filters = new List<(string Value, string Origin)>();
        if (mainContentFilter.Length > 0)
            filters.Add((mainContentFilter, "main.cf"));
        foreach (var s in services)
        {
            if (s.Override("content_filter") is { Length: > 0 } f && !filters.Exists(x => x.Value == f))
                filters.Add((f, s.Label));
        }
        if (filters.Count == 0)
            return;
        // Re-injection listeners: smtpd services that clear content_filter.
        var reinjection = new List<int>();
        for (var i = 0; i < services.Count; i++)
        {
            var s = services[i];
            if (s.Command != "smtpd" || s.Override("content_filter") is not { Length: 0 })
                continue;
            reinjection.Add(i);
            if (s.Type is not ("inet" or "pass"))
            {
                // Not drawn with the listeners: a local socket, e.g. unix.
                o.WriteLine($"  svc{i} [shape=box, label={Q(s.Label + "\n" + s.Command)}];");
                o.WriteLine($"  svc{i} -> cleanup [label=\"no filter\"];");
            }
        }
        for (var k = 0; k < filters.Count; k++)
        {
            var (value, origin) = filters[k];
            var colon = value.IndexOf(':');
            var transport = colon >= 0 ? value[..colon] : value;
            var nexthop = colon >= 0 ? value[(colon + 1)..] : "";
            var index = services.FindIndex(s => s.Name == transport && s.Type == "unix");
            var svc = index >= 0 ? services[index] : null;
            var id = "filter" + k;
            var text = "content filter\n" + (svc?.Command == "pipe" ? Trunc(svc.Argv() ?? transport, 50) : nexthop.Length > 0 ? nexthop : transport);
            o.WriteLine($"  {id} [shape=box, style=\"rounded,filled\", fillcolor=lightblue, label={Q(text)}];");
            if (svc != null && svc.Command is "smtp" or "lmtp" or "pipe")
                o.WriteLine($"  svc{index} -> {id} [color=blue, label={Q("content_filter (" + origin + ")")}];");
            else
                o.WriteLine($"  qmgr -> {id} [color=blue, label={Q("content_filter " + value + " (" + origin + ")" + (svc == null ? ": no master.cf service" : ""))}];");
            if (svc?.Command == "pipe")
            {
                if (svc.Argv() is { } argv && argv.Contains("sendmail", StringComparison.Ordinal))
                    o.WriteLine($"  {id} -> sendmail [color=blue, style=bold, label=\"re-injection (sendmail)\"];");
                continue;
            }
            foreach (var r in reinjection)
                o.WriteLine($"  {id} -> svc{r} [color=blue, style=bold, label=\"re-injection\"];");
        }
    }

    private static string Trunc(string s, int max) => s.Length <= max ? s : s[..(max - 3)] + "...";
}
