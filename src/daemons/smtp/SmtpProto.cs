// NAME
//	SmtpProto - the SMTP/LMTP dialogue for one delivery request
// POSTFIX
//	src/smtp/smtp_proto.c (smtp_helo, smtp_xfer, smtp_loop, smtp_quit)
// DESCRIPTION
//	Helo() reads the greeting (a 5xx greeting becomes 4xx with
//	smtp_skip_5xx_greeting), sends EHLO (falling back to HELO), or LHLO
//	for LMTP, and records the server features: PIPELINING, SIZE,
//	8BITMIME, DSN, STARTTLS, AUTH, SMTPUTF8, less the discarded
//	keywords. Xfer() sends MAIL FROM (SIZE, BODY, ENVID, RET), one RCPT
//	TO per recipient (ORCPT, NOTIFY) and DATA - all at once when the
//	server pipelines - then the message with dot-stuffing, and maps
//	each reply as the reference does: a rejected MAIL FROM or DATA
//	fails every recipient, a rejected RCPT TO that recipient; with SMTP
//	one end-of-data reply counts for all accepted recipients, with
//	LMTP there is one per accepted recipient. Failures are reported
//	"host NAME[ADDR] said: REPLY (in reply to COMMAND)". I/O trouble is
//	"lost connection with NAME[ADDR] while STATE" or "conversation
//	with NAME[ADDR] timed out while STATE".
using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using Postfix.Global.Address;
using Postfix.Global.Deliver;
using Postfix.Global.Mime;
using Postfix.Global.Queue;
using Postfix.Util;

namespace Postfix.Daemons.Smtp;

internal sealed class SmtpProto
{
    private static readonly char[] GreetingDelims = { ' ', '\t', '\n', '-' };
    private static readonly char[] WordDelims = { ' ', '\t', '\n' };
    private static readonly char[] KeywordDelims = { ' ', '\t', '=' };
    private readonly SmtpState state;
    private readonly SmtpChat chat;
    private readonly SmtpSessionInfo session;
    private readonly SmtpSettings settings;

    public SmtpProto(SmtpState state, SmtpChat chat)
    {
        this.state = state;
        this.chat = chat;
        session = state.Session ?? throw new InvalidOperationException("no session");
        settings = state.Settings;
        chat.PeerLabel = session.NamAddrPort;
        chat.ReplyFilter = settings.ReplyFilter;
        chat.QueueId = state.Request.QueueId;
    }

    // LoopDetect - SMTP_MISC_FLAG_LOOP_DETECT: SMTP to port 25.
    private bool LoopDetect => !settings.Lmtp && session.Port == 25;

    // BestMx - SMTP_FEATURE_BEST_MX: this server is a best MX host.
    private bool BestMx => (session.Features & SmtpFeatures.BestMx) != 0;

    private bool pixNoEsmtp;
    private bool pixDelayDotCrLf;

    // MessageSource - the message content (queue file bytes and data offset).
    public byte[]? QueueFileBytes { get; set; }

    public bool FinalDelivery { get; set; }

    // Sasl - the SASL client settings, or null.
    public SmtpSaslSettings? Sasl { get; set; }

    // Dest - the next-hop destination as written (SASL password lookup).
    public string Dest { get; set; } = "";

    private string lastEhloText = "";

    // TlsPolicy - this server's TLS policy (SmtpTlsPolicy.ForSession).
    public SmtpTlsPolicy? TlsPolicy { get; set; }

    private string Cmd => settings.Lmtp ? "LHLO" : "EHLO";

