// NAME
//	XsaslServer - the SMTP server's SASL back-end (smtpd_sasl_type)
// POSTFIX
//	src/xsasl/xsasl.h, xsasl_server.c
// DESCRIPTION
//	Init(type, path) once per process (xsasl_server_init: type "dovecot"
//	talks to Dovecot's auth socket at path; any other type is refused
//	with the reference's warning); Create() once per SMTP session;
//	First/Next run one AUTH exchange. Reply texts and status values are
//	the reference's (XSASL_AUTH_*). The Dovecot back-end is in
//	DovecotServer.cs.
using System;

namespace Postfix.Xsasl;

public enum XsaslStatus
{
    Ok = 1,     // success
    More = 2,   // another challenge/response round (reply is the base64 challenge)
    Done = 3,   // authentication completed
    Form = 4,   // cannot decode the response
    Fail = 5,   // error (reply is the reason)
    Temp = 6,   // temporary error
}

// XsaslServerImpl - one back-end per process (xsasl_server_init)
public abstract class XsaslServerImpl : IDisposable
{
    // null with the reference's warning when the type is unknown.
    public static XsaslServerImpl? Init(string type, string path)
    {
        if (type == "dovecot")
            return new DovecotServerImpl(path);
        Postfix.Util.Msg.Warn($"unsupported SASL server implementation: {type}");
        return null;
    }

    // xsasl_server_types: the supported smtpd_sasl_type values.
    public static string[] Types => new[] { "dovecot" };

    // One session; security options are smtpd_sasl_security_options (or the _tls_ variant).
    public abstract XsaslServer? Create(XsaslServerArgs args);

    public virtual void Dispose()
    {
    }
}

public sealed class XsaslServerArgs
{
    public string Service = "smtp";
    public string? UserRealm;
    public string SecurityOptions = "noanonymous";
    public string ClientAddr = "";
    public string ClientPort = "";
    public string ServerAddr = "";
    public string ServerPort = "";
    public bool TlsActive;
    public string? TlsPeerCertFingerprint;
}

// XsaslServer - one SMTP session's SASL state
public abstract class XsaslServer : IDisposable
{
    // Mechanism list for the EHLO AUTH line (space separated); empty when
    // the back-end cannot be reached or offers nothing that the security
    // options allow (the reference's null: smtpd treats it as fatal).
    public abstract string MechanismList { get; }

    public abstract XsaslStatus First(string mechanism, string? initialResponse, out string reply);

    public abstract XsaslStatus Next(string response, out string reply);

    // The authenticated user name after Done.
    public abstract string? Username { get; }

    public virtual void Dispose()
    {
    }
}
