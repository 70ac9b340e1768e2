// NAME
//	SmtpdSession - one SMTP session: state, replies and the command loop
// POSTFIX
//	src/smtpd/smtpd.c (smtpd_proto, smtpd_service, chat_reset,
//	smtpd_format_cmd_stats), smtpd_chat.c, smtpd_state.c
// DESCRIPTION
//	The protocol engine's per-session state (derived from the state the
//	restriction engine shares), the reply writer (error sleep, reject
//	footer, soft_bounce, multi-line replies, hang-up after 421/521), the
//	greeting and the command read/dispatch loop with the reference's
//	error, junk-command and pipelining rules, and the per-command
//	counters that end up in the "disconnect from" line. The commands
//	themselves live in SmtpdCommands.cs.
using System;
using System.Collections.Generic;
using System.Net;
using System.Text;
using TextEncoding = System.Text.Encoding;
using System.Threading;
using Postfix.Daemons.Anvil;
using Postfix.Daemons.SmtpdCheck;
using Postfix.Global.Dict;
using Postfix.Milter;
using Postfix.Server;
using Postfix.Util;

namespace Postfix.Daemons.Smtpd;

internal sealed partial class SmtpdSession : SmtpdState
{
    // SMTPD_FLAG_*
    public const int FlagHangup = 1 << 0, FlagIllPipelining = 1 << 1, FlagAuthUsed = 1 << 2, FlagSmtpUtf8 = 1 << 3,
        FlagNeedMilterAbort = 1 << 4;

    // Keep these across mail_reset (SMTPD_MASK_MAIL_KEEP).
    private const int MaskMailKeep = ~(FlagSmtpUtf8 | FlagNeedMilterAbort);

    // Cleanup status bits (cleanup_user.h).
    public const int CleanupStatOk = 0, CleanupStatBad = 1 << 0, CleanupStatWrite = 1 << 1, CleanupStatSize = 1 << 2,
        CleanupStatCont = 1 << 3, CleanupStatHops = 1 << 4, CleanupStatRcpt = 1 << 6, CleanupStatProxy = 1 << 7,
        CleanupStatDefer = 1 << 8, CleanupStatNoperm = 1 << 9, CleanupStatBareLf = 1 << 16;

    // Cleanup flags (cleanup_user.h).
    public const int CleanupFlagBounce = 1 << 0, CleanupFlagFilter = 1 << 1, CleanupFlagHold = 1 << 2,
        CleanupFlagDiscard = 1 << 3, CleanupFlagBccOk = 1 << 4, CleanupFlagMapOk = 1 << 5, CleanupFlagMilter = 1 << 6,
        CleanupFlagSmtpReply = 1 << 7, CleanupFlagSmtpUtf8 = 1 << 8, CleanupFlagAutoUtf8 = 1 << 9;

    // MAIL_ERROR_* (mail_error.h).
    public const int MailErrorPolicy = 1 << 0, MailErrorProtocol = 1 << 1, MailErrorBounce = 1 << 2,
        MailErrorSoftware = 1 << 3, MailErrorResource = 1 << 4, MailError2Bounce = 1 << 5, MailErrorDelay = 1 << 6,
        MailErrorData = 1 << 7;

    // Where-names beyond the command names.
    public const string AfterConnect = "CONNECT", AfterData = "DATA content",
        AfterEom = "END-OF-MESSAGE", AfterBdat = "BDAT content", CmdUnknown = "UNKNOWN";

    private const string ReasonTimeout = "timeout", ReasonLostConnection = "lost connection",
        ReasonErrorLimit = "too many errors";

    public SmtpdSession(Smtpd.Process process, ServerContext ctx, ClientConnection conn)
    {
        Proc = process;
        Config = process.Config;
        Checker = process.Checker;
        Context = ctx;
        Connection = conn;
        StandAlone = ctx.StandAlone;
        Service = ctx.ServiceName;
        Io = new SmtpdStream(conn.Stream, conn.Socket);
    }

    public Smtpd.Process Proc { get; }

    public SmtpdConfig Config { get; }

    public SmtpdChecker Checker { get; }

    public ServerContext Context { get; }

    public ClientConnection Connection { get; }

    public SmtpdStream Io { get; }

    public bool StandAlone { get; }

