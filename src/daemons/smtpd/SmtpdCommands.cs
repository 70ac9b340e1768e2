// NAME
//	SmtpdCommands - HELO EHLO MAIL RCPT DATA RSET NOOP VRFY ETRN QUIT
// POSTFIX
//	src/smtpd/smtpd.c (helo_cmd, ehlo_cmd, mail_open_stream,
//	extract_addr, mail_cmd, mail_reset, rcpt_cmd, rcpt_reset, data_cmd,
//	common_pre_message_handling, receive_data_message,
//	common_post_message_handling, rset_cmd, noop_cmd, vrfy_cmd,
//	etrn_cmd, quit_cmd)
// DESCRIPTION
//	The core SMTP commands with the reference's replies, their error
//	accounting, the calls into the restriction engine and the milters,
//	and the record stream to cleanup (envelope, our Received: header,
//	content, extracted records).
using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using Postfix.Global.Address;
using Postfix.Global.Attr;
using Postfix.Global.Post;
using Postfix.Global.Queue;
using Postfix.Util;

namespace Postfix.Daemons.Smtpd;

internal sealed partial class SmtpdSession
{
    private const string NeuterCharacters = " <>()\\\";@";

    // Cleanup flags for mail from outside (CLEANUP_FLAG_MASK_EXTERNAL).
    private const int CleanupFlagMaskExternal = CleanupFlagFilter | CleanupFlagMilter | CleanupFlagBccOk | CleanupFlagMapOk;

    // DSN bits (dsn_mask.h).
    private const int DsnNotifyNever = 1 << 0, DsnNotifySuccess = 1 << 1, DsnNotifyFailure = 1 << 2, DsnNotifyDelay = 1 << 3;
    private const int DsnRetFull = 1, DsnRetHdrs = 2;

    private static string Neuter(string s)
    {
        var p = Msg.Printable(s);
        var chars = p.ToCharArray();
        for (var i = 0; i < chars.Length; i++)
        {
            if (NeuterCharacters.Contains(chars[i]))
                chars[i] = '?';
        }
        return new string(chars);
    }

    private static void CollapseArgs(List<SmtpdToken> argv, int from)
    {
        if (argv.Count <= from + 1)
            return;
        var sb = new StringBuilder(argv[from].Text);
        for (var i = from + 1; i < argv.Count; i++)
            sb.Append(' ').Append(argv[i].Text);
        var error = argv[from].Error;
        argv.RemoveRange(from, argv.Count - from);
        argv.Add(new SmtpdToken(sb.ToString(), error));
    }

    // ---------------------------------------------------------------
    // HELO / EHLO
    // ---------------------------------------------------------------

    // Refuse - a command's error reply: the error class for the
    // notify_classes report, the reply, and -1.
    private int Refuse(int errorClass, string reply)
    {
        ErrorMask |= errorClass;
        Reply(reply);
        return -1;
    }

    // HeloStart - what HELO and EHLO share: the argument, the HELO
    // restrictions (unless delayed), the milters' HELO event and the
    // session reset. -1 after an error reply; milterReply: the milters'
    // reply other than a 421 one.
    private int HeloStart(List<SmtpdToken> argv, bool esmtp, out string? milterReply)
    {
        milterReply = null;
        if (argv.Count < 2)
            return Refuse(MailErrorProtocol, esmtp ? "501 Syntax: EHLO hostname" : "501 Syntax: HELO hostname");
        CollapseArgs(argv, 1);
        string? err;
        if (!StandAlone && !Config.DelayReject && (err = Checker.CheckHelo(this, argv[1].Text)) != null)
        {
            Reply(err);
            return -1;
        }
        if (Milters != null && (SavedFlags & CleanupFlagDiscard) == 0
            && (err = Milters.HeloEvent(argv[1].Text, esmtp)) != null)
        {
            var saved = HeloName;
            HeloName = argv[1].Text;
            err = CheckMilterReply(err);
            HeloName = saved;
            if (err != null && err.StartsWith("421", StringComparison.Ordinal))
            {
                Reply(err);
                return -1;
            }
            milterReply = err;
        }
        if (HeloName != null)
            HeloReset();
        ChatReset(Config.HistoryThreshold);
        MailReset();
        RcptReset();
        HeloName = Neuter(argv[1].Text);
        return 0;
    }

    private int HeloCmd(List<SmtpdToken> argv)
    {
        if (HeloStart(argv, false, out _) < 0)
            return -1;
        if (!string.Equals(Protocol, "ESMTP", StringComparison.OrdinalIgnoreCase)
            && !string.Equals(Protocol, "SMTP", StringComparison.OrdinalIgnoreCase))
            Protocol = "SMTP";
        Reply("250 " + Config.MyHostname);
        return 0;
    }

    private int EhloCmd(List<SmtpdToken> argv)
    {
        if (HeloStart(argv, true, out var err) < 0)
            return -1;
        if (!string.Equals(Protocol, "ESMTP", StringComparison.OrdinalIgnoreCase))
            Protocol = "ESMTP";

        var discard = EhloDiscardMask;
        if (err != null && err[0] == '5')
            discard |= ~EhloMask.EnhancedStatusCodes;
        if ((discard & EhloMask.EnhancedStatusCodes) == 0 && discard != 0 && (discard & EhloMask.Silent) == 0)
            Msg.Info($"discarding EHLO keywords: {EhloMask.Format(discard)}");
        if (Config.EhloDiscardMaps != null && Config.EhloDiscardMaps.Error != Postfix.Global.Dict.DictError.None)
        {
            Msg.Warn($"don't know what EHLO features to announce to {NamAddr}");
            throw new SmtpdJump(SmtpdJump.DataError);
        }
        var lines = new List<string> { Config.MyHostname };
        if ((discard & EhloMask.Pipelining) == 0)
            lines.Add("PIPELINING");
        if ((discard & EhloMask.Size) == 0)
            lines.Add(Config.MessageSizeLimit > 0 ? "SIZE " + Config.MessageSizeLimit.ToString(CultureInfo.InvariantCulture) : "SIZE");
        if ((discard & EhloMask.Vrfy) == 0 && !Config.DisableVrfy)
            lines.Add("VRFY");
        if ((discard & EhloMask.Etrn) == 0)
            lines.Add("ETRN");
        if ((discard & EhloMask.StartTls) == 0 && Proc.UseTls && Tls == null)
            lines.Add("STARTTLS");
        if ((discard & EhloMask.Auth) == 0)
        {
            if (SaslIsActive && !SaslClientException())
            {
                lines.Add("AUTH " + SaslMechanismList);
                if (Proc.BrokenAuthClients)
                    lines.Add("AUTH=" + SaslMechanismList);
            }
            else if (Proc.SaslExceptions != null && Proc.SaslExceptions.Error)
            {
                CantAnnounceFeature("AUTH");
            }
        }
        if ((discard & EhloMask.Verp) == 0)
        {
            if (Config.VerpClients.MatchHost(Name, Addr))
                lines.Add("XVERP");
            else if (Config.VerpClients.Error)
                CantAnnounceFeature("XVERP");
        }
        if ((discard & EhloMask.Xclient) == 0)
        {
            if (XclientAllowed)
                lines.Add("XCLIENT NAME ADDR PROTO HELO REVERSE_NAME PORT LOGIN DESTADDR DESTPORT");
            else if (Config.XclientHosts.Error)
                CantAnnounceFeature("XCLIENT");
        }
        if ((discard & EhloMask.Xforward) == 0)
        {
            if (XforwardAllowed)
                lines.Add("XFORWARD NAME ADDR PROTO HELO SOURCE PORT IDENT");
            else if (Config.XforwardHosts.Error)
                CantAnnounceFeature("XFORWARD");
        }
        if ((discard & EhloMask.EnhancedStatusCodes) == 0)
            lines.Add("ENHANCEDSTATUSCODES");
        if ((discard & EhloMask.EightBitMime) == 0)
            lines.Add("8BITMIME");
        if ((discard & EhloMask.Dsn) == 0)
            lines.Add("DSN");
        if (Config.Smtputf8Enable && (discard & EhloMask.Smtputf8) == 0)
            lines.Add("SMTPUTF8");
        if ((discard & EhloMask.Chunking) == 0)
            lines.Add("CHUNKING");
        for (var i = 0; i < lines.Count; i++)
            Reply((i < lines.Count - 1 ? "250-" : "250 ") + lines[i]);
        return 0;
    }

