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
//
//	Per-session state lives in SmtpdState; tables, the resolver client,
//	the RBL cache and policy connections are shared by the sessions of
//	a process under locks.
using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Threading;
using Postfix.Global.Attr;
using Postfix.Global.Config;
using Postfix.Global.Deliver;
using Postfix.Global.Dict;
using Postfix.Global.Dns;
using Postfix.Util;

namespace Postfix.Daemons.SmtpdCheck;

public sealed partial class SmtpdChecker
{
    // Evaluation results (SMTPD_CHECK_*); negative values are table errors.
    internal const int Dunno = 0;
    internal const int Ok = 1;
    internal const int Reject = 2;
    internal const int ErrRetry = -1;
    internal const int ErrConfig = -2;

    // MAIL_ERROR_* classes.
    internal const int ErrorPolicy = 1 << 0;
    internal const int ErrorProtocol = 1 << 1;
    internal const int ErrorBounce = 1 << 2;
    internal const int ErrorSoftware = 1 << 3;
    internal const int ErrorResource = 1 << 4;
    internal const int ErrorData = 1 << 7;

    // CLEANUP_FLAG_HOLD / CLEANUP_FLAG_DISCARD for SavedFlags.
    public const int CleanupFlagHold = 1 << 1;
    public const int CleanupFlagDiscard = 1 << 2;

    // Names of what is rejected (smtpd_dsn_fix.h).
    public const string NameClient = "Client host";
    public const string NameRevClient = "Unverified Client host";
    public const string NameCcert = "Client certificate";
    public const string NameSaslUser = "SASL login name";
    public const string NameHelo = "Helo command";
    public const string NameSender = "Sender address";
    public const string NameRecipient = "Recipient address";
    public const string NameEtrn = "Etrn command";
    public const string NameData = "Data command";
    public const string NameEod = "End-of-data";

    // All tables are searched under this lock (Maps keep per-call error state).
    internal static readonly object TableLock = new();

    // CheckJump - the reference's longjmp out of a restriction evaluation.
    private sealed class CheckJump(int status) : Exception
    {
        public int Status { get; } = status;
    }

    private readonly string[] clientRestrictions, heloRestrictions, mailRestrictions, relayRestrictions,
        rcptRestrictions, etrnRestrictions, dataRestrictions, eodRestrictions, localRewriteClients;
    private readonly Dictionary<string, string[]> restClasses = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Maps> mapCommands = new(StringComparer.Ordinal);
    private readonly Dictionary<string, PolicyClient> policyClients = new(StringComparer.Ordinal);
    private readonly NamadrList mynetworks, permMxNetworks, relayDomains;
    private readonly Maps localRcptMaps, sendCanonMaps, rcptCanonMaps, canonicalMaps, virtAliasMaps,
        virtMailboxMaps, relayRcptMaps, rblReplyMaps, senderLoginMaps, relayCcerts;
    private readonly bool accessParentStyle;
    private readonly int unkNameTfAct, unkAddrTfAct, unvRcptTfAct, unvFromTfAct;
    private readonly HashSet<string> permitLogActions;
    private readonly AccessFindOptions findOptions;
    private readonly string[] myDestination;
    private readonly HashSet<string> ownAddresses;

    // Parameters read once (smtpd.c reads them at start-up).
    private readonly int mapRejectCode, mapDeferCode, rejectCode, deferCode, relayCode, unkClientCode,
        badNameCode, nonFqdnCode, unkNameCode, unkAddrCode, mapsRblCode, localRcptCode, virtAliasCode,
        virtMailboxCode, relayRcptCode, mulRcptCode, plaintextCode, unvFromRcode, unvFromDcode,
        unvRcptRcode, unvRcptDcode, verifyPollCount, verifyPollDelay;
    private readonly bool softBounce, delayReject, rejectUnlistedSender, rejectUnlistedRcpt, allowUntrustRoute,
        showUnkRcptTable, relayBeforeRcpt, smtputf8Enable, tlsAskCcert, unknownRcptTransparent;
    private readonly long messageLimit;
    private readonly string nullAccessKey, defaultRblReply, unvFromWhy, unvRcptWhy, doubleBounceSender,
        proxyFilter, mapsRblDomains, rblReplyMapsSpec, stress, expandFilter;

    private readonly object resolveLock = new();
    private readonly Dictionary<string, ResolveReply?> resolveCache = new(StringComparer.Ordinal);
    private readonly System.Collections.Concurrent.ConcurrentBag<(RewriteClient Rewrite, ResolveClient Resolve)> addressClients = new();
    private readonly object rblLock = new();
    private readonly Dictionary<string, RblResult?> rblCache = new(StringComparer.Ordinal);
    private readonly Dictionary<string, IpMatch> rblByteCache = new(StringComparer.Ordinal);

    public SmtpdChecker(MailConf conf)
    {
        Conf = conf;
        LogAddrInternal = string.Equals(conf.Eval("info_log_address_format"), "internal", System.StringComparison.OrdinalIgnoreCase);
        var parentStyle = conf.Eval("parent_domain_matches_subdomains");
        bool Parent(string name) => AccessSearch.ParentStyle(parentStyle, name);
        mynetworks = new NamadrList("mynetworks", conf.Eval("mynetworks"), Parent("mynetworks"));
        relayDomains = new NamadrList("relay_domains", conf.Eval("relay_domains"), Parent("relay_domains"));
        permMxNetworks = new NamadrList("permit_mx_backup_networks", conf.Eval("permit_mx_backup_networks"), Parent("permit_mx_backup_networks"));
        const DictFlags mapFlags = DictFlags.Lock | DictFlags.FoldFix | DictFlags.Utf8Request;
        relayCcerts = Maps.Create("relay_clientcerts", conf.Eval("relay_clientcerts"), DictFlags.Lock | DictFlags.FoldFix);
        localRcptMaps = Maps.Create("local_recipient_maps", conf.Eval("local_recipient_maps"), mapFlags);
        sendCanonMaps = Maps.Create("sender_canonical_maps", conf.Eval("sender_canonical_maps"), mapFlags);
        rcptCanonMaps = Maps.Create("recipient_canonical_maps", conf.Eval("recipient_canonical_maps"), mapFlags);
        canonicalMaps = Maps.Create("canonical_maps", conf.Eval("canonical_maps"), mapFlags);
        virtAliasMaps = Maps.Create("virtual_alias_maps", conf.Eval("virtual_alias_maps"), mapFlags);
        virtMailboxMaps = Maps.Create("virtual_mailbox_maps", conf.Eval("virtual_mailbox_maps"), mapFlags);
        relayRcptMaps = Maps.Create("relay_recipient_maps", conf.Eval("relay_recipient_maps"), mapFlags);
        accessParentStyle = Parent("smtpd_access_maps");
        rblReplyMapsSpec = conf.Eval("rbl_reply_maps");
        rblReplyMaps = Maps.Create("rbl_reply_maps", rblReplyMapsSpec, mapFlags);
        senderLoginMaps = Maps.Create("smtpd_sender_login_maps", conf.Eval("smtpd_sender_login_maps"), mapFlags);
        HasSenderLoginMaps = conf.Eval("smtpd_sender_login_maps").Length > 0;

        mapRejectCode = IntParam("access_map_reject_code");
        mapDeferCode = IntParam("access_map_defer_code");
        rejectCode = IntParam("reject_code");
        deferCode = IntParam("defer_code");
        relayCode = IntParam("relay_domains_reject_code");
        unkClientCode = IntParam("unknown_client_reject_code");
        badNameCode = IntParam("invalid_hostname_reject_code");
        nonFqdnCode = IntParam("non_fqdn_reject_code");
        unkNameCode = IntParam("unknown_hostname_reject_code");
        unkAddrCode = IntParam("unknown_address_reject_code");
        mapsRblCode = IntParam("maps_rbl_reject_code");
        localRcptCode = IntParam("unknown_local_recipient_reject_code");
        virtAliasCode = IntParam("unknown_virtual_alias_reject_code");
        virtMailboxCode = IntParam("unknown_virtual_mailbox_reject_code");
        relayRcptCode = IntParam("unknown_relay_recipient_reject_code");
        mulRcptCode = IntParam("multi_recipient_bounce_reject_code");
        plaintextCode = IntParam("plaintext_reject_code");
        unvFromRcode = IntParam("unverified_sender_reject_code");
        unvFromDcode = IntParam("unverified_sender_defer_code");
        unvRcptRcode = IntParam("unverified_recipient_reject_code");
        unvRcptDcode = IntParam("unverified_recipient_defer_code");
        verifyPollCount = IntParam("address_verify_poll_count");
        Postfix.Util.ConvTime.TryParse(conf.Eval("address_verify_poll_delay"), 's', out verifyPollDelay);
        softBounce = conf.Bool("soft_bounce");
        delayReject = conf.Bool("smtpd_delay_reject");
        rejectUnlistedSender = conf.Bool("smtpd_reject_unlisted_sender");
        rejectUnlistedRcpt = conf.Bool("smtpd_reject_unlisted_recipient");
        allowUntrustRoute = conf.Bool("allow_untrusted_routing");
        showUnkRcptTable = conf.Bool("show_user_unknown_table_name");
        relayBeforeRcpt = conf.Bool("smtpd_relay_before_recipient_restrictions");
        smtputf8Enable = conf.Bool("smtputf8_enable");
        tlsAskCcert = conf.Bool("smtpd_tls_ask_ccert");
        long.TryParse(conf.Eval("message_size_limit"), out messageLimit);
        nullAccessKey = conf.Eval("smtpd_null_access_lookup_key");
        defaultRblReply = conf.Lookup("default_rbl_reply") ?? "";
        unvFromWhy = conf.Eval("unverified_sender_reject_reason");
        unvRcptWhy = conf.Eval("unverified_recipient_reject_reason");
        doubleBounceSender = conf.Eval("double_bounce_sender");
        proxyFilter = conf.Eval("smtpd_proxy_filter");
        mapsRblDomains = conf.Eval("maps_rbl_domains");
        stress = conf.Eval("stress");
        expandFilter = Postfix.Util.Unescape.Decode(conf.Lookup("smtpd_expansion_filter") ?? "");
        unknownRcptTransparent = conf.Eval("receive_override_options")
            .Split([',', ' ', '\t'], StringSplitOptions.RemoveEmptyEntries)
            .Any(o => o.Equals("no_unknown_recipient_checks", StringComparison.OrdinalIgnoreCase));
        myDestination = SplitList(conf.Eval("mydestination")).Select(d => d.ToLowerInvariant()).ToArray();
        ownAddresses = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        try
        {
            foreach (var ia in MyNetworks.OwnAddresses(conf.Eval("inet_interfaces"), MyNetworks.Families(conf.Eval("inet_protocols"))))
                ownAddresses.Add(new System.Net.IPAddress(ia.Address).ToString());
            foreach (var p in SplitList(conf.Eval("proxy_interfaces")))
                if (System.Net.IPAddress.TryParse(p, out var pa))
                    ownAddresses.Add(pa.ToString());
        }
        catch (Exception e) when (e is not FatalException)
        {
            // Interface discovery is best effort here.
        }
        findOptions = new AccessFindOptions
        {
            RecipientDelimiter = conf.Eval("recipient_delimiter"),
            MyOrigin = conf.Eval("myorigin"),
            DoubleBounceSender = doubleBounceSender,
            ResolveLocal = ResolveLocal,
        };

        clientRestrictions = Parse(conf.Eval("smtpd_client_restrictions"));
        heloRestrictions = Parse(conf.Eval("smtpd_helo_restrictions"));
        mailRestrictions = Parse(conf.Eval("smtpd_sender_restrictions"));
        relayRestrictions = Parse(conf.Eval("smtpd_relay_restrictions"));
        rcptRestrictions = Parse(conf.Eval("smtpd_recipient_restrictions"));
        etrnRestrictions = Parse(conf.Eval("smtpd_etrn_restrictions"));
        dataRestrictions = Parse(conf.Eval("smtpd_data_restrictions"));
        eodRestrictions = Parse(conf.Eval("smtpd_end_of_data_restrictions"));

        foreach (var name in SplitList(conf.Eval("smtpd_restriction_classes")))
        {
            var value = conf.Lookup(name) == null ? null : conf.Eval(name);
            if (string.IsNullOrEmpty(value))
                Msg.Fatal($"restriction class `{name}' needs a definition");
            restClasses[name] = Parse(value!);
        }
        restClasses["reject_sender_login_mismatch"] = Parse("reject_authenticated_sender_login_mismatch reject_unauthenticated_sender_login_mismatch");

        string[] rcptRequired = ["reject_unauth_destination", "defer_unauth_destination", "reject", "defer", "defer_if_permit", "check_relay_domains"];
        if (!HasRequired(rcptRestrictions, rcptRequired) && !HasRequired(relayRestrictions, rcptRequired))
            Msg.Fatal("in parameter smtpd_relay_restrictions or smtpd_recipient_restrictions, specify at least one working instance of: "
                + "reject_unauth_destination, defer_unauth_destination, reject, defer, defer_if_permit or check_relay_domains");

        localRewriteClients = Parse(conf.Eval("local_header_rewrite_clients"), mapsOnly: true);

        unkNameTfAct = TempfailAction("unknown_helo_hostname_tempfail_action");
        unkAddrTfAct = TempfailAction("unknown_address_tempfail_action");
        unvRcptTfAct = TempfailAction("unverified_recipient_tempfail_action");
        unvFromTfAct = TempfailAction("unverified_sender_tempfail_action");

        permitLogActions = new HashSet<string>(SplitList(conf.Eval("smtpd_log_access_permit_actions")), StringComparer.OrdinalIgnoreCase);

        int IntParam(string name)
        {
            var v = conf.Eval(name);
            if (!int.TryParse(v, out var n))
                Msg.Fatal($"bad numerical configuration: {name} = {v}");
            return n;
        }

        int TempfailAction(string name)
        {
            var v = conf.Eval(name);
            if (v.Equals("defer", StringComparison.OrdinalIgnoreCase))
                return 0;
            if (v.Equals("defer_if_permit", StringComparison.OrdinalIgnoreCase))
                return 1;
            Msg.Fatal($"bad configuration: {name} = {v}");
            return 0;
        }
    }

    public MailConf Conf { get; }

    // Offline evaluation (`postfix explain --no-external`): policy servers are
    // not contacted; the tracer sees the request that would be sent.
    public bool NoExternal { get; set; }

    // Optional observer for `postfix explain` (restrictions, lookups, DNS, policy calls).
    public ICheckTracer? Tracer { get; set; }