    public IPAddress? ClientIp;
    public int Flags;
    public int EhloDiscardMask;
    public int JunkCmds;
    public int RcptOvershoot;
    public MailDest? Dest;
    public int Err;
    public bool XclientAllowed, XforwardAllowed;
    public Milters? Milters;
    public string AddrBuf = "";
    public List<string>? History;
    public readonly ByteBuffer Buffer = new(512);
    public string CommandText = "";
    public string? MilterRejectText;
    public string? ProxyMail;
    public int BdatState;
    public bool TlsActive => Tls != null;

    // Per-command counters for the "disconnect from" statistics.
    private static readonly string[] CommandNames =
        ["HELO", "EHLO", "XCLIENT", "XFORWARD", "STARTTLS", "AUTH", "MAIL", "RCPT", "DATA", "BDAT", "RSET", "NOOP",
            "VRFY", "ETRN", "QUIT"];

    private readonly int[] successCount = new int[CommandNames.Length + 1];
    private readonly int[] totalCount = new int[CommandNames.Length + 1];

    public string QueueIdOrNoqueue => QueueId ?? "NOQUEUE";

    // InMailTransaction - SMTPD_IN_MAIL_TRANSACTION().
    public bool InMailTransaction => Sender != null;

    public bool ProcessingBdat => BdatState != 0;

    // ---------------------------------------------------------------
    // Replies (smtpd_chat.c)
    // ---------------------------------------------------------------

    public void Reply(string text)
    {
        var delay = false;
        if (ErrorCount >= Config.SoftErrorLimit)
        {
            delay = true;
            if (Config.ErrorSleep > 0)
            {
                Io.TryFlush();
                Thread.Sleep(Config.ErrorSleep * 1000);
            }
        }
        if (text.Length > 0 && (text[0] == '4' || text[0] == '5'))
        {
            string? footer = null;
            if (Config.RejectFooterMaps != null)
            {
                lock (MatchList.Gate)
                    footer = Config.RejectFooterMaps.Find(text);
            }
            if (footer == null && Config.RejectFooter.Length > 0)
                footer = Config.RejectFooter;
            if (footer != null)
                text = SmtpdFooter.Apply(text, footer, Config.ExpansionFilter, Expand);
        }
        var lines = text.Split("\r\n");
        var count = lines.Length;
        if (count > 1 && lines[^1].Length == 0)
            count--;
        for (var i = 0; i < count; i++)
        {
            var line = lines[i];
            if (Config.SoftBounce && line.Length > 0 && line[0] == '5')
            {
                var chars = line.ToCharArray();
                chars[0] = '4';
                if (chars.Length > 4 && chars[4] == '5')
                    chars[4] = '4';
                line = new string(chars);
            }
            if (i < count - 1 && line.Length > 3)
                line = line[..3] + "-" + line[4..];
            ChatAppend("Out: ", line);
            if (Msg.Verbose > 0)
                Msg.Info($"> {NamAddr}: {line}");
            Io.PutLine(TextEncoding.UTF8.GetBytes(line));
        }
        if (delay || Environment.TickCount64 - Io.LastIo > 10_000)
            Io.Flush();
        if (text.StartsWith("421", StringComparison.Ordinal) || text.StartsWith("521", StringComparison.Ordinal))
            Flags |= FlagHangup;
    }

    private void ChatAppend(string direction, string text)
    {
        if (NotifyMask == 0)
            return;
        History ??= new List<string>();
        History.Add(direction + text);
    }