    private void CantAnnounceFeature(string feature)
    {
        Msg.Warn($"don't know if EHLO feature {feature} should be announced to {NamAddr}");
        throw new SmtpdJump(SmtpdJump.DataError);
    }

    // HeloReset - helo_reset().
    public void HeloReset()
    {
        if (HeloName != null)
        {
            HeloName = null;
            Milters?.Abort();
        }
    }

    // ---------------------------------------------------------------
    // MAIL FROM
    // ---------------------------------------------------------------

    // OpenMailStream - mail_open_stream().
    private int OpenMailStream()
    {
        if (ProxyMail != null)
        {
            if (ProxyCreate() != 0)
            {
                Reply(Proxy!.Reply);
                ProxyFree();
                return -1;
            }
        }
        else if (!StandAlone)
        {
            var cleanupFlags = InputTranspCleanup(CleanupFlagMaskExternal,
                Config.InputTransp | (Milters == null ? SmtpdConfig.TranspMilter : 0)) | CleanupFlagSmtpReply;
            if ((Flags & FlagSmtpUtf8) != 0)
                cleanupFlags |= CleanupFlagSmtpUtf8;
            else
                cleanupFlags |= Proc.AutodetectSmtpd ? CleanupFlagAutoUtf8 : 0;
            Dest = MailDest.Service(MailProto.ClassPublic, Config.CleanupService);
            if (Dest == null || !Dest.SendFlags(cleanupFlags))
                Msg.Fatal($"unable to connect to the {MailProto.ClassPublic} {Config.CleanupService} service");
        }
        else
        {
            var command = Config.Conf.Eval("command_directory") + "/postdrop" + (Msg.Verbose > 0 ? " -v" : "");
            Dest = MailDest.Command(command);
            if (Dest == null)
                Msg.Fatal($"unable to execute {command}");
        }
        if (Dest != null)
        {
            QueueId = Dest.QueueId;
            var d = Dest;
            if (!StandAlone)
            {
                if (Milters != null && (SavedFlags & CleanupFlagDiscard) == 0)
                    Postfix.Milter.Milters.SendDummy(d.Buffered);
                d.Put(RecordType.Time, RecordWriter.FormatTime(ArrivalTime.ToUnixTimeSeconds(), ArrivalMicros));
                if (Config.FilterTransport.Length > 0)
                    d.Put(RecordType.Filt, Config.FilterTransport);
                if (ForwardIdent != null)
                    PutAttr(MailProto.AttrLogIdent, ForwardIdent);
                PutAttr(MailProto.AttrRwrContext, ForwardDomain);
                if (SaslMethod != null)
                    PutAttr(MailProto.AttrSaslMethod, SaslMethod);
                if (SaslUsername != null)
                    PutAttr(MailProto.AttrSaslUsername, SaslUsername);
                if (SaslSender != null)
                    PutAttr(MailProto.AttrSaslSender, SaslSender);
                if (DsnEnvid != null)
                    PutAttr(MailProto.AttrDsnEnvid, DsnEnvid);
                if (DsnRet != 0)
                    PutAttr(MailProto.AttrDsnRet, DsnRet.ToString(CultureInfo.InvariantCulture));
            }
            d.Put(RecordType.From, Sender!);
            if (Encoding != null)
                PutAttr(MailProto.AttrEncoding, Encoding);
            if (!StandAlone)
            {
                PutAttr(MailProto.AttrLogClientName, ForwardName);
                PutAttr(MailProto.AttrLogClientAddr, ForwardAddr);
                PutAttr(MailProto.AttrLogClientPort, ForwardPort);
                PutAttr("log_message_origin", ForwardNamAddr);
                if (ForwardHelo != null)
                    PutAttr(MailProto.AttrLogHeloName, ForwardHelo);
                PutAttr(MailProto.AttrLogProtoName, ForwardProto);
                PutAttr("client_name", Name);
                PutAttr("reverse_client_name", ReverseName);
                PutAttr("client_address", Addr);
                PutAttr("client_port", Port);
                PutAttr("server_address", DestAddr);
                PutAttr("server_port", DestPort);
                if (HeloName != null)
                    PutAttr("helo_name", HeloName);
                PutAttr("protocol_name", Protocol);
                PutAttr("client_address_type", AddrFamily.ToString(CultureInfo.InvariantCulture));
            }
            if (VerpDelims != null)
                d.Put(RecordType.Verp, VerpDelims);
        }
        var sb = new StringBuilder();
        sb.Append(QueueIdOrNoqueue).Append(": client=").Append(NamAddr);
        if (SaslMethod != null)
            sb.Append(", sasl_method=").Append(SaslMethod);
        if (SaslUsername != null)
            sb.Append(", sasl_username=").Append(SaslUsername);
        if (SaslSender != null)
            sb.Append(", sasl_sender=").Append(SaslSender);
        if (HaveForwardedIdent)
            sb.Append(", orig_queue_id=").Append(ForwardIdent);
        if (HaveForwardedClientAttr)
            sb.Append(", orig_client=").Append(ForwardNamAddr);
        Msg.Info(sb.ToString());
        return 0;
    }

    private void PutAttr(string name, string value) => Dest!.Put(RecordType.Attr, name + "=" + value);

    public long ArrivalMicros;