    // Resolver - replaces the trivial-rewrite client (tests, offline use):
    // (sender, address) -> reply, null on failure.
    public Func<string, string, ResolveReply?>? Resolver { get; set; }

    // Verifier - replaces the verify(8) client: address -> (status, addrStatus, why).
    public Func<string, (int Status, int AddrStatus, string Why)>? Verifier { get; set; }

    // QueueDirectory - where private/rewrite lives (null: the current directory).
    public string? QueueDirectory { get; set; }

    internal bool HasSenderLoginMaps { get; }

    // ---------------------------------------------------------------
    // Parsing (smtpd_check_parse, has_required).

    // SplitList - mystrtokq(CHARS_COMMA_SP, "{}"): {} groups stay whole.
    public static List<string> SplitList(string text)
    {
        var result = new List<string>();
        var i = 0;
        while (i < text.Length)
        {
            while (i < text.Length && IsSep(text[i]))
                i++;
            if (i >= text.Length)
                break;
            var start = i;
            var level = 0;
            for (; i < text.Length; i++)
            {
                var c = text[i];
                if (c == '{')
                    level++;
                else if (c == '}' && level > 0)
                    level--;
                else if (level == 0 && IsSep(c))
                    break;
            }
            result.Add(text[start..i]);
        }
        return result;

        static bool IsSep(char c) => c is ',' or ' ' or '\t' or '\r' or '\n';
    }

    private string[] Parse(string checks, bool mapsOnly = false)
    {
        var list = SplitList(checks);
        string? last = null;
        foreach (var name in list)
        {
            if (!mapsOnly && last != null && last.Equals("check_policy_service", StringComparison.OrdinalIgnoreCase))
            {
                if (!policyClients.ContainsKey(name))
                    policyClients[name] = PolicyClient.Create(name, Conf);
            }
            else if (name.StartsWith('{') || name.Contains(':'))
            {
                var table = TableName(name);
                if (!mapCommands.ContainsKey(table))
                    mapCommands[table] = Maps.Create(table, table, DictFlags.Lock | DictFlags.FoldFix | DictFlags.Utf8Request);
            }
            last = name;
        }
        return list.ToArray();
    }

    // TableName - the "type:name" of a "{ type:name, search_order=... }" spec.
    private static string TableName(string spec)
    {
        if (!spec.StartsWith('{'))
            return spec;
        var inner = SplitList(spec.TrimStart('{').TrimEnd('}'));
        return inner.Count > 0 ? inner[0] : spec;
    }

    private bool HasRequired(string[] restrictions, string[] required)
    {
        for (var i = 0; i < restrictions.Length; i++)
        {
            var r = restrictions[i];
            if (r.Equals("warn_if_reject", StringComparison.OrdinalIgnoreCase) && i + 1 < restrictions.Length)
            {
                i++;
                continue;
            }
            if (r.Equals("permit", StringComparison.OrdinalIgnoreCase))
            {
                if (i + 1 < restrictions.Length)
                    Msg.Warn($"restriction `{restrictions[i + 1]}' after `{r}' is ignored");
                return false;
            }
            foreach (var q in required)
                if (r.Equals(q, StringComparison.OrdinalIgnoreCase))
                    return true;
            if (restClasses.TryGetValue(r, out var expansion) && HasRequired(expansion, required))
                return true;
        }
        return false;
    }

    // ---------------------------------------------------------------
    // Replies and logging.

    // info_log_address_format = internal: log addresses unquoted.
    internal static bool LogAddrInternal;

    // LogAddr - info_log_addr_form_sender/_recipient(): the external
    // (quoted) form unless info_log_address_format says internal.
    internal static string LogAddr(string addr) =>
        addr.Length == 0 || LogAddrInternal ? addr : Postfix.Global.Address.Quote822.Local(addr);

    // LogWhatsup - log_whatsup(): "NOQUEUE: reject: RCPT from ...".
    internal static void LogWhatsup(SmtpdState state, string whatsup, string text)
    {
        var sb = new StringBuilder();
        sb.Append(state.QueueId ?? "NOQUEUE").Append(": ").Append(whatsup).Append(": ").Append(state.Where)
            .Append(" from ").Append(state.NamAddr).Append(": ").Append(text).Append(';');
        if (state.Sender != null)
            sb.Append(" from=<").Append(LogAddr(state.Sender)).Append('>');
        if (state.Recipient != null)
            sb.Append(" to=<").Append(LogAddr(state.Recipient)).Append('>');
        if (state.Protocol != null)
            sb.Append(" proto=").Append(state.Protocol);
        if (state.HeloName != null)
            sb.Append(" helo=<").Append(state.HeloName).Append('>');
        Msg.Info(sb.ToString());
    }

    // AclPermit - smtpd_acl_permit(): OK, logged when smtpd_log_access_permit_actions says so.
    private int AclPermit(SmtpdState state, string action, string replyClass, string replyName, string extra)
    {
        if (!state.DeferIfPermit.Active && (permitLogActions.Contains(action) || permitLogActions.Contains("static:all")))
        {
            // The reference always passes a format ("%s" with "" at the
            // least), so a space always follows the name.
            var text = $"action={action} for {replyClass}={replyName} {extra}";
            LogWhatsup(state, "permit", text);
        }
        return Ok;
    }

    // CheckReject - smtpd_check_reject().
    private int CheckReject(SmtpdState state, int errorClass, int code, string dsn, string text)
    {
        bool warnIfReject;
        string whatsup;
        if (state.WarnIfReject != 0 && errorClass != ErrorSoftware && errorClass != ErrorResource && errorClass != ErrorData)
        {
            warnIfReject = true;
            whatsup = "reject_warning";
        }
        else
        {
            warnIfReject = false;
            whatsup = "reject";
        }
        state.ErrorMask |= errorClass;
        var reply = $"{code} {dsn} {text}";
        if (code < 400 || code > 599)
        {
            Msg.Warn($"SMTP reply code configuration error: {reply}");
            reply = "450 4.7.1 Service unavailable";
        }
        if (DsnUtil.Valid(reply.AsSpan(4)) == 0)
        {
            Msg.Warn($"DSN detail code configuration error: {reply}");
            reply = "450 4.7.1 Service unavailable";
        }
        if (reply.Length > 510)
            reply = reply[..510];
        reply = Printable(reply);
        if (!warnIfReject && state.DeferIfReject.Active && reply[0] == '5')
        {
            state.WarnIfReject = 0;
            state.DeferIfReject.Active = false;
            return CheckReject(state, state.DeferIfReject.Class, state.DeferIfReject.Code, state.DeferIfReject.Dsn, state.DeferIfReject.Reason);
        }
        var chars = reply.ToCharArray();
        if (softBounce && chars[0] == '5')
            chars[0] = '4';
        chars[4] = chars[0];
        reply = new string(chars);
        state.ErrorText = reply;
        LogWhatsup(state, whatsup, reply);
        return warnIfReject ? Dunno : Reject;
    }

    private static string Printable(string s)
    {
        var sb = new StringBuilder(s.Length);
        foreach (var c in s)
            sb.Append(c < ' ' || c == 127 ? ' ' : c);
        return sb.ToString();
    }

    // DeferIf - defer_if(): remember the first postponed reply.
    private static int DeferIf(SmtpdDefer defer, int errorClass, int code, string dsn, string text)
    {
        if (!defer.Active)
        {
            defer.Active = true;
            defer.Class = errorClass;
            defer.Code = code;
            defer.Dsn = dsn;
            defer.Reason = text;
        }
        return Dunno;
    }

    private int DeferIfPermit(int type, SmtpdState state, int errorClass, int code, string dsn, string text) =>
        state.WarnIfReject == 0 && type != 0
            ? DeferIf(state.DeferIfPermit, errorClass, code, dsn, text)
            : CheckReject(state, errorClass, code, dsn, text);

    private static int DeferIfReject(SmtpdState state, int errorClass, int code, string dsn, string text) =>
        DeferIf(state.DeferIfReject, errorClass, code, dsn, text);

    private Exception RejectDictRetry(SmtpdState state, string replyName) =>
        new CheckJump(CheckReject(state, ErrorData, 451, "4.3.0", $"<{replyName}>: Temporary lookup failure"));

    private Exception RejectServerError(SmtpdState state) =>
        new CheckJump(CheckReject(state, ErrorSoftware, 451, "4.3.5", "Server configuration error"));

    // ---------------------------------------------------------------
    // Address resolution (smtpd_resolve.c) and local domains.

    private ResolveReply? ResolveAddr(string? sender, string addr)
    {
        sender ??= "";
        var key = sender + "\u0001" + addr;
        lock (resolveLock)
        {
            if (resolveCache.TryGetValue(key, out var cached))
                return cached;
        }
        ResolveReply? reply;
        if (Resolver != null)
        {
            reply = Resolver(sender, addr);
        }
        else
        {
            // Each session talks to trivial-rewrite over a connection of
            // its own, as each reference smtpd process does: one shared
            // connection would make every session wait for the others'
            // round trips.
            if (!addressClients.TryTake(out var clients))
                clients = (new RewriteClient(QueueDirectory), new ResolveClient(QueueDirectory));
            try
            {
                var s = sender.Length > 0 ? clients.Rewrite.Rewrite("local", sender) ?? sender : sender;
                var a = addr.Length > 0 ? clients.Rewrite.Rewrite("local", addr) ?? addr : addr;
                reply = clients.Resolve.Resolve(s, a);
            }
            finally
            {
                addressClients.Add(clients);
            }
        }
        if (reply is { } r)
            reply = r with { Recipient = r.Recipient.ToLowerInvariant() };
        lock (resolveLock)
        {
            if (resolveCache.Count >= 100)
                resolveCache.Clear();
            if (reply != null)
                resolveCache[key] = reply;
        }
        return reply;
    }

    private static bool Failed(ResolveReply? reply) => reply == null || reply.Value.Has(MailProto.ResolveFlagFail);

    // ResolveLocal - resolve_local(): 1 when the domain is this machine.
    internal int ResolveLocal(string domain)
    {
        var d = domain.ToLowerInvariant();
        if (d.Length > 1 && d.EndsWith('.') && !d.EndsWith(".."))
            d = d[..^1];
        foreach (var md in myDestination)
            if (md == d)
                return 1;
        if (d.StartsWith('[') && d.EndsWith(']'))
        {
            var bare = HostSyntax.ValidMailhostAddr(d[1..^1]);
            if (bare != null && System.Net.IPAddress.TryParse(bare, out var ip) && ownAddresses.Contains(ip.ToString()))
                return 1;
        }
        return 0;
    }

    // ---------------------------------------------------------------
    // Table lookups.

    private string? FindMap(Maps maps, string table, string key, DictFlags flags, out DictError error)
    {
        string? value;
        lock (TableLock)
        {
            value = maps.Find(key, flags);
            error = maps.Error;
        }
        Tracer?.Lookup(table, key, value);
        return value;
    }

    private string? MailAddrFind(SmtpdState state, string replyName, Maps maps, string key)
    {
        string? value;
        DictError error;
        lock (TableLock)
        {
            value = AccessSearch.MailAddrFind(maps, key, out _, findOptions);
            error = maps.Error;
        }
        Tracer?.Lookup(maps.Title, key, value);
        if (value != null || error == DictError.None)
            return value;
        if (error == DictError.Retry)
            throw RejectDictRetry(state, replyName);
        throw RejectServerError(state);
    }

    private const string ConfigErrorAction = "451 4.3.5 Server configuration error";

    private Maps? MapFor(string table)
    {
        if (mapCommands.TryGetValue(table, out var maps))
            return maps;
        return null;
    }

    // CheckAccess - check_access(): one key, no substrings.
    private int CheckAccess(SmtpdState state, string table, string name, DictFlags flags, out bool found,
        string replyName, string replyClass, string? defAcl)
    {
        found = true;
        var maps = MapFor(table);
        if (maps == null)
        {
            Msg.Warn($"check_access: unexpected dictionary: {table}");
            return CheckTableResult(state, table, ConfigErrorAction, name, replyName, replyClass, defAcl);
        }
        var value = FindMap(maps, table, name, flags, out var error);
        if (value != null)
            return CheckTableResult(state, table, value, name, replyName, replyClass, defAcl);
        if (error != DictError.None)
            return CheckTableResult(state, table, ConfigErrorAction, name, replyName, replyClass, defAcl);
        found = false;
        return Dunno;
    }

    // CheckDomainAccess - check_domain_access(): the name and its parents.
    private int CheckDomainAccess(SmtpdState state, string table, string domain, DictFlags flags, out bool found,
        string replyName, string replyClass, string? defAcl)
    {
        found = true;
        var maps = MapFor(table);
        if (maps == null)
        {
            Msg.Warn($"check_domain_access: unexpected dictionary: {table}");
            return CheckTableResult(state, table, ConfigErrorAction, domain, replyName, replyClass, defAcl);
        }
        var maybeNumerical = true;
        for (var pos = 0; pos < domain.Length;)
        {
            var name = domain[pos..];
            var value = FindMap(maps, table, name, flags, out var error);
            if (value != null)
                return CheckTableResult(state, table, value, domain, replyName, replyClass, defAcl);
            if (error != DictError.None)
                return CheckTableResult(state, table, ConfigErrorAction, domain, replyName, replyClass, defAcl);
            if (maybeNumerical && (maybeNumerical = HostSyntax.ValidHostaddr(domain)))
                break;
            var next = domain.IndexOf('.', pos + 1);
            if (next < 0)
                break;
            if (accessParentStyle)
                next += 1;
            pos = next;
            flags = DictFlags.Fixed;
        }
        found = false;
        return Dunno;
    }

    // CheckAddrAccess - check_addr_access(): the address and its parent networks.
    private int CheckAddrAccess(SmtpdState state, string table, string address, DictFlags flags, out bool found,
        string replyName, string replyClass, string? defAcl)
    {
        found = true;
        var delim = address.Contains(':') ? ':' : '.';
        var maps = MapFor(table);
        if (maps == null)
        {
            Msg.Warn($"check_addr_access: unexpected dictionary: {table}");
            return CheckTableResult(state, table, ConfigErrorAction, address, replyName, replyClass, defAcl);
        }
        var addr = address;
        while (true)
        {
            var value = FindMap(maps, table, addr, flags, out var error);
            if (value != null)
                return CheckTableResult(state, table, value, address, replyName, replyClass, defAcl);
            if (error != DictError.None)
                return CheckTableResult(state, table, ConfigErrorAction, address, replyName, replyClass, defAcl);
            flags = DictFlags.Fixed;
            var cut = addr.LastIndexOf(delim);
            if (cut < 0)
                break;
            addr = addr[..cut];
        }
        found = false;
        return Dunno;
    }

