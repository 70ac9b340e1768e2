// NAME
//	PipeCommand - run a delivery command with a message on its input
// POSTFIX
//	src/global/pipe_command.c, src/util/clean_env.c, src/util/timed_wait.c
// DESCRIPTION
//	Run() starts the command in its own session with the user's
//	privileges, the exported environment and PATH=/usr/bin:/bin,
//	writes the message with MailCopy, keeps up to 4096 bytes of the
//	command's output, waits for it, and classifies the result as the
//	reference does: a time limit (every wait for the command may last
//	time_limit seconds) bounces, death by a signal defers, "D.S.N text"
//	output or a sysexits status decides, any other non-zero status
//	bounces; a clean exit is success with the output as the reason. A
//	command that cannot be started counts as one that printed the
//	reference child's fatal message and exited with EX_TEMPFAIL.
using System;
using System.Collections.Generic;
using System.IO;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading;
using Postfix.Global.Deliver;
using Postfix.Util;

namespace Postfix.Daemons.Pipe;

public enum PipeStat
{
    Ok,
    Defer,
    Bounce,
    Corrupt,
}

public sealed class PipeCommandArgs
{
    public required IReadOnlyList<string> Argv { get; init; }

    public uint Uid { get; init; }

    public uint Gid { get; init; }

    public string Sender { get; init; } = "";

    public CopyFlags Flags { get; init; }

    public int TimeLimit { get; init; }

    public string Eol { get; init; } = "\n";

    public IReadOnlyList<string> Export { get; init; } = [];

    public string? Cwd { get; init; }

    public string? Chroot { get; init; }

    public string OrigRcpt { get; init; } = "";

    public string Delivered { get; init; } = "";

    public bool EnableOrcpt { get; init; } = true;

    public string ProcName { get; init; } = "pipe";

    // MarkCorrupt - mark_corrupt() of the queue file.
    public Action? MarkCorrupt { get; init; }
}

public static class PipeCommand
{
    public const string DefaultPath = "/usr/bin:/bin";
    private const int OutputLimit = 4096;
    private const int ETIMEDOUT = 110;

    // Environment - clean_env(export) followed by PATH.
    public static List<string> ChildEnvironment(IReadOnlyList<string> export, Func<string, string?>? getenv = null)
    {
        getenv ??= Environment.GetEnvironmentVariable;
        var env = new List<KeyValuePair<string, string>>();
        void Set(string k, string v)
        {
            var i = env.FindIndex(e => e.Key == k);
            if (i >= 0)
                env[i] = new(k, v);
            else
                env.Add(new(k, v));
        }
        foreach (var item in export)
        {
            var eq = item.IndexOf('=');
            if (eq >= 0)
            {
                var key = item[..eq].Trim();
                var val = item[(eq + 1)..].Trim();
                Set(key, val);
            }
            else if (getenv(item) is { } v)
            {
                Set(item, v);
            }
        }
        Set("PATH", DefaultPath);
        return env.ConvertAll(e => e.Key + "=" + e.Value);
    }

