// NAME
//	SmtpdSasl - SMTP AUTH for smtpd
// POSTFIX
//	src/smtpd/smtpd_sasl_glue.c, smtpd_sasl_proto.c, smtpd.c
//	(smtpd_sasl_auth_cmd_wrapper, sasl_client_exception),
//	src/global/sasl_mech_filter.c
// DESCRIPTION
//	The process opens the SASL back-end once (smtpd_sasl_type,
//	smtpd_sasl_path); a session activates a SASL server object with
//	the plaintext or TLS security options, announces the filtered
//	mechanism list in EHLO, runs the AUTH exchange (334 challenges,
//	"*" to abort, the response length limit) with the reference's
//	replies and log lines, and remembers the authenticated user.
using System;
using System.Collections.Generic;
using System.Text;
using Postfix.Util;
using Postfix.Xsasl;

namespace Postfix.Daemons.Smtpd;

internal sealed partial class SmtpdSession
{
    private XsaslServer? saslServer;
    private string? saslMechanisms;

    public bool SaslIsActive => saslServer != null;

    public string SaslMechanismList => saslMechanisms ?? "";

    // SaslClientException - sasl_client_exception(): no AUTH in EHLO.
    private bool SaslClientException()
    {
        var list = Proc.SaslExceptions;
        if (list == null)
            return false;
        var match = list.MatchHost(Name, Addr);
        if (Msg.Verbose > 0)
            Msg.Info($"sasl_exceptions: {NamAddr}, match={(match ? 1 : 0)}");
        return match;
    }

    // SaslActivate - smtpd_sasl_activate().
    private void SaslActivate(bool tls)
    {
        var impl = Proc.SaslImpl!;
        var args = new XsaslServerArgs
        {
            Service = Proc.SaslService,
            UserRealm = Proc.SaslRealm.Length > 0 ? Proc.SaslRealm : null,
            SecurityOptions = tls ? Proc.SaslTlsOptions : Proc.SaslOptions,
            ClientAddr = Addr == "unknown" ? "" : Addr,
            ClientPort = Port == "unknown" ? "" : Port,
            ServerAddr = DestAddr == "unknown" ? "" : DestAddr,
            ServerPort = DestPort == "unknown" ? "" : DestPort,
            TlsActive = tls,
            TlsPeerCertFingerprint = Tls?.PeerCertFingerprint is { Length: > 0 } f ? f : null,
        };
        saslServer = impl.Create(args);
        if (saslServer == null)
            Msg.Fatal("SASL per-connection initialization failed");
        var mechanisms = saslServer.MechanismList;
        if (string.IsNullOrEmpty(mechanisms))
            Msg.Fatal("no SASL authentication mechanisms");
        var filtered = SaslMechFilter(mechanisms);
        if (filtered.Length == 0)
            Msg.Fatal($"smtpd_sasl_mechanism_filter discards all mechanisms in '{mechanisms}'");
        saslMechanisms = filtered;
        SaslActive = true;
    }