    private int CheckNamadrAccess(SmtpdState state, string table, string name, string addr, DictFlags flags, out bool found,
        string replyName, string replyClass, string? defAcl)
    {
        int status;
        if ((status = CheckDomainAccess(state, table, name, flags, out found, replyName, replyClass, defAcl)) != 0 || found)
            return status;
        if ((status = CheckAddrAccess(state, table, addr, flags, out found, replyName, replyClass, defAcl)) != 0 || found)
            return status;
        return Dunno;
    }

    // CheckMailAccess - check_mail_access(): the resolved address, its parts and domains.
    private int CheckMailAccess(SmtpdState state, string table, string addr, out bool found,
        string replyName, string replyClass, string? defAcl)
    {
        found = false;
        var reply = ResolveAddr(replyClass == NameSender ? state.Recipient : state.Sender, addr);
        if (Failed(reply))
            throw RejectDictRetry(state, addr);
        var r = reply!.Value;
        if (!r.Recipient.Contains('@'))
        {
            Msg.Warn($"check_mail_access: no @domain in address: {r.Recipient}");
            return 0;
        }
        var suspicious = !allowUntrustRoute && r.Has(MailProto.ResolveFlagRouted) && replyClass == NameRecipient;
        var strategy = AccessSearch.Strategy.Full | AccessSearch.Strategy.NoExt | AccessSearch.Strategy.Domain
            | AccessSearch.Strategy.LocalpartAt | (accessParentStyle ? AccessSearch.Strategy.Pdms : AccessSearch.Strategy.Pddmds);
        var maps = MapFor(table);
        if (maps == null)
        {
            Msg.Warn($"check_mail_access: unexpected dictionary: {table}");
            return CheckTableResult(state, table, ConfigErrorAction, r.Recipient, replyName, replyClass, defAcl);
        }
        string? value;
        DictError error;
        lock (TableLock)
        {
            value = AccessSearch.MailAddrFind(maps, r.Recipient, out _, strategy, findOptions);
            error = maps.Error;
        }
        Tracer?.Lookup(table, r.Recipient, value);
        if (value != null)
        {
            found = true;
            var status = CheckTableResult(state, table, value, r.Recipient, replyName, replyClass, defAcl);
            return status == Ok && suspicious ? Dunno : status;
        }
        if (error != DictError.None)
            return CheckTableResult(state, table, ConfigErrorAction, r.Recipient, replyName, replyClass, defAcl);
        return Dunno;
    }

    // ---------------------------------------------------------------
    // check_table_result: what an access(5) value means.

    private bool CanDelegateAction(SmtpdState state, string table, string action)
    {
        if (proxyFilter.Length > 0)
        {
            Msg.Warn($"access table {table}: with smtpd_proxy_filter specified, action {action} is unavailable");
            return false;
        }
        if (state.Where == "ETRN")
        {
            Msg.Warn($"access table {table}: action {action} is unavailable in smtpd_etrn_restrictions");
            return false;
        }
        return NotInClientHelo(state, table, action);
    }

    private static bool NotInClientHelo(SmtpdState state, string table, string action)
    {
        if (state.Sender == null)
        {
            Msg.Warn($"access table {table}: with smtpd_delay_reject=no, action {action} is always skipped in {NameClient} or {NameHelo} restrictions");
            return false;
        }
        return true;
    }

    private int CheckTableResult(SmtpdState state, string table, string value, string datum,
        string replyName, string replyClass, string? defAcl)
    {
        var cmdLen = 0;
        while (cmdLen < value.Length && value[cmdLen] != ' ' && value[cmdLen] != '\t')
            cmdLen++;
        var cmd = value[..cmdLen];
        var textPos = cmdLen;
        while (textPos < value.Length && char.IsWhiteSpace(value[textPos]))
            textPos++;
        var text = value[textPos..];
        bool Is(string word) => cmd.Equals(word, StringComparison.OrdinalIgnoreCase);

        if (Is("DUNNO"))
            return Dunno;
        if (Is("REJECT"))
        {
            var (dsn, t) = DsnUtil.Split("5.7.1", text);
            return CheckReject(state, ErrorPolicy, mapRejectCode, DsnFix.Fix(dsn, replyClass),
                $"<{replyName}>: {replyClass} rejected: {(t.Length > 0 ? t : "Access denied")}");
        }
        if (Is("DEFER"))
        {
            var (dsn, t) = DsnUtil.Split("4.7.1", text);
            return CheckReject(state, ErrorPolicy, mapDeferCode, DsnFix.Fix(dsn, replyClass),
                $"<{replyName}>: {replyClass} rejected: {(t.Length > 0 ? t : "Access denied")}");
        }
        if (Is("HANGUP"))
        {
            LogWhatsup(state, "hangup", text);
            state.Reason = "hangup";
            throw new CheckJump(Hangup);
        }
        if (Is("INFO"))
        {
            LogWhatsup(state, "info", text);
            return Dunno;
        }
        if (Is("WARN"))
        {
            LogWhatsup(state, "warn", text);
            return Dunno;
        }
        if (Is("FILTER"))
        {
            if (!CanDelegateAction(state, table, "FILTER"))
                return Dunno;
            if (text.Length == 0)
                Msg.Warn($"access table {table} entry \"{datum}\" has FILTER entry without value");
            else if (!text.Contains(':'))
                Msg.Warn($"access table {table} entry \"{datum}\" requires transport:destination");
            else
            {
                LogWhatsup(state, "filter", $"<{replyName}>: {replyClass} triggers FILTER {text}");
                state.SavedFilter = text;
            }
            return Dunno;
        }
        if (Is("HOLD"))
        {
            if (!CanDelegateAction(state, table, "HOLD") || (state.SavedFlags & CleanupFlagHold) != 0)
                return Dunno;
            LogWhatsup(state, "hold", $"<{replyName}>: {replyClass} {(text.Length > 0 ? text : "triggers HOLD action")}");
            state.SavedFlags |= CleanupFlagHold;
            return Dunno;
        }
        if (Is("DISCARD"))
        {
            if (!CanDelegateAction(state, table, "DISCARD"))
                return Dunno;
            LogWhatsup(state, "discard", $"<{replyName}>: {replyClass} {(text.Length > 0 ? text : "triggers DISCARD action")}");
            state.SavedFlags |= CleanupFlagDiscard;
            state.Discard = true;
            return AclPermit(state, cmd, replyClass, replyName, $"from {table}");
        }
        if (Is("REDIRECT"))
        {
            if (!CanDelegateAction(state, table, "REDIRECT"))
                return Dunno;
            if (!text.Contains('@'))
                Msg.Warn($"access table {table} entry \"{datum}\" requires user@domain target");
            else
            {
                LogWhatsup(state, "redirect", $"<{replyName}>: {replyClass} triggers REDIRECT {text}");
                state.SavedRedirect = text;
            }
            return Dunno;
        }
        if (Is("BCC"))
        {
            if (!CanDelegateAction(state, table, "BCC"))
                return Dunno;
            if (!text.Contains('@'))
                Msg.Warn($"access table {table} entry \"{datum}\" requires user@domain target");
            else
            {
                LogWhatsup(state, "bcc", $"<{replyName}>: {replyClass} triggers BCC {text}");
                state.SavedBcc.Add(text);
            }
            return Dunno;
        }
        if (Is("defer_if_permit"))
        {
            var (dsn, t) = DsnUtil.Split("4.7.1", text);
            return DeferIfPermit(1, state, ErrorPolicy, mapDeferCode, DsnFix.Fix(dsn, replyClass),
                $"<{replyName}>: {replyClass} rejected: {(t.Length > 0 ? t : "Service unavailable")}");
        }
        if (Is("defer_if_reject"))
        {
            var (dsn, t) = DsnUtil.Split("4.7.1", text);
            DeferIfReject(state, ErrorPolicy, mapDeferCode, DsnFix.Fix(dsn, replyClass),
                $"<{replyName}>: {replyClass} rejected: {(t.Length > 0 ? t : "Service unavailable")}");
            return Dunno;
        }
        if (Is("PREPEND"))
        {
            if (!NotInClientHelo(state, table, "PREPEND"))
                return Dunno;
            if (state.Where == "END-OF-MESSAGE")
            {
                Msg.Warn($"access table {table}: action PREPEND must be used before smtpd_end_of_data_restrictions");
                return Dunno;
            }
            if (text.Length == 0 || !HostSyntax.IsHeader(text))
            {
                Msg.Warn($"access table {table} entry \"{datum}\" requires header: text");
                return Dunno;
            }
            state.Prepend.Add(text);
            return Dunno;
        }
        if (HostSyntax.AllDigits(value))
            return AclPermit(state, cmd, replyClass, replyName, $"from {table}");
        if (cmdLen == 3 && text.Length > 0 && (value[0] == '4' || value[0] == '5') && char.IsAsciiDigit(value[1]) && char.IsAsciiDigit(value[2]))
        {
            var code = int.Parse(value[..3]);
            var (dsn, t) = DsnUtil.Split(value[0] + ".7.1", text);
            return CheckReject(state, ErrorPolicy, code, DsnFix.Fix(dsn, replyClass),
                $"<{replyName}>: {replyClass} rejected: {(t.Length > 0 ? t : "Access denied")}");
        }
        if (Is("OK") || Is("RELAY"))
            return AclPermit(state, cmd, replyClass, replyName, $"from {table}");
        if (value.Contains(':'))
        {
            Msg.Warn($"access table {table} has entry with lookup table: {value}");
            Msg.Warn("do not specify lookup tables inside SMTPD access maps");
            Msg.Warn("define a restriction class and specify its name instead.");
            throw RejectServerError(state);
        }
        if (state.Recursion > 100)
        {
            Msg.Warn($"access table {table} entry {value} causes unreasonable recursion");
            throw RejectServerError(state);
        }
        var restrictions = SplitList(value).ToArray();
        if (restrictions.Length == 0)
        {
            Msg.Warn($"access table {table} entry {value} has empty value");
            return Ok;
        }
        return GenericChecks(state, restrictions, replyName, replyClass, defAcl);
    }

    // Hangup - a status that makes the caller drop the connection without a reply.
    internal const int Hangup = 3;

    // ---------------------------------------------------------------
    // Individual restrictions.

    private int RejectUnknownReverseName(SmtpdState state) =>
        state.ReverseNameStatus != 2
            ? CheckReject(state, ErrorPolicy, state.ReverseNameStatus == 5 ? unkClientCode : 450, "4.7.1",
                $"Client host rejected: cannot find your reverse hostname, [{state.Addr}]")
            : Dunno;

    private int RejectUnknownClient(SmtpdState state) =>
        state.NameStatus != 2
            ? CheckReject(state, ErrorPolicy, state.NameStatus >= 5 ? unkClientCode : 450, "4.7.25",
                $"Client host rejected: cannot find your hostname, [{state.Addr}]")
            : Dunno;

    private int RejectPlaintextSession(SmtpdState state) =>
        state.Tls == null ? CheckReject(state, ErrorPolicy, plaintextCode, "4.7.1", "Session encryption is required") : Dunno;

    // The reference looks at the socket address: a client on a UNIX
    // socket (address family unspecified) is not on an inet interface.
    private int PermitInetInterfaces(SmtpdState state) =>
        state.AddrFamily != 0 && System.Net.IPAddress.TryParse(state.Addr, out var a) && ownAddresses.Contains(a.ToString()) ? Ok : Dunno;

    private int PermitMynetworks(SmtpdState state)
    {
        if (mynetworks.Match(state.Name, state.Addr))
            return Ok;
        return mynetworks.Error == DictError.None ? Dunno : (int)mynetworks.Error;
    }

    private static string DupIfTruncate(string name) =>
        name.Length > 1 && name[^1] == '.' && name[^2] != '.' ? name[..^1] : name;

    private int RejectInvalidHostaddr(SmtpdState state, string addr, string replyName, string replyClass)
    {
        var test = addr.Length > 2 && addr[0] == '[' && addr[^1] == ']' ? addr[1..^1] : addr;
        return HostSyntax.ValidMailhostAddr(test) == null
            ? CheckReject(state, ErrorPolicy, badNameCode, "5.5.2", $"<{replyName}>: {replyClass} rejected: invalid ip address")
            : Dunno;
    }

    private int RejectInvalidHostname(SmtpdState state, string name, string replyName, string replyClass)
    {
        var test = DupIfTruncate(name);
        return !HostSyntax.ValidHostname(test) && !HostSyntax.ValidHostaddr(test)
            ? CheckReject(state, ErrorPolicy, badNameCode, "5.5.2", $"<{replyName}>: {replyClass} rejected: Invalid name")
            : Dunno;
    }

    private int RejectNonFqdnHostname(SmtpdState state, string name, string replyName, string replyClass)
    {
        var test = DupIfTruncate(name);
        return !HostSyntax.ValidUtf8Hostname(state.SmtpUtf8, test) || !test.Contains('.')
            ? CheckReject(state, ErrorPolicy, nonFqdnCode, "5.5.2", $"<{replyName}>: {replyClass} rejected: need fully-qualified hostname")
            : Dunno;
    }

    private DnsStatus DnsQuery(string name, int type, out List<DnsRecord> records, out string why)
    {
        var status = DnsLookup.Lookup(name, type, DnsFlags.None, out records, out why);
        Tracer?.Dns(name, DnsType.Name(type), status == DnsStatus.Ok ? string.Join(" ", records.Select(r => r.ToString())) : status + (why.Length > 0 ? ": " + why : ""));
        return status;
    }

    private DnsStatus DnsQueryList(string name, int[] types, bool stopOnFirst, out string why)
    {
        var status = DnsStatus.NotFound;
        why = "";
        foreach (var t in types)
        {
            var s = DnsQuery(name, t, out _, out var w);
            if (s == DnsStatus.Ok)
            {
                status = s;
                if (stopOnFirst)
                    break;
            }
            else if (s == DnsStatus.NullMx || s == DnsStatus.Inval)
            {
                status = s;
                why = w;
                break;
            }
            else if (status != DnsStatus.Ok && (s == DnsStatus.Retry || (s != DnsStatus.NotFound && status == DnsStatus.NotFound)))
            {
                status = s;
                why = w;
            }
        }
        return status;
    }

    private static string DnsErrorText(string why, DnsStatus status)
    {
        var i = why.LastIndexOf(": ", StringComparison.Ordinal);
        if (i >= 0 && why.StartsWith("Host or domain name not found", StringComparison.Ordinal))
            return why[(i + 2)..];
        return status == DnsStatus.Retry ? "Host not found, try again" : "Host not found";
    }