    private static int InputTranspCleanup(int flags, int mask)
    {
        if ((mask & SmtpdConfig.TranspAddressMapping) != 0)
            flags &= ~(CleanupFlagBccOk | CleanupFlagMapOk);
        if ((mask & SmtpdConfig.TranspHeaderBody) != 0)
            flags &= ~CleanupFlagFilter;
        if ((mask & SmtpdConfig.TranspMilter) != 0)
            flags &= ~CleanupFlagMilter;
        return flags;
    }

    // ExtractAddr - extract_addr(): the internal form into AddrBuf; 0 ok.
    private int ExtractAddr(SmtpdToken arg, bool allowEmpty, bool strictRfc821, bool smtputf8)
    {
        var raw = arg.Text;
        var text = raw.Length >= 2 && raw[0] == '<' && raw[^1] == '>' ? raw[1..^1] : raw;
        if (text.StartsWith('@'))
        {
            var colon = text.IndexOf(':');
            if (colon >= 0)
                text = text[(colon + 1)..];
        }
        var tree = Tok822.Parse(text);
        Tok822? addr = null;
        int naddr = 0, nonAddr = 0;
        for (var tp = tree; tp != null; tp = tp.Next)
        {
            if (tp.Type == Tok822.Addr)
            {
                addr = tp;
                naddr++;
            }
            else if (tp.Type == '<' || tp.Type == '>')
            {
            }
            else
            {
                nonAddr++;
            }
        }
        var err = 0;
        if (naddr > 1 || (strictRfc821 && (nonAddr > 0 || raw.Length == 0 || raw[0] != '<')))
        {
            Msg.Warn($"Illegal address syntax from {NamAddr} in {Where} command: {Msg.Printable(raw)}");
            err = 1;
        }
        AddrBuf = addr != null ? Tok822.Internalize(addr.Head) : "";
        if (err == 0)
        {
            if ((AddrBuf.Length == 0 && !allowEmpty)
                || (strictRfc821 && AddrBuf.StartsWith('@'))
                || (!StandAlone && Checker.CheckAddr(Where == "MAIL" ? Recipient : Sender, AddrBuf, smtputf8) != 0))
            {
                Msg.Warn($"Illegal address syntax from {NamAddr} in {Where} command: {Msg.Printable(raw)}");
                err = 1;
            }
        }
        return err;
    }

    private static bool AllDigits(string s)
    {
        if (s.Length == 0)
            return false;
        foreach (var c in s)
        {
            if (c < '0' || c > '9')
                return false;
        }
        return true;
    }

    private static bool AllAscii(string s)
    {
        foreach (var c in s)
        {
            if (c > 127)
                return false;
        }
        return true;
    }

    private static bool AllPrint(string s)
    {
        foreach (var c in s)
        {
            if (c < 32 || c == 127)
                return false;
        }
        return true;
    }

    // XtextUnquote - xtext_unquote(): null on bad syntax.
    public static string? XtextUnquote(string quoted) => XtextDecode(quoted, false);

    // UxtextUnquote - uxtext_unquote(): xtext plus \x{HEX} escapes.
    public static string? UxtextUnquote(string quoted) => XtextDecode(quoted, true);

    private static int HexVal(char c) =>
        c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;

    private static string? XtextDecode(string quoted, bool unicodeEscapes)
    {
        var sb = new StringBuilder();
        for (var i = 0; i < quoted.Length; i++)
        {
            var c = quoted[i];
            if (unicodeEscapes && c == '\\' && i + 2 < quoted.Length && quoted[i + 1] == 'x' && quoted[i + 2] == '{')
            {
                var close = quoted.IndexOf('}', i + 3);
                if (close < 0)
                    return null;
                var hex = quoted[(i + 3)..close];
                if (hex.Length == 0 || hex.Length > 6 || !int.TryParse(hex, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var cp)
                    || cp > 0x10FFFF || cp < 0x80 && cp != 0 && false)
                    return null;
                sb.Append(char.ConvertFromUtf32(cp));
                i = close;
                continue;
            }
            if (c == '+')
            {
                if (i + 2 >= quoted.Length)
                    return null;
                var hi = HexVal(quoted[i + 1]);
                var lo = HexVal(quoted[i + 2]);
                if (hi < 0 || lo < 0)
                    return null;
                c = (char)((hi << 4) | lo);
                i += 2;
            }
            sb.Append(c);
        }
        return sb.ToString();
    }

    // DsnNotifyMask - dsn_notify_mask(): 0 on bad syntax.
    private static int DsnNotifyMask(string str)
    {
        var mask = 0;
        foreach (var name in str.Split([',', ' ', '\t', '\r', '\n'], StringSplitOptions.RemoveEmptyEntries))
        {
            var bit = name.ToUpperInvariant() switch
            {
                "NEVER" => DsnNotifyNever,
                "SUCCESS" => DsnNotifySuccess,
                "FAILURE" => DsnNotifyFailure,
                "DELAY" => DsnNotifyDelay,
                _ => 0,
            };
            if (bit == 0)
            {
                Msg.Warn($"unknown DSN NOTIFY command value \"{name}\" in \"{str}\"");
                return 0;
            }
            mask |= bit;
        }
        const int any = DsnNotifySuccess | DsnNotifyFailure | DsnNotifyDelay;
        return mask == DsnNotifyNever || mask == (mask & any) ? mask : 0;
    }

    private static int DsnRetCode(string str) => str.ToUpperInvariant() switch
    {
        "FULL" => DsnRetFull,
        "HDRS" => DsnRetHdrs,
        _ => 0,
    };

