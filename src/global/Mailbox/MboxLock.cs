// NAME
//	MboxLock - dot-lock files and kernel locks for mailbox delivery
// POSTFIX
//	src/global/dot_lockfile.c, src/global/deliver_flock.c,
//	src/global/mbox_conf.c
// DESCRIPTION
//	Methods is the lock mask (flock, fcntl, dotlock; mailbox_delivery_lock
//	and virtual_mailbox_lock name them). DotLock() creates PATH.lock
//	exclusively, retrying deliver_lock_attempts times with
//	deliver_lock_delay seconds (randomised) between tries and removing
//	a lock older than stale_lock_time; Kernel() takes a non-blocking
//	exclusive flock() or fcntl() lock with the same retries.
using System;
using System.Threading;
using Postfix.Util;

namespace Postfix.Global.Mailbox;

public static class MboxLock
{
    public const int Flock = 1 << 0;
    public const int Fcntl = 1 << 1;
    public const int Dot = 1 << 2;
    public const int DotMayFail = 1 << 3;

    // Attempts - deliver_lock_attempts.
    public static int Attempts { get; set; } = 20;

    // DelaySeconds - deliver_lock_delay.
    public static int DelaySeconds { get; set; } = 1;

    // StaleSeconds - stale_lock_time.
    public static int StaleSeconds { get; set; } = 500;

    // Mask - mbox_lock_mask(): the lock methods that a parameter names.
    public static int Mask(string parameter, string value)
    {
        var mask = 0;
        foreach (var name in value.Split([',', ' ', '\t', '\r', '\n'], StringSplitOptions.RemoveEmptyEntries))
        {
            mask |= name.ToLowerInvariant() switch
            {
                "flock" => Flock,
                "fcntl" => Fcntl,
                "dotlock" => Dot,
                _ => Unknown(parameter, name, value),
            };
        }
        return mask;
    }

    private static int Unknown(string parameter, string name, string value)
    {
        Msg.Fatal($"unknown {parameter} value \"{name}\" in \"{value}\"");
        return 0;
    }

    private static void Pause()
    {
        var ms = DelaySeconds * 1000;
        Thread.Sleep(ms / 2 + Random.Shared.Next(Math.Max(1, ms)));
    }

    // DotLock - dot_lockfile(): 0 on success, else errno with why set.
    public static int DotLock(string path, out string why)
    {
        var lockFile = path + ".lock";
        why = "";
        int errno;
        for (var count = 1; ; count++)
        {
            var fd = Sys.Open(lockFile, Sys.O_WRONLY | Sys.O_EXCL | Sys.O_CREAT | Sys.O_CLOEXEC, 0);
            if (fd >= 0)
            {
                Sys.Close(fd);
                return 0;
            }
            errno = MailboxNative.Errno;
            if (count >= Attempts || errno != Sys.EEXIST)
                break;
            if (Sys.LStat(lockFile, out _, out var ctime)
                && DateTimeOffset.UtcNow.ToUnixTimeSeconds() > ctime + StaleSeconds
                && Sys.Unlink(lockFile) < 0 && MailboxNative.Errno != Sys.ENOENT)
            {
                errno = MailboxNative.Errno;
                break;
            }
            Pause();
        }
        why = $"unable to create lock file {lockFile}: {Sys.StrError(errno)}";
        return errno;
    }

    // DotUnlock - dot_unlockfile().
    public static void DotUnlock(string path) => Sys.Unlink(path + ".lock");

    // Kernel - deliver_flock(): 0 on success, else errno with why set.
    public static int Kernel(int fd, int style, out string why)
    {
        why = "";
        int errno;
        for (var i = 1; ; i++)
        {
            var ok = style == Flock
                ? Sys.Flock(fd, Sys.LOCK_EX | Sys.LOCK_NB) == 0
                : MailboxNative.FcntlWriteLock(fd);
            if (ok)
                return 0;
            errno = MailboxNative.Errno;
            if (i >= Attempts)
                break;
            Pause();
        }
        why = $"unable to lock for exclusive access: {Sys.StrError(errno)}";
        return errno;
    }
}
