// NAME
//	PipeAttributes - the master.cf attributes of a pipe(8) service
// POSTFIX
//	src/pipe/pipe.c (get_service_attr), src/util/unescape.c
// DESCRIPTION
//	Parse() reads flags=, user=, directory=, chroot=, eol=,
//	null_sender=, size= and argv= (the rest of the line is the
//	command) from the arguments after the daemon options, with the
//	reference's fatal errors for unknown names, flags, users and the
//	privileged identities a command must not get.
using System;
using System.Collections.Generic;
using System.Text;
using Postfix.Global.Config;
using Postfix.Util;

namespace Postfix.Daemons.Pipe;

// CopyFlags - MAIL_COPY_* bits plus the pipe-only options above them.
[Flags]
public enum CopyFlags
{
    None = 0,
    Quote = 1 << 0,         // '>': quote lines starting with "From "
    ToFile = 1 << 1,
    Dot = 1 << 2,           // '.': dot-stuffing
    Blank = 1 << 3,         // 'B': blank line after the message
    From = 1 << 4,          // 'F': UNIX From_ line
    Delivered = 1 << 5,     // 'D': Delivered-To:
    ReturnPath = 1 << 6,    // 'R': Return-Path:
    OrigRcpt = 1 << 7,      // 'O': X-Original-To:
    FoldUser = 1 << 16,     // 'u': fold the local part
    FoldHost = 1 << 17,     // 'h': fold the domain
    QuoteLocal = 1 << 18,   // 'q': quote the local part
    FinalDelivery = 1 << 19, // 'X': action "delivered", not "relayed"
    FoldAll = FoldUser | FoldHost,
}

public sealed class PipeAttributes
{
    public required IReadOnlyList<string> Command { get; init; }

    public uint Uid { get; init; }

    public uint Gid { get; init; }

    public CopyFlags Flags { get; init; }

    public string? ExecDir { get; init; }

    public string? ChrootDir { get; init; }

    public string Eol { get; init; } = "\n";

    public string NullSender { get; init; } = "MAILER-DAEMON";

    public long SizeLimit { get; init; }

    // FlagOf - the bit of one flags= letter, or None when unknown.
    public static CopyFlags FlagOf(char c) => c switch
    {
        'B' => CopyFlags.Blank,
        'D' => CopyFlags.Delivered,
        'F' => CopyFlags.From,
        'O' => CopyFlags.OrigRcpt,
        'R' => CopyFlags.ReturnPath,
        'X' => CopyFlags.FinalDelivery,
        '.' => CopyFlags.Dot,
        '>' => CopyFlags.Quote,
        'h' => CopyFlags.FoldHost,
        'q' => CopyFlags.QuoteLocal,
        'u' => CopyFlags.FoldUser,
        _ => CopyFlags.None,
    };

    private static bool HasPrefix(string arg, string prefix) =>
        arg.StartsWith(prefix, StringComparison.OrdinalIgnoreCase);

    // Parse - get_service_attr(); lookups resolve user and group names.
    public static PipeAttributes Parse(IReadOnlyList<string> args, MailConf conf,
        Func<string, Sys.Passwd?>? getpw = null, Func<string, uint?>? getgr = null)
    {
        const string myname = "get_service_attr";
        getpw ??= Sys.GetPwNam;
        getgr ??= Sys.GetGrNam;
        string? user = null;
        uint uid = 0, gid = 0;
        var flags = CopyFlags.None;
        string? execDir = null, chrootDir = null;
        var eol = "\n";
        var nullSender = "MAILER-DAEMON";
        long sizeLimit = 0;
        List<string>? command = null;

        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (HasPrefix(arg, "flags="))
            {
                foreach (var c in arg.AsSpan(6))
                {
                    var f = FlagOf(c);
                    if (f == CopyFlags.None)
                        Msg.Fatal($"unknown flag: {c} (ignored)");
                    flags |= f;
                }
            }
            else if (HasPrefix(arg, "user="))
            {
                user = arg[5..];
                string? group = null;
                var colon = user.IndexOf(':');
                if (colon >= 0)
                {
                    group = user[(colon + 1)..];
                    user = user[..colon];
                    if (group.Length == 0)
                        group = null;
                }
                var pw = getpw(user);
                if (pw == null)
                    Msg.Fatal($"{myname}: unknown username: {user}");
                uid = pw!.Uid;
                if (group != null)
                {
                    var g = getgr(group);
                    if (g == null)
                        Msg.Fatal($"{myname}: unknown group: {group}");
                    gid = g!.Value;
                }
                else
                {
                    gid = pw.Gid;
                }
            }
            else if (HasPrefix(arg, "directory="))
            {
                execDir = arg[10..];
            }
            else if (HasPrefix(arg, "chroot="))
            {
                chrootDir = arg[7..];
            }
            else if (HasPrefix(arg, "eol="))
            {
                eol = Postfix.Util.Unescape.Decode(arg[4..]);
            }
            else if (HasPrefix(arg, "null_sender="))
            {
                nullSender = arg[12..];
            }
            else if (HasPrefix(arg, "size="))
            {
                var size = arg[5..];
                if ((sizeLimit = OffCvt(size)) < 0)
                    Msg.Fatal($"{myname}: bad size= value: {size}");
            }
            else if (HasPrefix(arg, "argv="))
            {
                command = new List<string> { arg[5..] };
                for (var j = i + 1; j < args.Count; j++)
                    command.Add(args[j]);
                break;
            }
            else
            {
                Msg.Fatal($"unknown attribute name: {arg}");
            }
        }

        if (user == null)
            Msg.Fatal("missing user= command-line attribute");
        if (command == null)
            Msg.Fatal("missing argv= command-line attribute");
        if (uid == 0)
            Msg.Fatal("user= command-line attribute specifies root privileges");
        var owner = conf.Eval("mail_owner");
        var ownerPw = getpw(owner);
        if (ownerPw != null && uid == ownerPw.Uid)
            Msg.Fatal($"user= command-line attribute specifies mail system owner {owner}");
        if (gid == 0)
            Msg.Fatal("user= command-line attribute specifies privileged group id 0");
        if (ownerPw != null && gid == ownerPw.Gid)
            Msg.Fatal($"user= command-line attribute specifies mail system owner {owner} group id {gid}");
        var sgidGroup = conf.Eval("setgid_group");
        if (getgr(sgidGroup) is { } sgid && gid == sgid)
            Msg.Fatal($"user= command-line attribute specifies mail system {sgidGroup} group id {gid}");
        if (Msg.Verbose > 0)
            Msg.Info($"{myname}: uid {uid}, gid {gid}, flags {(int)flags}, size {sizeLimit}");
        return new PipeAttributes
        {
            Command = command!,
            Uid = uid,
            Gid = gid,
            Flags = flags,
            ExecDir = execDir,
            ChrootDir = chrootDir,
            Eol = eol,
            NullSender = nullSender,
            SizeLimit = sizeLimit,
        };
    }

    // OffCvt - off_cvt_string(): digits only, -1 when invalid or too large.
    public static long OffCvt(string s)
    {
        long result = 0;
        foreach (var c in s)
        {
            if (c is < '0' or > '9')
                return -1;
            if (result > (long.MaxValue - (c - '0')) / 10)
                return -1;
            result = result * 10 + (c - '0');
        }
        return result;
    }
}