    private int RejectUnknownHostname(SmtpdState state, string name, string replyName, string replyClass)
    {
        var status = DnsQueryList(name, [DnsType.A, DnsType.AAAA, DnsType.MX], true, out _);
        if (status != DnsStatus.Ok && status != DnsStatus.NullMx)
        {
            if (status == DnsStatus.Policy)
            {
                Msg.Warn($"{name}: address or MX lookup error: DNS reply filter drops all results");
                return Dunno;
            }
            if (status != DnsStatus.Retry)
                return CheckReject(state, ErrorPolicy, unkNameCode, "4.7.1",
                    $"<{replyName}>: {replyClass} rejected: {(status == DnsStatus.Inval ? "Malformed DNS server reply" : "Host not found")}");
            return DeferIfPermit(unkNameTfAct, state, ErrorPolicy, 450, "4.7.1", $"<{replyName}>: {replyClass} rejected: Host not found");
        }
        return Dunno;
    }

    private int RejectUnknownMailhost(SmtpdState state, string name, string replyName, string replyClass)
    {
        if (!HostSyntax.IsAscii(name))
        {
            try
            {
                name = new System.Globalization.IdnMapping().GetAscii(name);
            }
            catch (ArgumentException)
            {
            }
        }
        var sender = replyClass == NameSender;
        var status = DnsQuery(name, DnsType.MX, out _, out _);
        if (status == DnsStatus.NotFound)
            status = DnsQueryList(name, [DnsType.A, DnsType.AAAA], true, out _);
        if (status != DnsStatus.Ok)
        {
            if (status == DnsStatus.Policy)
            {
                Msg.Warn($"{name}: MX or address lookup error: DNS reply filter drops all results");
                return Dunno;
            }
            if (status == DnsStatus.NullMx)
                return CheckReject(state, ErrorPolicy, sender ? 550 : 556, sender ? "4.7.27" : "4.1.10",
                    $"<{replyName}>: {replyClass} rejected: Domain {name} does not accept mail (nullMX)");
            if (status != DnsStatus.Retry)
                return CheckReject(state, ErrorPolicy, unkAddrCode, sender ? "4.1.8" : "4.1.2",
                    $"<{replyName}>: {replyClass} rejected: {(status == DnsStatus.Inval ? "Malformed DNS server reply" : "Domain not found")}");
            return DeferIfPermit(unkAddrTfAct, state, ErrorPolicy, 450, sender ? "4.1.8" : "4.1.2",
                $"<{replyName}>: {replyClass} rejected: Domain not found");
        }
        return Dunno;
    }

    private int PermitTlsClientcerts(SmtpdState state, bool permitAll)
    {
        var tls = state.Tls;
        if (tls == null)
            return Dunno;
        if (tls.PeerCertTrusted && permitAll)
            return Ok;
        if (tls.PeerCertPresent)
        {
            foreach (var print in new[] { tls.PeerCertFingerprint, tls.PeerPubkeyFingerprint })
            {
                var found = FindMap(relayCcerts, "relay_clientcerts", print, DictFlags.None, out var error);
                if (found != null)
                    return Ok;
                if (error != DictError.None)
                {
                    Msg.Warn($"relay_clientcerts: lookup error for fingerprint '{tls.PeerCertFingerprint}', pkey fingerprint {tls.PeerPubkeyFingerprint}");
                    return (int)error;
                }
            }
        }
        else if (!tlsAskCcert)
        {
            Msg.Warn($"{(permitAll ? "permit_tls_all_clientcerts" : "permit_tls_clientcerts")} is requested, but \"smtpd_tls_ask_ccert = no\"");
        }
        return Dunno;
    }

    private static bool checkRelayDomainsWarned;

    private int CheckRelayDomains(SmtpdState state, string recipient, string replyName, string replyClass)
    {
        if (!checkRelayDomainsWarned)
        {
            checkRelayDomainsWarned = true;
            Msg.Warn($"support for restriction \"check_relay_domains\" will be removed from {Conf.Eval("mail_name")}; use \"reject_unauth_destination\" instead");
        }
        if (relayDomains.Match(state.Name, ""))
            return Ok;
        if (PermitAuthDestination(state, recipient) == Ok)
            return Ok;
        return CheckReject(state, ErrorPolicy, relayCode, "5.7.1", $"<{replyName}>: {replyClass} rejected: Relay access denied");
    }

    private int PermitAuthDestination(SmtpdState state, string recipient)
    {
        var reply = ResolveAddr(state.Sender, recipient);
        if (Failed(reply))
            throw RejectDictRetry(state, recipient);
        var r = reply!.Value;
        if (!r.Recipient.Contains('@'))
            return Ok;
        if (!allowUntrustRoute && r.Has(MailProto.ResolveFlagRouted))
            return Dunno;
        if (r.Has(MailProto.ResolveClassFinal))
            return Ok;
        if (r.Has(MailProto.ResolveClassRelay))
            return Ok;
        return Dunno;
    }

    private int RejectUnauthDestination(SmtpdState state, string recipient, int code, string dsn) =>
        PermitAuthDestination(state, recipient) == Ok
            ? Dunno
            : CheckReject(state, ErrorPolicy, code, dsn, $"<{recipient}>: Relay access denied");

    private int RejectUnauthPipelining(SmtpdState state, string replyName, string replyClass) =>
        state.IllegalPipelining
            ? CheckReject(state, ErrorProtocol, 503, "5.5.0", $"<{replyName}>: {replyClass} rejected: Improper use of SMTP command pipelining")
            : Dunno;

    private bool AllAuthMxAddr(SmtpdState state, string host, string replyName, string replyClass)
    {
        var status = DnsQueryList(host, [DnsType.A, DnsType.AAAA], false, out var why);
        List<System.Net.IPAddress> addrs = new();
        if (status == DnsStatus.Ok)
        {
            DnsQuery(host, DnsType.A, out var a4, out _);
            DnsQuery(host, DnsType.AAAA, out var a6, out _);
            addrs.AddRange(a4.Concat(a6).Select(r => r.Address).OfType<System.Net.IPAddress>());
        }
        if (status != DnsStatus.Ok)
        {
            DeferIfReject(state, ErrorPolicy, 450, "4.4.4",
                $"<{replyName}>: {replyClass} rejected: Unable to look up host {host} as mail exchanger: {(status == DnsStatus.Policy ? "DNS reply filter policy" : DnsErrorText(why, status))}");
            return false;
        }
        foreach (var a in addrs)
        {
            if (!permMxNetworks.Match(host, a.ToString()))
            {
                if (permMxNetworks.Error != DictError.None)
                {
                    Msg.Warn($"all_auth_mx_addr: permit_mx_backup_networks lookup error for address {a} for {host}");
                    DeferIfReject(state, ErrorPolicy, 450, "4.4.4", $"<{replyName}>: {replyClass} rejected: Unable to verify host {host} as mail exchanger");
                }
                return false;
            }
        }
        return true;
    }

    private List<System.Net.IPAddress>? HostAddresses(string host, out string error)
    {
        error = "";
        if (System.Net.IPAddress.TryParse(host, out var lit))
            return [lit];
        var result = new List<System.Net.IPAddress>();
        var s4 = DnsQuery(host, DnsType.A, out var r4, out var w4);
        var s6 = DnsQuery(host, DnsType.AAAA, out var r6, out _);
        result.AddRange(r4.Concat(r6).Select(r => r.Address).OfType<System.Net.IPAddress>());
        if (result.Count == 0)
        {
            error = s4 == DnsStatus.Retry || s6 == DnsStatus.Retry ? "Temporary failure in name resolution" : "Name or service not known";
            return null;
        }
        return result;
    }

    private bool HasMyAddr(SmtpdState state, string host, string replyName, string replyClass)
    {
        var addrs = HostAddresses(host, out var error);
        if (addrs == null)
        {
            DeferIfReject(state, ErrorPolicy, 450, "4.4.4", $"<{replyName}>: {replyClass} rejected: Unable to look up mail exchanger host {host}: {error}");
            return false;
        }
        return addrs.Any(a => ownAddresses.Contains(a.ToString()));
    }

    private bool IAmMx(SmtpdState state, List<DnsRecord> mxList, string replyName, string replyClass)
    {
        foreach (var mx in mxList)
            if (ResolveLocal(mx.Text ?? "") > 0)
                return true;
        foreach (var mx in mxList)
            if (HasMyAddr(state, mx.Text ?? "", replyName, replyClass))
                return true;
        return false;
    }

    private int PermitMxBackup(SmtpdState state, string recipient, string replyName, string replyClass)
    {
        var reply = ResolveAddr(state.Sender, recipient);
        if (Failed(reply))
            throw RejectDictRetry(state, recipient);
        var r = reply!.Value;
        var at = r.Recipient.LastIndexOf('@');
        if (at < 0)
            return Ok;
        var domain = r.Recipient[(at + 1)..];
        if (!allowUntrustRoute && r.Has(MailProto.ResolveFlagRouted))
            return Dunno;
        if (r.Has(MailProto.ResolveClassFinal) || r.Has(MailProto.ResolveClassRelay))
            return Ok;
        if (domain.StartsWith('[') && domain.EndsWith(']'))
            return Dunno;
        var status = DnsQuery(domain, DnsType.MX, out var mxList, out var why);
        if (status != DnsStatus.Ok)
        {
            if (status == DnsStatus.Retry || status == DnsStatus.Policy)
                DeferIfReject(state, ErrorPolicy, 450, "4.4.4",
                    $"<{replyName}>: {replyClass} rejected: Unable to look up mail exchanger information: {(status == DnsStatus.Policy ? "DNS reply filter policy" : DnsErrorText(why, status))}");
            return Dunno;
        }
        var sorted = mxList.OrderBy(m => m.Pref).ToList();
        var best = sorted.TakeWhile(m => m.Pref == sorted[0].Pref).ToList();
        var rest = sorted.Skip(best.Count).ToList();
        if (IAmMx(state, best, replyName, replyClass))
            return Dunno;
        if (rest.Count == 0 || !IAmMx(state, rest, replyName, replyClass))
            return Dunno;
        if (Conf.Eval("permit_mx_backup_networks").Length > 0 && !best.All(mx => AllAuthMxAddr(state, mx.Text ?? "", replyName, replyClass)))
            return Dunno;
        return Ok;
    }

    private int RejectNonFqdnAddress(SmtpdState state, string addr, string replyName, string replyClass)
    {
        var at = addr.LastIndexOf('@');
        var domain = at >= 0 ? addr[(at + 1)..] : "";
        if (domain.Length > 0 && domain[0] == '[' && domain[^1] == ']')
            return Dunno;
        var test = DupIfTruncate(domain);
        return test.Length == 0 || !HostSyntax.ValidUtf8Hostname(state.SmtpUtf8, test) || !test.Contains('.')
            ? CheckReject(state, ErrorPolicy, nonFqdnCode, "4.5.2", $"<{replyName}>: {replyClass} rejected: need fully-qualified address")
            : Dunno;
    }

    private int RejectUnknownAddress(SmtpdState state, string addr, string replyName, string replyClass)
    {
        var reply = ResolveAddr(replyClass == NameSender ? state.Recipient : state.Sender, addr);
        if (Failed(reply))
            throw RejectDictRetry(state, addr);
        var r = reply!.Value;
        var at = r.Recipient.LastIndexOf('@');
        if (at < 0)
            return Dunno;
        var domain = r.Recipient[(at + 1)..];
        if (r.Has(MailProto.ResolveClassFinal))
            return Dunno;
        if (domain.Length > 0 && domain[0] == '[' && domain[^1] == ']')
            return Dunno;
        return RejectUnknownMailhost(state, domain, replyName, replyClass);
    }

    private int RejectUnverifiedAddress(SmtpdState state, string addr, string replyName, string replyClass,
        int dcode, int rcode, int tfAct, string altReply)
    {
        var sender = replyClass == NameSender;
        int verifyStatus, rcptStatus;
        string why;
        for (var count = 0; ;)
        {
            if (Verifier != null)
                (verifyStatus, rcptStatus, why) = Verifier(addr);
            else
            {
                lock (VerifyLock)
                    verifyStatus = VerifyClient.Query(addr, out rcptStatus, out why);
            }
            if (verifyStatus != VerifyClient.StatOk || rcptStatus != DeliveryStatusTodo)
                break;
            if (++count >= verifyPollCount)
                break;
            Thread.Sleep(TimeSpan.FromSeconds(verifyPollDelay));
        }
        if (verifyStatus != VerifyClient.StatOk)
        {
            Msg.Warn($"{Conf.Eval("address_verify_service_name")} service failure");
            return DeferIfPermit(tfAct, state, ErrorPolicy, 450, sender ? DsnFix.SenderDsn : "4.1.1",
                $"<{replyName}>: {replyClass} rejected: address verification problem");
        }
        var code = 0;
        switch (rcptStatus)
        {
            case DeliveryStatusTodo:
            case DeliveryStatusDefer:
                code = dcode;
                break;
            case DeliveryStatusOk:
                break;
            case DeliveryStatusBounce:
                code = rcode;
                break;
            default:
                Msg.Warn($"unknown address verification status {rcptStatus}");
                break;
        }
        if (code >= 400 && altReply.Length > 0)
            why = altReply;
        switch (code / 100)
        {
            case 2:
                return Dunno;
            case 4:
                return DeferIfPermit(tfAct, state, ErrorPolicy, code, sender ? DsnFix.SenderDsn : "4.1.1",
                    $"<{replyName}>: {replyClass} rejected: unverified address: {(why.Length > 250 ? why[..250] : why)}");
            default:
                return code != 0
                    ? CheckReject(state, ErrorPolicy, code, sender ? DsnFix.SenderDsn : "4.1.1",
                        $"<{replyName}>: {replyClass} rejected: undeliverable address: {why}")
                    : Dunno;
        }
    }

    // The verify(8) client is one static connection.
    private static readonly object VerifyLock = new();

    // DEL_RCPT_STAT_*.
    private const int DeliveryStatusOk = 0;
    private const int DeliveryStatusDefer = 1;
    private const int DeliveryStatusBounce = 2;
    private const int DeliveryStatusTodo = 3;