    private int MailCmd(List<SmtpdToken> argv)
    {
        string? err;
        string? verpDelims = null;
        string? dsnEnvid = null;
        Flags &= ~FlagSmtpUtf8;
        Encoding = null;
        DsnRet = 0;
        if (Config.HeloRequired && HeloName == null)
            return Refuse(MailErrorPolicy, "503 5.5.1 Error: send HELO/EHLO first");
        if (InMailTransaction)
            return Refuse(MailErrorProtocol, "503 5.5.1 Error: nested MAIL command");
        if (ProcessingBdat)
            return Refuse(MailErrorProtocol, "503 5.5.1 Error: MAIL after BDAT");
        if (argv.Count < 3 || !string.Equals(argv[1].Text, "from:", StringComparison.OrdinalIgnoreCase))
            return Refuse(MailErrorProtocol, "501 5.5.4 Syntax: MAIL FROM:<address>");
        if (UseAnvil && Config.MessageRateLimit > 0 && !HoggerMatch()
            && Proc.Anvil!.Mail(Service, Addr, out var rate) && rate > Config.MessageRateLimit)
        {
            ErrorMask |= MailErrorPolicy;
            Reply($"450 4.7.1 Error: too much mail from {Addr}");
            Msg.Warn($"Message delivery request rate limit exceeded: {rate} from {NamAddr} for service {Service}");
            return -1;
        }
        if (argv[2].Error)
            return Refuse(MailErrorProtocol, "501 5.1.7 Bad sender address syntax");
        if (Config.Smtputf8Enable && (EhloDiscardMask & EhloMask.Smtputf8) == 0)
        {
            for (var n = 3; n < argv.Count; n++)
            {
                if (string.Equals(argv[n].Text, "SMTPUTF8", StringComparison.OrdinalIgnoreCase))
                {
                    Flags |= FlagSmtpUtf8;
                    break;
                }
            }
        }
        if (ExtractAddr(argv[2], true, Config.StrictRfc821, (Flags & FlagSmtpUtf8) != 0) != 0)
            return Refuse(MailErrorProtocol, "501 5.1.7 Bad sender address syntax");
        for (var n = 3; n < argv.Count; n++)
        {
            var arg = argv[n].Text;
            if (string.Equals(arg, "BODY=8BITMIME", StringComparison.OrdinalIgnoreCase))
            {
                Encoding = "8BITMIME";
            }
            else if (string.Equals(arg, "BODY=7BIT", StringComparison.OrdinalIgnoreCase))
            {
                Encoding = "7BIT";
            }
            else if (arg.StartsWith("SIZE=", StringComparison.OrdinalIgnoreCase))
            {
                if (!AllDigits(arg[5..]))
                    return Refuse(MailErrorProtocol, "501 5.5.4 Bad message size syntax");
                if (!long.TryParse(arg[5..], NumberStyles.None, CultureInfo.InvariantCulture, out var size))
                    return Refuse(MailErrorPolicy, "552 5.3.4 Message size exceeds file system imposed limit");
                MsgSize = size;
            }
            else if (Config.Smtputf8Enable && (EhloDiscardMask & EhloMask.Smtputf8) == 0
                     && string.Equals(arg, "SMTPUTF8", StringComparison.OrdinalIgnoreCase))
            {
                // Already processed.
            }
            else if (arg.StartsWith("AUTH=", StringComparison.OrdinalIgnoreCase) && Proc.SaslCompiled)
            {
                if ((err = SaslMailOpt(arg[5..])) != null)
                {
                    Reply(err);
                    return -1;
                }
            }
            else if (Config.VerpClients.MatchHost(Name, Addr) && arg.StartsWith("XVERP", StringComparison.OrdinalIgnoreCase)
                     && (arg.Length == 5 || arg[5] == '='))
            {
                if (arg.Length == 5)
                {
                    verpDelims = Config.VerpDelims;
                }
                else
                {
                    verpDelims = arg[6..];
                    if (!VerpDelimsValid(verpDelims))
                        return Refuse(MailErrorProtocol, $"501 5.5.4 Error: XVERP needs two characters from {Config.VerpFilter}");
                }
            }
            else if (arg.StartsWith("RET=", StringComparison.OrdinalIgnoreCase))
            {
                if ((EhloDiscardMask & EhloMask.Dsn) != 0)
                    return Refuse(MailErrorProtocol, "501 5.7.1 DSN support is disabled");
                if (DsnRet != 0 || (DsnRet = DsnRetCode(arg[4..])) == 0)
                    return Refuse(MailErrorProtocol, "501 5.5.4 Bad RET parameter syntax");
            }
            else if (arg.StartsWith("ENVID=", StringComparison.OrdinalIgnoreCase))
            {
                if ((EhloDiscardMask & EhloMask.Dsn) != 0)
                    return Refuse(MailErrorProtocol, "501 5.7.1 DSN support is disabled");
                string? unq;
                if (dsnEnvid != null || (unq = XtextUnquote(arg[6..])) == null || !AllPrint(unq))
                    return Refuse(MailErrorProtocol, "501 5.5.4 Bad ENVID parameter syntax");
                dsnEnvid = unq;
            }
            else
                return Refuse(MailErrorProtocol, $"555 5.5.4 Unsupported option: {arg}");
        }
        var savedSender = Sender;
        Sender = AddrBuf;
        err = Checker.CheckSize(this, MsgSize);
        Sender = savedSender;
        if (err != null)
        {
            Reply(err);
            return -1;
        }
        if (verpDelims != null && AddrBuf.Length == 0)
        {
            Reply("503 5.5.4 Error: XVERP requires non-null sender");
            return -1;
        }
        if (!StandAlone)
        {
            var verifySender = Proc.ValidVerifySender(AddrBuf);
            if (verifySender != null)
                AddrBuf = verifySender;
        }
        if (!StandAlone && !Config.DelayReject && (err = Checker.CheckMail(this, AddrBuf)) != null)
        {
            MailReset();
            Reply(err);
            return -1;
        }
        if (Milters != null && (SavedFlags & CleanupFlagDiscard) == 0)
        {
            Flags |= FlagNeedMilterAbort;
            savedSender = Sender;
            Sender = AddrBuf;
            err = Milters.MailEvent(MilterArgv(argv, 2));
            if (err != null)
                err = CheckMilterReply(err);
            Sender = savedSender;
            if (err != null)
            {
                MailReset();
                Reply(err);
                return -1;
            }
        }
        if (!StandAlone)
        {
            err = Checker.CheckRewrite(this);
            if (err != null)
            {
                MailReset();
                Reply(err);
                return -1;
            }
        }
        if (Config.StrictSmtputf8 && (Flags & FlagSmtpUtf8) == 0 && AddrBuf.Length > 0 && !AllAscii(AddrBuf))
        {
            Reply("553 5.6.7 Must declare SMTPUTF8 to send unicode address");
            return -1;
        }
        if (ProxyFilter == null || Proc.ProxySpeedAdjust)
        {
            if (!StandAlone && (err = Checker.CheckQueue(this)) != null)
            {
                MailReset();
                Reply(err);
                return -1;
            }
        }
        var now = DateTimeOffset.UtcNow;
        ArrivalTime = now;
        ArrivalMicros = now.Ticks % TimeSpan.TicksPerSecond / 10;
        Sender = AddrBuf;
        Instance = string.Format(CultureInfo.InvariantCulture, "{0:x}.{1:x}.{2:x}.{3:x}", Environment.ProcessId,
            now.ToUnixTimeSeconds(), ArrivalMicros, Seqno++);
        if (verpDelims != null)
            VerpDelims = verpDelims;
        if (dsnEnvid != null)
            DsnEnvid = dsnEnvid;
        if (ProxyFilter != null)
            ProxyMail = CommandText;
        if (!Config.DelayOpen && OpenMailStream() < 0)
        {
            MailReset();
            return -1;
        }
        Reply("250 2.1.0 Ok");
        return 0;
    }

    private bool VerpDelimsValid(string delims)
    {
        if (delims.Length != 2)
            return false;
        foreach (var c in delims)
        {
            if (!Config.VerpFilter.Contains(c))
                return false;
        }
        return true;
    }

    private static List<string> MilterArgv(List<SmtpdToken> argv, int from)
    {
        var list = new List<string>();
        for (var i = from; i < argv.Count; i++)
            list.Add(argv[i].Text);
        return list;
    }

