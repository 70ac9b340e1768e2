// NAME
//	SendmailArgs - sendmail's command line, Postfix's way
// POSTFIX
//	src/sendmail/sendmail.c (main: the pre-scan for -C, the option loop,
//	the conflict checks)
// DESCRIPTION
//	PreScanConfig() finds -C before main.cf is read (and sets
//	MAIL_CONFIG); Parse() is the option loop proper; CheckConflicts()
//	the checks between options and mode. Fatal errors go through
//	Msg.FatalStatus with sendmail's EX_* status (the program exits with
//	EX_TEMPFAIL anyway, as Postfix's sendmail does).
using System;
using Postfix.Global.Config;
using Postfix.Global.Submit;
using Postfix.Util;

namespace Postfix.Commands.Sendmail;

internal sealed class SendmailArgs
{
    public const string OptionSpec = "A:B:C:F:GIL:N:O:R:UV:X:b:ce:f:h:imno:p:r:q:tvx";

    public SendmailMode Mode;
    public readonly SubmitRequest Request = new();
    public string? SiteToFlush;
    public string? IdToFlush;
    public string? QueueTime;
    public string? AliasMapFromArgs;
    public string[] Operands = [];

    // PreScanConfig - honour -C before reading main.cf.
    public static void PreScanConfig(string[] args, string progName)
    {
        var scan = new ArgScanner(args, OptionSpec, progName);
        while (scan.Current != null)
        {
            if (scan.Current == "-q")
            {
                scan.Optind++;
                continue;
            }
            var c = scan.Next();
            if (c <= 0)
                break;
            if (c != 'C')
                continue;
            var optarg = scan.Optarg!;
            var dir = SaneBasename(optarg) == MailConf.MainConfFile ? SaneDirname(optarg) : optarg;
            if (dir != MailConf.DefConfigDir && Sys.GetEuid() != 0)
                ConfigDirCheck.Check(dir);
            Environment.SetEnvironmentVariable(MailConf.ConfEnvPath, dir);
        }
    }

    // Parse - the option loop; argv0 picks the initial mode.
    public static SendmailArgs Parse(string[] args, string progName, MailConf conf)
    {
        var a = new SendmailArgs
        {
            Mode = progName switch
            {
                "mailq" => SendmailMode.MailQ,
                "newaliases" => SendmailMode.NewAlias,
                "smtpd" => SendmailMode.Daemon,
                _ => SendmailMode.Enqueue,
            },
        };
        var r = a.Request;
        var scan = new ArgScanner(args, OptionSpec, progName);
        while (scan.Current != null)
        {
            var cur = scan.Current;
            if (cur == "-q")
            {
                if (a.Mode == SendmailMode.Daemon)
                    Msg.Warn("ignoring -q option in daemon mode");
                else
                    a.Mode = SendmailMode.FlushQ;
                scan.Optind++;
                continue;
            }
            if (cur == "-V" && scan.Peek(1) is { } next && next.Length == 2)
            {
                Msg.Warn("option -V is deprecated with Postfix 2.3; specify -XV instead");
                scan.Args[scan.Optind] = cur = "-XV";
            }
            if (cur.StartsWith("-V", StringComparison.Ordinal) && cur.Length == 4)
            {
                Msg.Warn($"option {cur} is deprecated with Postfix 2.3; specify -X{cur[1..]} instead");
                scan.Args[scan.Optind] = cur = "-X" + cur[1..];
            }
            if (cur == "-XV")
            {
                r.VerpDelims = conf.Eval("default_verp_delimiters");
                scan.Optind++;
                continue;
            }
            var c = scan.Next();
            if (c <= 0)
                break;
            var optarg = scan.Optarg ?? "";
            var first = optarg.Length > 0 ? optarg[0] : '\0';
            switch (c)
            {
                default:
                    if (Msg.Verbose > 0)
                        Msg.Info($"-{(char)c} option ignored");
                    break;
                case 'n':
                    Msg.FatalStatus(ExitCodes.Usage, $"-{(char)c} option not supported");
                    break;
                case 'B':
                    if (optarg == "8BITMIME")
                        r.Encoding = "8bit";
                    else if (optarg == "7BIT")
                        r.Encoding = "7bit";
                    else
                        Msg.FatalStatus(ExitCodes.Usage, "-B option needs 8BITMIME or 7BIT");
                    break;
                case 'F':
                    r.FullName = optarg;
                    break;
                case 'G':
                    r.RewriteContext = "remote";
                    break;
                case 'I':
                    a.Mode = SendmailMode.NewAlias;
                    break;
                case 'N':
                    if ((r.DsnNotify = DsnCodes.NotifyMask(optarg)) == 0)
                        Msg.Warn("bad -N option value -- ignored");
                    break;
                case 'R':
                    if ((r.DsnRet = DsnCodes.RetCode(optarg)) == 0)
                        Msg.Warn("bad -R option value -- ignored");
                    break;
                case 'V':
                    if (optarg.Length > 100)
                        Msg.Warn("too long -V option value -- ignored");
                    else if (!DsnCodes.AllPrint(optarg))
                        Msg.Warn("bad syntax in -V option value -- ignored");
                    else
                        r.DsnEnvId = optarg;
                    break;
                case 'X':
                    if (first != 'V')
                        Msg.FatalStatus(ExitCodes.Usage, $"unsupported: -{(char)c}{first}");
                    var filter = conf.Eval("verp_delimiter_filter");
                    if (!DsnCodes.VerpDelimsOk(optarg[1..], filter))
                        Msg.FatalStatus(ExitCodes.Usage, $"-V requires two characters from {filter}");
                    r.VerpDelims = optarg[1..];
                    break;
                case 'b':
                    switch (first)
                    {
                        default:
                            Msg.FatalStatus(ExitCodes.Usage, $"unsupported: -{(char)c}{first}");
                            break;
                        case 'd':
                        case 'l':
                            if (a.Mode == SendmailMode.FlushQ)
                                Msg.Warn("ignoring -q option in daemon mode");
                            a.Mode = SendmailMode.Daemon;
                            break;
                        case 'h':
                        case 'H':
                            a.Mode = SendmailMode.Ignore;
                            break;
                        case 'i':
                            a.Mode = SendmailMode.NewAlias;
                            break;
                        case 'm':
                            a.Mode = SendmailMode.Enqueue;
                            break;
                        case 'p':
                            a.Mode = SendmailMode.MailQ;
                            break;
                        case 's':
                            a.Mode = SendmailMode.User;
                            break;
                        case 'v':
                            r.Flags |= SendmailFlags.UserVerify;
                            break;
                    }
                    break;
                case 'f':
                case 'r':
                    r.Sender = optarg;
                    break;
                case 'i':
                    r.Flags &= ~SendmailFlags.ArchaicEof;
                    break;
                case 'o':
                    switch (first)
                    {
                        default:
                            if (Msg.Verbose > 0)
                                Msg.Info($"-{(char)c}{first} option ignored");
                            break;
                        case 'A':
                            if (optarg.Length == 1)
                                Msg.FatalStatus(ExitCodes.Usage, "-oA requires pathname");
                            a.AliasMapFromArgs = optarg[1..];
                            break;
                        case '7':
                        case '8':
                        case 'm':
                            break;
                        case 'i':
                            r.Flags &= ~SendmailFlags.ArchaicEof;
                            break;
                    }
                    break;
                case 'q':
                    if (char.IsAsciiDigit(first))
                    {
                        a.QueueTime = optarg;
                    }
                    else if (first == 'R')
                    {
                        a.SiteToFlush = optarg[1..];
                        if (a.SiteToFlush.Length == 0)
                            Msg.FatalStatus(ExitCodes.Usage, "specify: -qRsitename");
                    }
                    else if (first == 'I')
                    {
                        a.IdToFlush = optarg[1..];
                        if (a.IdToFlush.Length == 0)
                            Msg.FatalStatus(ExitCodes.Usage, "specify: -qIqueueid");
                    }
                    else
                    {
                        Msg.FatalStatus(ExitCodes.Usage, $"-q{first} is not implemented");
                    }
                    break;
                case 't':
                    r.Flags |= SendmailFlags.ExtractRcpt;
                    break;
                case 'v':
                    Msg.Verbose++;
                    break;
                case '?':
                    Msg.FatalStatus(ExitCodes.Usage, $"usage: {progName} [options]");
                    break;
            }
        }
        a.Operands = scan.Optind < scan.Args.Length ? scan.Args[scan.Optind..] : [];
        a.CheckConflicts();
        return a;
    }