    // Helo - smtp_helo(); 0 when the session may carry mail.
    public int Helo()
    {
        var where = "receiving the initial server greeting";
        try
        {
            chat.Timeout = settings.HeloTimeout;
            var resp = chat.Response();
            switch (resp.Code / 100)
            {
                case 2:
                    break;
                case 5 when settings.Skip5xxGreeting:
                    resp = resp with { Dsn = "4" + resp.Dsn[1..] };
                    return Refused(resp);
                default:
                    return Refused(resp);
            }
            PixWorkarounds(resp.Text);
            var words = resp.Text.Split(GreetingDelims, 2, StringSplitOptions.RemoveEmptyEntries);
            var rest = words.Length > 1 ? words[1] : "";
            var n = 0;
            foreach (var word in rest.Split(WordDelims, StringSplitOptions.RemoveEmptyEntries))
            {
                if (n++ == 0 && string.Equals(word, settings.MyHostname, StringComparison.OrdinalIgnoreCase))
                {
                    if (LoopDetect)
                        Msg.Warn($"host {session.NamAddrPort} greeted me with my own hostname {settings.MyHostname}");
                }
                else if (string.Equals(word, "ESMTP", StringComparison.OrdinalIgnoreCase))
                {
                    session.Features |= SmtpFeatures.Esmtp;
                }
            }
            if (!settings.Lmtp)
            {
                if (settings.AlwaysEhlo && !pixNoEsmtp)
                    session.Features |= SmtpFeatures.Esmtp;
                if (settings.NeverEhlo || pixNoEsmtp)
                    session.Features &= ~SmtpFeatures.Esmtp;
            }
            else
            {
                session.Features |= SmtpFeatures.Esmtp;
            }
            if (!settings.Lmtp)
            {
                where = "performing the EHLO handshake";
                if ((session.Features & SmtpFeatures.Esmtp) != 0)
                {
                    chat.Command($"EHLO {settings.HeloName}");
                    resp = chat.Response();
                    if (resp.Code / 100 != 2)
                    {
                        if (resp.Code == 421)
                            return Refused(resp);
                        session.Features &= ~SmtpFeatures.Esmtp;
                    }
                }
                if ((session.Features & SmtpFeatures.Esmtp) == 0)
                {
                    where = "performing the HELO handshake";
                    chat.Command($"HELO {settings.HeloName}");
                    resp = chat.Response();
                    if (resp.Code / 100 != 2)
                        return Refused(resp);
                    return 0;
                }
            }
            else
            {
                where = "performing the LHLO handshake";
                chat.Command($"LHLO {settings.HeloName}");
                resp = chat.Response();
                if (resp.Code / 100 != 2)
                    return Refused(resp);
            }
            var loopStatus = EhloFeatures(resp.Text);
            if (loopStatus != 0)
                return loopStatus;
            if ((session.Features & SmtpFeatures.Size) != 0 && session.SizeLimit > 0
                && state.Request.DataSize > session.SizeLimit)
            {
                return state.MesgFail(null, SmtpResponse.Fake("5.3.4"),
                    $"message size {state.Request.DataSize} exceeds size limit {session.SizeLimit} of server {session.NamAddr}");
            }
            var status = inTls ? 0 : StartTls();
            if (status != 0)
                return status;
            if (Sasl is { Enable: true } && (session.Features & SmtpFeatures.Auth) != 0)
                return SmtpSasl.Login(state, chat, session, Sasl, lastEhloText, Dest, inTls);
            return 0;
        }
        catch (SmtpStreamException e)
        {
            return state.StreamExcept(e.Error, where);
        }
    }

    private bool inTls;

    // StartTls - the STARTTLS part of smtp_helo(): TLS when the level
    // allows and the server offers it, then EHLO again.
    private int StartTls()
    {
        var policy = TlsPolicy ?? SmtpTlsPolicy.Global(settings.TlsSecurityLevel, SmtpTlsConfig.Current);
        var level = policy.Level;
        if ((session.Features & SmtpFeatures.StartTls) != 0 && level <= TlsLevel.None && SmtpTlsConfig.Current.NoteStartTlsOffer)
            Msg.Info($"Host offered STARTTLS: [{session.Host}]");
        if ((session.Features & SmtpFeatures.StartTls) != 0 && level >= TlsLevel.May)
        {
            SmtpResponse resp;
            try
            {
                chat.Command("STARTTLS");
                resp = chat.Response();
            }
            catch (SmtpStreamException e)
            {
                return state.StreamExcept(e.Error, "receiving the STARTTLS response");
            }
            if (resp.Code / 100 == 2)
            {
                var tls = SmtpTls.Start(chat.Stream, policy, SmtpTlsConfig.Current, session.Host, policy.Nexthop,
                    session.NamAddrPort, settings.HeloTimeout, out var reason);
                if (tls.Stream == null)
                {
                    // The session is in an unknown state: no more I/O (no QUIT).
                    chat.Stream = Stream.Null;
                    session.Forbidden = true;
                    session.DontCache();
                    // Opportunistic TLS: the same server once more in
                    // plaintext, and no throttling of the destination.
                    if (PlaintextFallbackOk(policy.Level))
                    {
                        session.TlsRetryPlain = true;
                        state.FinalServer = false;
                    }
                    return state.MiscFail(policy.Level != TlsLevel.May, null, SmtpResponse.Fake("4.7.5"), reason);
                }
                chat.Stream = tls.Stream;
                inTls = true;
                state.TlsSessionFallback = () => PlaintextFallbackOk(policy.Level);
                if (TlsLevel.MustMatch(tls.Level) && !tls.Matched)
                    return state.SiteFail(null, SmtpResponse.Fake("4.7.5"), "Server certificate not verified");
                session.Features = SmtpFeatures.None;
                try
                {
                    var where = settings.Lmtp ? "performing the LHLO handshake" : "performing the EHLO handshake";
                    try
                    {
                        chat.Command($"{Cmd} {settings.HeloName}");
                        resp = chat.Response();
                    }
                    catch (SmtpStreamException e)
                    {
                        return state.StreamExcept(e.Error, where);
                    }
                    if (resp.Code / 100 != 2)
                        return Refused(resp);
                    session.Features |= SmtpFeatures.Esmtp;
                    return EhloFeatures(resp.Text);
                }
                finally
                {
                    session.Features &= ~SmtpFeatures.StartTls;
                }
            }
            session.Features &= ~SmtpFeatures.StartTls;
            if (TlsLevel.Required(level))
                return state.SiteFail(session.Host, resp,
                    $"TLS is required, but host {session.NamAddr} refused to start TLS: {SmtpText.OneLine(resp.Text)}");
        }
        if (TlsLevel.Required(level))
            return state.SiteFail(null, SmtpResponse.Fake("4.7.4"), $"TLS is required, but was not offered by host {session.NamAddr}");
        return 0;
    }