    // MailReset - mail_reset().
    public void MailReset()
    {
        MsgSize = 0;
        ActSize = 0;
        Flags &= MaskMailKeep | FlagNeedMilterAbort;
        Flags &= ~FlagSmtpUtf8;
        if (Dest != null)
        {
            Dest.Abort();
            Dest = null;
        }
        Err = 0;
        QueueId = null;
        Sender = null;
        if ((Flags & FlagNeedMilterAbort) != 0)
        {
            Milters?.Abort();
            Flags &= ~FlagNeedMilterAbort;
        }
        VerpDelims = null;
        ProxyMail = null;
        SavedFilter = null;
        SavedRedirect = null;
        SavedBcc.Clear();
        SavedFlags = 0;
        if (SaslSender != null)
            SaslSender = null;
        Discard = false;
        Instance = "";
        ProxyFree();
        if (Xforward.Flags != 0)
            Xforward.Reset();
        Prepend.Clear();
        DsnEnvid = null;
        BdatState = 0;
        BdatReset();
    }

    // ---------------------------------------------------------------
    // RCPT TO
    // ---------------------------------------------------------------

    private int RcptCmd(List<SmtpdToken> argv)
    {
        string? err;
        string? dsnOrcptAddr = null;
        string? dsnOrcptType = null;
        var dsnNotify = 0;
        if (!InMailTransaction)
            return Refuse(MailErrorProtocol, "503 5.5.1 Error: need MAIL command");
        if (ProcessingBdat)
            return Refuse(MailErrorProtocol, "503 5.5.1 Error: RCPT after BDAT");
        if (argv.Count < 3 || !string.Equals(argv[1].Text, "to:", StringComparison.OrdinalIgnoreCase))
            return Refuse(MailErrorProtocol, "501 5.5.4 Syntax: RCPT TO:<address>");
        if (UseAnvil && Config.RecipientRateLimit > 0 && !HoggerMatch()
            && Proc.Anvil!.Rcpt(Service, Addr, out var rate) && rate > Config.RecipientRateLimit)
        {
            ErrorMask |= MailErrorPolicy;
            Msg.Warn($"Recipient address rate limit exceeded: {rate} from {NamAddr} for service {Service}");
            Reply($"450 4.7.1 Error: too many recipients from {Addr}");
            return -1;
        }
        if (argv[2].Error)
            return Refuse(MailErrorProtocol, "501 5.1.3 Bad recipient address syntax");
        if (ExtractAddr(argv[2], false, Config.StrictRfc821, (Flags & FlagSmtpUtf8) != 0) != 0)
            return Refuse(MailErrorProtocol, "501 5.1.3 Bad recipient address syntax");
        for (var n = 3; n < argv.Count; n++)
        {
            var arg = argv[n].Text;
            if (arg.StartsWith("NOTIFY=", StringComparison.OrdinalIgnoreCase))
            {
                if ((EhloDiscardMask & EhloMask.Dsn) != 0)
                    return Refuse(MailErrorProtocol, "501 5.7.1 DSN support is disabled");
                if (dsnNotify != 0 || (dsnNotify = DsnNotifyMask(arg[7..])) == 0)
                    return Refuse(MailErrorProtocol, "501 5.5.4 Error: Bad NOTIFY parameter syntax");
            }
            else if (arg.StartsWith("ORCPT=", StringComparison.OrdinalIgnoreCase))
            {
                if ((EhloDiscardMask & EhloMask.Dsn) != 0)
                    return Refuse(MailErrorProtocol, "501 5.7.1 DSN support is disabled");
                var value = arg[6..];
                var semi = value.IndexOf(';');
                string? decoded = null;
                if (dsnOrcptAddr != null || semi < 0 || semi == 0
                    || (decoded = string.Equals(value[..semi], "utf-8", StringComparison.OrdinalIgnoreCase)
                        ? UxtextUnquote(value[(semi + 1)..]) : XtextUnquote(value[(semi + 1)..])) == null)
                    return Refuse(MailErrorProtocol, "501 5.5.4 Error: Bad ORCPT parameter syntax");
                dsnOrcptType = value[..semi];
                dsnOrcptAddr = decoded;
            }
            else
                return Refuse(MailErrorProtocol, $"555 5.5.4 Unsupported option: {arg}");
        }
        if (Config.RecipientLimit > 0 && RcptCount >= Config.RecipientLimit)
        {
            Reply("452 4.5.3 Error: too many recipients");
            if (RcptOvershoot++ < Config.RecipientOvershoot)
                return 0;
            ErrorMask |= MailErrorPolicy;
            return -1;
        }
        if (Config.StrictSmtputf8 && (Flags & FlagSmtpUtf8) == 0 && AddrBuf.Length > 0 && !AllAscii(AddrBuf))
        {
            Reply("553 5.6.7 Must declare SMTPUTF8 to send unicode address");
            return -1;
        }
        if (!StandAlone)
        {
            var verifySender = Proc.ValidVerifySender(AddrBuf);
            if (verifySender != null)
            {
                AddrBuf = verifySender;
                err = null;
            }
            else
            {
                err = Checker.CheckRcpt(this, AddrBuf);
            }
            if (Milters != null && (SavedFlags & CleanupFlagDiscard) == 0)
            {
                var savedRcpt = Recipient;
                Recipient = AddrBuf;
                MilterRejectText = err;
                var milterErr = Milters.RcptEvent(MilterArgv(argv, 2), err != null);
                if (err == null && milterErr != null)
                    err = CheckMilterReply(milterErr);
                Recipient = savedRcpt;
            }
            if (err != null)
            {
                Reply(err);
                return -1;
            }
        }
        if (Proxy == null && Dest == null && OpenMailStream() < 0)
            return -1;
        if (Proxy != null && ProxyCommand(ProxyWantOk, CommandText) != 0)
        {
            Reply(Proxy.Reply);
            return -1;
        }
        RcptCount++;
        Recipient ??= AddrBuf;
        if (Dest != null)
        {
            if (dsnOrcptAddr == null)
            {
                dsnOrcptType = "rfc822";
                var a = argv[2].Text;
                dsnOrcptAddr = a.Length >= 2 && a[0] == '<' && a[^1] == '>' ? a[1..^1] : a;
            }
            if (dsnNotify != 0)
                PutAttr(MailProto.AttrDsnNotify, dsnNotify.ToString(CultureInfo.InvariantCulture));
            PutAttr(MailProto.AttrDsnOrcpt, dsnOrcptType + ";" + dsnOrcptAddr);
            Dest.Put(RecordType.Rcpt, AddrBuf);
            Dest.Flush();
        }
        Reply("250 2.1.5 Ok");
        return 0;
    }

    // RcptReset - rcpt_reset().
    public void RcptReset()
    {
        Recipient = null;
        RcptCount = 0;
        RcptOvershoot = 0;
    }

    // ---------------------------------------------------------------
    // DATA
    // ---------------------------------------------------------------

