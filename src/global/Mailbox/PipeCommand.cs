// NAME
//	PipeCommand - deliver a message to an external command
// POSTFIX
//	src/global/pipe_command.c, src/util/exec_command.c,
//	src/util/clean_env.c, src/global/dsn_util.c (dsn_valid)
// DESCRIPTION
//	Run() starts the command as uid/gid (a plain word list is executed
//	directly, anything with shell syntax through /bin/sh -c, or through
//	the configured shell), with an environment of PATH, the exported
//	variables and the given NAME=value pairs, feeds it the message with
//	MailCopy, collects up to 4 kB of its output, and maps the outcome
//	the way Postfix does: exit 0 is Ok; a time-out bounces; a signal
//	defers; output that starts with a status code decides itself; a
//	<sysexits.h> code gives its own status and text; any other exit
//	status bounces with "Command died with status N".
using System;
using System.Collections.Generic;
using System.Text;
using System.Threading;
using Postfix.Util;
using Postfix.Global.Deliver;

namespace Postfix.Global.Mailbox;

public enum PipeStatus
{
    Ok,
    Defer,
    Bounce,
    Corrupt,
}

public sealed class PipeCommandArgs
{
    public required string Command { get; init; }

    public uint Uid { get; init; }

    public uint Gid { get; init; }

    public int CopyFlags { get; init; }

    public string Sender { get; init; } = "";

    public string OrigRcpt { get; init; } = "";

    public string Delivered { get; init; } = "";

    public int TimeLimitSeconds { get; init; } = 1000;

    public IReadOnlyList<KeyValuePair<string, string>> Environment { get; init; } = [];

    public IReadOnlyList<string> Export { get; init; } = [];

    public string Shell { get; init; } = "";

    public string? WorkingDirectory { get; init; }

    // RestoreUid/Gid - the agent's own effective ids afterwards.
    public uint RestoreUid { get; init; }

    public uint RestoreGid { get; init; }
}

public static class PipeCommand
{
    public const string DefaultPath = "/usr/bin:/bin";
    private const string OkChars = "1234567890!@%-_=+:,./abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ \t";

    // DsnValid - dsn_valid(): the length of a leading status code, or 0.
    public static int DsnValid(string text)
    {
        if (text.Length < 2 || (text[0] != '2' && text[0] != '4' && text[0] != '5') || text[1] != '.')
            return 0;
        var i = 2;
        var n = Digits(text, i);
        if (n < 1 || n > 3 || i + n >= text.Length || text[i + n] != '.')
            return 0;
        i += n + 1;
        n = Digits(text, i);
        if (n < 1 || n > 3 || (i + n < text.Length && !char.IsWhiteSpace(text[i + n])))
            return 0;
        return i + n;
    }

    private static int Digits(string s, int i)
    {
        var n = 0;
        while (i + n < s.Length && char.IsAsciiDigit(s[i + n]))
            n++;
        return n;
    }