    // PlaintextFallbackOk - PLAINTEXT_FALLBACK_OK_AFTER_STARTTLS_FAILURE:
    // level "may", a probe or a message that waited minimal_backoff_time
    // before this delivery, and no SASL password for this server.
    private bool PlaintextFallbackOk(int level)
    {
        if (level != TlsLevel.May)
            return false;
        var stats = state.Request.Stats;
        if (DelReqFlags.TraceOnly(state.Request.Flags) == 0
            && stats.ActiveArrival.Sec - stats.IncomingArrival.Sec < settings.MinBackoffTime)
            return false;
        return !(Sasl is { Enable: true } && SmtpSasl.HaveCredentials(state, session, Sasl, Dest));
    }

    private int Refused(SmtpResponse resp) =>
        state.SiteFail(session.Host, resp, $"host {session.NamAddr} refused to talk to me: {SmtpText.OneLine(resp.Text)}");

    // The EHLO keywords that smtp_discard_ehlo_keywords knows, in the
    // reference's table order (ehlo_mask.c), SILENT-DISCARD last.
    private static readonly (string Name, int Bit)[] EhloMaskNames =
    {
        ("8BITMIME", 1 << 0), ("AUTH", 1 << 1), ("ETRN", 1 << 2), ("PIPELINING", 1 << 3), ("SIZE", 1 << 4),
        ("VERP", 1 << 5), ("VRFY", 1 << 6), ("XCLIENT", 1 << 7), ("XFORWARD", 1 << 8), ("STARTTLS", 1 << 9),
        ("ENHANCEDSTATUSCODES", 1 << 10), ("DSN", 1 << 11), ("EHLO_MASK_SMTPUTF8", 1 << 12), ("SMTPUTF8", 1 << 12),
        ("CHUNKING", 1 << 13), ("SILENT-DISCARD", 1 << 14),
    };

    private const int EhloMaskSilent = 1 << 14;

    // EhloMask - ehlo_mask(): the keywords to discard; unknown words are ignored.
    internal static int EhloMask(string words)
    {
        var mask = 0;
        foreach (var word in words.Split(ListDelims, StringSplitOptions.RemoveEmptyEntries))
            foreach (var (name, bit) in EhloMaskNames)
                if (string.Equals(name, word, StringComparison.OrdinalIgnoreCase))
                {
                    mask |= bit;
                    break;
                }
        return mask;
    }

    // EhloMaskString - str_ehlo_mask().
    internal static string EhloMaskString(int mask)
    {
        var parts = new List<string>();
        foreach (var (name, bit) in EhloMaskNames)
        {
            if ((mask & bit) != 0)
            {
                mask &= ~bit;
                parts.Add(name);
            }
        }
        return string.Join(' ', parts);
    }

    private static readonly char[] ListDelims = { ' ', '\t', ',', '\r', '\n' };

    // PixWorkarounds - a greeting of only "2", "0", "*" and blanks is a
    // PIX firewall: the smtp_pix_workaround_maps entry for the server
    // address or smtp_pix_workarounds apply; delay_dotcrlf only for mail
    // older than smtp_pix_workaround_threshold_time.
    private void PixWorkarounds(string greeting)
    {
        foreach (var c in greeting)
            if (c is not ('2' or '0' or ' ' or '*' or '\t' or '\n'))
                return;
        string? words = null;
        var source = $"{SmtpSettings.Prefix(settings.Lmtp)}_pix_workaround_maps";
        if (settings.PixMaps != null)
            words = settings.PixMaps.Find(session.Addr);
        if (words == null)
        {
            words = settings.PixWorkarounds;
            source = $"{SmtpSettings.Prefix(settings.Lmtp)}_pix_workarounds";
        }
        _ = source;
        if (words.Length == 0)
            return;
        bool noEsmtp = false, delay = false;
        foreach (var word in words.Split(ListDelims, StringSplitOptions.RemoveEmptyEntries))
        {
            if (string.Equals(word, "disable_esmtp", StringComparison.OrdinalIgnoreCase))
                noEsmtp = true;
            else if (string.Equals(word, "delay_dotcrlf", StringComparison.OrdinalIgnoreCase))
                delay = true;
        }
        if (delay && state.Request.Stats.IncomingArrival.Sec > DateTimeOffset.UtcNow.ToUnixTimeSeconds() - settings.PixThreshold)
            delay = false;
        var names = new List<string>();
        if (noEsmtp)
            names.Add("disable_esmtp");
        if (delay)
            names.Add("delay_dotcrlf");
        Msg.Info($"{state.Request.QueueId}: enabling PIX workarounds: {string.Join(' ', names)} for {session.NamAddrPort}");
        pixNoEsmtp = noEsmtp;
        pixDelayDotCrLf = delay;
    }

