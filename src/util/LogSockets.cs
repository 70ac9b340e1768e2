// NAME
//	SyslogClient, PostlogClient - where daemons and commands log to
// POSTFIX
//	src/util/msg_syslog.c, src/util/msg_logger.c
// DESCRIPTION
//	SyslogClient sends each diagnostic to /dev/log the way glibc's
//	syslog(3) does with LOG_PID (facility mail): "<pri>Mmm dd hh:mm:ss
//	tag[pid]: text". PostlogClient formats the whole maillog line
//	("Mmm dd hh:mm:ss host tag[pid]: text") and sends it to the postlog
//	datagram socket that postlogd(8) reads; when nobody listens, an
//	optional fallback writes it (commands append to maillog_file).
using System;
using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace Postfix.Util;

public sealed class SyslogClient
{
    private const int LogMail = 2 << 3;
    private readonly string path;
    private Socket? socket;

    public SyslogClient(string tag, string path = "/dev/log")
    {
        Tag = tag;
        this.path = path;
    }

    public string Tag { get; set; }

    public bool Enabled { get; set; } = true;

    // Severity - syslog priority for a Postfix level word.
    public static int Severity(string level) => level switch
    {
        "info" => 6,
        "warning" => 4,
        "error" => 3,
        _ => 2, // fatal and panic: LOG_CRIT
    };

    public void Log(string level, string text)
    {
        if (!Enabled)
            return;
        var body = level == "info" ? text : level + ": " + text;
        var now = DateTime.Now;
        var line = string.Create(CultureInfo.InvariantCulture,
            $"<{LogMail | Severity(level)}>{Month(now.Month)} {now.Day,2} {now:HH:mm:ss} {Tag}[{Environment.ProcessId}]: {body}");
        var bytes = Encoding.UTF8.GetBytes(line);
        for (var attempt = 0; attempt < 2; attempt++)
        {
            try
            {
                if (socket == null)
                {
                    socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
                    socket.Connect(new UnixDomainSocketEndPoint(path));
                }
                socket.Send(bytes);
                return;
            }
            catch (SocketException)
            {
                socket?.Dispose();
                socket = null;
            }
            catch (ObjectDisposedException)
            {
                socket = null;
            }
        }
    }

    internal static string Month(int month) => CultureInfo.InvariantCulture.DateTimeFormat.GetAbbreviatedMonthName(month);
}

public sealed partial class PostlogClient
{
    // Postfix limits one logged record to this many bytes of text.
    public const int MaxText = 2000;

    private Socket? socket;

    public PostlogClient(string tag, string hostname, string servicePath, Action<string>? fallback)
    {
        Tag = tag;
        Hostname = hostname;
        ServicePath = servicePath;
        Fallback = fallback;
    }

    public string Tag { get; set; }

    public string Hostname { get; set; }

    public string ServicePath { get; set; }

    public Action<string>? Fallback { get; set; }

    public bool Enabled { get; set; } = true;

    // FallbackOnly - skip the socket, always use the fallback writer.
    public bool FallbackOnly { get; set; }

    // Format - one maillog line, without its newline.
    public string Format(string level, string text, DateTime now)
    {
        if (text.Length > MaxText)
            text = text[..MaxText];
        var dot = Hostname.IndexOf('.');
        var host = dot >= 0 ? Hostname[..dot] : Hostname;
        var stamp = string.Create(CultureInfo.InvariantCulture, $"{SyslogClient.Month(now.Month)} {now.Day:00} {now:HH:mm:ss}");
        return level == "info"
            ? $"{stamp} {host} {Tag}[{Environment.ProcessId}]: {text}"
            : $"{stamp} {host} {Tag}[{Environment.ProcessId}]: {level}: {text}";
    }

    public void Log(string level, string text)
    {
        if (!Enabled)
            return;
        var line = Format(level, text, DateTime.Now);
        if (!FallbackOnly && Connect())
        {
            try
            {
                socket!.Send(Encoding.UTF8.GetBytes(line));
                return;
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.WouldBlock)
            {
                // Queue full: the fallback writer takes this line.
            }
            catch (SocketException)
            {
                Disconnect();
            }
        }
        Fallback?.Invoke(line);
    }

    // Connect - (re)connect to the postlog socket; false when nobody listens.
    public bool Connect()
    {
        if (FallbackOnly)
            return false;
        if (socket != null)
            return true;
        try
        {
            socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
            socket.Connect(new UnixDomainSocketEndPoint(ServicePath));
            // A program with a fallback writer (master, postfix) never waits
            // for postlogd: when its queue is full (postlogd stopped, or not
            // yet started by the very master that is logging), the line goes
            // to the fallback instead of blocking the master for good.
            if (Fallback != null)
                socket.Blocking = false;
            return true;
        }
        catch (SocketException)
        {
            Disconnect();
            return false;
        }
    }

    public void Disconnect()
    {
        socket?.Dispose();
        socket = null;
    }

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    private static partial int Ioctl(nint fd, ulong request, out int value);

    private const ulong SiocOutq = 0x5411;

    // WaitDelivered - wait (at most timeoutMs) until postlogd has read
    // every line sent: a datagram counts against its sender until the
    // receiver takes it. For lines that must be written before the
    // caller stops the mail system, postlogd included.
    public void WaitDelivered(int timeoutMs)
    {
        if (socket == null)
            return;
        var deadline = Environment.TickCount64 + timeoutMs;
        while (Ioctl(socket.Handle, SiocOutq, out var queued) == 0 && queued > 0 && Environment.TickCount64 < deadline)
            System.Threading.Thread.Sleep(1);
    }
}
