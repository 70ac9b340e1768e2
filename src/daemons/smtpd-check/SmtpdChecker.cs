// NAME
//	SmtpdChecker - the SMTP access restriction engine
// POSTFIX
//	src/smtpd/smtpd_check.c (smtpd_check.h)
// DESCRIPTION
//	One instance per smtpd process (created at start-up, like
//	smtpd_check_init: parses every restriction list, opens the tables,
//	and fails with the reference's fatal messages). Each Check* method
//	returns null to go on, or the complete SMTP reply ("554 5.7.1 <x>:
//	Relay access denied") that smtpd sends; it logs the reject/warn
//	lines itself, as smtpd_check.c does. The same engine serves
//	`postfix explain` through the optional Tracer.
//	PLACEHOLDER API: the restriction-engine helper replaces the bodies.
using Postfix.Global.Config;

namespace Postfix.Daemons.SmtpdCheck;

public sealed class SmtpdChecker
{
    public SmtpdChecker(MailConf conf)
    {
        Conf = conf;
    }

    public MailConf Conf { get; }

    // Optional observer for `postfix explain` (restrictions, lookups, DNS, policy calls).
    public ICheckTracer? Tracer { get; set; }

    // smtpd_check_addr: syntax check of a MAIL FROM / RCPT TO address; 0 = ok.
    public int CheckAddr(string? sender, string address, bool smtputf8) => 0;

    // smtpd_check_rewrite: sets state.RewriteContext from local_header_rewrite_clients.
    public string? CheckRewrite(SmtpdState state) => null;

    public string? CheckClient(SmtpdState state) => null;

    public string? CheckHelo(SmtpdState state, string helo) => null;

    public string? CheckMail(SmtpdState state, string sender) => null;

    // smtpd_check_size: message_size_limit and queue_minfree against MAIL FROM SIZE=.
    public string? CheckSize(SmtpdState state, long size) => null;

    // smtpd_check_queue: free space in the queue file system.
    public string? CheckQueue(SmtpdState state) => null;

    // smtpd_check_rcpt: relay/recipient restrictions, then recipient validation
    // (local_recipient_maps, relay_recipient_maps, virtual_* ...).
    public string? CheckRcpt(SmtpdState state, string recipient) => null;

    public string? CheckEtrn(SmtpdState state, string domain) => null;

    public string? CheckData(SmtpdState state) => null;

    public string? CheckEod(SmtpdState state) => null;

    // smtpd_check_rewind: forget per-message restriction state (after RSET, end of DATA).
    public void Rewind(SmtpdState state)
    {
    }
}

// ICheckTracer - sees each step of an evaluation (for `postfix explain`).
public interface ICheckTracer
{
    // A restriction list starts ("smtpd_recipient_restrictions").
    void List(string name);

    // A restriction is evaluated, with its outcome ("DUNNO", "OK", a reply text).
    void Restriction(string restriction, string outcome);

    // A table lookup: table name, key, result (null = not found).
    void Lookup(string table, string key, string? result);

    // A DNS query and its outcome.
    void Dns(string query, string type, string outcome);

    // A call to (or, offline, what would be sent to) a policy server.
    void Policy(string endpoint, string request, string? reply);
}
