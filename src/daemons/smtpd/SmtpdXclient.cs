// NAME
//	SmtpdXclient - the XCLIENT and XFORWARD commands
// POSTFIX
//	src/smtpd/smtpd.c (xclient_cmd, xforward_cmd), smtpd_xforward.c,
//	src/global/normalize_mailhost_addr.c
// DESCRIPTION
//	XCLIENT (smtpd_authorized_xclient_hosts) replaces this session's
//	client attributes and restarts the session with a new greeting.
//	XFORWARD (smtpd_authorized_xforward_hosts) records an up-stream
//	client's attributes for logging and for the queue file.
using System;
using System.Collections.Generic;
using System.Net;
using System.Net.Sockets;

namespace Postfix.Daemons.Smtpd;

// SmtpdRestart - XCLIENT: start over with the new client attributes.
internal sealed class SmtpdRestart : Exception
{
    public SmtpdRestart() : base("xclient restart")
    {
    }
}

internal sealed partial class SmtpdSession
{
    private const string Unavailable = "[UNAVAILABLE]", TempUnavailable = "[TEMPUNAVAIL]";

    // NormalizeMailhostAddr - normalize_mailhost_addr(): false when the
    // text is not an address this process can handle.
    public bool NormalizeMailhostAddr(string text, out string rfcAddr, out string bareAddr, out int family)
    {
        rfcAddr = bareAddr = "";
        family = 0;
        var bare = text.StartsWith("IPv6:", StringComparison.OrdinalIgnoreCase) ? text[5..] : text;
        if (!IPAddress.TryParse(bare, out var ip))
            return false;
        if (ip.AddressFamily == AddressFamily.InterNetwork && bare.Split('.').Length != 4)
            return false;
        if (ip.AddressFamily == AddressFamily.InterNetworkV6 && !bare.Contains(':'))
            return false;
        if (ip.AddressFamily == AddressFamily.InterNetworkV6 && ip.IsIPv4MappedToIPv6 && Proc.Ipv4Enabled)
            ip = ip.MapToIPv4();
        if (ip.AddressFamily == AddressFamily.InterNetwork && !Proc.Ipv4Enabled
            || ip.AddressFamily == AddressFamily.InterNetworkV6 && !Proc.Ipv6Enabled)
            return false;
        bareAddr = ip.ToString();
        if (ip.AddressFamily == AddressFamily.InterNetworkV6)
        {
            rfcAddr = "IPv6:" + bareAddr;
            family = SmtpdPeer.AfInet6;
        }
        else
        {
            rfcAddr = bareAddr;
            family = SmtpdPeer.AfInet;
        }
        return true;
    }

    private static bool ValidPort(string v) => AllDigits(v) && v.Length <= 5;

    private int AttrSyntax(string attrName, string raw, out string value)
    {
        value = "";
        var eq = attrName.IndexOf('=');
        if (eq < 0 || eq == attrName.Length - 1)
            return Refuse(MailErrorProtocol, "501 5.5.4 Error: attribute=value expected");
        var rawValue = attrName[(eq + 1)..];
        if (rawValue.Length > 255)
            return Refuse(MailErrorProtocol, "501 5.5.4 Error: attribute value too long");
        value = Postfix.Util.Msg.Printable(XtextUnquote(rawValue) ?? rawValue);
        return 0;
    }

    // XcommandRefused - what XCLIENT and XFORWARD check before their
    // attributes: true after the error reply.
    private bool XcommandRefused(List<SmtpdToken> argv, string command, bool hostsLookupError, bool allowed)
    {
        if (InMailTransaction)
            Refuse(MailErrorProtocol, "503 5.5.1 Error: MAIL transaction in progress");
        else if (argv.Count < 2)
            Refuse(MailErrorProtocol, $"501 5.5.4 Syntax: {command} attribute=value...");
        else
        {
            if (hostsLookupError)
                CantPermitCommand(command);
            if (allowed)
                return false;
            Refuse(MailErrorPolicy, "550 5.7.0 Error: insufficient authorization");
        }
        return true;
    }

    // BadAttr - the reply to an attribute value of the wrong syntax.
    private int BadAttr(string attr, string value) => Refuse(MailErrorProtocol, $"501 5.5.4 Bad {attr} syntax: {value}");

    // PortAttr - a port attribute ("unknown" when unavailable); false
    // after the error reply.
    private bool PortAttr(string attr, ref string value)
    {
        if (value.Equals(Unavailable, StringComparison.OrdinalIgnoreCase))
            value = "unknown";
        else if (!ValidPort(value))
        {
            BadAttr(attr, value);
            return false;
        }
        return true;
    }

    // AddrAttr - an address attribute, neutered and normalized; false
    // after the error reply.
    private bool AddrAttr(string attr, string value, out string rfcAddr, out string bareAddr, out int family)
    {
        value = NeuterOnly(value);
        if (NormalizeMailhostAddr(value, out rfcAddr, out bareAddr, out family))
            return true;
        BadAttr(attr, value);
        return false;
    }