    private int DataCmd(List<SmtpdToken> argv)
    {
        string? err;
        if (ProcessingBdat)
            return Refuse(MailErrorProtocol, "503 5.5.1 Error: DATA after BDAT");
        if (RcptCount == 0)
        {
            if (!InMailTransaction)
            {
                ErrorMask |= MailErrorProtocol;
                Reply("503 5.5.1 Error: need RCPT command");
            }
            else
            {
                Reply("554 5.5.1 Error: no valid recipients");
            }
            return -1;
        }
        if (argv.Count != 1)
            return Refuse(MailErrorProtocol, "501 5.5.4 Syntax: DATA");
        if (!StandAlone && (err = Checker.CheckData(this)) != null)
        {
            Reply(err);
            return -1;
        }
        if (Milters != null && (SavedFlags & CleanupFlagDiscard) == 0
            && (err = Milters.DataEvent()) != null && (err = CheckMilterReply(err)) != null)
        {
            Reply(err);
            return -1;
        }
        if (Proxy != null && ProxyCommand(ProxyWantMore, CommandText) != 0)
        {
            Reply(Proxy.Reply);
            return -1;
        }
        var output = OpenOutput();
        PreMessageHandling(output);
        Reply("354 End data with <CR><LF>.<CR><LF>");
        Where = AfterData;
        ReceiveDataMessage(output);
        return PostMessageHandling();
    }

    // MessageOutput - where content records go: cleanup or the proxy.
    internal interface IMessageOutput
    {
        // Record - one content record; false on error.
        bool Record(int type, ReadOnlySpan<byte> data);

        int ErrorCode { get; }
    }

    private sealed class CleanupOutput(MailDest dest) : IMessageOutput
    {
        public bool Record(int type, ReadOnlySpan<byte> data)
        {
            dest.Put(type, data);
            return !dest.Failed;
        }

        public int ErrorCode => CleanupStatWrite;
    }

    private IMessageOutput OpenOutput() =>
        Proxy != null ? new ProxyOutput(this) : new CleanupOutput(Dest!);

    private static void OutText(IMessageOutput o, int type, string text) => o.Record(type, System.Text.Encoding.UTF8.GetBytes(text));

    // PreMessageHandling - common_pre_message_handling().
    private void PreMessageHandling(IMessageOutput o)
    {
        var withProtocol = (Flags & FlagSmtpUtf8) != 0 ? "UTF8SMTP" : Protocol;
        if (Dest != null && Proxy == null)
        {
            if (!StandAlone)
            {
                if (Milters != null && (SavedFlags & CleanupFlagDiscard) == 0)
                    Milters.Send(Dest.Buffered);
                if (SavedFlags != 0)
                    Dest.Put(RecordType.Flgs, SavedFlags.ToString(CultureInfo.InvariantCulture));
            }
            Dest.Put(RecordType.Mesg, "");
        }
        foreach (var header in Prepend)
            OutText(o, RecordType.Norm, header);
        if (Proxy == null || Xforward.Flags == 0)
        {
            OutText(o, RecordType.Norm, $"Received: from {HeloName ?? Name} ({Name} [{RfcAddr}])");
            var rfc3848Sess = "";
            if (Config.TlsReceivedHeader && Tls != null)
            {
                foreach (var line in TlsReceivedLines())
                    OutText(o, RecordType.Norm, line);
            }
            if (Tls != null && Protocol == "ESMTP")
                rfc3848Sess = "S";
            if (Config.SaslAuthHeader && SaslUsername != null)
                OutText(o, RecordType.Norm, $"\t(Authenticated sender: {CommentSanitize(SaslUsername)})");
            var rfc3848Auth = SaslUsername != null && Protocol == "ESMTP" ? "A" : "";
            var date = MailDate.Format(ArrivalTime.ToUnixTimeSeconds());
            var withId = Dest != null && Proxy == null;
            if (RcptCount == 1 && Recipient != null)
            {
                OutText(o, RecordType.Norm, withId
                    ? $"\tby {Config.MyHostname} ({Config.MailName}) with {withProtocol}{rfc3848Sess}{rfc3848Auth} id {QueueId}"
                    : $"\tby {Config.MyHostname} ({Config.MailName}) with {withProtocol}{rfc3848Sess}{rfc3848Auth}");
                OutText(o, RecordType.Norm, $"\tfor <{Quote822.Local(Recipient)}>; {date}");
            }
            else
            {
                OutText(o, RecordType.Norm, withId
                    ? $"\tby {Config.MyHostname} ({Config.MailName}) with {withProtocol}{rfc3848Sess}{rfc3848Auth} id {QueueId};"
                    : $"\tby {Config.MyHostname} ({Config.MailName}) with {withProtocol}{rfc3848Sess}{rfc3848Auth};");
                OutText(o, RecordType.Norm, "\t" + date);
            }
        }
    }

    // CommentSanitize - comment_sanitize().
    public static string CommentSanitize(string s)
    {
        var sb = new StringBuilder();
        var pc = 0;
        foreach (var ch in System.Text.Encoding.UTF8.GetBytes(s))
        {
            if (ch >= 128 || ch < 32 || ch == 127 || ch == '\\')
            {
                sb.Append('?');
            }
            else if (ch == '(')
            {
                pc++;
                sb.Append('(');
            }
            else if (ch == ')')
            {
                if (pc > 0)
                {
                    pc--;
                    sb.Append(')');
                }
                else
                {
                    sb.Append('?');
                }
            }
            else
            {
                sb.Append((char)ch);
            }
        }
        while (pc-- > 0)
            sb.Append(')');
        return sb.ToString();
    }

    // ReceiveDataMessage - receive_data_message().
    private void ReceiveDataMessage(IMessageOutput o)
    {
        // With deadlines, content that arrives buys time.
        Io.Setup(StandAlone ? 0 : Config.Timeout, Config.RequestDeadline, Config.MinDataRate);
        var first = true;
        var prevType = 0;
        var prevGotBareLf = 0;
        var buf = Buffer;
        while (true)
        {
            var last = Io.GetLine(buf, Config.LineLimit, skip: false);
            var currType = last == '\n' ? RecordType.Norm : RecordType.Cont;
            if ((Io.GotBareLf & SmtpdConfig.BareLfReplyReject) != 0)
                Err |= CleanupStatBareLf;
            var start = 0;
            var len = buf.Length;
            var span = buf.Span;
            if (first)
            {
                var k = 0;
                while (k < len && span[k] == '>')
                    k++;
                if (len - k >= 5 && span.Slice(k, 5).SequenceEqual("From "u8))
                {
                    var withPrefix = new ByteBuffer(len + 16);
                    withPrefix.Append("X-Mailbox-Line: "u8);
                    withPrefix.Append(span);
                    o.Record(currType, withPrefix.Span);
                    prevType = currType;
                    prevGotBareLf = Io.GotBareLf;
                    continue;
                }
                first = false;
                if (len > 0 && (span[0] == ' ' || span[0] == '\t'))
                    o.Record(RecordType.Norm, ReadOnlySpan<byte>.Empty);
            }
            if (prevType != RecordType.Cont && len > 0 && span[0] == '.')
            {
                if (len == 1 && (Io.DetectBareLf & SmtpdConfig.BareLfWantStdEod) != 0
                    && (Io.GotBareLf != 0 || prevGotBareLf != 0))
                {
                    prevType = currType;
                    prevGotBareLf = Io.GotBareLf;
                    continue;
                }
                if (Proxy == null)
                {
                    start++;
                    len--;
                    if (len == 0)
                        break;
                }
                else if (len == 1)
                {
                    break;
                }
            }
            if (Err == CleanupStatOk)
            {
                if (Config.MessageSizeLimit > 0 && Config.MessageSizeLimit - ActSize < len + 2)
                {
                    Err = CleanupStatSize;
                    Msg.Warn($"{QueueIdOrNoqueue}: queue file size limit exceeded");
                }
                else
                {
                    ActSize += len + 2;
                    if (!o.Record(currType, span.Slice(start, len)))
                        Err = o.ErrorCode;
                }
            }
            prevType = currType;
            prevGotBareLf = Io.GotBareLf;
        }
        Where = AfterEom;
    }

