// NAME
//	PscSmtpd - postscreen's dummy SMTP engine
// POSTFIX
//	src/postscreen/postscreen_smtpd.c
// DESCRIPTION
//	A client that failed a test whose action is "enforce" is not handed
//	to smtpd: postscreen talks SMTP with it itself. It greets (unless the
//	client talked before the greeting), answers HELO/EHLO, takes MAIL,
//	rejects every RCPT with the reply the failed test stored (and logs
//	the NOQUEUE record), refuses DATA and BDAT and then hangs up, and
//	enforces the command count, length and time limits. The after-220
//	deep tests (pipelining, non-SMTP commands, bare newlines) are not
//	done here.
using System;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Postfix.Global.Config;
using Postfix.Server;
using Postfix.Util;
using static Postfix.Daemons.Postscreen.PscFlags;

namespace Postfix.Daemons.Postscreen;

// PscSmtpdSettings - the parameters of the dummy engine, read once.
internal sealed class PscSmtpdSettings
{
    public PscSmtpdSettings(MailConf conf)
    {
        var myHostname = conf.Eval("myhostname");
        Greeting = $"220 {conf.Eval("smtpd_banner")}\r\n";
        HeloReply = $"250 {myHostname}\r\n";
        TimeoutReply = $"421 4.4.2 {myHostname} Error: timeout exceeded\r\n";
        Reply421 = $"421 {myHostname} Service unavailable - try again later\r\n";
        HeloRequired = conf.Bool("postscreen_helo_required");
        DisableVrfy = conf.Bool("postscreen_disable_vrfy_command");
        SoftBounce = conf.Bool("soft_bounce");
        LogAddrInternal = string.Equals(conf.Eval("info_log_address_format"), "internal", StringComparison.OrdinalIgnoreCase);
        CommandCountLimit = ServerParams.Int(conf, "postscreen_command_count_limit");
        CommandTimeLimit = ServerParams.Time(conf, "postscreen_command_time_limit");
        var lineLimit = ServerParams.Int(conf, "line_limit");
        LineLimit = lineLimit > 0 ? lineLimit : 2048;
        bool useTls = conf.Bool("postscreen_use_tls"), enforceTls = conf.Bool("postscreen_enforce_tls");
        switch (conf.Eval("postscreen_tls_security_level"))
        {
            case "": break;
            case "none": useTls = enforceTls = false; break;
            case "may": useTls = true; enforceTls = false; break;
            default: useTls = enforceTls = true; break;
        }
        EnforceTls = enforceTls;
        var discard = DiscardMask(conf.Eval("postscreen_discard_ehlo_keywords"));
        if (!useTls)
            discard |= MaskStartTls;
        ChunkingDiscarded = (discard & MaskChunking) != 0;
        var size = conf.Eval("message_size_limit");
        var lines = new System.Collections.Generic.List<string> { myHostname };
        if ((discard & MaskSize) == 0)
            lines.Add(long.TryParse(size, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n > 0 ? $"SIZE {n}" : "SIZE");
        if ((discard & MaskVrfy) == 0 && !DisableVrfy)
            lines.Add("VRFY");
        if ((discard & MaskEtrn) == 0)
            lines.Add("ETRN");
        if ((discard & MaskStartTls) == 0)
            lines.Add("STARTTLS");
        if ((discard & MaskEnhanced) == 0)
            lines.Add("ENHANCEDSTATUSCODES");
        if ((discard & Mask8BitMime) == 0)
            lines.Add("8BITMIME");
        if ((discard & MaskDsn) == 0)
            lines.Add("DSN");
        if (conf.Bool("smtputf8_enable") && (discard & MaskSmtpUtf8) == 0)
            lines.Add("SMTPUTF8");
        if ((discard & MaskChunking) == 0)
            lines.Add("CHUNKING");
        var sb = new StringBuilder();
        for (int i = 0; i < lines.Count; i++)
            sb.Append("250").Append(i == lines.Count - 1 ? ' ' : '-').Append(lines[i]).Append("\r\n");
        EhloReply = sb.ToString();
    }

    private const int MaskSize = 1, MaskVrfy = 2, MaskEtrn = 4, MaskStartTls = 8, MaskEnhanced = 16, Mask8BitMime = 32,
        MaskDsn = 64, MaskSmtpUtf8 = 128, MaskChunking = 256;

    private static int DiscardMask(string words)
    {
        int mask = 0;
        foreach (var w in words.Split([' ', ',', '\t', '\r', '\n'], StringSplitOptions.RemoveEmptyEntries))
        {
            mask |= w.ToLowerInvariant() switch
            {
                "size" => MaskSize, "vrfy" => MaskVrfy, "etrn" => MaskEtrn, "starttls" => MaskStartTls,
                "enhancedstatuscodes" => MaskEnhanced, "8bitmime" => Mask8BitMime, "dsn" => MaskDsn,
                "smtputf8" => MaskSmtpUtf8, "chunking" => MaskChunking, _ => 0,
            };
        }
        return mask;
    }

    public string Greeting { get; }
    public string HeloReply { get; }
    public string EhloReply { get; }
    public string TimeoutReply { get; }
    public string Reply421 { get; }
    public bool HeloRequired { get; }
    public bool DisableVrfy { get; }
    public bool SoftBounce { get; }
    public bool LogAddrInternal { get; }
    public bool EnforceTls { get; }
    public bool ChunkingDiscarded { get; }
    public int CommandCountLimit { get; }
    public int CommandTimeLimit { get; }
    public int LineLimit { get; }
}

internal sealed partial class PscSession
{
    private static PscSmtpdSettings? smtpdSettings;
    private string rcptReply = "";

