// NAME
//	ShowqFormatTests - mailq and JSON output of a listing that our
//	ShowqService sends for a temporary queue directory
using System;
using System.IO;
using System.Text;
using Postfix.Daemons.Showq;
using Postfix.Global.Attr;
using Postfix.Global.Queue;
using Postfix.Util;
using Shouldly;
using Xunit;

[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace Postfix.Commands.Postqueue.Tests;

public sealed class ShowqFormatTests : IDisposable
{
    private readonly string saved = Directory.GetCurrentDirectory();
    private readonly string dir = Directory.CreateTempSubdirectory("pqtest.").FullName;

    public ShowqFormatTests()
    {
        foreach (var q in new[] { "maildrop", "incoming", "active", "deferred", "hold", "defer" })
            Directory.CreateDirectory(Path.Combine(dir, q));
        Directory.SetCurrentDirectory(dir);
        Environment.SetEnvironmentVariable("TZ", "UTC");
    }

    public void Dispose()
    {
        Directory.SetCurrentDirectory(saved);
        Directory.Delete(dir, true);
    }

    private void Message(string path, string sender, params string[] rcpts)
    {
        using (var fs = new FileStream(path, FileMode.Create))
        {
            var w = new RecordWriter(fs);
            w.Put(RecordType.Time, "1700000000 0");
            w.Put(RecordType.From, sender);
            foreach (var r in rcpts)
                w.Put(RecordType.Rcpt, r);
            w.Put(RecordType.Mesg, "");
            w.Put(RecordType.Xtra, "");
            w.Put(RecordType.End, "");
        }
        Sys.Chmod(path, 0x1c0);
    }

    private static string Listing(bool json, bool longIds = false)
    {
        var ms = new MemoryStream();
        new ShowqService(new MailQueue()).Serve(ms);
        ms.Position = 0;
        var showq = new AttrStream(ms, "test");
        var v = new AttrValue[1];
        showq.Receive([AttrSpec.StrEq(MailProto.AttrProto, MailProto.ProtoShowq)], v, AttrFlags.Strict).ShouldBe(0);
        var sink = new MemoryStream();
        var output = new StdoutBuffer(sink);
        if (json)
            ShowqFormat.Json(showq, output);
        else
            ShowqFormat.Compat(showq, output, longIds);
        return Encoding.UTF8.GetString(sink.ToArray());
    }

    [Fact]
    public void EmptyQueue() => Listing(false).ShouldBe("Mail queue is empty\n");

    [Fact]
    public void CompatLayout()
    {
        Message("hold/ABCDE1", "s@example.com", "r1@example.org", "r2@example.org");
        Directory.CreateDirectory("defer/A");
        File.WriteAllText("defer/A/ABCDE1", "<r2@example.org>: old style\n\n");
        Listing(false).ShouldBe(
            "-Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------\n"
            + "ABCDE1!          67 Tue Nov 14 22:13:20  s@example.com\n"
            + new string(' ', 67) + "(old style)\n"
            + "                                         r2@example.org\n"
            + "                                                          (reason unavailable)\n"
            + "                                         r1@example.org\n"
            + "\n-- 0 Kbytes in 1 Request.\n");
    }

    [Fact]
    public void JsonQuoting()
    {
        Message("active/ABCDE2", "", "a b@example.org");
        Listing(true).ShouldBe(
            "{\"queue_name\": \"active\", \"queue_id\": \"ABCDE2\", \"arrival_time\": 1700000000, \"message_size\": 39, "
            + "\"forced_expire\": false, \"sender\": \"MAILER-DAEMON\", \"recipients\": [{\"address\": \"\\\"a b\\\"@example.org\"}]}\n");
    }

    [Fact]
    public void QuoteControlCharacters() => ShowqFormat.Quote("a\tb\u0001\u007f\"").ShouldBe("a\\tb\\u0001\\u007F\\\"");

    [Fact]
    public void AscTimePadsTheDay() => ShowqFormat.AscTime(1699000000).ShouldBe("Fri Nov  3 08:26:40 2023");
}