    // EhloFeatures - the EHLO/LHLO reply: a server that names itself
    // with our hostname is a loop (SMTP to port 25 only), then the
    // keywords less the discarded ones.
    private int EhloFeatures(string text)
    {
        var words = settings.DiscardEhloWords;
        if (settings.DiscardEhloMaps != null)
        {
            var found = settings.DiscardEhloMaps.Find(session.Addr);
            if (settings.DiscardEhloMaps.Error != 0)
            {
                Msg.Warn($"{state.Request.QueueId}: {settings.DiscardEhloMaps.Title} map lookup error for {session.Addr}");
                throw new SmtpStreamException(SmtpStreamError.Data);
            }
            if (found != null)
                words = found;
        }
        var mask = EhloMask(words);
        if (mask != 0 && (mask & EhloMaskSilent) == 0)
            Msg.Info($"discarding EHLO keywords: {EhloMaskString(mask)}");
        var first = text.Split('\n')[0];
        var helo = first.Length > 4 ? first[4..].Split(KeywordDelims, StringSplitOptions.RemoveEmptyEntries) : Array.Empty<string>();
        if (helo.Length > 0 && LoopDetect && string.Equals(helo[0], settings.MyHostname, StringComparison.OrdinalIgnoreCase))
        {
            Msg.Warn($"host {session.NamAddrPort} replied to HELO/EHLO with my own hostname {settings.MyHostname}");
            return state.SiteFail(null, SmtpResponse.Fake(BestMx ? "5.4.6" : "4.4.6"),
                $"mail for {state.Request.Nexthop} loops back to myself");
        }
        ParseFeatures(text, mask);
        return 0;
    }

    // ParseFeatures - the EHLO/LHLO keywords after the first reply line.
    internal void ParseFeatures(string text, int discard = 0)
    {
        lastEhloText = text;
        var lines = text.Split('\n');
        for (var i = 1; i < lines.Length; i++)
        {
            var line = lines[i].Length > 4 ? lines[i][4..] : "";
            var words = line.Split(KeywordDelims, StringSplitOptions.RemoveEmptyEntries);
            if (words.Length == 0)
                continue;
            var keyword = words[0].ToLowerInvariant();
            var bit = 0;
            foreach (var (name, b) in EhloMaskNames)
                if (string.Equals(name, keyword, StringComparison.OrdinalIgnoreCase))
                {
                    bit = b;
                    break;
                }
            if ((discard & bit) != 0)
                continue;
            switch (keyword)
            {
                case "pipelining":
                    session.Features |= SmtpFeatures.Pipelining;
                    break;
                case "size":
                    session.Features |= SmtpFeatures.Size;
                    if (words.Length > 1)
                    {
                        if (!words[1].All(char.IsAsciiDigit))
                            Msg.Warn($"bad EHLO SIZE limit \"{words[1]}\" from {session.NamAddrPort}");
                        else if (long.TryParse(words[1], NumberStyles.None, CultureInfo.InvariantCulture, out var limit))
                            session.SizeLimit = limit;
                    }
                    break;
                case "8bitmime":
                    session.Features |= SmtpFeatures.EightBitMime;
                    break;
                case "dsn":
                    session.Features |= SmtpFeatures.Dsn;
                    break;
                case "starttls":
                    session.Features |= SmtpFeatures.StartTls;
                    break;
                case "auth":
                    session.Features |= SmtpFeatures.Auth;
                    break;
                case "smtputf8":
                    session.Features |= SmtpFeatures.SmtpUtf8;
                    break;
                case "xforward":
                    for (var w = 1; w < words.Length; w++)
                        session.Features |= words[w].ToUpperInvariant() switch
                        {
                            "NAME" => SmtpFeatures.XforwardName,
                            "ADDR" => SmtpFeatures.XforwardAddr,
                            "PORT" => SmtpFeatures.XforwardPort,
                            "PROTO" => SmtpFeatures.XforwardProto,
                            "HELO" => SmtpFeatures.XforwardHelo,
                            "IDENT" => SmtpFeatures.XforwardIdent,
                            "SOURCE" => SmtpFeatures.XforwardDomain,
                            _ => SmtpFeatures.None,
                        };
                    break;
            }
        }
    }

    private string MailCommand()
    {
        var r = state.Request;
        var cmd = $"MAIL FROM:<{EnvelopeAddress(r.Sender)}>";
        var f = session.Features;
        if ((f & SmtpFeatures.Size) != 0 && !Downgrading)
            cmd += $" SIZE={r.DataSize}";
        if ((f & SmtpFeatures.EightBitMime) != 0)
        {
            if (r.Encoding == "8bit")
                cmd += " BODY=8BITMIME";
            else if (r.Encoding == "7bit")
                cmd += " BODY=7BIT";
            else if (r.Encoding.Length > 0)
                Msg.Warn($"{r.QueueId}: unknown content encoding: {r.Encoding}");
        }
        if ((f & SmtpFeatures.Dsn) != 0)
        {
            if (r.DsnEnvid.Length > 0)
                cmd += " ENVID=" + SmtpText.Xtext(r.DsnEnvid, "+=");
            if (r.DsnRet != 0)
                cmd += " RET=" + (r.DsnRet == DsnRet.Full ? "FULL" : "HDRS");
        }
        if ((f & SmtpFeatures.SmtpUtf8) != 0 && (r.SmtpUtf8 & 1) != 0)
            cmd += " SMTPUTF8";
        if (Sasl is { Enable: true } && settings.SendDummyMailAuth && (f & SmtpFeatures.Auth) != 0)
            cmd += " AUTH=<>";
        return cmd;
    }

    // EnvelopeAddress - an envelope address as sent: smtp_generic_maps,
    // then RFC 821 quoting unless smtp_quote_rfc821_envelope is off.
    private string EnvelopeAddress(string addr)
    {
        if (settings.Generic != null)
            addr = settings.Generic.RewriteInternal(addr);
        return settings.QuoteRfc821Envelope ? SmtpText.Quote821(addr) : addr;
    }