    // FindProgram - execvp()'s search of PATH=/usr/bin:/bin; the path
    // to run, or null with errno.
    public static string? FindProgram(string name, out int errno)
    {
        errno = 0;
        if (name.Length == 0)
        {
            errno = Sys.ENOENT;
            return null;
        }
        if (name.Contains('/'))
            return name;
        var sawAccess = false;
        foreach (var dir in DefaultPath.Split(':'))
        {
            var path = dir + "/" + name;
            if (File.Exists(path))
            {
                if ((File.GetUnixFileMode(path) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0)
                    return path;
                sawAccess = true;
            }
        }
        errno = sawAccess ? Sys.EACCES : Sys.ENOENT;
        return null;
    }

    // Printable - translit "\t\n" to spaces, then printable(, '_'): ASCII
    // printables and UTF-8 sequences stay, other bytes become '_'.
    public static string Printable(ReadOnlySpan<byte> raw)
    {
        var nul = raw.IndexOf((byte)0);
        if (nul >= 0)
            raw = raw[..nul];
        var buf = raw.ToArray();
        for (var i = 0; i < buf.Length; i++)
        {
            var ch = buf[i];
            if (ch is (byte)'\t' or (byte)'\n')
            {
                buf[i] = (byte)' ';
            }
            else if (ch is >= 0x20 and < 0x7f)
            {
            }
            else if (ch is >= 194 and <= 254 && i + 1 < buf.Length && buf[i + 1] is >= 128 and < 192)
            {
                while (i + 1 < buf.Length && buf[i + 1] is >= 128 and < 192)
                    i++;
            }
            else
            {
                buf[i] = (byte)'_';
            }
        }
        return Encoding.UTF8.GetString(buf);
    }

    // Classify - the reference's verdict on a finished command.
    public static PipeStat Classify(string command, bool timedOut, bool signaled, int termSig, int exitStatus,
        int logLen, string log, int writeStatus, int writeErrno, DsnBuf why)
    {
        var output = logLen > 0 ? ". Command output: " : "";
        if (timedOut)
        {
            why.Unix("5.3.0", logLen > 0 ? log : SysExits.Detail(SysExits.Software).Text,
                $"Command time limit exceeded: \"{command}\"{output}{log}");
            return PipeStat.Bounce;
        }
        if (signaled)
        {
            why.Unix("4.3.0", logLen > 0 ? log : SysExits.Detail(SysExits.Software).Text,
                $"Command died with signal {termSig}: \"{command}\"{output}{log}");
            return PipeStat.Defer;
        }
        if (exitStatus != 0)
        {
            if (DsnUtil.Valid(log) > 0)
            {
                var (status, text) = DsnUtil.Split("5.3.0", log);
                why.Unix(status, text, text);
                return status[0] == '4' ? PipeStat.Defer : PipeStat.Bounce;
            }
            var sp = SysExits.Detail(exitStatus);
            if (SysExits.IsCode(exitStatus))
            {
                why.Unix(sp.Dsn, logLen > 0 ? log : sp.Text, $"{sp.Text}{output}{log}");
                return sp.Dsn[0] == '4' ? PipeStat.Defer : PipeStat.Bounce;
            }
            why.Unix(sp.Dsn, logLen > 0 ? log : sp.Text,
                $"Command died with status {exitStatus}: \"{command}\"{output}{log}");
            return PipeStat.Bounce;
        }
        if ((writeStatus & MailCopy.StatCorrupt) != 0)
            return PipeStat.Corrupt;
        if (writeStatus != 0 && writeErrno != Sys.EPIPE)
        {
            why.Reason = $"Command failed: {why.Reason}: \"{command}\"";
            return PipeStat.Bounce;
        }
        why.Reason = log;
        return PipeStat.Ok;
    }

    // Run - pipe_command().
    public static PipeStat Run(PipeCommandArgs args, ReadOnlySpan<byte> queueFile, long dataOffset, string path,
        DsnBuf why)
    {
        var command = args.Argv[0];
        var timedOut = false;
        int inRead, inWrite, outRead = -1, outWrite = -1;
        if (!Sys.Pipe(out inRead, out inWrite) || !Sys.Pipe(out outRead, out outWrite))
            Msg.Fatal($"pipe_command: pipe: {Sys.LastError()}");
        Sys.NonBlocking(outWrite, true);

        int pid;
        string? startFailure = null;
        var program = FindProgram(command, out var errno);
        if (args.Chroot != null)
        {
            startFailure = $"{args.ProcName}: fatal: chroot={args.Chroot} is not supported";
            pid = -1;
        }
        else if (program == null)
        {
            pid = -1;
        }
        else
        {
            var options = new Sys.SpawnOptions
            {
                NewSession = true,
                Directory = args.Cwd,
                Uid = CanSwitchIds() ? args.Uid : null,
                Gid = CanSwitchIds() ? args.Gid : null,
            };
            pid = Sys.Spawn(program, args.Argv, ChildEnvironment(args.Export),
                [(inRead, 0), (outWrite, 1), (outWrite, 2)], options, out errno);
        }
        Sys.Close(inRead);
        Sys.Close(outWrite);

        if (pid < 0)
        {
            // What the reference's child prints before it exits with EX_TEMPFAIL.
            if (startFailure == null && args.Cwd != null && !Directory.Exists(args.Cwd))
                startFailure = $"{args.ProcName}: fatal: cannot change directory to \"{args.Cwd}\" for uid={args.Uid} gid={args.Gid}: {Sys.StrError(Sys.ENOENT)}";
            startFailure ??= $"{args.ProcName}: fatal: pipe_command: execvp {command}: {Sys.StrError(errno)}";
            Sys.Close(inWrite);
            Sys.Close(outRead);
            LogChildFatal(startFailure[(args.ProcName.Length + 9)..]);
            var raw = Encoding.UTF8.GetBytes(startFailure + "\n");
            return Classify(command, false, false, 0, SysExits.TempFail, raw.Length, Printable(raw), 0, 0, why);
        }

        Sys.NonBlocking(inWrite, true);
        var writer = new TimedFdStream(inWrite, args.TimeLimit, () => timedOut, () => timedOut = true);
        var writeStatus = MailCopy.Copy(args.Sender, args.OrigRcpt, args.Delivered, queueFile, dataOffset, path,
            new BufferedStream(writer, 4096), args.Flags, args.Eol, args.EnableOrcpt, why, out var writeErrno,
            markCorrupt: args.MarkCorrupt);

        var log = new byte[OutputLimit];
        var logLen = 0;
        while (logLen < OutputLimit)
        {
            var maxtime = timedOut ? 0 : args.TimeLimit;
            if (!WaitFd(outRead, Sys.POLLIN, maxtime))
            {
                if (!timedOut)
                {
                    Msg.Warn("pipe_command_read: read time limit exceeded");
                    timedOut = true;
                }
                break;
            }
            var n = Sys.Read(outRead, log.AsSpan(logLen));
            if (n < 0 && Marshal.GetLastPInvokeError() == Sys.EINTR)
                continue;
            if (n <= 0)
                break;
            logLen += (int)n;
        }
        Sys.Close(outRead);
        var text = Printable(log.AsSpan(0, logLen));

        if (timedOut)
            KillCommand(pid, Sys.SIGKILL, args.Uid, args.Gid);
        var status = WaitOrKill(pid, timedOut ? 1 : args.TimeLimit, ref timedOut, args.Uid, args.Gid);
        return Classify(command, timedOut, Sys.WIfSignaled(status), Sys.WTermSig(status),
            Sys.WIfExited(status) ? Sys.WExitStatus(status) : 0, logLen, text, writeStatus, writeErrno, why);
    }

    // LogChildFatal - the fatal line the reference's child logs before it
    // exits (this process stays alive).
    public static void LogChildFatal(string text)
    {
        try
        {
            Msg.Fatal(text);
        }
        catch (FatalException)
        {
        }
    }

    private static bool CanSwitchIds() => Sys.GetUid() == 0 || Sys.GetEuid() == 0;

    // WaitFd - read_wait()/write_wait(): false on time out (0: no wait).
    internal static bool WaitFd(int fd, short events, int seconds)
    {
        var deadline = Environment.TickCount64 + seconds * 1000L;
        Span<Sys.PollFd> fds = stackalloc Sys.PollFd[1];
        while (true)
        {
            fds[0] = new Sys.PollFd { Fd = fd, Events = events };
            var left = (int)Math.Max(0, deadline - Environment.TickCount64);
            var n = Sys.Poll(fds, left);
            if (n > 0)
                return true;
            if (n == 0)
                return false;
            if (Marshal.GetLastPInvokeError() != Sys.EINTR)
                return true;
        }
    }

    // KillCommand - kill the command's process group with its own privileges.
    public static void KillCommand(int pid, int sig, uint uid, uint gid)
    {
        var switchIds = CanSwitchIds();
        uint euid = Sys.GetEuid(), egid = Sys.GetEgid();
        if (switchIds)
            SetEugid(uid, gid);
        if (Sys.Kill(-pid, sig) < 0 && Sys.Kill(pid, sig) < 0)
            Msg.Warn($"cannot kill process (group) {pid}: {Sys.LastError()}");
        if (switchIds)
            SetEugid(euid, egid);
    }

    // SetEugid - set_eugid().
    public static void SetEugid(uint euid, uint egid)
    {
        if (Sys.GetEuid() != 0 && Sys.SetEuid(0) != 0)
            Msg.Fatal($"set_eugid: seteuid(0): {Sys.LastError()}");
        if (Sys.SetEgid(egid) < 0)
            Msg.Fatal($"set_eugid: setegid({egid}): {Sys.LastError()}");
        if (Sys.SetGroups(egid) < 0)
            Msg.Fatal($"set_eugid: setgroups({egid}): {Sys.LastError()}");
        if (euid != 0 && Sys.SetEuid(euid) < 0)
            Msg.Fatal($"set_eugid: seteuid({euid}): {Sys.LastError()}");
        if (Msg.Verbose > 0)
            Msg.Info($"set_eugid: euid {euid} egid {egid}");
    }

    // WaitOrKill - pipe_command_wait_or_kill(): the wait status.
    private static int WaitOrKill(int pid, int maxtime, ref bool timedOut, uint uid, uint gid)
    {
        var status = TimedWaitPid(pid, maxtime, out var expired);
        if (expired)
        {
            if (!timedOut)
            {
                Msg.Warn("pipe_command_wait_or_kill: child wait time limit exceeded");
                timedOut = true;
            }
            KillCommand(pid, Sys.SIGKILL, uid, gid);
            status = BlockingWait(pid);
        }
        return status;
    }

    // TimedWaitPid - timed_waitpid(): expired when the time runs out.
    public static int TimedWaitPid(int pid, int seconds, out bool expired)
    {
        expired = false;
        var deadline = Environment.TickCount64 + seconds * 1000L;
        var pause = 1;
        while (true)
        {
            var r = Sys.WaitPid(pid, out var status, Sys.WNOHANG);
            if (r == pid)
                return status;
            if (r < 0 && Marshal.GetLastPInvokeError() != Sys.EINTR)
                Msg.Fatal($"wait: {Sys.LastError()}");
            if (Environment.TickCount64 >= deadline)
            {
                expired = true;
                return 0;
            }
            Thread.Sleep(pause);
            pause = Math.Min(pause * 2, 50);
        }
    }

    public static int BlockingWait(int pid)
    {
        while (true)
        {
            if (Sys.WaitPid(pid, out var status, 0) == pid)
                return status;
            if (Marshal.GetLastPInvokeError() != Sys.EINTR)
                Msg.Fatal($"wait: {Sys.LastError()}");
        }
    }
}

// TimedFdStream - writes to a non-blocking descriptor, each wait for
// room limited to the time limit (pipe_command_write).
internal sealed class TimedFdStream : Stream
{
    private readonly int fd;
    private readonly int maxtime;
    private readonly Func<bool> timedOut;
    private readonly Action setTimedOut;
    private bool closed;

    public TimedFdStream(int fd, int maxtime, Func<bool> timedOut, Action setTimedOut)
    {
        this.fd = fd;
        this.maxtime = maxtime;
        this.timedOut = timedOut;
        this.setTimedOut = setTimedOut;
    }

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        while (buffer.Length > 0)
        {
            if (!PipeCommand.WaitFd(fd, Sys.POLLOUT, timedOut() ? 0 : maxtime))
            {
                if (!timedOut())
                {
                    Msg.Warn("pipe_command_write: write time limit exceeded");
                    setTimedOut();
                }
                throw new WriteErrorException(110, "write time limit exceeded");
            }
            var n = Sys.Write(fd, buffer);
            if (n < 0)
            {
                var e = Marshal.GetLastPInvokeError();
                if (e is Sys.EINTR or Sys.EAGAIN)
                    continue;
                throw new WriteErrorException(e, Sys.StrError(e));
            }
            buffer = buffer[(int)n..];
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (!closed)
        {
            closed = true;
            Sys.Close(fd);
        }
        base.Dispose(disposing);
    }
}
