// NAME
//	ErrorTests - error(8) and retry delivery of a request
// DESCRIPTION
//	A scratch queue directory with a fake bounce service (the
//	reference's delivery_status_protocol: announcement, one request,
//	status 0). Bounced recipients are marked done; deferred ones are
//	not.
using System;
using System.IO;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using Postfix.Daemons.Error;
using Postfix.Global.Deliver;
using Postfix.Util;
using Shouldly;
using Xunit;

namespace Postfix.Daemons.Error.Tests;

public sealed class ErrorTests : IDisposable
{
    private const string Id = "4A5B6C7D8F";
    private readonly DirectoryInfo dir = Directory.CreateTempSubdirectory("error");
    private readonly TextWriter savedErr = Msg.Err;
    private readonly StringWriter err = new();
    private Socket? listener;
    private int requests;

    public ErrorTests()
    {
        Directory.CreateDirectory(Path.Combine(dir.FullName, "active"));
        Directory.CreateDirectory(Path.Combine(dir.FullName, "private"));
        File.WriteAllBytes(QueueFile, Encoding.ASCII.GetBytes("C\u0001xR\u0003a@bR\u0003c@dE\0"));
        DeliverConfig.QueueDirectory = dir.FullName;
        DeliverConfig.FlushDomains = "";
        Msg.Err = err;
    }

    private string QueueFile => Path.Combine(dir.FullName, "active", Id);

    public void Dispose()
    {
        Msg.Err = savedErr;
        listener?.Dispose();
        DeliverConfig.QueueDirectory = null;
        dir.Delete(true);
    }

    private void FakeService(string name)
    {
        listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(Path.Combine(dir.FullName, "private", name)));
        listener.Listen(5);
        var l = listener;
        new Thread(() =>
        {
            try
            {
                for (; ; )
                {
                    using var s = l.Accept();
                    s.Send("protocol\0delivery_status_protocol\0\0"u8.ToArray());
                    // Read up to the list terminator: an empty name.
                    var one = new byte[1];
                    int zeros = 0, tokens = 0, len = 0;
                    while (s.Receive(one) == 1)
                    {
                        if (one[0] != 0)
                        {
                            len++;
                            continue;
                        }
                        if (len == 0 && tokens % 2 == 0)
                            break;
                        tokens++;
                        len = 0;
                        zeros++;
                    }
                    Interlocked.Increment(ref requests);
                    s.Send("status\00\0\0"u8.ToArray());
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
            }
        }) { IsBackground = true }.Start();
    }

    private static DeliverRequest Request(string nexthop) => new()
    {
        Flags = DelReqFlags.Deflt,
        QueueName = "active",
        QueueId = Id,
        Nexthop = nexthop,
        Sender = "s@x",
        Stats = new MsgStats { IncomingArrival = TimeVal.Now(), ActiveArrival = TimeVal.Now() },
        Recipients = { new Recipient("", "a@b", 3, "", 0), new Recipient("", "c@d", 8, "", 0) },
    };

    [Fact]
    public void ErrorBouncesAndMarksDone()
    {
        FakeService("bounce");
        Error.DeliverMessage(Request("5.1.1 no such place"), "5.0.0", DeliveryStatus.BounceAppend).ShouldBe(0);
        requests.ShouldBe(2);
        var bytes = File.ReadAllBytes(QueueFile);
        ((char)bytes[3]).ShouldBe('D');
        ((char)bytes[8]).ShouldBe('D');
        err.ToString().ShouldContain(", dsn=5.1.1, status=bounced (no such place)");
    }

    [Fact]
    public void ErrorWithABadCodeWarns()
    {
        FakeService("bounce");
        Error.DeliverMessage(Request("4.4.4 odd"), "5.0.0", DeliveryStatus.BounceAppend).ShouldBe(0);
        err.ToString().ShouldContain("warning: bounce_append: ignoring dsn code \"4.4.4\"");
        err.ToString().ShouldContain(", dsn=5.0.0, status=bounced (odd)");
    }

    [Fact]
    public void RetryDefersAndLeavesTheRecipients()
    {
        FakeService("defer");
        Error.DeliverMessage(Request("try later"), "4.0.0", DeliveryStatus.DeferAppend).ShouldBe(-1);
        requests.ShouldBe(2);
        var bytes = File.ReadAllBytes(QueueFile);
        ((char)bytes[3]).ShouldBe('R');
        ((char)bytes[8]).ShouldBe('R');
        err.ToString().ShouldContain(", dsn=4.0.0, status=deferred (try later)");
    }

    [Fact]
    public void BounceServiceDownDefers()
    {
        Error.DeliverMessage(Request("5.1.1 gone"), "5.0.0", DeliveryStatus.BounceAppend).ShouldBe(-1);
        var log = err.ToString();
        log.ShouldContain("warning: connect to private/bounce: No such file or directory");
        log.ShouldContain(", dsn=4.3.0, status=deferred (bounce or trace service failure)");
        ((char)File.ReadAllBytes(QueueFile)[3]).ShouldBe('R');
    }
}