    private static bool Known(string v) => v.Length > 0 && !string.Equals(v, "unknown", StringComparison.OrdinalIgnoreCase);

    private bool Has(SmtpFeatures f) => (session.Features & f) != 0;

    // XforwardCommands - the XFORWARD commands for a server that takes
    // them (smtp_send_xforward_command): client name, address and port,
    // then protocol, HELO name, log identifier and rewrite context.
    private List<(string Command, string Request)> XforwardCommands()
    {
        var list = new List<(string, string)>();
        if (!settings.SendXforward)
            return list;
        var r = state.Request;
        var c = r.Client;
        var first = "XFORWARD";
        if (Has(SmtpFeatures.XforwardName) && Known(c.Name))
            first += " NAME=" + SmtpText.Xtext(c.Name, "");
        if (Has(SmtpFeatures.XforwardAddr) && Known(c.Addr))
            first += " ADDR=" + SmtpText.Xtext(c.Addr, "");
        if (Has(SmtpFeatures.XforwardPort) && Known(c.Port))
            first += " PORT=" + SmtpText.Xtext(c.Port, "");
        if (first.Length > 8)
            list.Add((first, "XFORWARD name/address command"));
        var second = "XFORWARD";
        if (Has(SmtpFeatures.XforwardProto) && Known(c.Proto))
            second += " PROTO=" + SmtpText.Xtext(c.Proto, "");
        if (Has(SmtpFeatures.XforwardHelo) && c.Helo.Length > 0)
            second += " HELO=" + SmtpText.Xtext(c.Helo, "");
        if (Has(SmtpFeatures.XforwardIdent) && r.LogIdent.Length > 0)
            second += " IDENT=" + SmtpText.Xtext(r.LogIdent, "");
        if (Has(SmtpFeatures.XforwardDomain) && r.RewriteContext.Length > 0)
            second += " SOURCE=" + (r.RewriteContext == "local" ? "LOCAL" : "REMOTE");
        if (second.Length > 8)
            list.Add((second, "XFORWARD helo/protocol command"));
        return list;
    }

    // XforwardReply - a refused XFORWARD is only logged.
    private void XforwardReply(string request)
    {
        var resp = chat.Response();
        if (resp.Code / 100 != 2)
            Msg.Warn($"host {session.NamAddrPort} said: {resp.Text.Replace('\n', ' ')} (in reply to {request})");
    }

    private string RcptCommand(Recipient rcpt)
    {
        var cmd = $"RCPT TO:<{EnvelopeAddress(rcpt.Address)}>";
        if ((session.Features & SmtpFeatures.Dsn) != 0)
        {
            var orcpt = rcpt.DsnOrcpt;
            if (orcpt.Length == 0 && rcpt.OrigAddr.Length > 0)
            {
                var quoted = Postfix.Global.Address.Quote822.Local(rcpt.OrigAddr);
                var ascii = true;
                foreach (var c in quoted)
                    if (c > 127)
                        ascii = false;
                orcpt = (state.Request.SmtpUtf8 != 0 && !ascii ? "utf-8" : "rfc822") + ";" + quoted;
            }
            if (orcpt.Length > 0 && !orcpt.StartsWith("utf-8;", StringComparison.OrdinalIgnoreCase))
                cmd += " ORCPT=" + SmtpText.Xtext(orcpt, "=");
            if (rcpt.DsnNotify != 0)
                cmd += " NOTIFY=" + SmtpText.NotifyString(rcpt.DsnNotify);
        }
        return cmd;
    }

    private string HostSaid(SmtpResponse resp, string request) =>
        $"host {session.NamAddr} said: {SmtpText.OneLine(resp.Text)} (in reply to {request})";

