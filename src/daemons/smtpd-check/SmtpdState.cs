// NAME
//	SmtpdState - what smtpd knows about one SMTP session
// POSTFIX
//	src/smtpd/smtpd.h (SMTPD_STATE)
// DESCRIPTION
//	The session state that the protocol engine (smtpd) fills in and the
//	restriction engine (SmtpdChecker) reads and updates. smtpd derives
//	its own session class from this one and adds protocol-only fields;
//	the fields here are the ones both sides use, named after Postfix's.
using System;
using System.Collections.Generic;

namespace Postfix.Daemons.SmtpdCheck;

public class SmtpdState
{
    // Client endpoint (smtpd_peer.c).
    public string Name = "unknown";            // verified client hostname, or "unknown"
    public string ReverseName = "unknown";     // unverified (PTR) client hostname
    public string Addr = "";                   // printable client address
    public string Port = "0";                  // client port ("0" when unknown)
    public string NamAddr = "";                // name[addr] (name[addr]:port when smtpd_client_port_logging)
    public string RfcAddr = "";                // address for RFC 5321 ([ipv6:...] form)
    public int AddrFamily;                     // AF_INET (2), AF_INET6 (10), AF_UNIX (1)
    public string DestAddr = "";               // server (local) address
    public string DestPort = "";               // server (local) port
    public int NameStatus = 2;                 // 2 ok, 4 soft, 5 hard, 6 forged (SMTPD_PEER_CODE_*)
    public int ReverseNameStatus = 2;          // 2 ok, 4 soft, 5 hard
    public int ConnCount;                      // anvil connection count
    public int ConnRate;                       // anvil connection rate

    // Protocol state (smtpd.c).
    public string Service = "smtpd";           // master.cf service name
    public string? HeloName;                   // HELO/EHLO argument
    public string Protocol = "SMTP";           // SMTP, ESMTP, or the XCLIENT/XFORWARD value
    public string Where = "CONNECT";           // protocol stage, for logging (SMTPD_AFTER_CONNECT ...)
    public string? QueueId;                    // from cleanup; "NOQUEUE" is used when null
    public string? Sender;                     // MAIL FROM address (internal form)
    public string? Recipient;                  // current RCPT TO address
    public string? EtrnName;                   // ETRN argument
    public string? Encoding;                   // 7BIT / 8BITMIME from MAIL FROM BODY=
    public string? VerpDelims;                 // MAIL FROM XVERP
    public string? DsnEnvid;                   // MAIL FROM ENVID=
    public int DsnRet;                         // MAIL FROM RET=
    public bool SmtpUtf8;                      // MAIL FROM SMTPUTF8
    public long MsgSize;                       // MAIL FROM SIZE=
    public long ActSize;                       // size at end of DATA
    public int RcptCount;                      // accepted recipients
    public int ErrorCount;                     // reset after a message
    public int ErrorMask;                      // MAIL_ERROR_* bits seen
    public int NotifyMask;                     // MAIL_ERROR_* bits to report
    public string RewriteContext = "local";    // "local" or "remote" (smtpd_check_rewrite)
    public int Recursion;                      // restriction recursion depth
    public string? AccessDenied;               // reply that denied access
    public string? Reason;                     // cause of connection loss
    public DateTimeOffset ArrivalTime;         // start of the MAIL FROM transaction

    // SASL.
    public string? SaslMethod;
    public string? SaslUsername;
    public string? SaslSender;

    // TLS; null without an encrypted session.
    public SmtpdTls? Tls;

    // Restriction state (smtpd_check.c).
    public bool SenderRcptmapChecked;
    public bool RecipientRcptmapChecked;
    public int WarnIfReject;
    public SmtpdDefer DeferIfReject = new();
    public SmtpdDefer DeferIfPermit = new();
    public int DeferIfPermitClient;
    public int DeferIfPermitHelo;
    public int DeferIfPermitSender;
    public bool Discard;
    public string? SavedFilter;                // FILTER action, applied at queue time
    public string? SavedRedirect;              // REDIRECT action
    public List<string> SavedBcc = new();      // BCC actions
    public int SavedFlags;                     // CLEANUP_FLAG_HOLD / _DISCARD from HOLD/DISCARD
    public List<string> Prepend = new();       // PREPEND headers
    public string Instance = "";               // policy "instance" attribute
    public int Seqno;                          // policy query correlation

    // Added by the restriction engine. smtpd sets IllegalPipelining when it
    // logs "improper command pipelining" (reject_unauth_pipelining reads it)
    // and SaslActive when SASL is offered in this session.
    public bool IllegalPipelining;             // SMTPD_FLAG_ILL_PIPELINING
    public bool? SaslActive;                   // smtpd_sasl_is_active(); null: smtpd_sasl_auth_enable
    public string ErrorText = "";              // the last reply formatted by a restriction

    // XFORWARD attributes received from an upstream filter (smtpd_xforward.c).
    public SmtpdXforward Xforward = new();
}

// SmtpdDefer - a postponed defer_if_permit / defer_if_reject reply
public sealed class SmtpdDefer
{
    public bool Active;
    public int Class;                          // MAIL_ERROR_* of the postponed reply
    public int Code;                           // its SMTP code
    public string Dsn = "";
    public string Reason = "";

    public void Clear()
    {
        Active = false;
        Class = Code = 0;
        Dsn = "";
        Reason = "";
    }
}

// SmtpdTls - what the TLS layer tells the restrictions and the Received: header
public sealed class SmtpdTls
{
    public string Protocol = "";               // TLSv1.3
    public string CipherName = "";
    public int CipherUseBits;
    public int CipherAlgBits;
    public bool PeerCertPresent;
    public bool PeerCertTrusted;
    public string PeerCN = "";
    public string IssuerCN = "";
    public string PeerCertFingerprint = "";    // smtpd_tls_fingerprint_digest of the certificate
    public string PeerPubkeyFingerprint = "";  // ... of the public key
}

// SmtpdXforward - XFORWARD attributes (NAME ADDR PORT PROTO HELO IDENT SOURCE)
public sealed class SmtpdXforward
{
    public int Flags;
    public string? Name, Addr, Port, NamAddr, RfcAddr, Protocol, HeloName, Ident, Domain;

    public void Reset()
    {
        Flags = 0;
        Name = Addr = Port = NamAddr = RfcAddr = Protocol = HeloName = Ident = Domain = null;
    }
}