    // Expand - smtpd_expand_lookup().
    public string? Expand(string name, int mode)
    {
        switch (name)
        {
            case "server_hostname":
                return Config.MyHostname;
            case "client":
                return NamAddr;
            case "client_port":
                return Port;
            case "client_address":
                return Addr;
            case "client_hostname":
                return Name;
            case "reverse_client_hostname":
                return ReverseName;
            case "helo_name":
                return HeloName ?? "";
            case "localtime":
                return DateTime.Now.ToString("MMM dd HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture);
        }
        if (name.StartsWith("sender", StringComparison.Ordinal))
            return ExpandAddr(Sender, name, 6);
        if (name.StartsWith("recipient", StringComparison.Ordinal))
            return ExpandAddr(Recipient, name, 9);
        Msg.Warn($"unknown macro name \"{name}\" in expansion request");
        return null;
    }

    private static string? ExpandAddr(string? addr, string name, int prefixLen)
    {
        if (addr == null)
            return "";
        var suffix = name[prefixLen..];
        if (suffix.Length == 0)
            return addr.Length > 0 ? addr : "<>";
        if (suffix == "_name")
        {
            if (addr.Length == 0)
                return "<>";
            var at = addr.LastIndexOf('@');
            return at >= 0 ? addr[..at] : addr;
        }
        if (suffix == "_domain")
        {
            if (addr.Length == 0)
                return "";
            var at = addr.LastIndexOf('@');
            return at >= 0 ? addr[(at + 1)..] : "";
        }
        Msg.Warn($"unknown macro name \"{name}\" in expansion request");
        return null;
    }

    // Whatsup - smtpd_whatsup(): evidence for logging.
    public string Whatsup()
    {
        var sb = new StringBuilder();
        if (Sender != null)
            sb.Append(" from=<").Append(LogAddr(Sender)).Append('>');
        if (Recipient != null)
            sb.Append(" to=<").Append(LogAddr(Recipient)).Append('>');
        sb.Append(" proto=").Append(Protocol);
        if (HeloName != null)
            sb.Append(" helo=<").Append(HeloName).Append('>');
        if (SaslUsername != null)
            sb.Append(" sasl_username=<").Append(SaslUsername).Append('>');
        return sb.ToString();
    }

    // LogAddr - info_log_addr_form_*(): the external (quoted) form
    // unless info_log_address_format = internal.
    public string LogAddr(string addr) =>
        addr.Length == 0 || Config.InfoLogInternal ? addr : Postfix.Global.Address.Quote822.Local(addr);

    // LogWhatsup - log_whatsup().
    public void LogWhatsup(string action, string text) =>
        Msg.Info($"{QueueIdOrNoqueue}: {action}: {Where} from {NamAddr}: {text};{Whatsup()}");

    // ---------------------------------------------------------------
    // The session (smtpd_service, smtpd_proto)
    // ---------------------------------------------------------------

    public void Serve()
    {
        SmtpdPeer.Init(this, StandAlone ? null : Connection.Socket, Proc.Ipv6First, Proc.Ipv4Enabled, Proc.Ipv6Enabled);
        NotifyMask = Proc.NotifyMask;
        SaslActive = false;
        Msg.Info($"connect from {NamAddr}");
        XclientAllowed = !StandAlone && Config.XclientHosts.MatchHost(Name, Addr);
        XforwardAllowed = !StandAlone && Config.XforwardHosts.MatchHost(Name, Addr);
        Io.DetectBareLf = !StandAlone && Config.BareLfMask != 0 && !Config.BareLfExclusions.MatchHost(Name, Addr)
            ? Config.BareLfMask : 0;
        SetupMilters();
        try
        {
            Proto();
        }
        finally
        {
            Msg.Info($"disconnect from {NamAddr}{FormatCommandStats()}");
            TeardownMilters();
            Dest?.Abort();
            Dest = null;
        }
    }

    private void SetupMilters()
    {
        if (StandAlone || (Config.InputTransp & SmtpdConfig.TranspMilter) != 0)
            return;
        var list = Proc.MilterList(Addr);
        if (list.Length > 0 && !string.Equals(list, "DISABLE", StringComparison.OrdinalIgnoreCase))
            Milters = Milters.Create(Config.Conf, list);
    }

    private void TeardownMilters()
    {
        Milters?.Dispose();
        Milters = null;
    }

    private bool HoggerMatch() => Config.HoggerList.MatchHost(Name, Addr);

    private bool UseAnvil => !StandAlone && !XclientAllowed && Proc.Anvil != null;

    private void Proto()
    {
        var anvilConnected = false;
        try
        {
            Io.Setup(StandAlone ? 0 : Config.Timeout, Config.RequestDeadline, 0);
            try
            {
                while (true)
                {
                    try
                    {
                        anvilConnected = ProtoBody() || anvilConnected;
                        break;
                    }
                    catch (SmtpdRestart)
                    {
                        // XCLIENT: start over as the new client.
                    }
                }
            }
            catch (SmtpdJump jump)
            {
                // A fresh time budget for the last words (smtpd_proto()).
                Io.Setup(StandAlone ? 0 : Config.Timeout, Config.RequestDeadline, 0);
                switch (jump.Code)
                {
                    case SmtpdJump.Time:
                        Reason = ReasonTimeout;
                        TryReply($"421 4.4.2 {Config.MyHostname} Error: timeout exceeded");
                        break;
                    case SmtpdJump.Eof:
                        Reason = ReasonLostConnection;
                        break;
                    case SmtpdJump.Quiet:
                        break;
                    case SmtpdJump.DataError:
                        Msg.Info($"{QueueIdOrNoqueue}: reject: {Where} from {NamAddr}: 421 4.3.0 {Config.MyHostname} Server local data error");
                        ErrorMask |= MailErrorData;
                        TryReply($"421 4.3.0 {Config.MyHostname} Server local data error");
                        break;
                }
            }
            Io.TryFlush();
        }
        finally
        {
            _ = anvilConnected;
            if (UseAnvil && !HoggerMatch())
                Proc.Anvil!.Disconnect(Service, Addr);
        }
        if (Reason != null)
        {
            if (Where == AfterData)
                Msg.Info($"{Reason} after DATA ({ActSize + Io.Peek} bytes) from {NamAddr}");
            else if (Where == AfterBdat)
                Msg.Info($"{Reason} after BDAT ({ActSize + BdatPendingBytes} bytes) from {NamAddr}");
            else if (Where != AfterEom || Reason != ReasonLostConnection)
                Msg.Info($"{Reason} after {Where} from {NamAddr}");
        }
        TlsReset();
        HeloReset();
        SaslReset();
        ChatReset(0);
        MailReset();
        RcptReset();
        Milters?.DisconnectEvent();
    }

    private void TryReply(string text)
    {
        try
        {
            Reply(text);
            Io.Flush();
        }
        catch (SmtpdJump)
        {
        }
    }

    // ProtoBody - the part of smtpd_proto() under the longjmp handler;
    // true when anvil saw the connect event.
    private bool ProtoBody()
    {
        if ((Flags & FlagHangup) != 0)
        {
            Reply($"421 4.3.0 {Config.MyHostname} Server local error");
            return false;
        }
        if (!StandAlone && Proc.TlsWrapperMode && Tls == null)
        {
            if (!StartTlsWrapper())
                return false;
        }
        // The pre-greeting check only looks at what has arrived, as the
        // reference does (no wait: that would delay every greeting).
        // Behind postscreen the pre-greeting check already happened there.
        bool behindPostscreen = Connection.PassAttributes != null;
        if (!StandAlone && !behindPostscreen && (Flags & FlagIllPipelining) == 0 && FlagIllPipelining_() && Config.ForbidUnauthPipelining)
        {
            Reply("554 5.5.0 Error: SMTP protocol synchronization");
            return false;
        }
        var anvilOk = false;
        if (UseAnvil && !HoggerMatch())
        {
            if (Proc.Anvil!.Connect(Service, Addr, out var count, out var rate))
            {
                anvilOk = true;
                ConnCount = count;
                ConnRate = rate;
                if (Config.ConnCountLimit > 0 && ConnCount > Config.ConnCountLimit)
                {
                    ErrorMask |= MailErrorPolicy;
                    Msg.Warn($"Connection concurrency limit exceeded: {ConnCount} from {NamAddr} for service {Service}");
                    Reply($"421 4.7.0 {Config.MyHostname} Error: too many connections from {Addr}");
                    return true;
                }
                if (Config.ConnRateLimit > 0 && ConnRate > Config.ConnRateLimit)
                {
                    Msg.Warn($"Connection rate limit exceeded: {ConnRate} from {NamAddr} for service {Service}");
                    Reply($"421 4.7.0 {Config.MyHostname} Error: too many connections from {Addr}");
                    return true;
                }
            }
        }
        string? ehloWords = null;
        if (Config.EhloDiscardMaps != null)
        {
            lock (MatchList.Gate)
                ehloWords = Config.EhloDiscardMaps.Find(Addr);
        }
        EhloDiscardMask = EhloMask.Parse(ehloWords ?? Config.EhloDiscardWords);

        string? err;
        if (!StandAlone && !Config.DelayReject && (err = Checker.CheckClient(this)) != null)
        {
            ErrorMask |= MailErrorPolicy;
            AccessDenied = err;
            Reply(AccessDenied);
            ErrorCount++;
        }
        else
        {
            err = null;
            if (Milters != null)
            {
                Milters.MacroLookup = MilterMacro;
                err = Milters.ConnectEvent(Name, Addr, Port != "unknown" ? Port : "0", AddrFamily);
                if (err != null)
                    err = CheckMilterReply(err);
            }
            if (err != null && err[0] == '5')
            {
                ErrorMask |= MailErrorPolicy;
                Reply($"554 {Config.MyHostname} ESMTP not accepting connections");
                ErrorCount++;
            }
            else if (err != null && err.StartsWith("421", StringComparison.Ordinal))
            {
                ErrorMask |= MailErrorPolicy;
                Reply($"421 {Config.MyHostname} Service unavailable - try again later");
            }
            else
            {
                Reply("220 " + Config.Banner);
            }
        }
        SaslActivateIfPlaintext();
        CommandLoop();
        return anvilOk;
    }

    private static readonly string[] NoArgs = [];

    private void CommandLoop()
    {
        while (true)
        {
            if ((Flags & FlagHangup) != 0)
                break;
            Io.Setup(StandAlone ? 0 : Config.Timeout, Config.RequestDeadline, 0);
            if (ErrorCount >= Config.HardErrorLimit)
            {
                Reason = ReasonErrorLimit;
                ErrorMask |= MailErrorProtocol;
                Reply($"421 4.7.0 {Config.MyHostname} Error: too many errors");
                break;
            }
            var complete = Query();
            _ = complete;
            if ((Io.GotBareLf & SmtpdConfig.BareLfReplyReject) != 0)
            {
                LogWhatsup("reject", "bare <LF> received");
                ErrorMask |= MailErrorProtocol;
                Reply($"{Config.BareLfCode} 5.5.2 {Config.MyHostname} Error: bare <LF> received");
                break;
            }
            if (Config.Smtputf8Enable && !Utf8Valid(Buffer.Span))
            {
                ErrorMask |= MailErrorProtocol;
                Reply("500 5.5.2 Error: bad UTF-8 syntax");
                ErrorCount++;
                continue;
            }
            CommandText = DecodeLine(Buffer.Span);
            if (Config.CommandFilter != null)
            {
                var start = 0;
                while (start < CommandText.Length && (CommandText[start] == ' ' || CommandText[start] == '\t'))
                    start++;
                string? replacement;
                DictError lookupError;
                lock (MatchList.Gate)
                {
                    replacement = Config.CommandFilter.Find(CommandText[start..]);
                    lookupError = Config.CommandFilter.Error;
                }
                if (replacement != null)
                {
                    Msg.Info($"{NamAddr}: replacing command \"{Trunc(CommandText, 100)}\" with \"{Trunc(replacement, 100)}\"");
                    CommandText = replacement;
                }
                else if (lookupError != DictError.None)
                {
                    var first = Config.CommandFilter.Dicts.Count > 0 ? Config.CommandFilter.Dicts[0] : null;
                    Msg.Warn($"{first?.Type}:{first?.Name} lookup error for \"{Trunc(Msg.Printable(CommandText), 100)}\"");
                    throw new SmtpdJump(SmtpdJump.DataError);
                }
            }
            var argv = SmtpdTokenizer.Split(CommandText);
            if (argv.Count == 0)
            {
                ErrorMask |= MailErrorProtocol;
                Reply("500 5.5.2 Error: bad syntax");
                ErrorCount++;
                continue;
            }
            if (!Config.NoopCommands.IsEmpty && Config.NoopCommands.MatchString(argv[0].Text))
            {
                Reply("250 2.0.0 Ok");
                if (JunkCmds++ > Config.JunkCommandLimit)
                    ErrorCount++;
                continue;
            }
            var index = Array.FindIndex(CommandNames, n => string.Equals(n, argv[0].Text, StringComparison.OrdinalIgnoreCase));
            var slot = index >= 0 ? index : CommandNames.Length;
            totalCount[slot]++;
            if (index < 0)
            {
                Where = CmdUnknown;
                if (IsHeader(argv[0].Text) || (!Config.ForbiddenCommands.IsEmpty && Config.ForbiddenCommands.MatchString(argv[0].Text)))
                {
                    Msg.Warn($"non-SMTP command from {NamAddr}: {Trunc(Escape(Buffer.Span), 100)}");
                    Reply("221 2.7.0 Error: I can break rules, too. Goodbye.");
                    break;
                }
            }
            var name = index >= 0 ? CommandNames[index] : null;
            if (AccessDenied != null && name != "QUIT")
            {
                if (AccessDenied.Length >= 3 && AccessDenied[1] == '2' && AccessDenied[2] == '1')
                {
                    Reply(AccessDenied);
                    continue;
                }
                Reply($"503 5.7.0 Error: access denied for {NamAddr}");
                ErrorCount++;
                continue;
            }
            if (name == null)
            {
                string? merr;
                if (Milters != null && (merr = Milters.UnknownEvent(argv[0].Text)) != null
                    && (merr = CheckMilterReply(merr)) != null)
                    Reply(merr);
                else
                    Reply("500 5.5.2 Error: command not recognized");
                ErrorMask |= MailErrorProtocol;
                ErrorCount++;
                continue;
            }
            var flags = CommandFlags(name);
            if (Proc.EnforceTls && Tls == null && (flags & CmdFlagPreTls) == 0)
            {
                Reply("530 5.7.0 Must issue a STARTTLS command first");
                ErrorCount++;
                continue;
            }
            Where = name;
            if (!StandAlone
                && (!string.Equals(Protocol, "ESMTP", StringComparison.OrdinalIgnoreCase) || (flags & CmdFlagLast) != 0)
                && (Flags & FlagIllPipelining) == 0
                && FlagIllPipelining_()
                && Config.ForbidUnauthPipelining)
            {
                Reply("554 5.5.0 Error: SMTP protocol synchronization");
                break;
            }
            if (Dispatch(name, argv) != 0)
                ErrorCount++;
            else
                successCount[slot]++;
            if ((flags & CmdFlagLimit) != 0 && JunkCmds++ > Config.JunkCommandLimit)
                ErrorCount++;
            if (name == "QUIT")
                break;
        }
    }

    private const int CmdFlagLimit = 1 << 0, CmdFlagPreTls = 1 << 1, CmdFlagLast = 1 << 2;

    private static int CommandFlags(string name) => name switch
    {
        "HELO" or "EHLO" => CmdFlagLimit | CmdFlagPreTls | CmdFlagLast,
        "XCLIENT" => CmdFlagPreTls,
        "STARTTLS" => CmdFlagPreTls,
        "DATA" => CmdFlagLast,
        "RSET" => CmdFlagLimit,
        "NOOP" => CmdFlagLimit | CmdFlagPreTls | CmdFlagLast,
        "VRFY" => CmdFlagLimit | CmdFlagLast,
        "ETRN" => CmdFlagLimit,
        "QUIT" => CmdFlagPreTls,
        _ => 0,
    };

    private int Dispatch(string name, List<SmtpdToken> argv) => name switch
    {
        "HELO" => HeloCmd(argv),
        "EHLO" => EhloCmd(argv),
        "XCLIENT" => XclientCmd(argv),
        "XFORWARD" => XforwardCmd(argv),
        "STARTTLS" => StartTlsCmd(argv),
        "AUTH" => AuthCmd(argv),
        "MAIL" => MailCmd(argv),
        "RCPT" => RcptCmd(argv),
        "DATA" => DataCmd(argv),
        "BDAT" => BdatCmd(argv),
        "RSET" => RsetCmd(argv),
        "NOOP" => NoopCmd(argv),
        "VRFY" => VrfyCmd(argv),
        "ETRN" => EtrnCmd(argv),
        "QUIT" => QuitCmd(argv),
        _ => -1,
    };

    // Query - smtpd_chat_query(): one command line into Buffer.
    private bool Query()
    {
        var last = Io.GetLine(Buffer, Config.LineLimit, skip: true);
        var text = DecodeLine(Buffer.Span);
        ChatAppend("In:  ", text);
        if (last != '\n')
            Msg.Warn($"{NamAddr}: request longer than {Config.LineLimit}: {Trunc(Msg.Printable(text), 30)}...");
        if (Msg.Verbose > 0)
            Msg.Info($"< {NamAddr}: {text}");
        return last == '\n';
    }

    public static string DecodeLine(ReadOnlySpan<byte> bytes)
    {
        try
        {
            return StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            return TextEncoding.Latin1.GetString(bytes);
        }
    }

    private static readonly UTF8Encoding StrictUtf8 = new(false, true);

    public static bool Utf8Valid(ReadOnlySpan<byte> bytes) => System.Text.Unicode.Utf8.IsValid(bytes);

    public static string Trunc(string s, int n) => s.Length <= n ? s : s[..n];

    // Escape - escape(): C-style escapes for non-printable bytes.
    public static string Escape(ReadOnlySpan<byte> bytes)
    {
        var sb = new StringBuilder();
        foreach (var b in bytes)
        {
            switch (b)
            {
                case (byte)'\a': sb.Append("\\a"); break;
                case (byte)'\b': sb.Append("\\b"); break;
                case (byte)'\f': sb.Append("\\f"); break;
                case (byte)'\n': sb.Append("\\n"); break;
                case (byte)'\r': sb.Append("\\r"); break;
                case (byte)'\t': sb.Append("\\t"); break;
                case (byte)'\v': sb.Append("\\v"); break;
                case (byte)'\\': sb.Append("\\\\"); break;
                default:
                    if (b >= 0x20 && b < 0x7f)
                        sb.Append((char)b);
                    else
                        sb.Append('\\').Append(Convert.ToString(b, 8).PadLeft(3, '0'));
                    break;
            }
        }
        return sb.ToString();
    }

    // IsHeader - is_header(): a header label, optional white space, ':'.
    public static bool IsHeader(string s)
    {
        var state = 0;
        foreach (var c in s)
        {
            if (c == ':')
                return state != 0;
            if (c == ' ' || c == '\t')
            {
                if (state == 0)
                    return false;
                state = 2;
                continue;
            }
            if (c == 0 || c > 126 || c < 32)
                return false;
            if (state == 2)
                return false;
            state = 1;
        }
        return false;
    }

    // FlagIllPipelining_ - smtpd_flag_ill_pipelining().
    private bool FlagIllPipelining_()
    {
        if (!Io.InputWaiting())
            return false;
        var data = Io.PeekData;
        var shown = data.Length < 100 ? data : data[..100];
        Msg.Info($"improper command pipelining after {Where} from {NamAddr}: {Escape(shown)}");
        Flags |= FlagIllPipelining;
        IllegalPipelining = true;
        return true;
    }

    // FormatCommandStats - smtpd_format_cmd_stats().
    private string FormatCommandStats()
    {
        var sb = new StringBuilder();
        int allSuccess = 0, allTotal = 0;
        for (var i = 0; i <= CommandNames.Length; i++)
        {
            if (totalCount[i] == 0)
                continue;
            var name = i < CommandNames.Length ? CommandNames[i].ToLowerInvariant() : "unknown";
            sb.Append(' ').Append(name).Append('=').Append(successCount[i]);
            if (successCount[i] != totalCount[i])
                sb.Append('/').Append(totalCount[i]);
            allSuccess += successCount[i];
            allTotal += totalCount[i];
        }
        sb.Append(" commands=").Append(allSuccess);
        if (allSuccess != allTotal || allTotal == 0)
            sb.Append('/').Append(allTotal);
        return sb.ToString();
    }

    // ChatReset - chat_reset(): postmaster notice about errors, then
    // forget the transcript.
    public void ChatReset(int threshold)
    {
        if (History != null && History.Count > threshold)
        {
            if (!StandAlone && (ErrorMask & NotifyMask) != 0)
                SmtpdNotify.Send(this);
            ErrorMask = 0;
            History = null;
        }
    }

    // CheckMilterReply - check_milter_reply().
    public string? CheckMilterReply(string reply)
    {
        string action;
        string? text;
        string? result = reply;
        switch (reply[0])
        {
            case 'H':
                SavedFlags |= CleanupFlagHold;
                action = "milter-hold";
                result = null;
                text = "milter triggers HOLD action";
                break;
            case 'D':
                SavedFlags |= CleanupFlagDiscard;
                action = "milter-discard";
                result = null;
                text = "milter triggers DISCARD action";
                break;
            case 'S':
                ErrorMask |= MailErrorPolicy;
                action = "milter-reject";
                result = "421 4.7.0 Server closing connection";
                text = null;
                break;
            case '4':
            case '5':
                ErrorMask |= MailErrorPolicy;
                action = "milter-reject";
                text = null;
                break;
            default:
                ErrorMask |= MailErrorSoftware;
                action = "reject";
                result = "421 4.3.5 Server configuration error";
                text = null;
                break;
        }
        Msg.Info($"{QueueIdOrNoqueue}: {action}: {Where} from {NamAddr}: {result ?? text};{Whatsup()}");
        return result;
    }
}
