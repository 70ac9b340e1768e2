// NAME
//	DovecotServerTests - XsaslServer against a real Dovecot and a fake one
using System;
using System.IO;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Shouldly;
using Xunit;

namespace Postfix.Xsasl.Tests;

public sealed class DovecotServerTests : IClassFixture<DovecotFixture>
{
    private readonly DovecotFixture dovecot;

    public DovecotServerTests(DovecotFixture dovecot)
    {
        this.dovecot = dovecot;
    }

    private static string B64(string s) => Convert.ToBase64String(Encoding.UTF8.GetBytes(s));

    private static XsaslServerArgs Args(string options = "noanonymous") => new()
    {
        Service = "smtp",
        SecurityOptions = options,
        ClientAddr = "127.0.0.1",
        ServerAddr = "127.0.0.1",
    };

    [Fact]
    public void MechanismsAreFilteredBySecurityOptions()
    {
        using var impl = XsaslServerImpl.Init("dovecot", dovecot.Socket)!;
        impl.Create(Args())!.MechanismList.ShouldBe("PLAIN LOGIN");
        impl.Create(Args("noanonymous, noplaintext"))!.MechanismList.ShouldBe("");
        impl.Create(Args("forward_secrecy"))!.MechanismList.ShouldBe("");
    }

    [Fact]
    public void RelativePathIsRelativeToTheWorkingDirectory()
    {
        // smtpd runs in the queue directory: smtpd_sasl_path = private/auth.
        var old = Directory.GetCurrentDirectory();
        Directory.SetCurrentDirectory(dovecot.Dir);
        try
        {
            using var impl = XsaslServerImpl.Init("dovecot", "auth-client")!;
            impl.Create(Args())!.MechanismList.ShouldBe("PLAIN LOGIN");
        }
        finally
        {
            Directory.SetCurrentDirectory(old);
        }
    }

    [Fact]
    public void PlainSucceeds()
    {
        using var impl = XsaslServerImpl.Init("dovecot", "unix:" + dovecot.Socket)!;
        using var s = impl.Create(Args())!;
        _ = s.MechanismList;
        s.First("plain", B64("\0test\0secret"), out var reply).ShouldBe(XsaslStatus.Done);
        reply.ShouldBe("");
        s.Username.ShouldBe("test");
    }

    [Fact]
    public void PlainWithWrongPasswordFails()
    {
        using var impl = XsaslServerImpl.Init("dovecot", dovecot.Socket)!;
        using var s = impl.Create(Args())!;
        _ = s.MechanismList;
        s.First("PLAIN", B64("\0test\0wrong"), out var reply).ShouldBe(XsaslStatus.Fail);
        reply.ShouldBe("");
        // Dovecot names the user in FAIL too, and the reference keeps it.
        s.Username.ShouldBe("test");
    }

    [Fact]
    public void PlainWithoutInitialResponseGetsAnEmptyChallenge()
    {
        using var impl = XsaslServerImpl.Init("dovecot", dovecot.Socket)!;
        using var s = impl.Create(Args())!;
        _ = s.MechanismList;
        s.First("PLAIN", null, out var reply).ShouldBe(XsaslStatus.More);
        reply.ShouldBe("");
        s.Next(B64("\0other\0pw2"), out reply).ShouldBe(XsaslStatus.Done);
        s.Username.ShouldBe("other");
    }

    [Fact]
    public void LoginTakesTwoRounds()
    {
        using var impl = XsaslServerImpl.Init("dovecot", dovecot.Socket)!;
        using var s = impl.Create(Args())!;
        _ = s.MechanismList;
        s.First("LOGIN", null, out var reply).ShouldBe(XsaslStatus.More);
        Encoding.ASCII.GetString(Convert.FromBase64String(reply)).ShouldBe("Username:");
        s.Next(B64("test"), out reply).ShouldBe(XsaslStatus.More);
        Encoding.ASCII.GetString(Convert.FromBase64String(reply)).ShouldBe("Password:");
        s.Next(B64("secret"), out reply).ShouldBe(XsaslStatus.Done);
        s.Username.ShouldBe("test");

        using var bad = impl.Create(Args())!;
        _ = bad.MechanismList;
        bad.First("LOGIN", B64("test"), out reply).ShouldBe(XsaslStatus.More);
        bad.Next(B64("nope"), out reply).ShouldBe(XsaslStatus.Fail);
    }