    private string SaslMechFilter(string words)
    {
        var filter = Proc.SaslMechFilter;
        if (filter == null || words.Length == 0)
            return words;
        var sb = new StringBuilder();
        foreach (var mech in words.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries))
        {
            if (filter.MatchString(mech))
            {
                if (sb.Length > 0)
                    sb.Append(' ');
                sb.Append(mech);
            }
            else if (filter.Error)
            {
                Msg.Fatal($"sasl_mech_filter: SASL mechanism filter failed for: '{mech}'");
            }
        }
        return sb.ToString();
    }

    // SaslDeactivate - smtpd_sasl_deactivate().
    private void SaslDeactivate()
    {
        saslMechanisms = null;
        SaslUsername = null;
        SaslMethod = null;
        SaslSender = null;
        saslServer?.Dispose();
        saslServer = null;
        SaslActive = false;
    }

    // SaslActivateIfPlaintext - at the start of a session.
    private void SaslActivateIfPlaintext()
    {
        if (Proc.SaslEnable && !SaslIsActive && Tls == null && !Proc.TlsAuthOnly)
            SaslActivate(false);
    }

    // SaslAfterTls - after the TLS handshake: the TLS security options.
    private void SaslAfterTls()
    {
        if (!Proc.SaslEnable)
            return;
        if (SaslIsActive)
        {
            SaslAuthReset();
            SaslDeactivate();
        }
        if (!SaslIsActive)
            SaslActivate(true);
    }

    // SaslReset - at the end of a session.
    private void SaslReset()
    {
        SaslAuthReset();
        if (SaslIsActive)
            SaslDeactivate();
    }

    // SaslAuthReset - smtpd_sasl_auth_reset(): forget the login.
    private void SaslAuthReset()
    {
        SaslUsername = null;
        SaslMethod = null;
    }

    // SaslAuthExternal - smtpd_sasl_auth_extern(): XCLIENT LOGIN.
    private void SaslAuthExternal(string user, string method)
    {
        SaslUsername = Msg.Printable(user);
        SaslMethod = method;
    }

    // SaslReactivate - XCLIENT: new security context, same login.
    private void SaslReactivate(string? login)
    {
        if (!SaslIsActive)
            return;
        var username = login != null ? SaslUsername : null;
        SaslDeactivate();
        SaslActivate(Tls != null);
        if (login != null && username != null)
            SaslAuthExternal(username, "XCLIENT");
    }

    // SaslMailOpt - smtpd_sasl_mail_opt(): MAIL FROM AUTH=.
    private string? SaslMailOpt(string addr)
    {
        if (SaslSender != null)
        {
            ErrorMask |= MailErrorProtocol;
            return "503 5.5.4 Error: multiple AUTH= options";
        }
        if (addr != "<>")
            SaslSender = Msg.Printable(addr);
        return null;
    }

    // AuthCmd - smtpd_sasl_auth_cmd_wrapper() and smtpd_sasl_auth_cmd().
    private int AuthCmd(List<SmtpdToken> argv)
    {
        string? err;
        if (!StandAlone && !XclientAllowed && Proc.Anvil != null && Config.AuthRateLimit > 0 && !HoggerMatch()
            && Proc.Anvil.Auth(Service, Addr, out var rate) && rate > Config.AuthRateLimit)
        {
            ErrorMask |= MailErrorPolicy;
            Msg.Warn($"AUTH command rate limit exceeded: {rate} from {NamAddr} for service {Service}");
            Reply($"450 4.7.1 Error: too many AUTH commands from {Addr}");
            return -1;
        }
        if (Config.HeloRequired && HeloName == null)
            return Refuse(MailErrorPolicy, "503 5.5.1 Error: send HELO/EHLO first");
        if (StandAlone || !SaslIsActive || (EhloDiscardMask & EhloMask.Auth) != 0)
            return Refuse(MailErrorProtocol, "503 5.5.1 Error: authentication not enabled");
        if (InMailTransaction)
            return Refuse(MailErrorProtocol, "503 5.5.1 Error: MAIL transaction in progress");
        if (Milters != null && (err = Milters.OtherEvent()) != null)
        {
            if (err[0] == '5')
                return Refuse(MailErrorPolicy, err);
            if (err[0] == '4')
                return Refuse(MailErrorPolicy, "454 4.3.0 Try again later");
        }
        if (Proc.TlsAuthOnly && Tls == null)
            return Refuse(MailErrorProtocol, "504 5.5.4 Encryption required for requested authentication mechanism");
        if (SaslUsername != null)
            return Refuse(MailErrorProtocol, "503 5.5.1 Error: already authenticated");
        if (argv.Count < 2 || argv.Count > 3)
            return Refuse(MailErrorProtocol, "501 5.5.4 Syntax: AUTH mechanism");
        if ((Flags & FlagAuthUsed) != 0)
        {
            SaslDeactivate();
            SaslActivate(Tls != null);
        }
        else if (Proc.SaslType == "cyrus")
        {
            Flags |= FlagAuthUsed;
        }
        return SaslAuthenticate(argv[1].Text, argv.Count == 3 ? argv[2].Text : null);
    }

    // SaslAuthenticate - smtpd_sasl_authenticate().
    private int SaslAuthenticate(string method, string? initialResponse)
    {
        var server = saslServer!;
        var status = server.First(method, initialResponse, out var reply);
        while (status == XsaslStatus.More)
        {
            Reply("334 " + reply);
            var last = Io.GetLine(Buffer, Proc.SaslResponseLimit, skip: true);
            var text = DecodeLine(Buffer.Span);
            ChatAppend("In:  ", text);
            if (last != '\n')
            {
                Msg.Warn($"{NamAddr}: request longer than {Proc.SaslResponseLimit}: {Trunc(Msg.Printable(text), 30)}...");
                Reply("500 5.5.6 SASL response limit exceeded");
                return -1;
            }
            if (text == "*")
            {
                Msg.Warn($"{NamAddr}: SASL {method} authentication aborted");
                Reply("501 5.7.0 Authentication aborted");
                return -1;
            }
            status = server.Next(text, out reply);
        }
        if (status != XsaslStatus.Done)
        {
            var reason = reply.Length > 0 ? reply : "(reason unavailable)";
            var user = server.Username;
            Msg.Warn($"{NamAddr}: SASL {Trunc(method, 100)} authentication failed: {reason}, sasl_username={Trunc(user ?? "(unavailable)", 100)}");
            if (status == XsaslStatus.Temp)
                Reply($"454 4.7.0 Temporary authentication failure: {reason}");
            else
                Reply($"535 5.7.8 Error: authentication failed: {reason}");
            return -1;
        }
        Reply("235 2.7.0 Authentication successful");
        var username = server.Username;
        if (username == null)
            Msg.Panic("cannot look up the authenticated SASL username");
        SaslUsername = Msg.Printable(username!);
        SaslMethod = Msg.Printable(method);
        return 0;
    }
}
