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
using Postfix.Global.Address;
using Postfix.Global.Deliver;
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
    }

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
            var words = resp.Text.Split(GreetingDelims, 2, StringSplitOptions.RemoveEmptyEntries);
            var rest = words.Length > 1 ? words[1] : "";
            var n = 0;
            foreach (var word in rest.Split(WordDelims, StringSplitOptions.RemoveEmptyEntries))
            {
                if (n++ == 0 && string.Equals(word, settings.MyHostname, StringComparison.OrdinalIgnoreCase))
                    continue;
                if (string.Equals(word, "ESMTP", StringComparison.OrdinalIgnoreCase))
                    session.Features |= SmtpFeatures.Esmtp;
            }
            if (!settings.Lmtp)
            {
                if (settings.AlwaysEhlo)
                    session.Features |= SmtpFeatures.Esmtp;
                if (settings.NeverEhlo)
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
            ParseFeatures(resp.Text);
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
                    return state.SiteFail(null, SmtpResponse.Fake("4.7.5"), reason);
                chat.Stream = tls.Stream;
                inTls = true;
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
                    ParseFeatures(resp.Text);
                    return 0;
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

    private int Refused(SmtpResponse resp) =>
        state.SiteFail(session.Host, resp, $"host {session.NamAddr} refused to talk to me: {SmtpText.OneLine(resp.Text)}");

    // ParseFeatures - the EHLO/LHLO keywords after the first reply line.
    internal void ParseFeatures(string text)
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
            if (Array.IndexOf(settings.DiscardEhloKeywords, keyword) >= 0)
                continue;
            switch (keyword)
            {
                case "pipelining":
                    session.Features |= SmtpFeatures.Pipelining;
                    break;
                case "size":
                    session.Features |= SmtpFeatures.Size;
                    if (words.Length > 1 && long.TryParse(words[1], NumberStyles.None, CultureInfo.InvariantCulture, out var limit))
                        session.SizeLimit = limit;
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
        var cmd = $"MAIL FROM:<{SmtpText.Quote821(r.Sender)}>";
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
        return cmd;
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
        var cmd = $"RCPT TO:<{SmtpText.Quote821(rcpt.Address)}>";
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
            request.Stats.ReuseCount = 0;
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
            if (pipelining)
            {
                foreach (var r in rcpts)
                    chat.Command(RcptCommand(r));
                chat.Command("DATA");
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
                }
                else
                {
                    state.RcptFail(rcpt, session.Host, resp, HostSaid(resp, "RCPT TO command"));
                }
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
            return 0;
        }
        return Quit();
    }

    // Quit - smtp_quit(): the reply is read only without smtp_skip_quit_response.
    public int Quit()
    {
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
        SmtpMime? mime = null;
        if (downgrading || checks != null)
        {
            var options = downgrading ? SmtpMime.Options.Downgrade | SmtpMime.Options.ReportNesting
                : SmtpMime.Options.None;
            mime = new SmtpMime(options, settings.HeaderSizeLimit, settings.MimeBoundaryLimit, settings.MimeNestingLimit,
                checks is { AnyHeader: true } ? HeaderRewrite : HeaderOut,
                checks is { AnyBody: true } ? BodyRewrite : (t, text) => TextOut(t, Raw.ToBytes(text)));
        }
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

    private void HeaderOut(int headerClass, bool isMime, System.Text.StringBuilder header)
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

    private void HeaderRewrite(int headerClass, bool isMime, System.Text.StringBuilder header)
    {
        var result = settings.Checks!.Header(state.Request.QueueId, headerClass, isMime, header.ToString(),
            text => TextOut(RecordType.Norm, Raw.ToBytes(text)));
        if (ReferenceEquals(result, SmtpChecks.Ignore))
            return;
        if (ReferenceEquals(result, SmtpChecks.Error))
        {
            Msg.Warn($"{state.Request.QueueId}: {SmtpSettings.Prefix(settings.Lmtp)} header checks lookup error");
            throw new SmtpStreamException(SmtpStreamError.Data);
        }
        header.Clear().Append(result);
        HeaderOut(headerClass, isMime, header);
    }

    private void BodyRewrite(int type, string text)
    {
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
