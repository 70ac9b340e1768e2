// NAME
//	SmtpdMilterMacros - the Sendmail macros smtpd gives its milters
// POSTFIX
//	src/smtpd/smtpd_milter.c, smtpd_resolve.c
// DESCRIPTION
//	MilterMacro() answers a macro name in the "{name}" form with the
//	session's value ({client_addr}, {i}, {auth_authen}, {rcpt_addr},
//	...), or null when the macro has no value. Sender and recipient
//	macros resolve the address through trivial-rewrite, as the
//	reference does.
using System;
using Postfix.Global.Address;
using Postfix.Global.Attr;

namespace Postfix.Daemons.Smtpd;

internal sealed partial class SmtpdSession
{
    private string? MilterMacro(string name)
    {
        switch (name)
        {
            case "{daemon_name}":
                return Proc.MilterDaemonName;
            case "{v}":
                return Proc.MilterV;
            case "{_}":
            {
                var s = $"{ReverseName} [{Addr}]";
                if (!string.Equals(Name, ReverseName, StringComparison.OrdinalIgnoreCase))
                    s += " (may be forged)";
                return s;
            }
            case "{j}":
                return Config.MyHostname;
            case "{client_addr}":
                return RfcAddr;
            case "{client_port}":
                return Port != "unknown" ? Port : "0";
            case "{client_connections}":
                return ConnCount.ToString(System.Globalization.CultureInfo.InvariantCulture);
            case "{client_name}":
                return Name;
            case "{client_ptr}":
                return ReverseName;
            case "{client_resolve}":
                return NameStatus == SmtpdPeer.CodeOk ? "OK" : NameStatus == SmtpdPeer.CodeForged ? "FORGED"
                    : NameStatus == SmtpdPeer.CodeTemp ? "TEMP" : "FAIL";
            case "{daemon_addr}":
                return DestAddr;
            case "{daemon_port}":
                return DestPort;
            case "{tls_version}":
                return Tls?.Protocol;
            case "{cipher}":
                return Tls?.CipherName;
            case "{cipher_bits}":
                return Tls?.CipherUseBits.ToString(System.Globalization.CultureInfo.InvariantCulture);
            case "{cert_subject}":
                return Tls is { PeerCertTrusted: true } ? Tls.PeerCN : null;
            case "{cert_issuer}":
                return Tls is { PeerCertTrusted: true } ? Tls.IssuerCN : null;
            case "{i}":
                return QueueId;
            case "{auth_type}":
                return SaslMethod;
            case "{auth_authen}":
                return SaslUsername;
            case "{auth_author}":
                return SaslSender;
            case "{mail_addr}":
            {
                if (Sender == null)
                    return null;
                if (Sender.Length == 0)
                    return "";
                var r = ResolveAddr(Recipient, Sender);
                return r.Recipient.Length > 0 ? Quote822.Local(r.Recipient) : r.Recipient;
            }
            case "{mail_host}":
                return Sender == null ? null : ResolveAddr(Recipient, Sender).Nexthop;
            case "{mail_mailer}":
                return Sender == null ? null : ResolveAddr(Recipient, Sender).Transport;
            case "{rcpt_addr}":
            {
                if (Recipient == null)
                    return null;
                if (Recipient.Length == 0)
                    return "";
                if (MilterRejectText != null)
                {
                    // "554 5.7.1 <user@example.com>: Relay access denied"
                    var rest = MilterRejectText.Length > 4 ? MilterRejectText[4..] : "";
                    var sp = rest.IndexOf(' ');
                    if (sp < 0)
                        return null;
                    var after = rest[(sp + 1)..];
                    var sp2 = after.IndexOf(' ');
                    return sp2 < 0 ? null : after[(sp2 + 1)..];
                }
                var r = ResolveAddr(Sender, Recipient);
                return r.Recipient.Length > 0 ? Quote822.Local(r.Recipient) : r.Recipient;
            }
            case "{rcpt_host}":
            {
                if (Recipient == null)
                    return null;
                if (MilterRejectText != null)
                {
                    var rest = MilterRejectText.Length > 4 ? MilterRejectText[4..] : "";
                    var sp = rest.IndexOf(' ');
                    return sp < 0 ? rest : rest[..sp];
                }
                return ResolveAddr(Sender, Recipient).Nexthop;
            }
            case "{rcpt_mailer}":
                if (Recipient == null)
                    return null;
                if (MilterRejectText != null)
                    return "error";
                return ResolveAddr(Sender, Recipient).Transport;
        }
        return null;
    }

    // ResolveAddr - smtpd_resolve_addr(): rewrite both addresses in the
    // local context, resolve, fold the recipient's case.
    private ResolveReply ResolveAddr(string? sender, string addr) => Proc.ResolveAddr(sender ?? "", addr);
}