    // check_server_access: _mx_, _ns_ and _a_ variants.
    private int CheckServerAccess(SmtpdState state, string table, string name, int type,
        string replyName, string replyClass, string? defAcl)
    {
        var at = name.LastIndexOf('@');
        var domain = at >= 0 ? name[(at + 1)..] : name;
        bool found;
        int status;
        if (domain.StartsWith('['))
        {
            if (type != DnsType.A && type != DnsType.MX)
                return Dunno;
            if (!domain.EndsWith(']'))
                return Dunno;
            var bare = HostSyntax.ValidMailhostAddr(domain[1..^1]);
            return bare == null ? Dunno : CheckAddrAccess(state, table, bare, DictFlags.None, out _, replyName, replyClass, defAcl);
        }
        if (!HostSyntax.IsAscii(domain))
        {
            try
            {
                domain = new System.Globalization.IdnMapping().GetAscii(domain);
            }
            catch (ArgumentException)
            {
            }
        }
        var servers = new List<string>();
        if (type == DnsType.A || type == DnsType.AAAA)
        {
            servers.Add(domain);
        }
        else
        {
            var dnsStatus = DnsQuery(domain, type, out var list, out var why);
            if (dnsStatus == DnsStatus.NullMx)
                return Dunno;
            if (dnsStatus == DnsStatus.NotFound)
            {
                if (type == DnsType.MX)
                {
                    list = [new DnsRecord(domain, domain, DnsType.MX, 0, 0, Encoding.ASCII.GetBytes(domain), domain)];
                    dnsStatus = DnsStatus.Ok;
                }
                else if (type == DnsType.NS)
                {
                    var d = domain;
                    int dot;
                    while ((dot = d.IndexOf('.')) >= 0 && dot + 1 < d.Length)
                    {
                        d = d[(dot + 1)..];
                        dnsStatus = DnsQuery(d, type, out list, out why);
                        if (dnsStatus != DnsStatus.NotFound)
                            break;
                    }
                    domain = d;
                }
            }
            if (dnsStatus != DnsStatus.Ok)
            {
                Msg.Warn($"Unable to look up {DnsType.Name(type)} host for {(domain.Length > 1 ? domain : name)}: {(dnsStatus == DnsStatus.Policy ? "DNS reply filter policy" : DnsErrorText(why, dnsStatus))}");
                return Dunno;
            }
            if (type == DnsType.MX)
                list = list.OrderBy(r => r.Pref).ToList();
            servers.AddRange(list.Select(r => (r.Text ?? "").TrimEnd('.')));
        }
        var addrCount = 0;
        var limit = int.TryParse(Conf.Eval("dns_rr_list_limit"), out var dl) ? dl : 100;
        foreach (var server in servers)
        {
            if (HostSyntax.ValidHostaddr(server))
            {
                if ((status = CheckAddrAccess(state, table, server, DictFlags.None, out found, replyName, replyClass, defAcl)) != 0 || found)
                    return status;
                continue;
            }
            if (type != DnsType.A && type != DnsType.AAAA
                && ((status = CheckDomainAccess(state, table, server, DictFlags.None, out found, replyName, replyClass, defAcl)) != 0 || found))
                return status;
            var addrs = HostAddresses(server, out var err);
            if (addrs == null)
            {
                if (type != DnsType.A && type != DnsType.AAAA)
                    Msg.Warn($"Unable to look up {DnsType.Name(type)} host {server} for {replyClass} {replyName}: {err}");
                continue;
            }
            foreach (var a in addrs)
            {
                if (++addrCount > limit)
                {
                    Msg.Warn($"check_server_access: {DnsType.Name(type)} server address count limit ({limit}) exceeded for {replyClass} {replyName} -- ignoring the remainder");
                    return Dunno;
                }
                var text = a.IsIPv4MappedToIPv6 ? a.MapToIPv4().ToString() : a.ToString();
                if ((status = CheckAddrAccess(state, table, text, DictFlags.None, out found, replyName, replyClass, defAcl)) != 0 || found)
                    return status;
            }
        }
        return Dunno;
    }

    private int CheckCcertAccess(SmtpdState state, string aclSpec, string? defAcl)
    {
        var result = Dunno;
        var table = TableName(aclSpec);
        var order = new List<string> { "cert_fingerprint", "pubkey_fingerprint" };
        if (aclSpec.StartsWith('{'))
        {
            foreach (var part in SplitList(aclSpec[1..^1]).Skip(1))
            {
                var eq = part.IndexOf('=');
                if (eq > 0 && part[..eq].Trim() == "search_order")
                    order = SplitList(part[(eq + 1)..].Trim().TrimStart('{').TrimEnd('}')).ToList();
            }
        }
        var tls = state.Tls;
        if (tls != null && tls.PeerCertPresent)
        {
            foreach (var action in order)
            {
                string matchThis;
                if (action == "cert_fingerprint")
                    matchThis = tls.PeerCertFingerprint;
                else if (action == "pubkey_fingerprint")
                    matchThis = tls.PeerPubkeyFingerprint;
                else
                {
                    Msg.Warn($"check_ccert_access: unexpected action '{action}' in '{aclSpec}'");
                    return CheckReject(state, ErrorSoftware, 451, "4.3.5", "Server configuration error");
                }
                result = CheckAccess(state, table, matchThis, DictFlags.None, out _, tls.PeerCN, NameCcert, defAcl);
                if (result != Dunno)
                    break;
            }
        }
        else if (!tlsAskCcert)
        {
            Msg.Warn("check_ccert_access is requested, but \"smtpd_tls_ask_ccert = no\"");
        }
        return result;
    }

    // ---------------------------------------------------------------
    // DNS white/black lists.

    internal sealed class RblResult
    {
        public string? Txt;
        public List<DnsRecord> A = new();
        public bool Soft;
    }

    private static readonly RblResult SoftResult = new() { Soft = true };

    private RblResult? RblLookup(string query)
    {
        lock (rblLock)
        {
            if (rblCache.TryGetValue(query, out var cached))
                return cached;
        }
        RblResult? result = null;
        var status = DnsQuery(query, DnsType.A, out var addrs, out var why);
        if (status != DnsStatus.Ok && status != DnsStatus.NotFound)
        {
            Msg.Warn($"{query}: RBL lookup error: {why}");
            result = SoftResult;
        }
        if (status == DnsStatus.Ok)
        {
            result = new RblResult { A = addrs };
            var ts = DnsQuery(query, DnsType.TXT, out var txts, out _);
            if (ts == DnsStatus.Ok)
            {
                var sb = new StringBuilder();
                for (var i = 0; i < txts.Count && sb.Length < 500; i++)
                {
                    var t = txts[i].Text ?? Encoding.UTF8.GetString(txts[i].Data);
                    var left = 500 - sb.Length;
                    sb.Append(t.Length > left ? t[..left] : t);
                    if (i + 1 < txts.Count && 500 - sb.Length > 3)
                        sb.Append(" / ");
                }
                result.Txt = sb.ToString();
            }
            else if (ts == DnsStatus.Policy)
            {
                Msg.Warn($"{query}: TXT lookup error: DNS reply filter drops all results");
            }
        }
        lock (rblLock)
        {
            if (rblCache.Count >= 100)
                rblCache.Clear();
            rblCache[query] = result;
        }
        return result;
    }

    private IpMatch ByteCodes(string pattern)
    {
        lock (rblLock)
        {
            if (rblByteCache.TryGetValue(pattern, out var m))
                return m;
            var parsed = IpMatch.Parse(pattern, out var err);
            if (parsed == null)
                Msg.Fatal($"RBL reply error: {err}");
            return rblByteCache[pattern] = parsed!;
        }
    }

    private static bool RblMatchAddr(RblResult rbl, IpMatch codes)
    {
        foreach (var rr in rbl.A)
        {
            if (rr.Type == DnsType.A)
            {
                if (codes.Match(rr.Data))
                    return true;
            }
            else
            {
                Msg.Warn($"rbl_match_addr: skipping record type {DnsType.Name(rr.Type)} for query {rr.Qname}");
            }
        }
        return false;
    }

    private RblResult? FindDnsxl(string query)
    {
        string? replyAddr = null;
        var eq = query.IndexOf('=');
        if (eq >= 0)
        {
            replyAddr = query[(eq + 1)..];
            query = query[..eq];
        }
        var rbl = RblLookup(query);
        if (rbl != null && !rbl.Soft && replyAddr != null && !RblMatchAddr(rbl, ByteCodes(replyAddr)))
            rbl = null;
        return rbl;
    }

    private RblResult? FindDnsxlAddr(string rblDomain, string addr)
    {
        var sb = new StringBuilder();
        if (HostSyntax.ValidIpv6(addr))
        {
            var bytes = System.Net.IPAddress.Parse(addr).GetAddressBytes();
            for (var i = bytes.Length - 1; i >= 0; i--)
                sb.Append($"{bytes[i] & 0xf:x}.{bytes[i] >> 4:x}.");
        }
        else
        {
            var octets = addr.Split('.');
            for (var i = octets.Length - 1; i >= 0; i--)
                sb.Append(octets[i]).Append('.');
        }
        sb.Append(rblDomain);
        return FindDnsxl(sb.ToString());
    }

    private RblResult? FindDnsxlDomain(string rblDomain, string what)
    {
        var at = what.LastIndexOf('@');
        string domain;
        if (at >= 0)
        {
            domain = what[(at + 1)..];
            if (domain.StartsWith('['))
                return null;
        }
        else
            domain = what;
        if (domain.Length == 0)
            return null;
        var dot = domain.LastIndexOf('.');
        if (HostSyntax.AllDigits(dot < 0 ? domain : domain[(dot + 1)..]))
            return null;
        if (!HostSyntax.IsAscii(domain))
        {
            try
            {
                domain = new System.Globalization.IdnMapping().GetAscii(domain);
            }
            catch (ArgumentException)
            {
            }
        }
        if (domain.Length == 0 || !HostSyntax.ValidHostname(domain))
            return null;
        return FindDnsxl($"{domain}.{rblDomain}");
    }

    internal int RblRejectReply(SmtpdState state, RblResult rbl, string rblDomain, string what, string replyClass)
    {
        string? template = null;
        if (rblReplyMapsSpec.Length > 0)
        {
            template = FindMap(rblReplyMaps, "rbl_reply_maps", rblDomain, DictFlags.None, out var error);
            if (error != DictError.None)
                throw RejectServerError(state);
        }
        var domain = rblDomain;
        var eq = domain.IndexOf('=');
        if (eq >= 0)
            domain = domain[..eq];
        string why;
        while (true)
        {
            template ??= defaultRblReply;
            var sb = new StringBuilder();
            var st = MacExpand.Expand(sb, template, MacExpand.FlagNone, expandFilter, (name, mode) => name switch
            {
                "rbl_code" => mapsRblCode.ToString(),
                "rbl_domain" => domain,
                "rbl_reason" => rbl.Txt ?? "",
                "rbl_txt" => rbl.Txt ?? "",
                "rbl_what" => what,
                "rbl_class" => replyClass,
                _ => ExpandLookup(state, name),
            });
            why = sb.ToString();
            if ((st & MacExpand.ParseError) == 0)
                break;
            if (ReferenceEquals(template, defaultRblReply))
                Msg.Fatal($"rbl_reject_reply: bad default rbl reply template: {defaultRblReply}");
            Msg.Warn($"rbl_reject_reply: bad rbl reply template for domain {rblDomain}: {template}");
            template = null;
        }
        if (why.Length < 4 || (why[0] != '4' && why[0] != '5') || !char.IsAsciiDigit(why[1]) || !char.IsAsciiDigit(why[2]) || why[3] != ' ')
        {
            Msg.Warn($"rbl response code configuration error: {why}");
            return CheckReject(state, ErrorPolicy, 450, "4.7.1", "Service unavailable");
        }
        var code = int.Parse(why[..3]);
        var (dsn, text) = DsnUtil.Split("4.7.1", why[4..]);
        return CheckReject(state, ErrorPolicy, code, DsnFix.Fix(dsn, replyClass), text.Length > 0 ? text : "Service unavailable");
    }

    // ExpandLookup - smtpd_expand_lookup(): session attributes for $name in replies.
    private static string? ExpandLookup(SmtpdState state, string name) => name switch
    {
        "client_address" => state.Addr,
        "client_name" => state.Name,
        "reverse_client_name" => state.ReverseName,
        "client_port" => state.Port,
        "helo_name" => state.HeloName,
        "sender" => state.Sender,
        "recipient" => state.Recipient,
        "sasl_method" => state.SaslMethod,
        "sasl_username" => state.SaslUsername,
        "sasl_sender" => state.SaslSender,
        "server_address" => state.DestAddr,
        "server_port" => state.DestPort,
        "protocol_name" => state.Protocol,
        "queue_id" => state.QueueId,
        _ => null,
    };

    private int RejectRblAddr(SmtpdState state, string rblDomain, string addr, string replyClass)
    {
        var rbl = FindDnsxlAddr(rblDomain, addr);
        return rbl == null || rbl.Soft ? Dunno : RblRejectReply(state, rbl, rblDomain, addr, replyClass);
    }

    private int PermitDnswlAddr(SmtpdState state, string dnswlDomain, string addr, string replyClass)
    {
        if (state.Where == "RCPT" && state.Recipient != null && PermitAuthDestination(state, state.Recipient) != Ok)
            return Dunno;
        var result = FindDnsxlAddr(dnswlDomain, addr);
        if (result == null)
            return Dunno;
        if (result.Soft)
        {
            DeferIfReject(state, ErrorPolicy, 450, "4.7.1", $"<{addr}>: {replyClass} rejected: Service unavailable");
            return Dunno;
        }
        return Ok;
    }

    private int RejectRblDomain(SmtpdState state, string rblDomain, string what, string replyClass)
    {
        var rbl = FindDnsxlDomain(rblDomain, what);
        return rbl == null || rbl.Soft ? Dunno : RblRejectReply(state, rbl, rblDomain, what, replyClass);
    }

    private int PermitDnswlDomain(SmtpdState state, string dnswlDomain, string what, string replyClass)
    {
        if (state.Where == "RCPT" && state.Recipient != null && PermitAuthDestination(state, state.Recipient) != Ok)
            return Dunno;
        var result = FindDnsxlDomain(dnswlDomain, what);
        if (result == null)
            return Dunno;
        if (result.Soft)
        {
            DeferIfReject(state, ErrorPolicy, 450, "4.7.1", $"<{what}>: {replyClass} rejected: Service unavailable");
            return Dunno;
        }
        return Ok;
    }

    private static bool mapsRblWarned;

    private int RejectMapsRbl(SmtpdState state)
    {
        if (!mapsRblWarned)
        {
            mapsRblWarned = true;
            Msg.Warn($"support for restriction \"reject_maps_rbl\" will be removed from {Conf.Eval("mail_name")}; use \"reject_rbl_client domain-name\" instead");
        }
        var result = Dunno;
        foreach (var d in SplitList(mapsRblDomains))
        {
            result = RejectRblAddr(state, d, state.Addr, NameClient);
            if (result != Dunno)
                break;
        }
        return result;
    }

