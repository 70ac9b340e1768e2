// NAME
//	Postlogd - postlogd(8): write what other programs log
// POSTFIX
//	src/postlogd/postlogd.c
// DESCRIPTION
//	A datagram server: each datagram is one complete maillog line
//	(time stamp, host, tag[pid], text) that goes into maillog_file with
//	a newline, unchanged. The file is opened once, before the jail.
//	Postlogd's own messages go straight into the file. When
//	maillog_file is empty, the lines are passed on to syslog under the
//	sender's own tag.
using System;
using System.Text;
using Postfix.Global.Log;
using Postfix.Server;
using Postfix.Util;

namespace Postfix.Daemons.Postlogd;

public static class Postlogd
{
    private static int logFd = -1;

    public static int Run(string[] args) => DgramServer.Run(args, Service, new ServerOptions
    {
        PreInit = PreJailInit,
        Solitary = true,
        NoUseLimit = true,
    });

    private static void PreJailInit(ServerContext ctx)
    {
        if (ctx.Args.Length > 0)
            Msg.Fatal($"unexpected command-line argument: {ctx.Args[0]}");
        var file = ctx.Conf.Eval("maillog_file");
        if (file.Length == 0)
            return;
        logFd = Sys.Open(file, Sys.O_CREAT | Sys.O_WRONLY | Sys.O_APPEND | Sys.O_NOFOLLOW | Sys.O_CLOEXEC, Convert.ToInt32("644", 8));
        if (logFd < 0)
            Msg.Fatal($"open {file}: {Sys.LastError()}");
        MailLog.FallbackOnly(line => WriteLine(Encoding.UTF8.GetBytes(line)));
    }

    private static void Service(ServerContext ctx, ReadOnlyMemory<byte> datagram)
    {
        if (logFd >= 0)
        {
            WriteLine(datagram.Span);
            return;
        }
        // No file: hand the text to syslog under the sender's tag.
        var line = Encoding.UTF8.GetString(datagram.Span);
        var rest = line.AsSpan();
        for (var i = 0; i < 4; i++)
            Skip(ref rest);
        rest = rest.TrimStart(' ');
        var end = rest.IndexOfAny(": ");
        var tag = end < 0 ? rest.ToString() : rest[..end].ToString();
        rest = end < 0 ? ReadOnlySpan<char>.Empty : rest[end..].TrimStart(": ");
        var bracket = tag.IndexOf('[', StringComparison.Ordinal);
        var progname = bracket > 0 ? tag[..bracket] : tag;
        var syslog = new SyslogClient(progname);
        syslog.Log("info", rest.ToString());
    }

    private static void Skip(ref ReadOnlySpan<char> s)
    {
        s = s.TrimStart(' ');
        var sp = s.IndexOf(' ');
        s = sp < 0 ? ReadOnlySpan<char>.Empty : s[sp..];
    }

    private static void WriteLine(ReadOnlySpan<byte> text)
    {
        var buf = new byte[text.Length + 1];
        text.CopyTo(buf);
        buf[^1] = (byte)'\n';
        Sys.WriteAll(logFd, buf);
    }
}
