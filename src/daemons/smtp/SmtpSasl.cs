// NAME
//	SmtpSasl - SASL authentication of the SMTP/LMTP client
// POSTFIX
//	src/smtp/smtp_sasl_proto.c (smtp_sasl_helo_login),
//	src/smtp/smtp_sasl_glue.c (smtp_sasl_passwd_lookup,
//	smtp_sasl_authenticate), src/xsasl/xsasl_cyrus_client.c
// DESCRIPTION
//	With smtp_sasl_auth_enable and a server that offers AUTH, the
//	credentials ("username:password") are looked up in
//	smtp_sasl_password_maps by the server's host name, then by the
//	next-hop destination as written. Without credentials the client
//	goes on unauthenticated. The mechanisms are PLAIN (with an initial
//	response) and LOGIN, offered by the server and passed by
//	smtp_sasl_mechanism_filter; "noplaintext" in
//	smtp_sasl_security_options (smtp_sasl_tls_security_options inside
//	TLS) rules out both, as the reference's Cyrus library does. A
//	refused authentication defers (or bounces, without
//	smtp_sasl_auth_soft_bounce) every recipient with the reference's
//	"SASL authentication failed; ..." texts.
using System;
using System.Collections.Generic;
using System.Text;
using Postfix.Global.Deliver;
using Postfix.Global.Dict;
using Postfix.Util;

namespace Postfix.Daemons.Smtp;

internal sealed class SmtpSaslSettings
{
    public bool Enable { get; init; }
    public Maps? PasswordMaps { get; init; }
    public Func<string, string?>? Lookup { get; init; }
    public string SecurityOptions { get; init; } = "noplaintext, noanonymous";
    public string TlsSecurityOptions { get; init; } = "noplaintext, noanonymous";
    public string[] MechanismFilter { get; init; } = Array.Empty<string>();
    public bool AuthSoftBounce { get; init; } = true;

    public string? Find(string key)
    {
        if (Lookup != null)
            return Lookup(key);
        return PasswordMaps?.Find(key);
    }
}

internal static class SmtpSasl
{
    private static readonly char[] Blanks = { ' ', '\t', ',', '\n' };

    // Mechanisms - the AUTH keyword's mechanisms (upper case).
    public static List<string> Mechanisms(string ehloText)
    {
        var list = new List<string>();
        foreach (var rawLine in ehloText.Split('\n'))
        {
            var line = rawLine.Length > 4 ? rawLine[4..] : "";
            var words = line.Split(Blanks, StringSplitOptions.RemoveEmptyEntries);
            if (words.Length > 0 && (words[0].Equals("AUTH", StringComparison.OrdinalIgnoreCase)
                || words[0].StartsWith("AUTH=", StringComparison.OrdinalIgnoreCase)))
            {
                if (words[0].Length > 5)
                    words[0] = words[0][5..];
                else
                    words[0] = "";
                foreach (var w in words)
                    if (w.Length > 0 && !list.Contains(w.ToUpperInvariant()))
                        list.Add(w.ToUpperInvariant());
            }
        }
        return list;
    }

    private static string B64(string s) => Convert.ToBase64String(Encoding.UTF8.GetBytes(s));

    // HaveCredentials - HAVE_SASL_CREDENTIALS: a password for this
    // server (sender, host or next hop, as Login looks them up).
    public static bool HaveCredentials(SmtpState state, SmtpSessionInfo session, SmtpSaslSettings sasl, string dest)
    {
        if (sasl.PasswordMaps == null && sasl.Lookup == null)
            return false;
        var sender = state.Request.Sender;
        if (state.Settings.SenderDependentAuth && sender.Length > 0 && sasl.PasswordMaps != null
            && AccessSearch.MailAddrFind(sasl.PasswordMaps, sender, out _, state.Settings.AddrOptions) != null)
            return true;
        return sasl.Find(session.Host) != null || sasl.Find(dest) != null;
    }

    // Login - smtp_sasl_helo_login(); 0 to go on, -1 after a failure.
    public static int Login(SmtpState state, SmtpChat chat, SmtpSessionInfo session, SmtpSaslSettings sasl,
        string ehloText, string dest, bool inTls)
    {
        sasl.PasswordMaps?.ClearError();
        string? value = null;
        var sender = state.Request.Sender;
        if (state.Settings.SenderDependentAuth && sender.Length > 0 && sasl.PasswordMaps != null)
            value = AccessSearch.MailAddrFind(sasl.PasswordMaps, sender, out _, state.Settings.AddrOptions);
        if (value == null && sasl.PasswordMaps is not { Error: not DictError.None })
            value = sasl.Find(session.Host);
        if (value == null && sasl.PasswordMaps is not { Error: not DictError.None })
            value = sasl.Find(dest);
        if (value == null && sasl.PasswordMaps is { Error: not DictError.None } maps)
        {
            Msg.Warn($"{state.Request.QueueId}: {maps.Title} lookup error");
            return state.StreamExcept(SmtpStreamError.Data, "");
        }
        if (value == null)
        {
            session.Features &= ~SmtpFeatures.Auth;
            return 0;
        }
        var colon = value.IndexOf(':');
        var user = colon >= 0 ? value[..colon] : value;
        var pass = colon >= 0 ? value[(colon + 1)..] : "";
        var offered = Mechanisms(ehloText);
        if (sasl.MechanismFilter.Length > 0)
            offered = offered.FindAll(m => Array.Exists(sasl.MechanismFilter, f => f.Equals(m, StringComparison.OrdinalIgnoreCase)));
        var why = state.Why;
        if (offered.Count == 0)
        {
            why.Simple("4.7.0", "SASL authentication failed: server " + session.NamAddr
                + " offered no compatible authentication mechanisms for this type of connection security");
            return state.SessFail();
        }
        var options = (inTls ? sasl.TlsSecurityOptions : sasl.SecurityOptions).ToLowerInvariant();
        var plaintextOk = !options.Contains("noplaintext", StringComparison.Ordinal);
        var mechanism = plaintextOk ? offered.Contains("PLAIN") ? "PLAIN" : offered.Contains("LOGIN") ? "LOGIN" : null : null;
        if (mechanism == null)
        {
            why.Update("4.7.0", null, null, null, DsnBuf.DtypeSasl, "no mechanism available",
                $"SASL authentication failed; cannot authenticate to server {session.NamAddr}: no mechanism available");
            return state.SessFail();
        }
        SmtpResponse resp;
        try
        {
            if (mechanism == "PLAIN")
            {
                chat.Command("AUTH PLAIN " + B64($"\0{user}\0{pass}"));
                resp = chat.Response();
            }
            else
            {
                chat.Command("AUTH LOGIN");
                resp = chat.Response();
                var step = 0;
                while (resp.Code / 100 == 3)
                {
                    if (++step > 100)
                    {
                        why.Simple("4.3.0", $"SASL authentication failed; authentication protocol loop with server {session.NamAddr}");
                        return state.SessFail();
                    }
                    chat.Command(step == 1 ? B64(user) : B64(pass));
                    resp = chat.Response();
                }
            }
        }
        catch (SmtpStreamException e)
        {
            return state.StreamExcept(e.Error, "performing the EHLO handshake");
        }
        if (resp.Code / 100 != 2)
        {
            var dsn = sasl.AuthSoftBounce && resp.Code / 100 == 5 ? "4" + resp.Dsn[1..] : resp.Dsn;
            why.Update(dsn, null, DsnBuf.MtypeDns, session.Host, "smtp", resp.Text,
                $"SASL authentication failed; server {session.NamAddr} said: {resp.Text}");
            return state.SessFail();
        }
        return 0;
    }
}