    private static bool ValidHostname(string value) => Postfix.Global.Bounce.MailParamsCheck.ValidHostname(value, false);

    private int XclientCmd(List<SmtpdToken> argv)
    {
        var updateNamAddr = false;
        var gotHelo = false;
        var gotProto = false;
        var gotLogin = false;
        if (XcommandRefused(argv, "XCLIENT", Config.XclientHosts.Error, XclientAllowed))
            return -1;
        string? login = null;
        for (var i = 1; i < argv.Count; i++)
        {
            var token = argv[i].Text;
            if (AttrSyntax(token, token, out var value) < 0)
                return -1;
            var name = token[..token.IndexOf('=')];
            if (name.Equals("NAME", StringComparison.OrdinalIgnoreCase))
            {
                var status = PeerCode(value);
                if (status != SmtpdPeer.CodeOk)
                {
                    value = "unknown";
                }
                else if (!ValidHostname(value))
                    return BadAttr("NAME", value);
                NameStatus = status;
                Name = value;
                updateNamAddr = true;
                if (status == SmtpdPeer.CodeOk)
                {
                    ReverseName = value;
                    ReverseNameStatus = status;
                }
            }
            else if (name.Equals("REVERSE_NAME", StringComparison.OrdinalIgnoreCase))
            {
                var status = PeerCode(value);
                if (status != SmtpdPeer.CodeOk)
                {
                    value = "unknown";
                }
                else if (!ValidHostname(value))
                    return BadAttr("REVERSE_NAME", value);
                ReverseNameStatus = status;
                ReverseName = value;
            }
            else if (name.Equals("ADDR", StringComparison.OrdinalIgnoreCase))
            {
                if (value.Equals(Unavailable, StringComparison.OrdinalIgnoreCase))
                {
                    Addr = "unknown";
                    RfcAddr = "unknown";
                }
                else
                {
                    if (!AddrAttr("ADDR", value, out var rfc, out var bare, out var family))
                        return -1;
                    RfcAddr = rfc;
                    Addr = bare;
                    AddrFamily = family;
                }
                updateNamAddr = true;
            }
            else if (name.Equals("PORT", StringComparison.OrdinalIgnoreCase))
            {
                if (!PortAttr("PORT", ref value))
                    return -1;
                Port = value;
                updateNamAddr = true;
            }
            else if (name.Equals("HELO", StringComparison.OrdinalIgnoreCase))
            {
                if (value.Equals(Unavailable, StringComparison.OrdinalIgnoreCase))
                {
                    HeloName = null;
                }
                else
                {
                    if (value.Length > 255)
                        return BadAttr("HELO", value);
                    HeloName = NeuterOnly(value);
                }
                gotHelo = true;
            }
            else if (name.Equals("PROTO", StringComparison.OrdinalIgnoreCase))
            {
                if (!value.Equals("SMTP", StringComparison.OrdinalIgnoreCase)
                    && !value.Equals("ESMTP", StringComparison.OrdinalIgnoreCase))
                    return BadAttr("PROTO", value);
                Protocol = value.ToUpperInvariant();
                gotProto = true;
            }
            else if (name.Equals("LOGIN", StringComparison.OrdinalIgnoreCase))
            {
                if (!value.Equals(Unavailable, StringComparison.OrdinalIgnoreCase))
                {
                    login = value;
                    SaslAuthExternal(value, "XCLIENT");
                    gotLogin = true;
                }
            }
            else if (name.Equals("DESTADDR", StringComparison.OrdinalIgnoreCase))
            {
                if (value.Equals(Unavailable, StringComparison.OrdinalIgnoreCase))
                {
                    DestAddr = "unknown";
                }
                else
                {
                    if (!AddrAttr("DESTADDR", value, out _, out var bare, out _))
                        return -1;
                    DestAddr = bare;
                }
            }
            else if (name.Equals("DESTPORT", StringComparison.OrdinalIgnoreCase))
            {
                if (!PortAttr("DESTPORT", ref value))
                    return -1;
                DestPort = value;
            }
            else
                return Refuse(MailErrorProtocol, $"501 5.5.4 Bad XCLIENT attribute name: {name}");
        }
        if (updateNamAddr)
            NamAddr = SmtpdPeer.BuildNamAddr(Name, Addr, Port, Config.PortLogging);
        XclientAllowed = Config.XclientHosts.MatchHost(Name, Addr);
        Io.DetectBareLf = !StandAlone && Config.BareLfMask != 0 && !Config.BareLfExclusions.MatchHost(Name, Addr)
            ? Config.BareLfMask : 0;
        if (!gotHelo)
            HeloReset();
        if (!gotProto && !string.Equals(Protocol, "SMTP", StringComparison.OrdinalIgnoreCase))
            Protocol = "SMTP";
        if (!gotLogin)
            SaslAuthReset();
        SaslReactivate(gotLogin ? login : null);
        ChatReset(0);
        MailReset();
        RcptReset();
        Milters?.DisconnectEvent();
        TeardownMilters();
        SetupMilters();
        throw new SmtpdRestart();
    }

