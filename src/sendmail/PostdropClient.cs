// NAME
//	PostdropClient - hand the message to postdrop over a socket pair
// POSTFIX
//	src/global/mail_stream.c (mail_stream_command, mail_stream_finish_ipc),
//	src/util/vstream_popen.c, src/util/exec_command.c
// DESCRIPTION
//	Start() runs the command ("$command_directory/postdrop -r") with
//	both stdin and stdout on one end of a socket pair, stderr shared,
//	the environment cut down to export_environment plus PATH, and reads
//	postdrop's greeting (protocol name and queue ID). It returns null
//	when that fails, after the warnings Postfix prints. Records go out
//	through Put(); Finish() reads the completion status and reason.
using System;
using System.Collections.Generic;
using System.IO;
using Postfix.Global.Attr;
using Postfix.Global.Queue;
using Postfix.Global.Submit;
using Postfix.Util;

namespace Postfix.Commands.Sendmail;

internal sealed class PostdropClient : IRecordSink
{
    // CLEANUP_STAT_* bits of cleanup_user.h that sendmail looks at.
    public const int StatBad = 1 << 0;
    public const int StatWrite = 1 << 1;
    public const int StatSize = 1 << 2;
    public const int StatCont = 1 << 3;
    public const int StatHops = 1 << 4;
    public const int StatRcpt = 1 << 6;
    public const int StatProxy = 1 << 7;
    public const int StatDefer = 1 << 8;
    public const int StatNoPerm = 1 << 9;
    public const int StatBareLf = 1 << 16;

    private const string PathDefPath = "/usr/bin:/bin";
    private const string CommandOkChars = "1234567890!@%-_=+:,./abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ \t";

    private static readonly AttrSpec[] Greeting =
    [
        AttrSpec.StrEq(MailProto.AttrProto, MailProto.ProtoPostdrop),
        AttrSpec.Str(MailProto.AttrQueueId),
    ];

    private static readonly AttrSpec[] Completion =
    [
        AttrSpec.Int(MailProto.AttrStatus),
        AttrSpec.Str(MailProto.AttrWhy),
    ];

    private readonly FdStream socket;
    private readonly BufferedStream output;
    private readonly AttrStream attrs;
    private readonly RecordWriter writer;
    private readonly int pid;
    private readonly Action<int> writeError;

    private PostdropClient(FdStream socket, int pid, string command, string queueId, AttrStream attrs, Action<int> writeError)
    {
        this.socket = socket;
        this.pid = pid;
        this.attrs = attrs;
        this.writeError = writeError;
        Command = command;
        QueueId = queueId;
        output = new BufferedStream(socket, 4096);
        writer = new RecordWriter(output);
    }

    public string Command { get; }

    public string QueueId { get; }

    // Start - mail_stream_command(); null on a failed handshake.
    public static PostdropClient? Start(string command, string exportEnvironment, Action<int> writeError)
    {
        if (!Native.DuplexPipe(out var childEnd, out var parentEnd))
            Msg.Fatal($"socketpair: {Sys.LastError()}");
        var argv = SplitCommand(command, out var path);
        var pid = Sys.Spawn(path, argv, ChildEnvironment(exportEnvironment), [(childEnd, 0), (childEnd, 1)], out var errno);
        Sys.Close(childEnd);
        var socket = new FdStream(parentEnd, owned: true);
        var attrs = new AttrStream(socket, command);
        if (pid < 0)
        {
            // What the child would have said before it exited with status 1.
            Msg.Err.Write($"{Msg.Tag}: fatal: execvp {path}: {Sys.StrError(errno)}\n");
            socket.Dispose();
            Msg.Warn($"command \"{command}\" exited with status 1");
            return null;
        }
        var values = new AttrValue[Greeting.Length];
        if (attrs.Receive(Greeting, values, AttrFlags.Strict) != 1)
        {
            socket.Dispose();
            var status = Reap(pid);
            if (status != 0)
                Msg.Warn($"command \"{command}\" exited with status {status}");
            return null;
        }
        return new PostdropClient(socket, pid, command, values[1].Str, attrs, writeError);
    }

    // SplitCommand - exec_command(): argv when there are no shell
    // metacharacters, otherwise /bin/sh -c.
    private static List<string> SplitCommand(string command, out string path)
    {
        var plain = true;
        var blank = true;
        foreach (var c in command)
        {
            if (!CommandOkChars.Contains(c, StringComparison.Ordinal))
                plain = false;
            if (c != ' ' && c != '\t')
                blank = false;
        }
        if (plain && !blank)
        {
            var words = new List<string>(command.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries));
            path = words[0];
            return words;
        }
        path = "/bin/sh";
        return ["sh", "-c", command];
    }

    // ChildEnvironment - clean_env(export_environment) plus PATH.
    private static List<string> ChildEnvironment(string exportEnvironment)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var item in exportEnvironment.Split([',', ' ', '\t', '\r', '\n'], StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = item.IndexOf('=');
            if (eq >= 0)
            {
                if (Postfix.Global.Config.NameValue.Split(item, out var n, out var v) != null)
                    Msg.Fatal($"clean_env: missing attribute name in: {item}");
                env[n] = v;
            }
            else if (Environment.GetEnvironmentVariable(item) is { } value)
            {
                env[item] = value;
            }
        }
        env["PATH"] = PathDefPath;
        var list = new List<string>(env.Count);
        foreach (var kv in env)
            list.Add(kv.Key + "=" + kv.Value);
        return list;
    }

    public void Put(int type, ReadOnlySpan<byte> data)
    {
        try
        {
            writer.Put(type, data);
        }
        catch (IOException)
        {
            writeError(socket.LastErrno);
        }
    }

    // Finish - mail_stream_finish(): the status postdrop reports (a
    // write error when it reports nothing), and its reason text.
    public int Finish(out string why)
    {
        why = "";
        try
        {
            output.Flush();
        }
        catch (IOException)
        {
            writeError(socket.LastErrno);
        }
        var values = new AttrValue[Completion.Length];
        var status = StatWrite;
        if (attrs.Receive(Completion, values, AttrFlags.Strict) == 2)
        {
            status = values[0].Int;
            why = values[1].Str;
        }
        socket.Dispose();
        if (Reap(pid) != 0)
            Msg.Warn("mail_stream_cleanup: close error");
        return status;
    }

    // Reap - vstream_pclose()'s result: exit status, signal number, or -1.
    private static int Reap(int pid)
    {
        int rc, status;
        do
        {
            rc = Sys.WaitPid(pid, out status, 0);
        }
        while (rc == -1 && System.Runtime.InteropServices.Marshal.GetLastPInvokeError() == Sys.EINTR);
        if (rc == -1)
            return -1;
        return Sys.WIfSignaled(status) ? Sys.WTermSig(status) : Sys.WExitStatus(status);
    }

    // StatusText - cleanup_strerror().
    public static string StatusText(int status)
    {
        if (status == 0)
            return "Success";
        (int Bit, string Text)[] map =
        [
            (StatDefer, "service unavailable"),
            (StatProxy, "queue file write error"),
            (StatBad, "internal protocol error"),
            (StatRcpt, "no recipients specified"),
            (StatHops, "too many hops"),
            (StatSize, "message file too big"),
            (StatCont, "message content rejected"),
            (StatWrite, "queue file write error"),
            (StatNoPerm, "service denied"),
            (StatBareLf, "bare <LF> received"),
        ];
        foreach (var (bit, text) in map)
        {
            if ((status & bit) != 0)
                return text;
        }
        return "unknown cleanup error";
    }
}