    [Fact]
    public void UnknownMechanismAndBadBase64AreRefusedLocally()
    {
        using var impl = XsaslServerImpl.Init("dovecot", dovecot.Socket)!;
        using var s = impl.Create(Args())!;
        _ = s.MechanismList;
        s.First("CRAM-MD5", null, out var reply).ShouldBe(XsaslStatus.Fail);
        reply.ShouldBe("Invalid authentication mechanism");
        s.First("PLAIN", "not base64!", out reply).ShouldBe(XsaslStatus.Fail);
        reply.ShouldBe("Invalid base64 data in initial response");
        s.First("LOGIN", null, out reply).ShouldBe(XsaslStatus.More);
        s.Next("*", out reply).ShouldBe(XsaslStatus.Fail);
        reply.ShouldBe("Invalid base64 data in continued response");
    }

    [Fact]
    public void SessionsOnManyThreadsShareOneConnection()
    {
        using var impl = XsaslServerImpl.Init("dovecot", dovecot.Socket)!;
        var results = new XsaslStatus[16];
        Parallel.For(0, results.Length, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            using var s = impl.Create(Args())!;
            _ = s.MechanismList;
            var good = i % 2 == 0;
            results[i] = s.First("PLAIN", B64(good ? "\0test\0secret" : "\0test\0bad"), out _);
        });
        for (var i = 0; i < results.Length; i++)
            results[i].ShouldBe(i % 2 == 0 ? XsaslStatus.Done : XsaslStatus.Fail);
    }

    [Fact]
    public void UnknownTypeAndMissingSocket()
    {
        XsaslServerImpl.Init("cyrus", "smtpd").ShouldBeNull();
        XsaslServerImpl.Types.ShouldBe(new[] { "dovecot" });
        using var impl = XsaslServerImpl.Init("dovecot", Path.Combine(dovecot.Dir, "nonexistent"))!;
        using var s = impl.Create(Args())!;
        s.MechanismList.ShouldBe("");
        s.First("PLAIN", B64("\0test\0secret"), out _).ShouldBe(XsaslStatus.Temp);
    }
}

public sealed class DovecotProtocolTests
{
    [Fact]
    public void FilterKeepsWhatTheOptionsAllow()
    {
        var p = DovecotServerImpl.ParseServerProps;
        var mechs = new[]
        {
            ("PLAIN", p("plaintext")),
            ("ANONYMOUS", p("anonymous")),
            ("CRAM-MD5", p("dictionary\tactive")),
            ("SCRAM", p("mutual-auth\tforward-secrecy\tsomething-new")),
            ("GSSAPI", p("MUTUAL-AUTH")),
        };
        string Keep(string opts) => string.Join(' ', DovecotServerImpl.Filter(mechs, DovecotServerImpl.ParseConfProps(opts)));
        Keep("").ShouldBe("PLAIN ANONYMOUS CRAM-MD5 SCRAM GSSAPI");
        Keep("noanonymous").ShouldBe("PLAIN CRAM-MD5 SCRAM GSSAPI");
        Keep("noanonymous, noplaintext").ShouldBe("CRAM-MD5 SCRAM GSSAPI");
        Keep("nodictionary NoActive").ShouldBe("PLAIN ANONYMOUS SCRAM GSSAPI");
        Keep("mutual_auth").ShouldBe("SCRAM GSSAPI");
        Keep("forward_secrecy,mutual_auth").ShouldBe("SCRAM");
    }