    private static bool IsSmtpReject(string s) =>
        s.Length >= 3 && (s[0] == '4' || s[0] == '5') && char.IsAsciiDigit(s[1]) && char.IsAsciiDigit(s[2])
        && (s.Length == 3 || s[3] == ' ' || s[3] == '-');

    private static (int Code, string Dsn, string Text) StatDetail(int status) => status switch
    {
        CleanupStatDefer => (451, "4.7.1", "service unavailable"),
        CleanupStatProxy => (451, "4.3.0", "queue file write error"),
        CleanupStatBad => (451, "4.3.0", "internal protocol error"),
        CleanupStatRcpt => (550, "5.1.0", "no recipients specified"),
        CleanupStatHops => (554, "5.4.0", "too many hops"),
        CleanupStatSize => (552, "5.3.4", "message file too big"),
        CleanupStatCont => (550, "5.7.1", "message content rejected"),
        CleanupStatWrite => (451, "4.3.0", "queue file write error"),
        CleanupStatNoperm => (550, "5.7.1", "service denied"),
        _ => (521, "5.5.2", "bare <LF> received"),
    };

    // PrintableExcept - printable_except(s, ' ', "\r\n").
    private static string PrintableExcept(string s, bool keepCrLf)
    {
        var sb = new StringBuilder(s.Length);
        foreach (var c in s)
        {
            if (keepCrLf && (c == '\r' || c == '\n'))
                sb.Append(c);
            else if (c < 32 || c == 127)
                sb.Append(' ');
            else
                sb.Append(c);
        }
        return sb.ToString();
    }

    // PostMessageHandling - common_post_message_handling().
    private int PostMessageHandling()
    {
        string? err;
        string? why = null;
        if (Err == CleanupStatOk && !StandAlone && (err = Checker.CheckEod(this)) != null)
        {
            Reply(err);
            if (Proxy != null)
            {
                ProxyClose();
            }
            else
            {
                Dest?.Abort();
                Dest = null;
            }
            return -1;
        }
        if (Proxy != null)
        {
            if (Err == CleanupStatOk)
            {
                ProxyCommand(ProxyWantAny, ".");
                if (Err == CleanupStatOk && !Proxy.Reply.StartsWith('2'))
                    Err = CleanupStatCont;
            }
        }
        else if (Dest != null)
        {
            var d = Dest;
            if (Err == CleanupStatOk)
            {
                d.Put(RecordType.Xtra, "");
                if (SavedFilter != null)
                    d.Put(RecordType.Filt, SavedFilter);
                if (SavedRedirect != null)
                    d.Put(RecordType.Rdr, SavedRedirect);
                foreach (var bcc in SavedBcc)
                {
                    d.Put(RecordType.Rcpt, bcc);
                    PutAttr(MailProto.AttrDsnNotify, DsnNotifyNever.ToString(CultureInfo.InvariantCulture));
                }
                if (SavedFlags != 0)
                    d.Put(RecordType.Flgs, SavedFlags.ToString(CultureInfo.InvariantCulture));
                if (d.Failed)
                    Err = CleanupStatWrite;
            }
            if (Err == CleanupStatOk)
            {
                d.Put(RecordType.End, "");
                if (!d.Flush())
                    Err = CleanupStatWrite;
            }
            if (Err == 0)
            {
                Err = d.Finish(out var w);
                why = IsSmtpReject(w) ? PrintableExcept(w, true) : PrintableExcept(w, false);
            }
            else
            {
                d.Abort();
            }
            Dest = null;
        }
        if (Milters != null && (Err & CleanupStatWrite) != 0)
            AccessDenied = "421 4.3.0 Mail system error";
        if (Err == CleanupStatOk)
        {
            ErrorCount = 0;
            ErrorMask = 0;
            JunkCmds = 0;
            if (Proxy != null)
                Reply(Proxy.Reply);
            else if (ProcessingBdat)
                Reply($"250 2.0.0 Ok: {ActSize} bytes queued as {QueueId}");
            else
                Reply($"250 2.0.0 Ok: queued as {QueueId}");
        }
        else if ((Err & CleanupStatBareLf) != 0)
        {
            ErrorMask |= MailErrorProtocol;
            LogWhatsup("reject", "bare <LF> received");
            Reply($"{Config.BareLfCode} 5.5.2 {Config.MyHostname} Error: bare <LF> received");
        }
        else if (why != null && IsSmtpReject(why))
        {
            ErrorMask |= MailErrorPolicy;
            Reply(why);
        }
        else if ((Err & CleanupStatDefer) != 0)
        {
            ErrorMask |= MailErrorPolicy;
            var d = StatDetail(CleanupStatDefer);
            Reply(why is { Length: > 0 } ? $"{d.Code} {why}" : $"{d.Code} {d.Dsn} Error: {d.Text}");
        }
        else if ((Err & CleanupStatBad) != 0)
        {
            ErrorMask |= MailErrorSoftware;
            var d = StatDetail(CleanupStatBad);
            Reply($"{d.Code} {d.Dsn} Error: internal error {Err}");
        }
        else if ((Err & CleanupStatSize) != 0)
        {
            ErrorMask |= MailErrorBounce;
            var d = StatDetail(CleanupStatSize);
            Reply($"{d.Code} {d.Dsn} Error: {d.Text}");
        }
        else if ((Err & CleanupStatHops) != 0)
        {
            ErrorMask |= MailErrorBounce;
            var d = StatDetail(CleanupStatHops);
            Reply($"{d.Code} {d.Dsn} Error: {d.Text}");
        }
        else if ((Err & CleanupStatCont) != 0)
        {
            ErrorMask |= MailErrorPolicy;
            var d = StatDetail(CleanupStatCont);
            if (Proxy != null)
                Reply(Proxy.Reply);
            else if (why is { Length: > 0 })
                Reply($"{d.Code} {why}");
            else
                Reply($"{d.Code} {d.Dsn} Error: {d.Text}");
        }
        else if ((Err & CleanupStatWrite) != 0)
        {
            ErrorMask |= MailErrorResource;
            var d = StatDetail(CleanupStatWrite);
            Reply($"{d.Code} {d.Dsn} Error: {d.Text}");
        }
        else if ((Err & CleanupStatProxy) != 0 && Proxy != null)
        {
            ErrorMask |= MailErrorSoftware;
            Reply(Proxy.Reply);
        }
        else
        {
            ErrorMask |= MailErrorSoftware;
            var d = StatDetail(CleanupStatBad);
            Reply($"{d.Code} {d.Dsn} Error: internal error {Err}");
        }
        if (Proxy != null)
            Msg.Info($"proxy-{(Err == CleanupStatOk ? "accept" : "reject")}: {Where}: {Proxy.Reply};{Whatsup()}");
        var savedErr = Err;
        ChatReset(Config.HistoryThreshold);
        MailReset();
        RcptReset();
        return savedErr;
    }