    // Xfer - smtp_xfer(): one mail transaction, then QUIT.
    public int Xfer()
    {
        var request = state.Request;
        var pipelining = (session.Features & SmtpFeatures.Pipelining) != 0;
        var where = "sending MAIL FROM";
        var rcpts = new List<Recipient>(state.Left());
        var survivors = new List<Recipient>();
        var nrcpt = 0;
        try
        {
            request.Stats.ReuseCount = session.ReuseCount;
            request.Stats.ConnSetupDone = TimeVal.Now();
            var xforward = XforwardCommands();
            chat.Timeout = settings.XforwardTimeout;
            foreach (var (command, name) in xforward)
            {
                where = name.StartsWith("XFORWARD name", StringComparison.Ordinal)
                    ? "sending XFORWARD name/address" : "sending XFORWARD protocol/helo_name";
                chat.Command(command);
                if (!pipelining)
                    XforwardReply(name);
            }
            where = "sending MAIL FROM";
            chat.Timeout = settings.MailTimeout;
            chat.Command(MailCommand());
            var probe = DelReqFlags.TraceOnly(request.Flags) != 0;
            var probeAtRcpt = probe && !settings.VerifyTargetData;
            if (pipelining)
            {
                foreach (var r in rcpts)
                    chat.Command(RcptCommand(r));
                chat.Command(probeAtRcpt ? "RSET" : "DATA");
            }
            if (pipelining)
            {
                foreach (var (command, name) in xforward)
                {
                    where = name.StartsWith("XFORWARD name", StringComparison.Ordinal)
                        ? "sending XFORWARD name/address" : "sending XFORWARD protocol/helo_name";
                    XforwardReply(name);
                }
                where = "sending MAIL FROM";
            }
            var mailResp = chat.Response();
            var mailRejected = false;
            if (mailResp.Code / 100 != 2)
            {
                state.MesgFail(session.Host, mailResp, HostSaid(mailResp, "MAIL FROM command"));
                mailRejected = true;
            }
            if (mailRejected && !pipelining)
                return Abort();
            where = "sending RCPT TO";
            chat.Timeout = settings.RcptTimeout;
            foreach (var rcpt in rcpts)
            {
                if (!pipelining)
                    chat.Command(RcptCommand(rcpt));
                var resp = chat.Response();
                if (mailRejected || StateIsMarked(rcpt))
                    continue;
                if (resp.Code / 100 == 2)
                {
                    survivors.Add(rcpt);
                    nrcpt++;
                    if (probeAtRcpt)
                        state.RcptDone(resp, rcpt, session.Host, FinalDelivery);
                }
                else
                {
                    state.RcptFail(rcpt, session.Host, resp, HostSaid(resp, "RCPT TO command"));
                }
            }
            if (probeAtRcpt)
            {
                // An address probe ends after RCPT TO: RSET, then QUIT.
                if (!pipelining)
                    return Abort();
                try
                {
                    chat.Timeout = settings.RsetTimeout;
                    chat.Response();
                }
                catch (SmtpStreamException)
                {
                    return 0;
                }
                return Quit();
            }
            if (!pipelining && nrcpt == 0)
                return Abort();
            where = "sending DATA command";
            chat.Timeout = settings.DataInitTimeout;
            if (!pipelining)
                chat.Command("DATA");
            var dataResp = chat.Response();
            if (dataResp.Code / 100 != 3)
            {
                if (nrcpt > 0)
                    state.MesgFail(session.Host, dataResp, HostSaid(dataResp, "DATA command"));
                return Abort();
            }
            if (probe && nrcpt > 0)
            {
                // A probe with smtp_address_verify_target = data: the
                // accepted recipients are done, and the server, now
                // waiting for the message, is left without a goodbye.
                foreach (var rcpt in survivors)
                    if (!SmtpState.IsMarked(rcpt))
                        state.RcptDone(resp: dataResp with { Dsn = "2.0.0", Text = dataResp.Text.Replace('\n', ' ') },
                            rcpt: rcpt, mtaName: session.Host, finalDelivery: FinalDelivery);
                session.DontCache();
                return 0;
            }
            if (nrcpt == 0)
            {
                // DATA accepted without a valid sender or recipient: end the empty message.
                chat.Command(".");
                chat.Response();
                return Quit();
            }
            where = "sending message body";
            chat.Timeout = settings.DataXferTimeout;
            SendMessage();
            where = "sending end of data -- message may be sent more than once";
            if (pixDelayDotCrLf)
            {
                chat.Flush();
                System.Threading.Thread.Sleep(settings.PixDelay * 1000);
            }
            chat.Command(".");
            chat.Timeout = settings.DataDoneTimeout;
            if (!settings.Lmtp)
            {
                var resp = chat.Response();
                request.Stats.DeliverDone = TimeVal.Now();
                if (resp.Code / 100 != 2)
                {
                    state.MesgFail(session.Host, resp, HostSaid(resp, "end of DATA command"));
                }
                else
                {
                    foreach (var rcpt in survivors)
                        if (!SmtpState.IsMarked(rcpt))
                            state.RcptDone(resp, rcpt, session.Host, FinalDelivery);
                }
            }
            else
            {
                foreach (var rcpt in survivors)
                {
                    var resp = chat.Response();
                    request.Stats.DeliverDone = TimeVal.Now();
                    if (resp.Code / 100 != 2)
                        state.RcptFail(rcpt, session.Host, resp, HostSaid(resp, "end of DATA command"));
                    else
                        state.RcptDone(resp, rcpt, session.Host, FinalDelivery);
                }
            }
            return Quit();
        }
        catch (SmtpStreamException e)
        {
            return state.StreamExcept(e.Error, where);
        }
        catch (SmtpMimeException)
        {
            return 0;
        }
    }

    // CheckCliFlags - the D and O flag checks of deliver_message(): both
    // need one recipient per request, and D refuses a recipient that a
    // Delivered-To: header already names. Null: go ahead and deliver.
    public static int? CheckCliFlags(string service, DeliverRequest request, SmtpSettings settings)
    {
        if (request.Nexthop.Length == 0 || request.Recipients.Count == 0)
            return null;
        if ((settings.CliFlags & SmtpCliFlags.DeliveredTo) != 0)
        {
            if (request.Recipients.Count > 1)
            {
                Msg.Warn($"flag `D' requires {service}_destination_recipient_limit = 1");
                return RejectRequest(service, request, "4.3.5", "mail system configuration error");
            }
            var file = request.QueueFile!;
            file.Seek(0, SeekOrigin.Begin);
            byte[] bytes;
            using (var ms = new MemoryStream())
            {
                file.CopyTo(ms);
                bytes = ms.ToArray();
            }
            var rcpt = request.Recipients[0].Address;
            var generic = settings.Generic != null ? settings.Generic.RewriteInternal(rcpt) : rcpt;
            if (SmtpDelivered.Contains(bytes, request.DataOffset, request.QueueId, generic))
                return RejectRequest(service, request, "5.4.6", $"mail forwarding loop for {rcpt}");
        }
        if ((settings.CliFlags & SmtpCliFlags.OrigRcpt) != 0 && request.Recipients.Count > 1)
        {
            Msg.Warn($"flag `O' requires {service}_destination_recipient_limit = 1");
            return RejectRequest(service, request, "4.3.5", "mail system configuration error");
        }
        return null;
    }

