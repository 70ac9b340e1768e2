// NAME
//	MailDest - where smtpd writes a message: cleanup, or postdrop
// POSTFIX
//	src/global/mail_stream.c (mail_stream_service, mail_stream_command,
//	mail_stream_finish_ipc, mail_stream_cleanup)
// DESCRIPTION
//	Service(): connect to public/$cleanup_service, receive the queue ID
//	cleanup announces (the caller then sends the cleanup flags). Command():
//	run postdrop (stand-alone mode) and receive its queue ID. Records go
//	out through Records; Finish() receives the completion status and
//	reason; Abort() drops the stream so that the receiver removes the
//	unfinished queue file.
using System;
using System.Diagnostics;
using System.IO;
using System.Net.Sockets;
using System.Threading;
using Postfix.Global.Attr;
using Postfix.Global.Queue;
using Postfix.Util;

namespace Postfix.Daemons.Smtpd;

internal sealed class MailDest : IDisposable
{
    private readonly AttrStream attrs;
    private readonly Stream raw;
    private readonly Process? process;

    private MailDest(Stream raw, AttrStream attrs, string queueId, Process? process = null)
    {
        this.raw = raw;
        this.attrs = attrs;
        this.process = process;
        QueueId = queueId;
        Buffered = new BufferedStream(raw, 8192);
        Records = new RecordWriter(Buffered);
    }

    public string QueueId { get; }

    public Stream Buffered { get; }

    public RecordWriter Records { get; }

    // Failed - a write error happened (vstream_ferror()).
    public bool Failed { get; private set; }

    public AttrStream Attrs => attrs;

    // Service - mail_stream_service(): null when the service does not
    // speak the cleanup protocol.
    public static MailDest? Service(string cls, string name)
    {
        var path = cls + "/" + name;
        Socket? sock = null;
        for (var attempt = 0; sock == null; attempt++)
        {
            try
            {
                sock = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                sock.Connect(new UnixDomainSocketEndPoint(path));
            }
            catch (SocketException e)
            {
                sock?.Dispose();
                sock = null;
                if (attempt >= 5)
                    Msg.Fatal($"connect #{attempt + 1} to subsystem {path}: {e.Message}");
                Msg.Warn($"connect #{attempt + 1} to subsystem {path}: {e.Message}");
                Thread.Sleep(10_000);
            }
        }
        var net = new NetworkStream(sock, ownsSocket: true);
        var attrs = new AttrStream(net, path + " socket");
        var v = new AttrValue[2];
        if (attrs.Receive([AttrSpec.StrEq(MailProto.AttrProto, MailProto.ProtoCleanup), AttrSpec.Str(MailProto.AttrQueueId)],
                v, AttrFlags.Strict) != 1)
        {
            attrs.Dispose();
            return null;
        }
        return new MailDest(net, attrs, v[1].Str);
    }

    // Command - mail_stream_command(): run postdrop, null when it fails.
    public static MailDest? Command(string command)
    {
        var argv = command.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var psi = new ProcessStartInfo(argv[0])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        for (var i = 1; i < argv.Length; i++)
            psi.ArgumentList.Add(argv[i]);
        Process? p;
        try
        {
            p = Process.Start(psi);
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or IOException)
        {
            return null;
        }
        if (p == null)
            return null;
        var duplex = new PipePair(p.StandardOutput.BaseStream, p.StandardInput.BaseStream);
        var attrs = new AttrStream(duplex, "postdrop");
        var v = new AttrValue[2];
        if (attrs.Receive([AttrSpec.StrEq(MailProto.AttrProto, MailProto.ProtoPostdrop), AttrSpec.Str(MailProto.AttrQueueId)],
                v, AttrFlags.Strict) != 1)
        {
            attrs.Dispose();
            return null;
        }
        return new MailDest(duplex, attrs, v[1].Str, p);
    }

    // SendFlags - the cleanup flags, right after the queue ID.
    public bool SendFlags(int flags) => attrs.Send(w => w.Int(MailProto.AttrFlags, flags));

    public void Put(int type, string text)
    {
        if (Failed)
            return;
        try
        {
            Records.Put(type, text);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            Failed = true;
        }
    }

    public void Put(int type, ReadOnlySpan<byte> data)
    {
        if (Failed)
            return;
        try
        {
            Records.Put(type, data);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            Failed = true;
        }
    }

    public bool Flush()
    {
        if (Failed)
            return false;
        try
        {
            Buffered.Flush();
            return true;
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            Failed = true;
            return false;
        }
    }

    // Finish - mail_stream_finish(): the receiver's status and reason.
    public int Finish(out string why)
    {
        why = "";
        var status = SmtpdSession.CleanupStatWrite;
        try
        {
            var v = new AttrValue[2];
            if (attrs.Receive([AttrSpec.Int(MailProto.AttrStatus), AttrSpec.Str(MailProto.AttrWhy)], v, AttrFlags.Strict) == 2)
            {
                status = v[0].Int;
                why = v[1].Str;
            }
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            status = SmtpdSession.CleanupStatWrite;
        }
        Dispose();
        return status;
    }

    // Abort - mail_stream_cleanup(): what is buffered still goes out
    // (as vstream_fclose() does), then the connection closes without
    // the end marker, so that the receiver drops the message.
    public void Abort()
    {
        Flush();
        Dispose();
    }

    public void Dispose()
    {
        try
        {
            attrs.Dispose();
            raw.Dispose();
        }
        catch (Exception e) when (e is IOException or SocketException)
        {
            // The peer is gone.
        }
        if (process != null)
        {
            try
            {
                process.WaitForExit();
            }
            catch (InvalidOperationException)
            {
            }
            process.Dispose();
        }
    }
}

// PipePair - read from one stream, write to another (a child's stdout/stdin).
internal sealed class PipePair : Stream
{
    private readonly Stream input, output;

    public PipePair(Stream input, Stream output)
    {
        this.input = input;
        this.output = output;
    }

    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override int Read(byte[] buffer, int offset, int count) => input.Read(buffer, offset, count);
    public override void Write(byte[] buffer, int offset, int count) => output.Write(buffer, offset, count);
    public override void Flush() => output.Flush();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            output.Dispose();
            input.Dispose();
        }
        base.Dispose(disposing);
    }
}