    // ---------------------------------------------------------------
    // RSET NOOP VRFY ETRN QUIT
    // ---------------------------------------------------------------

    private int RsetCmd(List<SmtpdToken> argv)
    {
        if (argv.Count != 1)
            return Refuse(MailErrorProtocol, "501 5.5.4 Syntax: RSET");
        ChatReset(Config.HistoryThreshold);
        MailReset();
        RcptReset();
        Reply("250 2.0.0 Ok");
        return 0;
    }

    private int NoopCmd(List<SmtpdToken> argv)
    {
        Reply("250 2.0.0 Ok");
        return 0;
    }

    private int VrfyCmd(List<SmtpdToken> argv)
    {
        string? err;
        var smtputf8 = false;
        if (Config.DisableVrfy)
            return Refuse(MailErrorPolicy, "502 5.5.1 VRFY command is disabled");
        var argc = argv.Count;
        if (Config.Smtputf8Enable && (EhloDiscardMask & EhloMask.Smtputf8) == 0 && argc > 1
            && string.Equals(argv[argc - 1].Text, "SMTPUTF8", StringComparison.OrdinalIgnoreCase))
        {
            argc--;
            argv.RemoveAt(argc);
            smtputf8 = true;
        }
        if (argc < 2)
            return Refuse(MailErrorProtocol, $"501 5.5.4 Syntax: VRFY address{(Config.Smtputf8Enable ? " [SMTPUTF8]" : "")}");
        if (UseAnvil && Config.RecipientRateLimit > 0 && !HoggerMatch()
            && Proc.Anvil!.Rcpt(Service, Addr, out var rate) && rate > Config.RecipientRateLimit)
        {
            ErrorMask |= MailErrorPolicy;
            Msg.Warn($"Recipient address rate limit exceeded: {rate} from {NamAddr} for service {Service}");
            Reply($"450 4.7.1 Error: too many recipients from {Addr}");
            return -1;
        }
        if (Milters != null && (err = Milters.OtherEvent()) != null && (err[0] == '5' || err[0] == '4'))
            return Refuse(MailErrorPolicy, err);
        CollapseArgs(argv, 1);
        if (ExtractAddr(argv[1], false, false, smtputf8) != 0)
            return Refuse(MailErrorProtocol, "501 5.1.3 Bad recipient address syntax");
        if (!smtputf8 && Config.StrictSmtputf8 && AddrBuf.Length > 0 && !AllAscii(AddrBuf))
        {
            MailReset();
            Reply("553 5.6.7 Must declare SMTPUTF8 to send unicode address");
            return -1;
        }
        if (!StandAlone)
        {
            var savedFlags = Flags;
            if (smtputf8)
                Flags |= FlagSmtpUtf8;
            err = Checker.CheckRcpt(this, AddrBuf);
            Flags = savedFlags;
            if (err != null)
            {
                Reply(err);
                return -1;
            }
        }
        Reply("252 2.0.0 " + argv[1].Text);
        return 0;
    }

    private int EtrnCmd(List<SmtpdToken> argv)
    {
        string? err;
        if (Config.HeloRequired && HeloName == null)
            return Refuse(MailErrorPolicy, "503 Error: send HELO/EHLO first");
        if (Milters != null && (err = Milters.OtherEvent()) != null && (err[0] == '5' || err[0] == '4'))
            return Refuse(MailErrorPolicy, err);
        if (InMailTransaction)
            return Refuse(MailErrorProtocol, "503 Error: MAIL transaction in progress");
        if (argv.Count != 2)
            return Refuse(MailErrorProtocol, "500 Syntax: ETRN domain");
        var site = argv[1].Text;
        if (site.StartsWith('@') || site.StartsWith('#'))
            site = site[1..];
        if (!Postfix.Global.Bounce.MailParamsCheck.ValidHostname(site, false) && !ValidMailhostLiteral(site))
            return Refuse(MailErrorProtocol, "501 Error: invalid parameter syntax");
        if (StandAlone)
        {
            Msg.Warn("do not use ETRN in \"sendmail -bs\" mode");
            Reply("458 Unable to queue messages");
            return -1;
        }
        if ((err = Checker.CheckEtrn(this, site)) != null)
        {
            Reply(err);
            return -1;
        }
        switch (Proc.FlushSendSite(site))
        {
            case Postfix.Global.Deliver.FlushClient.StatOk:
                Reply("250 Queuing started");
                return 0;
            case Postfix.Global.Deliver.FlushClient.StatDeny:
                Msg.Warn($"reject: ETRN {Trunc(site, 100)}... from {NamAddr}");
                Reply($"459 <{site}>: service unavailable");
                return -1;
            case Postfix.Global.Deliver.FlushClient.StatBad:
                Msg.Warn($"bad ETRN {Trunc(site, 100)}... from {NamAddr}");
                Reply("458 Unable to queue messages");
                return -1;
            default:
                Msg.Warn("unable to talk to fast flush service");
                Reply("458 Unable to queue messages");
                return -1;
        }
    }

    // ValidMailhostLiteral - valid_mailhost_literal(): [address].
    private static bool ValidMailhostLiteral(string s)
    {
        if (s.Length < 3 || s[0] != '[' || s[^1] != ']')
            return false;
        var inner = s[1..^1];
        if (inner.StartsWith("IPv6:", StringComparison.OrdinalIgnoreCase))
            return System.Net.IPAddress.TryParse(inner[5..], out var a6) && a6.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6;
        return System.Net.IPAddress.TryParse(inner, out var a4) && a4.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork
            && inner.Split('.').Length == 4;
    }

    private int QuitCmd(List<SmtpdToken> argv)
    {
        var pending = Io.PendingOutput;
        Reply("221 2.0.0 Bye");
        if (pending > 0)
            Io.Flush();
        return 0;
    }
}