    // SmtpdTests - psc_smtpd_tests(): talk SMTP with a client that will
    // not be handed to smtpd.
    private void SmtpdTests()
    {
        var cfg = smtpdSettings ??= new PscSmtpdSettings(s.Conf);
        testName = "tests after SMTP handshake";
        started.Restart();
        if ((flags & Fail(Pregreet)) == 0 && !Send(cfg.Greeting))
        {
            HangupEvent();
            return;
        }
        string? helo = null, sender = null, protocol = "SMTP", where = "CONNECT";
        int commands = 0;
        var buf = new byte[4096];
        int have = 0, pos = 0;
        var line = new StringBuilder();
        for (;;)
        {
            // Read one line (CRLF or bare LF), within the command time limit.
            line.Clear();
            bool cr = false;
            for (;;)
            {
                if (pos == have)
                {
                    bool ready;
                    try
                    {
                        ready = client.Poll((int)Math.Min(cfg.CommandTimeLimit * 1_000_000L, int.MaxValue), SelectMode.SelectRead);
                        have = ready ? client.Receive(buf) : -1;
                    }
                    catch (SocketException)
                    {
                        have = 0;
                        ready = true;
                    }
                    pos = 0;
                    if (!ready)
                    {
                        Msg.Info($"COMMAND TIME LIMIT from {Who} after {where}");
                        Drop(cfg.TimeoutReply);
                        return;
                    }
                    if (have <= 0)
                    {
                        HangupEvent();
                        return;
                    }
                }
                if (!cr && line.Length >= cfg.LineLimit)
                {
                    Msg.Info($"COMMAND LENGTH LIMIT from {Who} after {where}");
                    Drop(cfg.Reply421);
                    return;
                }
                var ch = (char)buf[pos++];
                line.Append(ch);
                if (ch == '\n')
                {
                    line.Length -= cr ? 2 : 1;
                    break;
                }
                cr = ch == '\r';
            }
            var text = line.ToString();
            if (Msg.Verbose > 0)
                Msg.Info($"< {Who}: {text}");
            var rest = text.AsSpan().TrimStart(' ');
            int sp = rest.IndexOf(' ');
            var command = (sp < 0 ? rest : rest[..sp]).ToString();
            var args = sp < 0 ? "" : rest[(sp + 1)..].ToString();
            var savedWhere = where;
            var name = command.ToUpperInvariant() switch
            {
                "HELO" or "EHLO" or "STARTTLS" or "XCLIENT" or "XFORWARD" or "AUTH" or "MAIL" or "RCPT" or "DATA" or "BDAT"
                    or "RSET" or "NOOP" or "VRFY" or "ETRN" or "QUIT" => command.ToUpperInvariant(),
                _ => null,
            };
            where = name ?? "UNIMPLEMENTED";
            if (++commands > cfg.CommandCountLimit && name != "QUIT")
            {
                Msg.Info($"COMMAND COUNT LIMIT from {Who} after {savedWhere}");
                Drop(cfg.Reply421);
                return;
            }
            var firstArg = NextToken(args);
            string reply;
            if (name == null || name is "XCLIENT" or "XFORWARD" or "AUTH")
                reply = "502 5.5.2 Error: command not recognized\r\n";
            else if (cfg.EnforceTls && name is not ("HELO" or "EHLO" or "STARTTLS" or "NOOP" or "QUIT"))
                reply = "530 5.7.0 Must issue a STARTTLS command first\r\n";
            else
            {
                switch (name)
                {
                    case "HELO":
                        if (firstArg == null)
                            reply = "501 Syntax: HELO hostname\r\n";
                        else
                        {
                            helo = firstArg;
                            sender = null;
                            reply = cfg.HeloReply;
                        }
                        break;
                    case "EHLO":
                        if (firstArg == null)
                            reply = "501 Syntax: EHLO hostname\r\n";
                        else
                        {
                            helo = firstArg;
                            sender = null;
                            protocol = "ESMTP";
                            reply = cfg.EhloReply;
                        }
                        break;
                    case "STARTTLS":
                        reply = firstArg != null ? "501 Syntax: EHLO hostname\r\n" : "502 5.5.1 Error: command not implemented\r\n";
                        break;
                    case "MAIL":
                        int colon;
                        if (cfg.HeloRequired && helo == null)
                            reply = "503 5.5.1 Error: send HELO/EHLO first\r\n";
                        else if (sender != null)
                            reply = "503 5.5.1 Error: nested MAIL command\r\n";
                        else if ((colon = args.IndexOf(':')) < 0)
                            reply = "501 5.5.4 Syntax: MAIL FROM:<address>\r\n";
                        else
                        {
                            sender = ExtractAddr(args[(colon + 1)..]);
                            reply = "250 2.1.0 Ok\r\n";
                        }
                        break;
                    case "RCPT":
                        if (sender == null)
                            reply = "503 5.5.1 Error: need MAIL command\r\n";
                        else if ((colon = args.IndexOf(':')) < 0)
                            reply = "501 5.5.4 Syntax: RCPT TO:<address>\r\n";
                        else
                        {
                            var rcpt = ExtractAddr(args[(colon + 1)..]);
                            reply = cfg.SoftBounce ? Soften(rcptReply) : rcptReply;
                            Msg.Info($"NOQUEUE: reject: RCPT from {Who}: {reply[..^2]}; from=<{LogAddr(cfg, sender)}>, to=<{LogAddr(cfg, rcpt)}>, proto={protocol}, helo=<{helo ?? ""}>");
                        }
                        break;
                    case "DATA":
                        Msg.Info($"DATA without valid RCPT from {Who}");
                        Drop(firstArg != null ? "501 5.5.4 Syntax: DATA\r\n"
                            : sender == null ? "503 5.5.1 Error: need RCPT command\r\n"
                            : "554 5.5.1 Error: no valid recipients\r\n");
                        return;
                    case "BDAT":
                        Msg.Info($"BDAT without valid RCPT from {Who}");
                        Drop(cfg.ChunkingDiscarded ? "502 5.5.1 Error: command not implemented\r\n"
                            : firstArg == null ? "501 5.5.4 Syntax: BDAT count [LAST]\r\n"
                            : sender == null ? "554 5.5.1 Error: need MAIL command\r\n"
                            : "554 5.5.1 Error: no valid recipients\r\n");
                        return;
                    case "RSET":
                        sender = null;
                        reply = "250 2.0.0 Ok\r\n";
                        break;
                    case "NOOP":
                        reply = "250 2.0.0 Ok\r\n";
                        break;
                    case "VRFY":
                        reply = firstArg == null ? "501 5.5.4 Syntax: VRFY address\r\n"
                            : cfg.DisableVrfy ? "502 5.5.1 VRFY command is disabled\r\n" : rcptReply;
                        break;
                    case "ETRN":
                        reply = cfg.HeloRequired && helo == null ? "503 5.5.1 Error: send HELO/EHLO first\r\n"
                            : firstArg == null ? "500 Syntax: ETRN domain\r\n" : "458 Unable to queue messages\r\n";
                        break;
                    default: // QUIT
                        Drop("221 2.0.0 Bye\r\n");
                        return;
                }
            }
            if (!Send(reply))
            {
                HangupEvent();
                return;
            }
        }
    }