    // ---------------------------------------------------------------
    // SASL sender ownership.

    private int RejectAuthSenderLoginMismatch(SmtpdState state, string sender, bool allowUnknown)
    {
        if (!HasSenderLoginMaps || state.SaslUsername == null)
            return Dunno;
        var reply = ResolveAddr(state.Recipient, sender);
        if (Failed(reply))
            throw RejectDictRetry(state, sender);
        var owners = MailAddrFind(state, sender, senderLoginMaps, reply!.Value.Recipient);
        var found = false;
        if (owners != null)
        {
            foreach (var name in SplitList(owners))
                if (string.Equals(name, state.SaslUsername, StringComparison.OrdinalIgnoreCase))
                {
                    found = true;
                    break;
                }
        }
        else if (allowUnknown)
            return Dunno;
        return found ? Dunno
            : CheckReject(state, ErrorPolicy, 553, "5.7.1", $"<{sender}>: Sender address rejected: not owned by user {state.SaslUsername}");
    }

    private int RejectUnauthSenderLoginMismatch(SmtpdState state, string sender)
    {
        if (!HasSenderLoginMaps || state.SaslUsername != null)
            return Dunno;
        var reply = ResolveAddr(state.Recipient, sender);
        if (Failed(reply))
            throw RejectDictRetry(state, sender);
        return MailAddrFind(state, sender, senderLoginMaps, reply!.Value.Recipient) != null
            ? CheckReject(state, ErrorPolicy, 553, "5.7.1", $"<{sender}>: Sender address rejected: not logged in")
            : Dunno;
    }

    private bool SaslEnabled(SmtpdState state) => state.SaslActive ?? Conf.Bool("smtpd_sasl_auth_enable");

    // ---------------------------------------------------------------
    // check_policy_service.

    [ThreadStatic]
    private static int policyNesting;

    // PolicyRequest - the attributes the reference sends, in its order.
    internal List<KeyValuePair<string, string>> PolicyRequest(SmtpdState state, PolicyClient client)
    {
        var tls = state.Tls;
        string Cn(string cn) => tls == null || !tls.PeerCertTrusted || cn.Length == 0 ? "" : XtextQuote(cn);
        var where = state.Where;
        var countRcpt = where.Equals("DATA", StringComparison.OrdinalIgnoreCase) || where.Equals("BDAT", StringComparison.OrdinalIgnoreCase)
            || where.Equals("END-OF-MESSAGE", StringComparison.OrdinalIgnoreCase);
        var list = new List<KeyValuePair<string, string>>
        {
            new("request", "smtpd_access_policy"),
            new("protocol_state", where == "BDAT" ? "DATA" : where),
            new("protocol_name", state.Protocol),
            new("client_address", state.Addr),
            new("client_name", state.Name),
            new("client_port", state.Port),
            new("reverse_client_name", state.ReverseName),
            new("server_address", state.DestAddr),
            new("server_port", state.DestPort),
            new("helo_name", state.HeloName ?? ""),
            new("sender", state.Sender ?? ""),
            new("recipient", state.Recipient ?? ""),
            new("recipient_count", (countRcpt ? state.RcptCount : 0).ToString()),
            new("queue_id", state.QueueId ?? ""),
            new("instance", state.Instance),
            new("size", (state.ActSize > 0 ? state.ActSize : state.MsgSize).ToString()),
            new("etrn_domain", state.EtrnName ?? ""),
            new("stress", stress),
            new("sasl_method", state.SaslMethod ?? ""),
            new("sasl_username", state.SaslUsername ?? ""),
            new("sasl_sender", state.SaslSender ?? ""),
            new("ccert_subject", Cn(tls?.PeerCN ?? "")),
            new("ccert_issuer", Cn(tls?.IssuerCN ?? "")),
            new("ccert_fingerprint", tls?.PeerCertFingerprint ?? ""),
            new("ccert_pubkey_fingerprint", tls?.PeerPubkeyFingerprint ?? ""),
            new("encryption_protocol", tls?.Protocol ?? ""),
            new("encryption_cipher", tls?.CipherName ?? ""),
            new("encryption_keysize", (tls?.CipherUseBits ?? 0).ToString()),
            new("policy_context", client.PolicyContext),
        };
        return list;
    }

    private static string XtextQuote(string s)
    {
        var sb = new StringBuilder();
        foreach (var b in Encoding.UTF8.GetBytes(s))
        {
            if (b < 33 || b > 126 || b == '+' || b == '=')
                sb.Append('+').Append(b.ToString("X2"));
            else
                sb.Append((char)b);
        }
        return sb.ToString();
    }

    private int CheckPolicyService(SmtpdState state, string server, string replyName, string replyClass, string? defAcl)
    {
        if (!policyClients.TryGetValue(server, out var client))
        {
            Msg.Panic($"check_policy_service: no client endpoint for server {server}");
            return Dunno;
        }
        var request = PolicyRequest(state, client);
        if (NoExternal)
        {
            // Offline (postfix explain --no-external): show the request that
            // would be sent; the server's decision is unknown, so go on.
            Tracer?.Policy(server, string.Join("\n", request.Select(kv => kv.Key + "=" + kv.Value)), null);
            return Dunno;
        }
        var action = client.Request(request);
        Tracer?.Policy(server, string.Join("\n", request.Select(kv => kv.Key + "=" + kv.Value)), action);
        if (action != null && smtputf8Enable && !IsValidUtf8(action))
        {
            Msg.Warn($"malformed UTF-8 in policy server {server} response: \"{action}\"");
            action = null;
        }
        if (action == null)
        {
            policyNesting++;
            try
            {
                return CheckTableResult(state, server, policyNesting == 1 ? client.DefaultAction : "451 4.3.5 Server configuration problem",
                    "policy query", replyName, replyClass, defAcl);
            }
            finally
            {
                policyNesting--;
            }
        }
        return CheckTableResult(state, server, action, "policy query", replyName, replyClass, defAcl);
    }

    private static bool IsValidUtf8(string s) => !s.Contains('\uFFFD');

    // ---------------------------------------------------------------
    // generic_checks.

    private bool IsMapCommand(SmtpdState state, string name, string command, string[] list, ref int i)
    {
        if (!name.Equals(command, StringComparison.OrdinalIgnoreCase))
            return false;
        if (i + 1 >= list.Length || !list[i + 1].Contains(':'))
        {
            Msg.Warn($"restriction {command}: bad argument \"{(i + 1 < list.Length ? list[++i] : "(null)")}\": need maptype:mapname");
            throw RejectServerError(state);
        }
        i++;
        return true;
    }

    private void ForbidAllowlist(SmtpdState state, string name, int status, string target)
    {
        if (!state.Discard && status == Ok)
        {
            Msg.Warn($"restriction {name} returns OK for {target}");
            Msg.Warn("this is not allowed for security reasons");
            Msg.Warn("use DUNNO instead of OK if you want to make an exception");
            throw RejectServerError(state);
        }
    }

    private static bool Eq(string a, string b) => a.Equals(b, StringComparison.OrdinalIgnoreCase);

    private int GenericChecks(SmtpdState state, string[] restrictions, string replyName, string replyClass, string? defAcl)
    {
        var status = 0;
        var savedRecursion = state.Recursion++;
        for (var i = 0; i < restrictions.Length; i++)
        {
            var name = restrictions[i];
            if (state.Discard)
                break;
            if (Eq(name, "warn_if_reject"))
            {
                if (state.WarnIfReject == 0)
                    state.WarnIfReject = state.Recursion;
                continue;
            }
            var list = restrictions;
            if (name.Contains(':'))
            {
                if (defAcl == null)
                {
                    Msg.Warn($"specify one of (check_client_access, check_reverse_client_hostname_access, check_helo_access, check_sender_access, check_recipient_access, check_etrn_access) before {replyClass} restriction \"{name}\"");
                    throw RejectServerError(state);
                }
                // Spoof "defAcl name".
                list = [defAcl, name];
                var j = 0;
                status = EvalOne(state, defAcl, list, ref j, replyName, replyClass, defAcl);
            }
            else
            {
                status = EvalOne(state, name, list, ref i, replyName, replyClass, defAcl);
            }
            if (status < 0)
            {
                if (status == ErrRetry)
                    throw RejectDictRetry(state, replyName);
                throw RejectServerError(state);
            }
            if (state.WarnIfReject >= state.Recursion)
                state.WarnIfReject = 0;
            if (status != 0)
                break;
            if (state.DeferIfPermit.Active && state.DeferIfReject.Active)
                break;
        }
        state.Recursion = savedRecursion;
        if (state.WarnIfReject >= state.Recursion)
            state.WarnIfReject = 0;
        return status;
    }

    private int EvalOne(SmtpdState state, string name, string[] cpp, ref int i, string replyName, string replyClass, string? defAcl)
    {
        var startIndex = i;
        var status = EvalOneInner(state, name, cpp, ref i, replyName, replyClass, defAcl);
        if (Tracer != null)
        {
            var shown = string.Join(" ", cpp[startIndex..(i + 1)]);
            Tracer.Restriction(shown, status switch
            {
                Ok => "OK",
                Dunno => "DUNNO",
                Reject => state.ErrorText,
                _ => status.ToString(),
            });
        }
        return status;
    }