    // RejectRequest - reject_deliver_request(): every recipient bounced
    // or deferred, the relay being the service name.
    private static int RejectRequest(string service, DeliverRequest request, string code, string text)
    {
        var why = new DsnBuf();
        why.Simple(code, text);
        var dsn = why.ToDsn();
        var result = 0;
        var trace = DelReqFlags.TraceFlags(request.Flags);
        foreach (var rcpt in request.Recipients)
        {
            var status = code[0] != '4'
                ? DeliveryStatus.BounceAppend(trace, request.QueueId, request.Stats, rcpt, service, dsn)
                : DeliveryStatus.DeferAppend(trace, request.QueueId, request.Stats, rcpt, service, dsn);
            if (status == 0 && request.QueueFile != null)
                DeliverCompleted.Mark(request.QueueFile, rcpt.Offset);
            result |= status;
        }
        return result;
    }

    private static bool StateIsMarked(Recipient r) => SmtpState.IsMarked(r);

    // Abort - RSET after a failed transaction, then QUIT.
    private int Abort()
    {
        try
        {
            chat.Timeout = settings.RsetTimeout;
            chat.Command("RSET");
            chat.Response();
        }
        catch (SmtpStreamException)
        {
            session.DontCache();
            return 0;
        }
        return Quit();
    }

    // Quit - smtp_quit(): the reply is read only without smtp_skip_quit_response.
    public int Quit()
    {
        // A session that goes to the connection cache says no goodbye.
        if (session.KeepForCache())
            return 0;
        try
        {
            chat.Timeout = settings.QuitTimeout;
            chat.Command("QUIT");
            chat.Flush();
            if (!settings.SkipQuitResponse)
                chat.Response();
        }
        catch (SmtpStreamException)
        {
            // The server went away after the transaction: nothing lost.
        }
        return 0;
    }

    // Downgrading - SMTP_MIME_DOWNGRADE: 8-bit mail to a server without 8BITMIME.
    private bool Downgrading => !settings.DisableMimeOutputConversion
        && (session.Features & SmtpFeatures.EightBitMime) == 0 && state.Request.Encoding != "7bit";

    private int spaceLeft;
    private bool loggedLineLimit;

    // SendMessage - the queue file's message content, raw or through the
    // MIME machinery (8-bit downgrade, header and body checks).
    private void SendMessage()
    {
        var data = QueueFileBytes ?? Array.Empty<byte>();
        var reader = new RecordReader(data, state.Request.QueueId);
        reader.Seek(state.Request.DataOffset);
        var prevType = RecordType.Norm;
        spaceLeft = settings.LineLengthLimit;
        loggedLineLimit = false;
        var checks = settings.Checks;
        var downgrading = Downgrading;
        MimeState? mime = null;
        var generic = settings.Generic;
        if (downgrading || checks != null || generic != null)
        {
            var anyChecks = checks is { AnyHeader: true } || checks is { AnyBody: true };
            var options = downgrading ? MimeState.Options.Downgrade | MimeState.Options.ReportNesting
                : !anyChecks ? MimeState.Options.DisableMime : MimeState.Options.None;
            mime = new MimeState(options, null, settings.HeaderSizeLimit, settings.MimeBoundaryLimit, settings.MimeNestingLimit,
                checks is { AnyHeader: true } || generic != null ? HeaderRewrite : HeaderOut, null,
                checks is { AnyBody: true } ? BodyRewrite : BodyOut, null);
        }
        if ((settings.CliFlags & SmtpCliFlags.AddHeaders) != 0)
            AddHeaders(mime);
        int type;
        while ((type = reader.Read(out var rec)) > 0)
        {
            if (type != RecordType.Norm && type != RecordType.Cont)
                break;
            if (mime == null)
                TextOut(type, rec);
            else if (mime.Update(type, Raw.FromBytes(rec)) != 0)
                MimeFail();
            prevType = type;
        }
        if (mime != null)
        {
            if (mime.Update(type, "") != 0)
                MimeFail();
        }
        else if (prevType == RecordType.Cont)
        {
            chat.Write("\r\n"u8);
        }
    }

    // MimeFail - a hard MIME error while downgrading: the transaction
    // cannot be cancelled, so the connection is dropped.
    private void MimeFail()
    {
        state.MesgFail(null, SmtpResponse.Fake("5.6.0"), "MIME nesting exceeds safety limit");
        throw new SmtpMimeException();
    }

    private void HeaderOut(int headerClass, HeaderInfo? info, System.Text.StringBuilder header, long offset)
    {
        var text = header.ToString();
        var start = 0;
        while (true)
        {
            var nl = text.IndexOf('\n', start);
            TextOut(RecordType.Norm, Raw.ToBytes(nl < 0 ? text[start..] : text[start..nl]));
            if (nl < 0)
                break;
            start = nl + 1;
        }
    }

