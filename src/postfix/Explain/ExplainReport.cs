// NAME
//	ExplainReport - "postfix explain address" output
// DESCRIPTION
//	Text numbers the steps, each with its result, a note saying which
//	setting decided, and the table lookups made ("table key -> value"
//	or "not found"). After virtual alias expansion every resulting
//	recipient gets its own class, route and delivery agent steps. JSON
//	has the same structure. A table that could not be opened is reported
//	at the step whose lookup needed it ("table type:name: unavailable:
//	reason"), and all of them once more at the end.
using System.Collections.Generic;
using System.IO;
using System.Text;
using System.Text.Json;

namespace Postfix.Commands.Control.Explain;

internal static class ExplainReport
{
    public static void Text(TextWriter o, string configDir, AddressExplanation x)
    {
        o.WriteLine($"address {x.Input} (configuration {configDir})");
        var n = 0;
        if (x.Sender != null)
        {
            o.WriteLine($"sender {x.Sender}:");
            foreach (var s in x.SenderSteps)
                WriteStep(o, ++n, s, "  ");
        }
        o.WriteLine("recipient:");
        foreach (var s in x.Steps)
            WriteStep(o, ++n, s, "  ");
        foreach (var p in x.Paths)
        {
            o.WriteLine($"recipient {p.Recipient}:");
            foreach (var s in p.Steps)
                WriteStep(o, ++n, s, "  ");
        }
        if (x.Unavailable.Count > 0)
        {
            o.WriteLine("unavailable tables (lookups fail with a temporary error, as in the daemons):");
            foreach (var u in x.Unavailable)
                o.WriteLine($"  {u}");
        }
        o.WriteLine("result:");
        foreach (var p in x.Paths)
            o.WriteLine(p.Class == AddressExplainer.LookupFailure
                ? $"  {p.Recipient} -> would defer ({p.Nexthop})"
                : $"  {p.Recipient} -> {p.Transport}:{p.Nexthop} ({p.Class})");
    }

    private static void WriteStep(TextWriter o, int n, Step s, string indent)
    {
        o.WriteLine($"{indent}{n,2}. {s.Name}: {s.Result}");
        if (s.Note != null)
            o.WriteLine($"{indent}      {s.Note}");
        foreach (var u in s.Unavailable)
            o.WriteLine($"{indent}      {u}");
        foreach (var l in s.Lookups)
            o.WriteLine($"{indent}      lookup {l.Parameter} {l.Table} key \"{l.Key}\": {(l.Error != null ? "lookup error (" + l.Error + ")" : l.Result == null ? "not found" : "\"" + l.Result + "\"")}");
    }

    public static void Json(TextWriter o, string configDir, AddressExplanation x)
    {
        var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("config_directory", configDir);
            w.WriteString("address", x.Input);
            if (x.Sender != null)
            {
                w.WriteString("sender", x.Sender);
                Steps(w, "sender_steps", x.SenderSteps);
            }
            Steps(w, "steps", x.Steps);
            w.WriteStartArray("recipients");
            foreach (var p in x.Paths)
            {
                w.WriteStartObject();
                w.WriteString("recipient", p.Recipient);
                w.WriteString("class", p.Class);
                w.WriteString("transport", p.Transport);
                w.WriteString("nexthop", p.Nexthop);
                Steps(w, "steps", p.Steps);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartArray("unavailable");
            foreach (var u in x.Unavailable)
                w.WriteStringValue(u);
            w.WriteEndArray();
            w.WriteEndObject();
        }
        o.Write(Encoding.UTF8.GetString(ms.ToArray()));
        o.Write('\n');
    }

    private static void Steps(Utf8JsonWriter w, string name, List<Step> steps)
    {
        w.WriteStartArray(name);
        foreach (var s in steps)
        {
            w.WriteStartObject();
            w.WriteString("step", s.Name);
            w.WriteString("result", s.Result);
            if (s.Note != null)
                w.WriteString("note", s.Note);
            w.WriteStartArray("lookups");
            foreach (var l in s.Lookups)
            {
                w.WriteStartObject();
                w.WriteString("parameter", l.Parameter);
                w.WriteString("table", l.Table);
                w.WriteString("key", l.Key);
                if (l.Result == null)
                    w.WriteNull("result");
                else
                    w.WriteString("result", l.Result);
                if (l.Error != null)
                    w.WriteString("error", l.Error);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartArray("unavailable");
            foreach (var u in s.Unavailable)
                w.WriteStringValue(u);
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }
}