    private int EvalOneInner(SmtpdState state, string name, string[] cpp, ref int i, string replyName, string replyClass, string? defAcl)
    {
        var status = 0;
        bool HasArg(ref int k) => k + 1 < cpp.Length;
        var sender = state.Sender;
        var recipient = state.Recipient;
        var helo = state.HeloName;

        if (Eq(name, "permit"))
        {
            status = AclPermit(state, name, replyClass, replyName, "");
            if (status == Ok && i + 1 < cpp.Length)
                Msg.Warn($"restriction `{cpp[i + 1]}' after `permit' is ignored");
        }
        else if (Eq(name, "defer"))
        {
            status = CheckReject(state, ErrorPolicy, deferCode, "4.3.2", $"<{replyName}>: {replyClass} rejected: Try again later");
            if (i + 1 < cpp.Length && state.WarnIfReject == 0)
                Msg.Warn($"restriction `{cpp[i + 1]}' after `defer' is ignored");
        }
        else if (Eq(name, "reject"))
        {
            status = CheckReject(state, ErrorPolicy, rejectCode, "5.7.1", $"<{replyName}>: {replyClass} rejected: Access denied");
            if (i + 1 < cpp.Length && state.WarnIfReject == 0)
                Msg.Warn($"restriction `{cpp[i + 1]}' after `reject' is ignored");
        }
        else if (Eq(name, "reject_unauth_pipelining"))
            status = RejectUnauthPipelining(state, replyName, replyClass);
        else if (Eq(name, "check_policy_service"))
        {
            if (!HasArg(ref i) || !cpp[i + 1].Contains(':'))
            {
                Msg.Warn("restriction check_policy_service must be followed by transport:server");
                throw RejectServerError(state);
            }
            status = CheckPolicyService(state, cpp[++i], replyName, replyClass, defAcl);
        }
        else if (Eq(name, "defer_if_permit"))
            status = DeferIfPermit(1, state, ErrorPolicy, 450, "4.7.0", $"<{replyName}>: {replyClass} rejected: defer_if_permit requested");
        else if (Eq(name, "defer_if_reject"))
            DeferIfReject(state, ErrorPolicy, 450, "4.7.0", $"<{replyName}>: {replyClass} rejected: defer_if_reject requested");
        else if (Eq(name, "sleep"))
        {
            if (!HasArg(ref i) || !HostSyntax.AllDigits(cpp[i + 1]))
            {
                Msg.Warn("restriction sleep must be followed by number");
                throw RejectServerError(state);
            }
            Thread.Sleep(TimeSpan.FromSeconds(int.Parse(cpp[++i])));
        }
        else if (Eq(name, "reject_plaintext_session"))
            status = RejectPlaintextSession(state);
        else if (Eq(name, "reject_unknown_client_hostname") || Eq(name, "reject_unknown_client"))
            status = RejectUnknownClient(state);
        else if (Eq(name, "reject_unknown_reverse_client_hostname"))
            status = RejectUnknownReverseName(state);
        else if (Eq(name, "permit_inet_interfaces"))
        {
            status = PermitInetInterfaces(state);
            if (status == Ok)
                status = AclPermit(state, name, NameClient, state.NamAddr, "");
        }
        else if (Eq(name, "permit_mynetworks"))
        {
            status = PermitMynetworks(state);
            if (status == Ok)
                status = AclPermit(state, name, NameClient, state.NamAddr, "");
        }
        else if (IsMapCommand(state, name, "check_client_access", cpp, ref i))
            status = CheckNamadrAccess(state, cpp[i], state.Name, state.Addr, DictFlags.None, out _, state.NamAddr, NameClient, defAcl);
        else if (IsMapCommand(state, name, "check_reverse_client_hostname_access", cpp, ref i))
        {
            status = CheckNamadrAccess(state, cpp[i], state.ReverseName, state.Addr, DictFlags.None, out _, state.ReverseName, NameRevClient, defAcl);
            ForbidAllowlist(state, name, status, state.ReverseName);
        }
        else if (Eq(name, "reject_maps_rbl"))
            status = RejectMapsRbl(state);
        else if (Eq(name, "reject_rbl_client") || Eq(name, "reject_rbl"))
        {
            if (!HasArg(ref i))
                Msg.Warn($"restriction {name} requires domain name argument");
            else
                status = RejectRblAddr(state, cpp[++i], state.Addr, NameClient);
        }
        else if (Eq(name, "permit_dnswl_client"))
        {
            if (!HasArg(ref i))
                Msg.Warn($"restriction {name} requires domain name argument");
            else
            {
                status = PermitDnswlAddr(state, cpp[++i], state.Addr, NameClient);
                if (status == Ok)
                    status = AclPermit(state, name, NameClient, state.NamAddr, "");
            }
        }
        else if (Eq(name, "reject_rhsbl_client"))
        {
            if (!HasArg(ref i))
                Msg.Warn($"restriction {name} requires domain name argument");
            else
            {
                i++;
                if (!Eq(state.Name, "unknown"))
                    status = RejectRblDomain(state, cpp[i], state.Name, NameClient);
            }
        }
        else if (Eq(name, "permit_rhswl_client"))
        {
            if (!HasArg(ref i))
                Msg.Warn($"restriction {name} requires domain name argument");
            else
            {
                i++;
                if (!Eq(state.Name, "unknown"))
                {
                    status = PermitDnswlDomain(state, cpp[i], state.Name, NameClient);
                    if (status == Ok)
                        status = AclPermit(state, name, NameClient, state.NamAddr, "");
                }
            }
        }
        else if (Eq(name, "reject_rhsbl_reverse_client"))
        {
            if (!HasArg(ref i))
                Msg.Warn($"restriction {name} requires domain name argument");
            else
            {
                i++;
                if (!Eq(state.ReverseName, "unknown"))
                    status = RejectRblDomain(state, cpp[i], state.ReverseName, NameRevClient);
            }
        }
        else if (IsMapCommand(state, name, "check_ccert_access", cpp, ref i))
            status = CheckCcertAccess(state, cpp[i], defAcl);
        else if (IsMapCommand(state, name, "check_sasl_access", cpp, ref i))
        {
            if (SaslEnabled(state))
            {
                if (!string.IsNullOrEmpty(state.SaslUsername))
                    status = CheckAccess(state, cpp[i], state.SaslUsername, DictFlags.None, out _, new string(state.SaslUsername.Select(ch => ch < ' ' || ch == 127 ? '_' : ch).ToArray()), NameSaslUser, defAcl);
            }
            else
                Msg.Warn($"restriction `{name}' ignored: no SASL support");
        }
        else if (ServerAccess(state, name, cpp, ref i, defAcl, out status))
        {
        }
        else if (IsMapCommand(state, name, "check_helo_access", cpp, ref i))
        {
            if (helo != null)
                status = CheckDomainAccess(state, cpp[i], helo, DictFlags.None, out _, helo, NameHelo, defAcl);
        }
        else if (Eq(name, "reject_invalid_helo_hostname") || Eq(name, "reject_invalid_hostname"))
        {
            if (helo != null)
                status = helo[0] != '[' ? RejectInvalidHostname(state, helo, helo, NameHelo) : RejectInvalidHostaddr(state, helo, helo, NameHelo);
        }
        else if (Eq(name, "reject_unknown_helo_hostname") || Eq(name, "reject_unknown_hostname"))
        {
            if (helo != null)
                status = helo[0] != '[' ? RejectUnknownHostname(state, helo, helo, NameHelo) : RejectInvalidHostaddr(state, helo, helo, NameHelo);
        }
        else if (Eq(name, "permit_naked_ip_address"))
        {
            Msg.Warn("restriction permit_naked_ip_address is deprecated. Use permit_mynetworks or permit_sasl_authenticated instead");
            if (helo != null && helo.All(c => char.IsAsciiDigit(c) || c == '.' || c == ':')
                && (status = RejectInvalidHostaddr(state, helo, helo, NameHelo)) == 0)
                status = AclPermit(state, name, NameHelo, helo, "");
        }
        else if (Eq(name, "reject_non_fqdn_helo_hostname") || Eq(name, "reject_non_fqdn_hostname"))
        {
            if (helo != null)
                status = helo[0] != '[' ? RejectNonFqdnHostname(state, helo, helo, NameHelo) : RejectInvalidHostaddr(state, helo, helo, NameHelo);
        }
        else if (Eq(name, "reject_rhsbl_helo"))
        {
            if (!HasArg(ref i))
                Msg.Warn($"restriction {name} requires domain name argument");
            else
            {
                i++;
                if (helo != null)
                    status = RejectRblDomain(state, cpp[i], helo, NameHelo);
            }
        }
        else if (IsMapCommand(state, name, "check_sender_access", cpp, ref i))
        {
            if (!string.IsNullOrEmpty(sender))
                status = CheckMailAccess(state, cpp[i], sender, out _, sender, NameSender, defAcl);
            if (sender != null && sender.Length == 0)
                status = CheckAccess(state, cpp[i], nullAccessKey, DictFlags.None, out _, sender, NameSender, defAcl);
        }
        else if (Eq(name, "reject_unknown_address") || Eq(name, "reject_unknown_sender_domain"))
        {
            if (!string.IsNullOrEmpty(sender))
                status = RejectUnknownAddress(state, sender, sender, NameSender);
        }
        else if (Eq(name, "reject_unverified_sender"))
        {
            if (!string.IsNullOrEmpty(sender))
                status = RejectUnverifiedAddress(state, sender, sender, NameSender, unvFromDcode, unvFromRcode, unvFromTfAct, unvFromWhy);
        }
        else if (Eq(name, "reject_non_fqdn_sender"))
        {
            if (!string.IsNullOrEmpty(sender))
                status = RejectNonFqdnAddress(state, sender, sender, NameSender);
        }
        else if (Eq(name, "reject_authenticated_sender_login_mismatch"))
        {
            if (SaslEnabled(state))
            {
                if (!string.IsNullOrEmpty(sender))
                    status = RejectAuthSenderLoginMismatch(state, sender, false);
            }
            else
                Msg.Warn($"restriction `{name}' ignored: no SASL support");
        }
        else if (Eq(name, "reject_known_sender_login_mismatch"))
        {
            if (SaslEnabled(state))
            {
                if (!string.IsNullOrEmpty(sender))
                    status = state.SaslUsername != null ? RejectAuthSenderLoginMismatch(state, sender, true) : RejectUnauthSenderLoginMismatch(state, sender);
            }
            else
                Msg.Warn($"restriction `{name}' ignored: no SASL support");
        }
        else if (Eq(name, "reject_unauthenticated_sender_login_mismatch"))
        {
            if (SaslEnabled(state))
            {
                if (!string.IsNullOrEmpty(sender))
                    status = RejectUnauthSenderLoginMismatch(state, sender);
            }
            else
                Msg.Warn($"restriction `{name}' ignored: no SASL support");
        }
        else if (Eq(name, "reject_rhsbl_sender"))
        {
            if (!HasArg(ref i))
                Msg.Warn($"restriction {name} requires domain name argument");
            else
            {
                i++;
                if (!string.IsNullOrEmpty(sender))
                    status = RejectRblDomain(state, cpp[i], sender, NameSender);
            }
        }
        else if (Eq(name, "reject_unlisted_sender"))
        {
            if (!string.IsNullOrEmpty(sender))
                status = CheckSenderRcptMaps(state, sender);
        }
        else if (IsMapCommand(state, name, "check_recipient_access", cpp, ref i))
        {
            if (recipient != null)
                status = CheckMailAccess(state, cpp[i], recipient, out _, recipient, NameRecipient, defAcl);
        }
        else if (Eq(name, "permit_mx_backup"))
        {
            if (recipient != null)
            {
                status = PermitMxBackup(state, recipient, recipient, NameRecipient);
                if (status == Ok)
                    status = AclPermit(state, name, NameRecipient, recipient, "");
            }
        }
        else if (Eq(name, "permit_auth_destination"))
        {
            if (recipient != null)
            {
                status = PermitAuthDestination(state, recipient);
                if (status == Ok)
                    status = AclPermit(state, name, NameRecipient, recipient, "");
            }
        }
        else if (Eq(name, "reject_unauth_destination"))
        {
            if (recipient != null)
                status = RejectUnauthDestination(state, recipient, relayCode, "5.7.1");
        }
        else if (Eq(name, "defer_unauth_destination"))
        {
            if (recipient != null)
                status = RejectUnauthDestination(state, recipient, relayCode - 100, "4.7.1");
        }
        else if (Eq(name, "check_relay_domains"))
        {
            if (recipient != null)
                status = CheckRelayDomains(state, recipient, recipient, NameRecipient);
            if (status == Ok)
                status = AclPermit(state, name, NameRecipient, recipient ?? "", "");
            if (i + 1 < cpp.Length && state.WarnIfReject == 0)
                Msg.Warn($"restriction `{cpp[i + 1]}' after `check_relay_domains' is ignored");
        }
        else if (Eq(name, "permit_sasl_authenticated"))
        {
            if (SaslEnabled(state))
            {
                status = state.SaslUsername != null ? Ok : Dunno;
                if (status == Ok)
                    status = AclPermit(state, name, NameClient, state.NamAddr, "");
            }
        }
        else if (Eq(name, "permit_tls_all_clientcerts"))
        {
            status = PermitTlsClientcerts(state, true);
            if (status == Ok)
                status = AclPermit(state, name, NameClient, state.NamAddr, "");
        }
        else if (Eq(name, "permit_tls_clientcerts"))
        {
            status = PermitTlsClientcerts(state, false);
            if (status == Ok)
                status = AclPermit(state, name, NameClient, state.NamAddr, "");
        }
        else if (Eq(name, "reject_unknown_recipient_domain"))
        {
            if (recipient != null)
                status = RejectUnknownAddress(state, recipient, recipient, NameRecipient);
        }
        else if (Eq(name, "reject_non_fqdn_recipient"))
        {
            if (recipient != null)
                status = RejectNonFqdnAddress(state, recipient, recipient, NameRecipient);
        }
        else if (Eq(name, "reject_rhsbl_recipient"))
        {
            if (!HasArg(ref i))
                Msg.Warn($"restriction {name} requires domain name argument");
            else
            {
                i++;
                if (recipient != null)
                    status = RejectRblDomain(state, cpp[i], recipient, NameRecipient);
            }
        }
        else if (Eq(name, "check_recipient_maps") || Eq(name, "reject_unlisted_recipient"))
        {
            if (!string.IsNullOrEmpty(recipient))
                status = CheckRecipientRcptMaps(state, recipient);
        }
        else if (Eq(name, "reject_multi_recipient_bounce"))
        {
            if (sender != null && sender.Length == 0 && state.RcptCount > (state.Where != "RCPT" ? 1 : 0))
                status = CheckReject(state, ErrorPolicy, mulRcptCode, "5.5.3", $"<{replyName}>: {replyClass} rejected: Multi-recipient bounce");
        }
        else if (Eq(name, "reject_unverified_recipient"))
        {
            if (!string.IsNullOrEmpty(recipient))
                status = RejectUnverifiedAddress(state, recipient, recipient, NameRecipient, unvRcptDcode, unvRcptRcode, unvRcptTfAct, unvRcptWhy);
        }
        else if (IsMapCommand(state, name, "check_etrn_access", cpp, ref i))
        {
            if (state.EtrnName != null)
                status = CheckDomainAccess(state, cpp[i], state.EtrnName, DictFlags.None, out _, state.EtrnName, NameEtrn, defAcl);
        }
        else if (restClasses.TryGetValue(name, out var cls))
            status = GenericChecks(state, cls, replyName, replyClass, defAcl);
        else
        {
            Msg.Warn($"unknown smtpd restriction: \"{name}\"");
            throw RejectServerError(state);
        }
        return status;
    }

    // ServerAccess - the check_*_{ns,mx,a}_access family.
    private bool ServerAccess(SmtpdState state, string name, string[] cpp, ref int i, string? defAcl, out int status)
    {
        status = 0;
        (string Cmd, int Type, Func<string?> Subject, Func<string> ReplyName, string Class)[] table =
        [
            ("check_client_ns_access", DnsType.NS, () => Eq(state.Name, "unknown") ? null : state.Name, () => state.NamAddr, NameClient),
            ("check_client_mx_access", DnsType.MX, () => Eq(state.Name, "unknown") ? null : state.Name, () => state.NamAddr, NameClient),
            ("check_client_a_access", DnsType.A, () => Eq(state.Name, "unknown") ? null : state.Name, () => state.NamAddr, NameClient),
            ("check_reverse_client_hostname_ns_access", DnsType.NS, () => Eq(state.ReverseName, "unknown") ? null : state.ReverseName, () => state.ReverseName, NameRevClient),
            ("check_reverse_client_hostname_mx_access", DnsType.MX, () => Eq(state.ReverseName, "unknown") ? null : state.ReverseName, () => state.ReverseName, NameRevClient),
            ("check_reverse_client_hostname_a_access", DnsType.A, () => Eq(state.ReverseName, "unknown") ? null : state.ReverseName, () => state.ReverseName, NameRevClient),
            ("check_helo_ns_access", DnsType.NS, () => state.HeloName, () => state.HeloName ?? "", NameHelo),
            ("check_helo_mx_access", DnsType.MX, () => state.HeloName, () => state.HeloName ?? "", NameHelo),
            ("check_helo_a_access", DnsType.A, () => state.HeloName, () => state.HeloName ?? "", NameHelo),
            ("check_sender_ns_access", DnsType.NS, () => string.IsNullOrEmpty(state.Sender) ? null : state.Sender, () => state.Sender ?? "", NameSender),
            ("check_sender_mx_access", DnsType.MX, () => string.IsNullOrEmpty(state.Sender) ? null : state.Sender, () => state.Sender ?? "", NameSender),
            ("check_sender_a_access", DnsType.A, () => string.IsNullOrEmpty(state.Sender) ? null : state.Sender, () => state.Sender ?? "", NameSender),
            ("check_recipient_ns_access", DnsType.NS, () => string.IsNullOrEmpty(state.Recipient) ? null : state.Recipient, () => state.Recipient ?? "", NameRecipient),
            ("check_recipient_mx_access", DnsType.MX, () => string.IsNullOrEmpty(state.Recipient) ? null : state.Recipient, () => state.Recipient ?? "", NameRecipient),
            ("check_recipient_a_access", DnsType.A, () => string.IsNullOrEmpty(state.Recipient) ? null : state.Recipient, () => state.Recipient ?? "", NameRecipient),
        ];
        foreach (var e in table)
        {
            if (!IsMapCommand(state, name, e.Cmd, cpp, ref i))
                continue;
            var subject = e.Subject();
            if (subject != null)
            {
                status = CheckServerAccess(state, cpp[i], subject, e.Type, e.ReplyName(), e.Class, defAcl);
                ForbidAllowlist(state, name, status, subject);
            }
            return true;
        }
        return false;
    }

    // ---------------------------------------------------------------
    // Recipient validation (check_rcpt_maps).

    private int CheckRecipientRcptMaps(SmtpdState state, string recipient)
    {
        if (unknownRcptTransparent || state.RecipientRcptmapChecked)
            return 0;
        if (state.WarnIfReject == 0)
            state.RecipientRcptmapChecked = true;
        return CheckRcptMaps(state, state.Sender, recipient, NameRecipient);
    }

    private int CheckSenderRcptMaps(SmtpdState state, string sender)
    {
        if (unknownRcptTransparent || state.SenderRcptmapChecked)
            return 0;
        if (state.WarnIfReject == 0)
            state.SenderRcptmapChecked = true;
        return CheckRcptMaps(state, state.Recipient, sender, NameSender);
    }

