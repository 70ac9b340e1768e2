// NAME
//	TestQueue - a throw-away queue directory with queue files made by RecordWriter
using System;
using System.IO;
using Postfix.Global.Queue;
using Postfix.Util;

namespace Postfix.Daemons.Showq.Tests;

public sealed class TestQueue : IDisposable
{
    private readonly string saved = Directory.GetCurrentDirectory();

    public TestQueue()
    {
        Dir = Directory.CreateTempSubdirectory("showqtest.").FullName;
        foreach (var q in new[] { "maildrop", "incoming", "active", "deferred", "hold", "defer" })
            Directory.CreateDirectory(Path.Combine(Dir, q));
        Directory.SetCurrentDirectory(Dir);
    }

    public string Dir { get; }

    // Message - write a queue file: T, S, the recipients, M, a body line, X, E.
    public void Message(string path, string sender, long time, params string[] recipients)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(Dir, path))!);
        using (var fs = new FileStream(Path.Combine(Dir, path), FileMode.Create))
        {
            var w = new RecordWriter(fs);
            w.Put(RecordType.Time, $"{time} 0");
            w.Put(RecordType.From, sender);
            foreach (var r in recipients)
                w.Put(RecordType.Rcpt, r);
            w.Put(RecordType.Mesg, "");
            w.Put(RecordType.Norm, "Subject: x");
            w.Put(RecordType.Xtra, "");
            w.Put(RecordType.End, "");
        }
        Sys.Chmod(Path.Combine(Dir, path), 0x1c0);
    }

    public void Dispose()
    {
        Directory.SetCurrentDirectory(saved);
        Directory.Delete(Dir, true);
    }
}
