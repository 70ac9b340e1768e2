// NAME
//	Milters - the Sendmail milter protocol client (a list of milters)
// POSTFIX
//	src/milter/milter.c, milter8.c, milter_macros.c (milter.h)
// DESCRIPTION
//	A MILTERS list as smtpd and cleanup use it. Event methods return what
//	milter.c returns: null to go on, otherwise a reply whose first
//	character says what to do: '4' or '5' (a complete SMTP reply to
//	send), 'D' (discard the message), 'H' (quarantine: hold it), 'S'
//	(shut the connection down with 421). smtpd creates the list from
//	smtpd_milters, runs the connect/HELO/MAIL/RCPT/DATA events, and hands
//	the list to cleanup over the cleanup stream (Send/Receive, the
//	reference's attribute format) for the header/body/end-of-message
//	phase. cleanup uses non_smtpd_milters for mail that did not come by
//	SMTP.
//	PLACEHOLDER API: the milter helper replaces the bodies.
using System;
using System.Collections.Generic;
using Postfix.Global.Config;

namespace Postfix.Milter;

public sealed class Milters : IDisposable
{
    private Milters()
    {
    }

    // milter_new: from a milter list (smtpd_milters or non_smtpd_milters) and
    // the milter_* parameters of conf; null when the list is empty.
    public static Milters? Create(MailConf conf, string milterList) => null;

    // milter_macro_callback: the caller's macro values ("j", "{client_addr}", "i", ...).
    public Func<string, string?>? MacroLookup { get; set; }

    public string? ConnectEvent(string clientName, string clientAddr, string clientPort, int addrFamily) => null;

    public string? HeloEvent(string helo, bool esmtp) => null;

    // argv: the sender address then its ESMTP parameters.
    public string? MailEvent(IReadOnlyList<string> argv) => null;

    // argv: the recipient address then its ESMTP parameters.
    public string? RcptEvent(IReadOnlyList<string> argv) => null;

    public string? DataEvent() => null;

    public string? UnknownEvent(string command) => null;

    public string? OtherEvent() => null;

    public void Abort()
    {
    }

    public void DisconnectEvent()
    {
    }

    // milter_send: hand the list (and each milter's open connection) to cleanup
    // over the cleanup stream, in the reference's attribute format; false on error.
    public bool Send(System.IO.Stream cleanupStream) => true;

    // milter_receive: cleanup's side of Send.
    public static Milters? Receive(System.IO.Stream stream, int hostStatus) => null;

    public void Dispose()
    {
    }
}