    private static bool MatchLeft(string left, string addr) =>
        addr.Length > left.Length && addr[left.Length] == '@' && string.Compare(addr, 0, left, 0, left.Length, StringComparison.OrdinalIgnoreCase) == 0;

    private int CheckRcptMaps(SmtpdState state, string? sender, string recipient, string replyClass)
    {
        var reply = ResolveAddr(sender, recipient);
        if (Failed(reply))
            throw RejectDictRetry(state, recipient);
        var r = reply!.Value;
        var isSender = replyClass == NameSender;
        bool Match(Maps maps) => maps.Dicts.Count > 0 && MailAddrFind(state, recipient, maps, r.Recipient) != null;
        if (Match(rcptCanonMaps) || (isSender && Match(sendCanonMaps)) || Match(canonicalMaps) || Match(virtAliasMaps))
            return 0;
        if (r.Transport == "error")
        {
            var (dsn, text) = DsnUtil.Split(isSender ? "5.1.0" : "5.1.1", r.Nexthop);
            return CheckReject(state, ErrorBounce, r.Has(MailProto.ResolveClassAlias) ? virtAliasCode : 550,
                DsnFix.Fix(dsn, replyClass), $"<{recipient}>: {replyClass} rejected: {text}");
        }
        if (r.Transport == "retry")
        {
            var (dsn, text) = DsnUtil.Split(isSender ? "4.1.0" : "4.1.1", r.Nexthop);
            return CheckReject(state, ErrorBounce, 450, DsnFix.Fix(dsn, replyClass), $"<{recipient}>: {replyClass} rejected: {text}");
        }
        var dsnUnknown = isSender ? "5.1.0" : "5.1.1";
        const int classMask = MailProto.ResolveClassLocal | MailProto.ResolveClassAlias | MailProto.ResolveClassVirtual
            | MailProto.ResolveClassRelay | MailProto.ResolveClassDefault;
        switch (r.Flags & classMask)
        {
            case MailProto.ResolveClassLocal:
                if (localRcptMaps.Dicts.Count > 0
                    && !MatchLeft(doubleBounceSender, r.Recipient)
                    && !MatchLeft("postmaster", r.Recipient)
                    && !MatchLeft("MAILER-DAEMON", r.Recipient)
                    && !Match(localRcptMaps))
                    return CheckReject(state, ErrorBounce, localRcptCode, dsnUnknown,
                        $"<{recipient}>: {replyClass} rejected: User unknown{(showUnkRcptTable ? " in local recipient table" : "")}");
                break;
            case MailProto.ResolveClassVirtual:
                if (virtMailboxMaps.Dicts.Count > 0 && !Match(virtMailboxMaps))
                    return CheckReject(state, ErrorBounce, virtMailboxCode, dsnUnknown,
                        $"<{recipient}>: {replyClass} rejected: User unknown{(showUnkRcptTable ? " in virtual mailbox table" : "")}");
                break;
            case MailProto.ResolveClassRelay:
                if (relayRcptMaps.Dicts.Count > 0 && !Match(relayRcptMaps))
                    return CheckReject(state, ErrorBounce, relayRcptCode, dsnUnknown,
                        $"<{recipient}>: {replyClass} rejected: User unknown{(showUnkRcptTable ? " in relay recipient table" : "")}");
                break;
        }
        return 0;
    }

    // ---------------------------------------------------------------
    // The smtpd_check_* entry points.

    private static void Reset(SmtpdState state)
    {
        state.Recursion = 0;
        state.WarnIfReject = 0;
        state.DeferIfReject.Active = false;
    }

    // Run - generic_checks under the "setjmp" of an entry point.
    private int Run(SmtpdState state, string listName, string[] list, string replyName, string replyClass, string? defAcl)
    {
        if (list.Length == 0)
            return 0;
        Tracer?.List(listName);
        try
        {
            return GenericChecks(state, list, replyName, replyClass, defAcl);
        }
        catch (CheckJump j)
        {
            return j.Status;
        }
    }

    private string? Result(SmtpdState state, int status) =>
        status == Reject ? state.ErrorText : status == Hangup ? HangupReply : null;

    // HangupReply - what Check* returns for the HANGUP action: smtpd
    // must drop the connection without sending anything.
    public const string HangupReply = "";

    private int ForceDeferIfPermit(SmtpdState state, int status)
    {
        if (status != Reject && status != Hangup && state.DeferIfPermit.Active)
            status = CheckReject(state, state.DeferIfPermit.Class, state.DeferIfPermit.Code, state.DeferIfPermit.Dsn, state.DeferIfPermit.Reason);
        return status;
    }

    // smtpd_check_addr: syntax check of a MAIL FROM / RCPT TO address; 0 = ok.
    public int CheckAddr(string? sender, string address, bool smtputf8)
    {
        if (string.IsNullOrEmpty(address))
            return 0;
        var reply = ResolveAddr(sender, address);
        if (reply == null)
            return 0;
        if (reply.Value.Has(MailProto.ResolveFlagError))
            return -1;
        var at = reply.Value.Recipient.LastIndexOf('@');
        if (!smtputf8 && at >= 0 && at + 1 < reply.Value.Recipient.Length && !HostSyntax.IsAscii(reply.Value.Recipient[(at + 1)..]))
            return -1;
        return 0;
    }

    // smtpd_check_rewrite: sets state.RewriteContext from local_header_rewrite_clients.
    public string? CheckRewrite(SmtpdState state)
    {
        var list = localRewriteClients;
        for (var i = 0; i < list.Length; i++)
        {
            var name = list[i];
            var status = Dunno;
            string? table = null;
            if (name.Contains(':'))
                table = name;
            else if (Eq(name, "check_address_map"))
            {
                if (i + 1 >= list.Length || !list[i + 1].Contains(':'))
                {
                    Msg.Warn($"restriction check_address_map: bad argument \"{(i + 1 < list.Length ? list[i + 1] : "(null)")}\": need maptype:mapname");
                    continue;
                }
                table = list[++i];
            }
            if (table != null)
            {
                var maps = MapFor(table)!;
                if (FindMap(maps, table, state.Addr, DictFlags.None, out var error) != null)
                    status = Ok;
                else if (error != DictError.None)
                    status = (int)error;
            }
            else if (Eq(name, "permit_inet_interfaces"))
                status = PermitInetInterfaces(state);
            else if (Eq(name, "permit_mynetworks"))
                status = PermitMynetworks(state);
            else if (Eq(name, "permit_sasl_authenticated"))
                status = SaslEnabled(state) && state.SaslUsername != null ? Ok : Dunno;
            else if (Eq(name, "permit_tls_all_clientcerts"))
                status = PermitTlsClientcerts(state, true);
            else if (Eq(name, "permit_tls_clientcerts"))
                status = PermitTlsClientcerts(state, false);
            else
            {
                Msg.Warn($"parameter local_header_rewrite_clients: invalid request: {name}");
                continue;
            }
            if (status < 0)
            {
                if (status == ErrRetry)
                {
                    state.ErrorMask |= ErrorResource;
                    LogWhatsup(state, "reject", "451 4.3.0 Temporary lookup error");
                    return "451 4.3.0 Temporary lookup error";
                }
                state.ErrorMask |= ErrorSoftware;
                LogWhatsup(state, "reject", "451 4.3.5 Server configuration error");
                return "451 4.3.5 Server configuration error";
            }
            if (status == Ok)
            {
                state.RewriteContext = "local";
                return null;
            }
        }
        state.RewriteContext = "remote";
        return null;
    }

    public string? CheckClient(SmtpdState state)
    {
        if (string.IsNullOrEmpty(state.Addr))
            return null;
        state.DeferIfPermit.Active = false;
        Reset(state);
        var status = Run(state, "smtpd_client_restrictions", clientRestrictions, state.NamAddr, NameClient, "check_client_access");
        state.DeferIfPermitClient = state.DeferIfPermit.Active ? 1 : 0;
        return Result(state, status);
    }

    public string? CheckHelo(SmtpdState state, string helo)
    {
        if (helo == null)
            return null;
        var saved = state.HeloName;
        state.HeloName = helo;
        try
        {
            state.DeferIfPermit.Active = state.DeferIfPermitClient != 0;
            Reset(state);
            var status = Run(state, "smtpd_helo_restrictions", heloRestrictions, helo, NameHelo, "check_helo_access");
            state.DeferIfPermitHelo = state.DeferIfPermit.Active ? 1 : 0;
            return Result(state, status);
        }
        finally
        {
            state.HeloName = saved;
        }
    }

    public string? CheckMail(SmtpdState state, string sender)
    {
        if (sender == null)
            return null;
        var saved = state.Sender;
        state.Sender = sender;
        try
        {
            state.DeferIfPermit.Active = state.DeferIfPermitClient != 0 || state.DeferIfPermitHelo != 0;
            state.SenderRcptmapChecked = false;
            Reset(state);
            var status = Run(state, "smtpd_sender_restrictions", mailRestrictions, sender, NameSender, "check_sender_access");
            state.DeferIfPermitSender = state.DeferIfPermit.Active ? 1 : 0;
            if (rejectUnlistedSender && status != Reject && status != Hangup && !state.SenderRcptmapChecked && !state.Discard && sender.Length > 0)
            {
                try
                {
                    status = CheckSenderRcptMaps(state, sender);
                }
                catch (CheckJump j)
                {
                    status = j.Status;
                }
            }
            return Result(state, status);
        }
        finally
        {
            state.Sender = saved;
        }
    }

    // smtpd_check_size: message_size_limit against MAIL FROM SIZE=.
    public string? CheckSize(SmtpdState state, long size)
    {
        Reset(state);
        if (messageLimit > 0 && size > messageLimit)
        {
            CheckReject(state, ErrorPolicy, 552, "5.3.4", "Message size exceeds fixed limit");
            return state.ErrorText;
        }
        return null;
    }

    // smtpd_check_queue: free space in the queue file system.
    public string? CheckQueue(SmtpdState state)
    {
        Reset(state);
        long.TryParse(Conf.Eval("queue_minfree"), out var minfree);
        try
        {
            var info = new System.IO.DriveInfo(System.IO.Directory.GetCurrentDirectory());
            var free = info.AvailableFreeSpace;
            if (minfree >= free || messageLimit * 1.5 >= free)
            {
                CheckReject(state, ErrorResource, 452, "4.3.1", "Insufficient system storage");
                Msg.Warn($"not enough free space in mail queue: {free} bytes < 1.5*message size limit");
                return state.ErrorText;
            }
        }
        catch (Exception e) when (e is System.IO.IOException or ArgumentException or UnauthorizedAccessException)
        {
        }
        return null;
    }

    // smtpd_check_rcpt: relay/recipient restrictions, then recipient validation
    // (local_recipient_maps, relay_recipient_maps, virtual_* ...).
    public string? CheckRcpt(SmtpdState state, string recipient)
    {
        if (recipient == null)
            return null;
        if (recipient.Equals("postmaster", StringComparison.OrdinalIgnoreCase))
            return null;
        var saved = state.Recipient;
        state.Recipient = recipient;
        try
        {
            state.RecipientRcptmapChecked = false;
            if (delayReject)
            {
                string? err;
                if ((err = CheckClient(state)) != null
                    || (state.HeloName != null && (err = CheckHelo(state, state.HeloName)) != null)
                    || (state.Sender != null && (err = CheckMail(state, state.Sender)) != null))
                    return err;
            }
            state.DeferIfPermit.Active = state.DeferIfPermitSender != 0;
            Reset(state);
            var lists = relayBeforeRcpt
                ? new[] { ("smtpd_relay_restrictions", relayRestrictions), ("smtpd_recipient_restrictions", rcptRestrictions) }
                : new[] { ("smtpd_recipient_restrictions", rcptRestrictions), ("smtpd_relay_restrictions", relayRestrictions) };
            var status = 0;
            foreach (var (listName, list) in lists)
            {
                status = Run(state, listName, list, recipient, NameRecipient, "check_recipient_access");
                if (status == Reject || status == Hangup)
                    break;
            }
            status = ForceDeferIfPermit(state, status);
            if (rejectUnlistedRcpt && status != Reject && status != Hangup && !state.RecipientRcptmapChecked && !state.Discard)
            {
                try
                {
                    status = CheckRecipientRcptMaps(state, recipient);
                }
                catch (CheckJump j)
                {
                    status = j.Status;
                }
            }
            return Result(state, status);
        }
        finally
        {
            state.Recipient = saved;
        }
    }

    public string? CheckEtrn(SmtpdState state, string domain)
    {
        if (domain == null)
            return null;
        var saved = state.EtrnName;
        state.EtrnName = domain;
        try
        {
            if (delayReject)
            {
                string? err;
                if ((err = CheckClient(state)) != null
                    || (state.HeloName != null && (err = CheckHelo(state, state.HeloName)) != null))
                    return err;
            }
            state.DeferIfPermit.Active = state.DeferIfPermitClient != 0 || state.DeferIfPermitHelo != 0;
            Reset(state);
            var status = Run(state, "smtpd_etrn_restrictions", etrnRestrictions, domain, NameEtrn, "check_etrn_access");
            status = ForceDeferIfPermit(state, status);
            return Result(state, status);
        }
        finally
        {
            state.EtrnName = saved;
        }
    }

    public string? CheckData(SmtpdState state) =>
        CheckDataOrEod(state, "smtpd_data_restrictions", dataRestrictions, "DATA", NameData);

    public string? CheckEod(SmtpdState state) =>
        CheckDataOrEod(state, "smtpd_end_of_data_restrictions", eodRestrictions, "END-OF-MESSAGE", NameEod);

    private string? CheckDataOrEod(SmtpdState state, string listName, string[] list, string replyName, string replyClass)
    {
        var saved = state.Recipient;
        if (state.RcptCount > 1)
            state.Recipient = null;
        try
        {
            state.DeferIfPermit.Active = false;
            Reset(state);
            var status = Run(state, listName, list, replyName, replyClass, null);
            status = ForceDeferIfPermit(state, status);
            return Result(state, status);
        }
        finally
        {
            if (state.RcptCount > 1)
                state.Recipient = saved;
        }
    }

    // smtpd_check_rewind: forget per-message restriction state (after RSET, end of DATA).
    public void Rewind(SmtpdState state)
    {
        state.Discard = false;
        state.SavedFilter = null;
        state.SavedRedirect = null;
        state.SavedBcc.Clear();
        state.SavedFlags = 0;
        state.Prepend.Clear();
        state.DeferIfPermitSender = 0;
        state.SenderRcptmapChecked = false;
        state.RecipientRcptmapChecked = false;
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