    private void HeaderRewrite(int headerClass, HeaderInfo? info, System.Text.StringBuilder header, long offset)
    {
        if (settings.Checks is { AnyHeader: true })
        {
            var isMime = info != null && (info.Flags & HeaderFlags.Mime) != 0;
            var result = settings.Checks.Header(state.Request.QueueId, headerClass, isMime, header.ToString(),
                text => TextOut(RecordType.Norm, Raw.ToBytes(text)));
            if (ReferenceEquals(result, SmtpChecks.Ignore))
                return;
            if (ReferenceEquals(result, SmtpChecks.Error))
            {
                Msg.Warn($"{state.Request.QueueId}: {SmtpSettings.Prefix(settings.Lmtp)} header checks lookup error");
                throw new SmtpStreamException(SmtpStreamError.Data);
            }
            header.Clear().Append(result);
        }
        if (settings.Generic != null && headerClass == MimeState.HdrPrimary)
        {
            var rewritten = settings.Generic.RewriteHeader(header.ToString());
            if (rewritten != null)
                header.Clear().Append(rewritten);
        }
        HeaderOut(headerClass, info, header, offset);
    }

    // AddHeaders - smtp_out_add_headers(): Return-Path:, X-Original-To:
    // and Delivered-To: (flags=R, O, D) before the message, through
    // the MIME machinery when it is in use.
    private void AddHeaders(MimeState? mime)
    {
        var r = state.Request;
        var rcpt = r.Recipients[0];
        var flags = settings.CliFlags;
        if ((flags & SmtpCliFlags.ReturnPath) != 0)
            AddHeader(mime, "Return-Path", "<", r.Sender, ">");
        if ((flags & SmtpCliFlags.OrigRcpt) != 0)
            AddHeader(mime, "X-Original-To", "", rcpt.OrigAddr, "");
        if ((flags & SmtpCliFlags.DeliveredTo) != 0)
            AddHeader(mime, "Delivered-To", "", rcpt.Address, "");
    }

    private void AddHeader(MimeState? mime, string label, string lt, string addr, string gt)
    {
        if (settings.Generic != null)
            addr = settings.Generic.RewriteInternal(addr);
        var text = $"{label}: {lt}{(addr.Length > 0 ? Quote822.Local(addr) : "")}{gt}";
        if (mime == null)
            TextOut(RecordType.Norm, Raw.ToBytes(text));
        else if (mime.Update(RecordType.Norm, text) != 0)
            MimeFail();
    }

    // BodyOut - one body record as Latin-1 bytes, without a copy for
    // lines of ordinary length.
    private void BodyOut(int type, ReadOnlyMemory<char> text, long offset)
    {
        if (text.Length > 1024)
        {
            TextOut(type, Raw.ToBytes(text.ToString()));
            return;
        }
        Span<byte> bytes = stackalloc byte[text.Length];
        System.Text.Encoding.Latin1.GetBytes(text.Span, bytes);
        TextOut(type, bytes);
    }

    private void BodyRewrite(int type, ReadOnlyMemory<char> record, long offset)
    {
        var text = MimeState.AsString(record);
        var result = settings.Checks!.BodyLine(state.Request.QueueId, text,
            prepended => TextOut(RecordType.Norm, Raw.ToBytes(prepended)));
        if (ReferenceEquals(result, SmtpChecks.Ignore))
            return;
        if (ReferenceEquals(result, SmtpChecks.Error))
        {
            Msg.Warn($"{state.Request.QueueId}: {SmtpSettings.Prefix(settings.Lmtp)} body checks lookup error");
            throw new SmtpStreamException(SmtpStreamError.Data);
        }
        TextOut(type, Raw.ToBytes(result));
    }

    // TextOut - smtp_text_out(): one record, dot-stuffed; output lines
    // longer than smtp_line_length_limit are broken with CR LF SPACE
    // (logged once per message).
    private void TextOut(int type, ReadOnlySpan<byte> rec)
    {
        var limit = settings.LineLengthLimit;
        var left = rec;
        do
        {
            if (spaceLeft == limit && left.Length > 0 && left[0] == '.')
                chat.Write("."u8);
            if (limit > 0 && left.Length >= spaceLeft)
            {
                chat.Write(left[..spaceLeft]);
                chat.Write("\r\n"u8);
                left = left[spaceLeft..];
                spaceLeft = limit;
                if (left.Length > 0 || type == RecordType.Cont)
                {
                    chat.Write(" "u8);
                    spaceLeft -= 1;
                    if (!loggedLineLimit)
                    {
                        Msg.Info($"{state.Request.QueueId}: breaking line > {limit} bytes with <CR><LF>SPACE");
                        loggedLineLimit = true;
                    }
                }
            }
            else
            {
                chat.Write(left);
                if (type == RecordType.Cont)
                {
                    spaceLeft -= left.Length;
                }
                else
                {
                    chat.Write("\r\n"u8);
                    spaceLeft = limit;
                }
                break;
            }
        }
        while (left.Length > 0);
    }
}

internal sealed class SmtpMimeException : Exception
{
}