    private static string LogAddr(PscSmtpdSettings cfg, string addr) =>
        addr.Length == 0 || cfg.LogAddrInternal ? addr : Postfix.Global.Address.Quote822.Local(addr);

    private static string? NextToken(string args)
    {
        foreach (var t in args.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            return t;
        return null;
    }

    // ExtractAddr - psc_extract_addr(): <addr> or a bare word, quotes and
    // backslashes removed, a source route dropped.
    private static string ExtractAddr(string text)
    {
        var s = text.AsSpan().TrimStart(' ');
        char stop = ' ';
        if (s.Length > 0 && s[0] == '<')
        {
            s = s[1..];
            stop = '>';
        }
        var sb = new StringBuilder();
        bool inQuote = false;
        for (int i = 0; i < s.Length; i++)
        {
            var c = s[i];
            if (!inQuote && c == stop)
                break;
            if (c == '"')
                inQuote = !inQuote;
            else
            {
                if (c == '\\' && ++i >= s.Length)
                    break;
                sb.Append(s[i]);
            }
        }
        var addr = sb.ToString();
        int colon;
        if (addr.StartsWith('@') && (colon = addr.IndexOf(':')) >= 0)
            addr = addr[(colon + 1)..];
        return addr;
    }

    private static string Soften(string reply)
    {
        var c = reply.ToCharArray();
        if (c[0] == '5')
            c[0] = '4';
        if (c.Length > 4 && c[4] == '5')
            c[4] = '4';
        return new string(c);
    }
}
