// NAME
//	AttrMailTriggerTests - MailTrigger over FIFOs and UNIX sockets
// DESCRIPTION
//	A socket trigger carries the request and one NUL byte (as cleanup's
//	"W" to qmgr was seen on the wire: "W" then "\0"); a FIFO trigger
//	carries the request alone and fails when nobody reads the FIFO.
using System;
using System.IO;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Postfix.Global.Attr;
using Postfix.Util;
using Shouldly;
using Xunit;

namespace Postfix.Global.Tests;

[Collection("Msg")]
public sealed partial class AttrMailTriggerTests : IDisposable
{
    private readonly DirectoryInfo dir = Directory.CreateTempSubdirectory("attr-trigger");

    public AttrMailTriggerTests() => Directory.CreateDirectory(Path.Combine(dir.FullName, "public"));

    public void Dispose() => dir.Delete(true);

    [LibraryImport("libc", EntryPoint = "mkfifo", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int MkFifo(string path, int mode);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    private static unsafe partial nint Read(int fd, byte* buf, nuint count);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);

    private static string Warnings(Func<int> body, out int result)
    {
        var saved = Msg.Err;
        var savedTag = Msg.Tag;
        var err = new StringWriter { NewLine = "\n" };
        try
        {
            Msg.Err = err;
            Msg.Tag = "test";
            result = body();
        }
        finally
        {
            Msg.Err = saved;
            Msg.Tag = savedTag;
        }
        return err.ToString();
    }

    [Fact]
    public void SocketTriggerAppendsNul()
    {
        using var l = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        l.Bind(new UnixDomainSocketEndPoint(Path.Combine(dir.FullName, "public", "qmgr")));
        l.Listen(1);
        Warnings(() => MailTrigger.FlushDeferred(dir.FullName), out var result).ShouldBeEmpty();
        result.ShouldBe(0);
        using var s = l.Accept();
        var buf = new byte[16];
        var got = new System.Collections.Generic.List<byte>();
        for (int n; (n = s.Receive(buf)) > 0;)
            got.AddRange(buf.AsSpan(0, n).ToArray());
        got.ToArray().ShouldBe("FADI\0"u8.ToArray());
    }

    [Fact]
    public unsafe void FifoTriggerWritesTheRequest()
    {
        var path = Path.Combine(dir.FullName, "public", "pickup");
        MkFifo(path, 0x1b0).ShouldBe(0);
        var rd = Open(path, 0x800);     // O_RDONLY | O_NONBLOCK
        rd.ShouldBeGreaterThanOrEqualTo(0);
        try
        {
            Warnings(() => MailTrigger.FlushMaildrop(dir.FullName), out var result).ShouldBeEmpty();
            result.ShouldBe(0);
            var buf = stackalloc byte[16];
            Read(rd, buf, 16).ShouldBe(1);
            buf[0].ShouldBe((byte)'W');
        }
        finally
        {
            Close(rd);
        }
    }

    [Fact]
    public void FifoWithoutReaderFails()
    {
        MkFifo(Path.Combine(dir.FullName, "public", "pickup"), 0x1b0).ShouldBe(0);
        Warnings(() => MailTrigger.FlushMaildrop(dir.FullName), out var result).ShouldBeEmpty();
        result.ShouldBe(-1);
    }

    [Fact]
    public void MissingService()
    {
        Warnings(() => MailTrigger.FlushMaildrop(dir.FullName), out var result)
            .ShouldBe("test: warning: unable to look up public/pickup: No such file or directory\n");
        result.ShouldBe(-1);
    }

    [Fact]
    public void PlainFileIsNotAService()
    {
        File.WriteAllText(Path.Combine(dir.FullName, "public", "pickup"), "");
        Warnings(() => MailTrigger.FlushMaildrop(dir.FullName), out var result)
            .ShouldBe("test: warning: public/pickup is not a socket or a fifo\n");
        result.ShouldBe(-1);
    }
}