    // Argv - the program and arguments exec_command() (or the shell) uses.
    public static (string Path, List<string> Argv) Argv(string command, string shell)
    {
        if (shell.Length > 0)
        {
            var words = new List<string>(shell.Split([' ', '\t', '\r', '\n'], StringSplitOptions.RemoveEmptyEntries)) { command };
            return (Resolve(words[0]), words);
        }
        var plain = true;
        foreach (var c in command)
        {
            if (!OkChars.Contains(c))
            {
                plain = false;
                break;
            }
        }
        if (plain && command.Trim(' ', '\t').Length > 0)
        {
            var words = new List<string>(command.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries));
            var path = Resolve(words[0]);
            if (path.Contains('/') && (Sys.Stat(path, out _) || words[0].Contains('/')))
                return (path, words);
        }
        return ("/bin/sh", ["sh", "-c", command]);
    }

    private static string Resolve(string name)
    {
        if (name.Contains('/'))
            return name;
        foreach (var dir in DefaultPath.Split(':'))
        {
            var p = dir + "/" + name;
            if (Sys.Stat(p, out var st) && Sys.IsReg(st.Mode))
                return p;
        }
        return name;
    }

    // Env - clean_env() with the export list, PATH, then the pairs.
    public static List<string> Env(PipeCommandArgs args)
    {
        var table = new List<KeyValuePair<string, string>>();
        void Set(string k, string v)
        {
            table.RemoveAll(e => e.Key == k);
            table.Add(new(k, v));
        }
        foreach (var item in args.Export)
        {
            var eq = item.IndexOf('=');
            if (eq >= 0)
                Set(item[..eq].Trim(), item[(eq + 1)..].Trim());
            else if (System.Environment.GetEnvironmentVariable(item) is { } value)
                Set(item, value);
        }
        Set("PATH", DefaultPath);
        foreach (var kv in args.Environment)
            Set(kv.Key, kv.Value);
        return table.ConvertAll(kv => kv.Key + "=" + kv.Value);
    }

    public static PipeStatus Run(ReadOnlySpan<byte> queueFile, long offset, string queuePath, PipeCommandArgs args, DsnBuf why)
    {
        var pipesOk = Sys.Pipe(out var inRead, out var inWrite);
        pipesOk &= Sys.Pipe(out var outRead, out var outWrite);
        if (!pipesOk)
            Msg.Fatal($"pipe_command: pipe: {Sys.LastError()}");
        Sys.NonBlocking(outWrite, true);
        var (path, argv) = Argv(args.Command, args.Shell);
        var env = Env(args);

        var savedCwd = args.WorkingDirectory != null ? System.IO.Directory.GetCurrentDirectory() : null;
        Eugid.SpawnIds(args.Uid, args.Gid);
        string? cwdError = null;
        if (args.WorkingDirectory != null && Sys.Chdir(args.WorkingDirectory) < 0)
            cwdError = Sys.LastError();
        int pid = -1, spawnErrno = 0;
        if (cwdError == null)
            pid = Sys.Spawn(path, argv, env, [(inRead, 0), (outWrite, 1), (outWrite, 2)], out spawnErrno);
        if (savedCwd != null)
            Sys.Chdir(savedCwd);
        Eugid.Restore(args.RestoreUid, args.RestoreGid);
        Sys.Close(inRead);
        Sys.Close(outWrite);
        if (pid < 0)
        {
            Sys.Close(inWrite);
            Sys.Close(outRead);
            if (cwdError != null)
            {
                why.Unix("5.3.0", "internal software error",
                    $"Command died with status 1: \"{args.Command}\". Command output: cannot change directory to \"{args.WorkingDirectory}\" for uid={args.Uid} gid={args.Gid}: {cwdError}");
                return PipeStatus.Bounce;
            }
            Msg.Warn($"fork: {Sys.StrError(spawnErrno)}");
            why.Unix("4.3.0", "system resource problem", $"Delivery failed: {Sys.StrError(spawnErrno)}");
            return PipeStatus.Defer;
        }

        var timedOut = 0;
        using var timer = new Timer(_ =>
        {
            Interlocked.Exchange(ref timedOut, 1);
            Sys.Kill(pid, Sys.SIGKILL);
        }, null, TimeSpan.FromSeconds(Math.Max(1, args.TimeLimitSeconds)), Timeout.InfiniteTimeSpan);

        var writeStatus = MailCopy.Copy(queueFile, offset, queuePath, args.Sender, args.OrigRcpt, args.Delivered,
            inWrite, args.CopyFlags, why, out var writeErrno);
        var log = new byte[4095];
        var logLen = 0;
        while (logLen < log.Length)
        {
            var n = Sys.Read(outRead, log.AsSpan(logLen));
            if (n < 0 && MailboxNative.Errno == Sys.EINTR)
                continue;
            if (n <= 0)
                break;
            logLen += (int)n;
        }
        Sys.Close(outRead);
        int wait;
        while (Sys.WaitPid(pid, out wait, 0) < 0)
        {
            if (MailboxNative.Errno != Sys.EINTR)
                Msg.Fatal($"wait: {Sys.LastError()}");
        }
        timer.Change(Timeout.Infinite, Timeout.Infinite);
        var logText = Printable(log.AsSpan(0, logLen));
        var suffix = logLen > 0 ? ". Command output: " + logText : "";

        if (Volatile.Read(ref timedOut) != 0)
        {
            why.Unix("5.3.0", logLen > 0 ? logText : "internal software error",
                $"Command time limit exceeded: \"{args.Command}\"{suffix}");
            return PipeStatus.Bounce;
        }
        if (!(Sys.WIfExited(wait) && Sys.WExitStatus(wait) == 0))
        {
            if (Sys.WIfSignaled(wait))
            {
                why.Unix("4.3.0", logLen > 0 ? logText : "internal software error",
                    $"Command died with signal {Sys.WTermSig(wait)}: \"{args.Command}\"{suffix}");
                return PipeStatus.Defer;
            }
            var code = Sys.WExitStatus(wait);
            int dlen;
            if ((dlen = DsnValid(logText)) > 0)
            {
                var dsn = logText[..dlen];
                var text = logText[Math.Min(logText.Length, dlen + 1)..].TrimStart();
                why.Unix(dsn, text, text);
                return dsn[0] == '4' ? PipeStatus.Defer : PipeStatus.Bounce;
            }
            var (status, detail) = SysExits.Detail(code);
            if (SysExits.IsCode(code))
            {
                why.Unix(status, logLen > 0 ? logText : detail, detail + suffix);
                return status[0] == '4' ? PipeStatus.Defer : PipeStatus.Bounce;
            }
            why.Unix(status, logLen > 0 ? logText : detail, $"Command died with status {code}: \"{args.Command}\"{suffix}");
            return PipeStatus.Bounce;
        }
        if ((writeStatus & MailCopy.StatCorrupt) != 0)
            return PipeStatus.Corrupt;
        if (writeStatus != 0 && writeErrno != Sys.EPIPE)
        {
            why.Reason = "Command failed: " + why.Reason + $": \"{args.Command}\"";
            return PipeStatus.Bounce;
        }
        why.Reason = logText;
        return PipeStatus.Ok;
    }

    // Printable - translit "\t\n" to spaces, then printable() with '_'.
    public static string Printable(ReadOnlySpan<byte> data)
    {
        var text = Encoding.UTF8.GetString(data);
        var sb = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            var ch = c is '\t' or '\n' ? ' ' : c;
            sb.Append(ch < ' ' || ch == 127 || ch == '\uFFFD' ? '_' : ch);
        }
        return sb.ToString();
    }
}