    [Fact]
    public void Base64Alphabet()
    {
        DovecotServer.IsValidBase64("AHRlc3QAc2VjcmV0").ShouldBeTrue();
        DovecotServer.IsValidBase64("a+/=").ShouldBeTrue();
        DovecotServer.IsValidBase64("").ShouldBeTrue();
        DovecotServer.IsValidBase64("a b").ShouldBeFalse();
        DovecotServer.IsValidBase64("a-b").ShouldBeFalse();
    }

    // FakeServer - a one-shot auth server that sends the given handshake,
    // then answers every AUTH line with the given reply (ID substituted).
    private static string FakeServer(string handshake, string? reply)
    {
        var dir = Directory.CreateTempSubdirectory("xsasl-fake").FullName;
        var path = Path.Combine(dir, "auth");
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(1);
        new Thread(() =>
        {
            using var l = listener;
            using var c = l.Accept();
            Directory.Delete(dir, true);
            using var ns = new NetworkStream(c);
            using var r = new StreamReader(ns);
            ns.Write(Encoding.ASCII.GetBytes(handshake));
            string? line;
            while ((line = r.ReadLine()) != null)
            {
                if (line.StartsWith("AUTH\t", StringComparison.Ordinal) && reply != null)
                {
                    var id = line.Split('\t')[1];
                    ns.Write(Encoding.ASCII.GetBytes(reply.Replace("ID", id)));
                }
            }
        }) { IsBackground = true }.Start();
        return path;
    }

    [Fact]
    public void MasterSocketIsRecognised()
    {
        var path = FakeServer("VERSION\t1\t2\nSPID\t42\n", null);
        using var impl = XsaslServerImpl.Init("dovecot", path)!;
        impl.Create(new XsaslServerArgs())!.MechanismList.ShouldBe("");
    }

    [Fact]
    public void VersionMismatchFails()
    {
        var path = FakeServer("VERSION\t2\t0\nMECH\tPLAIN\tplaintext\nDONE\n", null);
        using var impl = XsaslServerImpl.Init("dovecot", path)!;
        impl.Create(new XsaslServerArgs())!.MechanismList.ShouldBe("");
    }

    [Fact]
    public void PrivateMechanismsAreHiddenAndRepliesParsed()
    {
        var path = FakeServer("VERSION\t1\t2\nMECH\tPLAIN\tplaintext\nMECH\tSECRET\tprivate\nMECH\tEXTERNAL\nSPID\t1\nDONE\n",
            "FAIL\tID\tuser=x\treason=Go\u0001away\n");
        using var impl = XsaslServerImpl.Init("dovecot", path)!;
        using var s = impl.Create(new XsaslServerArgs { SecurityOptions = "" })!;
        s.MechanismList.ShouldBe("PLAIN EXTERNAL");
        s.First("PLAIN", "AA==", out var reply).ShouldBe(XsaslStatus.Fail);
        reply.ShouldBe("Go?away");
    }

    [Fact]
    public void OkWithoutUserIsABackendError()
    {
        var path = FakeServer("VERSION\t1\t2\nMECH\tPLAIN\tplaintext\nDONE\n", "OK\tID\n");
        using var impl = XsaslServerImpl.Init("dovecot", path)!;
        using var s = impl.Create(new XsaslServerArgs())!;
        _ = s.MechanismList;
        s.First("PLAIN", "AA==", out var reply).ShouldBe(XsaslStatus.Fail);
        reply.ShouldBe("Authentication backend error");
    }

    [Fact]
    public void LostConnectionIsTemporary()
    {
        var path = FakeServer("VERSION\t1\t2\nMECH\tPLAIN\tplaintext\nDONE\n", "");
        using var impl = XsaslServerImpl.Init("dovecot", path)!;
        using var s = impl.Create(new XsaslServerArgs())!;
        _ = s.MechanismList;
        ((DovecotServerImpl)impl).AuthTimeout = 2;
        s.First("PLAIN", "AA==", out var reply).ShouldBe(XsaslStatus.Temp);
        reply.ShouldBe("Connection lost to authentication server");
    }
}