    // CheckConflicts - options that do not go together.
    private void CheckConflicts()
    {
        var r = Request;
        if ((r.Flags & SendmailFlags.ExtractRcpt) != 0 && Mode != SendmailMode.Enqueue)
            Msg.FatalStatus(ExitCodes.Usage, "-t can be used only in delivery mode");
        if (SiteToFlush != null && Mode != SendmailMode.Enqueue)
            Msg.FatalStatus(ExitCodes.Usage, "-qR can be used only in delivery mode");
        if (IdToFlush != null && Mode != SendmailMode.Enqueue)
            Msg.FatalStatus(ExitCodes.Usage, "-qI can be used only in delivery mode");
        if ((r.Flags & SendmailFlags.UserVerify) != 0)
        {
            if ((r.Flags & SendmailFlags.ExtractRcpt) != 0)
                Msg.FatalStatus(ExitCodes.Usage, "-t option cannot be used with -bv");
            if (r.DsnNotify != 0)
                Msg.FatalStatus(ExitCodes.Usage, "-N option cannot be used with -bv");
            if (r.DsnRet != 0)
                Msg.FatalStatus(ExitCodes.Usage, "-R option cannot be used with -bv");
            if (Msg.Verbose == 1)
                Msg.FatalStatus(ExitCodes.Usage, "-v option cannot be used with -bv");
        }
        // One -v asks for a delivery record; more ask for verbose logging.
        if (Msg.Verbose == 1 && Mode == SendmailMode.Enqueue)
        {
            Msg.Verbose = 0;
            r.Flags |= SendmailFlags.Record;
        }
    }

    // SaneBasename / SaneDirname - sane_basename(), sane_dirname().
    internal static string SaneBasename(string path)
    {
        var p = path.TrimEnd('/');
        if (p.Length == 0)
            return path.Length > 0 ? "/" : ".";
        var slash = p.LastIndexOf('/');
        return slash < 0 ? p : p[(slash + 1)..];
    }

    internal static string SaneDirname(string path)
    {
        var p = path.TrimEnd('/');
        if (p.Length == 0)
            return path.Length > 0 ? "/" : ".";
        var slash = p.LastIndexOf('/');
        if (slash < 0)
            return ".";
        var d = p[..slash].TrimEnd('/');
        return d.Length == 0 ? "/" : d;
    }
}