    private static int PeerCode(string value) =>
        value.Equals(Unavailable, StringComparison.OrdinalIgnoreCase) ? SmtpdPeer.CodePerm
        : value.Equals(TempUnavailable, StringComparison.OrdinalIgnoreCase) ? SmtpdPeer.CodeTemp
        : SmtpdPeer.CodeOk;

    private static string NeuterOnly(string s)
    {
        var chars = s.ToCharArray();
        for (var i = 0; i < chars.Length; i++)
        {
            if (NeuterCharacters.Contains(chars[i]))
                chars[i] = '?';
        }
        return new string(chars);
    }

    private void CantPermitCommand(string command)
    {
        Postfix.Util.Msg.Warn($"don't know if command {command} should be allowed from {NamAddr}");
        throw new SmtpdJump(SmtpdJump.DataError);
    }

    private int XforwardCmd(List<SmtpdToken> argv)
    {
        var updated = 0;
        if (XcommandRefused(argv, "XFORWARD", Config.XforwardHosts.Error, XforwardAllowed))
            return -1;
        var x = Xforward;
        if (x.Flags == 0)
        {
            x.Flags = XforwardInit;
            x.Name = x.Addr = x.Port = x.NamAddr = x.RfcAddr = x.Protocol = "unknown";
        }
        for (var i = 1; i < argv.Count; i++)
        {
            var token = argv[i].Text;
            if (AttrSyntax(token, token, out var value) < 0)
                return -1;
            var name = token[..token.IndexOf('=')].ToUpperInvariant();
            int flag;
            switch (name)
            {
                case "NAME":
                    flag = XforwardName;
                    if (value.Equals(Unavailable, StringComparison.OrdinalIgnoreCase))
                    {
                        value = "unknown";
                    }
                    else
                    {
                        value = NeuterOnly(value);
                        if (!ValidHostname(value))
                            return BadAttr("NAME", value);
                    }
                    x.Name = value;
                    break;
                case "ADDR":
                    flag = XforwardAddr;
                    if (value.Equals(Unavailable, StringComparison.OrdinalIgnoreCase))
                    {
                        x.Addr = "unknown";
                    }
                    else
                    {
                        if (!AddrAttr("ADDR", value, out var rfc, out var bare, out _))
                            return -1;
                        x.RfcAddr = rfc;
                        x.Addr = bare;
                    }
                    break;
                case "PORT":
                    flag = XforwardPort;
                    if (!PortAttr("PORT", ref value))
                        return -1;
                    x.Port = value;
                    break;
                case "HELO":
                    flag = XforwardHelo;
                    x.HeloName = value.Equals(Unavailable, StringComparison.OrdinalIgnoreCase) ? null : NeuterOnly(value);
                    break;
                case "PROTO":
                    flag = XforwardProto;
                    if (value.Equals(Unavailable, StringComparison.OrdinalIgnoreCase))
                    {
                        value = "unknown";
                    }
                    else
                    {
                        if (value.Length > 64)
                            return BadAttr("PROTO", value);
                        value = NeuterOnly(value);
                    }
                    x.Protocol = value;
                    break;
                case "IDENT":
                    flag = XforwardIdent;
                    x.Ident = value.Equals(Unavailable, StringComparison.OrdinalIgnoreCase) ? null : NeuterOnly(value);
                    break;
                case "SOURCE":
                    flag = XforwardDomain;
                    if (value.Equals(Unavailable, StringComparison.OrdinalIgnoreCase))
                        value = "LOCAL";
                    if (value.Equals("LOCAL", StringComparison.OrdinalIgnoreCase))
                    {
                        x.Domain = "local";
                    }
                    else if (value.Equals("REMOTE", StringComparison.OrdinalIgnoreCase))
                    {
                        x.Domain = "remote";
                    }
                    else
                        return BadAttr("SOURCE", value);
                    break;
                default:
                    return Refuse(MailErrorProtocol, $"501 5.5.4 Bad XFORWARD attribute name: {token[..token.IndexOf('=')]}");
            }
            updated |= flag;
        }
        x.Flags |= updated;
        if ((updated & (XforwardName | XforwardAddr | XforwardPort)) != 0)
            x.NamAddr = x.Addr != "unknown" ? SmtpdPeer.BuildNamAddr(x.Name ?? "unknown", x.Addr!, x.Port ?? "unknown", Config.PortLogging) : x.Name;
        Reply("250 2.0.0 Ok");
        return 0;
    }
}
