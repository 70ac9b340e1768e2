// NAME
//	Harness - drive a cleanup session in memory
// DESCRIPTION
//	A fake trivial-rewrite (unqualified addresses get @example.com), a
//	configuration without tables, and a session writing into a
//	MemoryStream; Records() reads the result back as (type, text).
using System.Collections.Generic;
using System.IO;
using System.Text;
using Postfix.Global.Queue;

namespace Postfix.Daemons.Cleanup.Tests;

internal sealed class FakeRewriter : IAddressRewriter
{
    public List<(string Context, string Address)> Calls { get; } = new();

    public string Rewrite(string context, string address)
    {
        Calls.Add((context, address));
        if (address.Length == 0 || address.Contains('@'))
            return address;
        return address + "@example.com";
    }
}

internal sealed class Harness
{
    public Harness(CleanupConfig? cfg = null, int flags = CleanupFlags.Filter | CleanupFlags.MapOk | CleanupFlags.BccOk)
    {
        Cfg = cfg ?? new CleanupConfig { MyHostname = "host.example.com", MessageLimit = 0 };
        Session = new CleanupSession(Cfg, Rewriter, Stream, "4ABC123", 1700000000);
        Session.Control(flags);
    }

    public CleanupConfig Cfg { get; }

    public FakeRewriter Rewriter { get; } = new();

    public MemoryStream Stream { get; } = new();

    public CleanupSession Session { get; }

    public Harness Rec(char type, string text = "")
    {
        Session.Record(type, text);
        return this;
    }

    // Standard envelope: time, sender, recipient.
    public Harness Envelope(string sender = "alice", params string[] rcpts)
    {
        Rec('T', "1700000000 123456").Rec('A', "rewrite_context=local").Rec('S', sender);
        foreach (var r in rcpts.Length == 0 ? ["bob"] : rcpts)
            Rec('R', r);
        return Rec('M');
    }

    public Harness Lines(params string[] lines)
    {
        foreach (var l in lines)
            Rec('N', l);
        return this;
    }

    public Harness End() => Rec('X').Rec('E');

    public List<(char Type, string Text)> Records()
    {
        Session.Finish();
        var data = Stream.ToArray();
        var reader = new RecordReader(data, "test");
        var list = new List<(char, string)>();
        int t;
        while ((t = reader.ReadRaw(out var rec, 0, RecordFlags.None)) > 0)
            list.Add(((char)t, Encoding.Latin1.GetString(rec)));
        return list;
    }

    public List<string> Content()
    {
        var list = new List<string>();
        var inContent = false;
        foreach (var (type, text) in Records())
        {
            if (type == 'M')
                inContent = true;
            else if (type == 'X')
                inContent = false;
            else if (inContent)
                list.Add(type == 'N' ? text : type + ":" + text);
        }
        return list;
    }
}
