// NAME
//	AddressResolve - the resolve and verify half of trivial-rewrite(8)
// POSTFIX
//	src/trivial-rewrite/resolve.c, src/trivial-rewrite/trivial-rewrite.c
//	(the RES_CONTEXT personalities)
// DESCRIPTION
//	Resolve(context, sender, address) maps a recipient to (transport,
//	nexthop, recipient, flags). Local domains are stripped from the
//	right and the rest is rewritten again (user%domain, site!user,
//	quoted local parts with routing operators) until a remote domain
//	is left or none; an empty local part becomes
//	$empty_address_recipient, a bare local part gets @$myhostname.
//	The domain class then picks the transport: local ($mydestination,
//	$inet_interfaces, $proxy_interfaces), virtual alias (always the
//	error transport), virtual mailbox, relay, or default (with
//	sender-dependent default transport and relayhost lookups). A
//	"transport:nexthop" parameter value sets the nexthop, and
//	transport_maps and relocated_maps have the last word. The "verify"
//	personality reads the address_verify_* variants of the parameters.
using System;
using System.Collections.Generic;
using Postfix.Global.Address;
using Postfix.Global.Attr;
using Postfix.Global.Config;
using Postfix.Global.Dict;
using Postfix.Util;

namespace Postfix.Daemons.TrivialRewrite;

// ResolveContext - one resolver personality (RES_CONTEXT).
internal sealed class ResolveContext
{
    public required string LocalTransportName, LocalTransport;
    public required string VirtTransportName, VirtTransport;
    public required string RelayTransportName, RelayTransport;
    public required string DefTransportName, DefTransport;
    public required string SndDefXportMapsName;
    public Maps? SndDefXportInfo;
    public required string RelayhostName, Relayhost;
    public required string SndRelayMapsName;
    public Maps? SndRelayInfo;
    public required string TransportMapsName;
    public TransportTable? TransportInfo;
}

// ResolveResult - what the resolver answers.
internal readonly record struct ResolveResult(string Transport, string Nexthop, string Recipient, int Flags);

internal sealed class AddressResolve
{
    private const DictFlags MapFlags = DictFlags.Lock | DictFlags.FoldFix | DictFlags.Utf8Request;

    private readonly AddressRewrite rewrite;
    private readonly ResolveLocal resolveLocal;
    private readonly DomainMatchList? relayDomains;
    private readonly DomainMatchList? virtAliasDoms;
    private readonly DomainMatchList? virtMailboxDoms;
    private readonly Maps? relocatedMaps;
    private readonly AccessFindOptions findOptions;
    private readonly bool swapBangpath, percentHack, resolveDequoted, resolveNullDomain, resolveNumDomain;
    private readonly bool allowMinUser, showUnknownTable, helpfulWarnings, smtputf8;
    private readonly string emptyAddr, myhostname, nullRelayKey, nullDefXportKey, configDir;

    public ResolveContext Regular { get; }
    public ResolveContext Verify { get; }

    private readonly Func<string, string, DictFlags, Maps> openMaps;

    // openMaps - how the tables are opened (Maps.Create; postfix explain
    // passes one that records each lookup).
    public AddressResolve(MailConf conf, AddressRewrite rewrite, ResolveLocal? local = null,
        Func<string, string, DictFlags, Maps>? openMaps = null)
    {
        this.openMaps = openMaps ?? ((title, names, flags) => Maps.Create(title, names, flags));
        this.rewrite = rewrite;
        resolveLocal = local ?? new ResolveLocal(conf);
        swapBangpath = conf.Bool("swap_bangpath");
        percentHack = conf.Bool("allow_percent_hack");
        resolveDequoted = conf.Bool("resolve_dequoted_address");
        resolveNullDomain = conf.Bool("resolve_null_domain");
        resolveNumDomain = conf.Bool("resolve_numeric_domain");
        allowMinUser = conf.Bool("allow_min_user");
        showUnknownTable = conf.Bool("show_user_unknown_table_name");
        helpfulWarnings = conf.Bool("helpful_warnings");
        smtputf8 = conf.Bool("smtputf8_enable");
        emptyAddr = Required(conf, "empty_address_recipient");
        myhostname = conf.Eval("myhostname");
        nullRelayKey = Required(conf, "empty_address_relayhost_maps_lookup_key");
        nullDefXportKey = Required(conf, "empty_address_default_transport_maps_lookup_key");
        configDir = conf.Eval("config_directory");
        var parentDomains = conf.Eval("parent_domain_matches_subdomains");
        findOptions = new AccessFindOptions
        {
            RecipientDelimiter = conf.Eval("recipient_delimiter"),
            MyOrigin = conf.Eval("myorigin"),
            DoubleBounceSender = conf.Eval("double_bounce_sender"),
            OwnerRequestSpecial = conf.Bool("owner_request_special"),
            ResolveLocal = resolveLocal.Check,
        };

        // resolve_init().
        var text = conf.Eval("virtual_alias_domains");
        if (text.Length > 0)
            virtAliasDoms = DomainMatchList.StringList("virtual_alias_domains", text);
        text = conf.Eval("virtual_mailbox_domains");
        if (text.Length > 0)
            virtMailboxDoms = DomainMatchList.StringList("virtual_mailbox_domains", text);
        text = conf.Eval("relay_domains");
        if (text.Length > 0)
            relayDomains = DomainMatchList.DomainList("relay_domains", text,
                AccessSearch.ParentStyle(parentDomains, "relay_domains"));
        text = conf.Eval("relocated_maps");
        if (text.Length > 0)
        {
            relocatedMaps = this.openMaps("relocated_maps", text, MapFlags);
            TableNames.RegisterMaps(text, MapFlags);
        }

        var transportParent = AccessSearch.ParentStyle(parentDomains, "transport_maps");
        Regular = MakeContext(conf, transportParent, "local_transport", "virtual_transport", "relay_transport",
            "default_transport", "sender_dependent_default_transport_maps", "relayhost", "sender_dependent_relayhost_maps",
            "transport_maps");
        Verify = MakeContext(conf, transportParent, "address_verify_local_transport", "address_verify_virtual_transport",
            "address_verify_relay_transport", "address_verify_default_transport",
            "address_verify_sender_dependent_default_transport_maps", "address_verify_relayhost",
            "address_verify_sender_dependent_relayhost_maps", "address_verify_transport_maps");
    }

    private static string Required(MailConf conf, string name)
    {
        var value = conf.Eval(name);
        if (value.Length == 0)
            Msg.Fatal($"bad parameter value: {name} = {value}");
        return value;
    }

    private ResolveContext MakeContext(MailConf conf, bool transportParent, string local, string virt, string relay,
        string def, string sndDefXport, string relayhost, string sndRelay, string transportMaps)
    {
        var ctx = new ResolveContext
        {
            LocalTransportName = local, LocalTransport = Required(conf, local),
            VirtTransportName = virt, VirtTransport = Required(conf, virt),
            RelayTransportName = relay, RelayTransport = Required(conf, relay),
            DefTransportName = def, DefTransport = Required(conf, def),
            SndDefXportMapsName = sndDefXport,
            RelayhostName = relayhost, Relayhost = conf.Eval(relayhost),
            SndRelayMapsName = sndRelay,
            TransportMapsName = transportMaps,
        };
        const DictFlags NoRegsubFlags = MapFlags | DictFlags.NoRegsub;
        var text = conf.Eval(transportMaps);
        if (text.Length > 0)
        {
            ctx.TransportInfo = new TransportTable(openMaps(transportMaps, text, NoRegsubFlags), transportParent, findOptions);
            TableNames.RegisterMaps(text, NoRegsubFlags);
        }
        text = conf.Eval(sndRelay);
        if (text.Length > 0)
        {
            ctx.SndRelayInfo = openMaps(sndRelay, text, NoRegsubFlags);
            TableNames.RegisterMaps(text, NoRegsubFlags);
        }
        text = conf.Eval(sndDefXport);
        if (text.Length > 0)
        {
            ctx.SndDefXportInfo = openMaps(sndDefXport, text, NoRegsubFlags);
            TableNames.RegisterMaps(text, NoRegsubFlags);
        }
        return ctx;
    }

    // Class - resolve_class(): the address class of a domain, -1 on error.
    public int Class(string domain)
    {
        int ret;
        if ((ret = resolveLocal.Check(domain)) != 0)
            return ret > 0 ? MailProto.ResolveClassLocal : -1;
        if (virtAliasDoms != null)
        {
            if (virtAliasDoms.Match(domain))
                return MailProto.ResolveClassAlias;
            if (virtAliasDoms.Error != 0)
                return -1;
        }
        if (virtMailboxDoms != null)
        {
            if (virtMailboxDoms.Match(domain))
                return MailProto.ResolveClassVirtual;
            if (virtMailboxDoms.Error != 0)
                return -1;
        }
        if (relayDomains != null)
        {
            if (relayDomains.Match(domain))
                return MailProto.ResolveClassRelay;
            if (relayDomains.Error != 0)
                return -1;
        }
        return MailProto.ResolveClassDefault;
    }

    private static List<Tok822> ScanList(string text)
    {
        var list = new List<Tok822>();
        for (var tp = Tok822.Scan(text, out _); tp != null; tp = tp.Next)
            list.Add(tp);
        return list;
    }

    // Internalize - tok822_internalize() of the tokens from index "from" on.
    private static string Internalize(List<Tok822> t, int from)
    {
        if (from >= t.Count)
            return "";
        for (var i = from; i < t.Count; i++)
        {
            t[i].Prev = i > from ? t[i - 1] : null;
            t[i].Next = i + 1 < t.Count ? t[i + 1] : null;
        }
        return Tok822.Internalize(t[from]);
    }

    private static void AppendOwned(List<Tok822> t, IEnumerable<Tok822> tokens)
    {
        foreach (var tp in tokens)
        {
            tp.Owner = AddressRewrite.Owner;
            t.Add(tp);
        }
    }

    // Resolve - resolve_addr().
    public ResolveResult Resolve(ResolveContext rp, string sender, string addr)
    {
        var channel = "CHANNEL NOT UPDATED";
        var nexthop = "NEXTHOP NOT UPDATED";
        var nextrcpt = "NEXTRCPT NOT UPDATED";
        var flags = 0;
        ResolveResult Done() => new(channel, nexthop, nextrcpt, flags);

        var tree = ScanList(Quote822.Local(addr));
        List<Tok822>? savedDomain = null;
        var remoteDomain = false;   // "domain != 0" after the loop
        var loopMax = addr.Length + 100;
        int rc;
        for (var loopCount = 0; ; loopCount++)
        {
            if (loopCount > loopMax)
            {
                Msg.Warn($"resolve_addr: <{addr}>: giving up after {loopCount} iterations");
                flags |= MailProto.ResolveFlagFail;
                return Done();
            }
            // A trailing dot goes, but not dot-dot or at-dot.
            if (tree.Count >= 2 && tree[^1].Type == '.' && tree.FindLastIndex(x => x.Type == '@') >= 0
                && tree[^2].Type != '.' && tree[^2].Type != '@')
                tree.RemoveAt(tree.Count - 1);
            if (resolveNullDomain && tree.Count > 0 && tree[^1].Type == '@')
                tree.RemoveAt(tree.Count - 1);

            // Strip (and save) @domain when it is local.
            var at = tree.FindLastIndex(x => x.Type == '@');
            if (at >= 0)
            {
                if (at + 1 < tree.Count && (rc = resolveLocal.Check(Internalize(tree, at + 1))) <= 0)
                {
                    if (rc < 0)
                    {
                        flags |= MailProto.ResolveFlagFail;
                        return Done();
                    }
                    remoteDomain = true;
                    break;
                }
                savedDomain = tree.GetRange(at, tree.Count - at);
                tree.RemoveRange(at, tree.Count - at);
            }

            // foo%bar, site!user, or another @: rewrite and retry.
            if (tree.Exists(x => x.Type == '@')
                || (swapBangpath && tree.Exists(x => x.Type == '!'))
                || (percentHack && tree.Exists(x => x.Type == '%')))
            {
                rewrite.RewriteLocal(tree);
                continue;
            }

            // Open a quoted local part that holds routing operators.
            if (resolveDequoted && tree.Count == 1 && tree[0].Type == Tok822.QString)
            {
                var local = tree[0].Text.ToString();
                var oper = local.LastIndexOf('@');
                if (oper < 0 && percentHack)
                    oper = local.LastIndexOf('%');
                if (oper < 0 && swapBangpath)
                    oper = local.LastIndexOf('!');
                if (oper >= 0)
                {
                    if (local[oper] == '%')
                        local = string.Concat(local.AsSpan(0, oper), "@", local.AsSpan(oper + 1));
                    tree[0].Text.Clear().Append(local);
                    var text = Internalize(tree, 0);
                    if (local[oper] == '@')
                        text = Quote822.Local(text);
                    tree = ScanList(text);
                    rewrite.RewriteLocal(tree);
                    continue;
                }
            }

            // An empty local part becomes $empty_address_recipient.
            if (tree.Count == 1 && tree[0].Type == Tok822.QString && tree[0].Text.Length == 0)
                tree.Clear();
            if (tree.Count == 0)
            {
                tree = ScanList(emptyAddr);
                continue;
            }
            // A bare local part: re-resolve with @$myhostname.
            if (savedDomain == null)
            {
                tree.Add(AddressRewrite.OwnerMark('@'));
                AppendOwned(tree, ScanList(myhostname));
                continue;
            }
            break;
        }

        // The recipient gets its domain back, or @$myhostname.
        if (!remoteDomain)
        {
            if (savedDomain != null)
            {
                AppendOwned(tree, savedDomain);
            }
            else
            {
                tree.Add(AddressRewrite.OwnerMark('@'));
                AppendOwned(tree, ScanList(myhostname));
            }
        }
        nextrcpt = Internalize(tree, 0);
        var ratsign = nextrcpt.LastIndexOf('@');
        if (ratsign < 0)
            Msg.Panic($"no @ in address: \"{nextrcpt}\"");
        var rcptDomain = nextrcpt[(ratsign + 1)..];
        if (rcptDomain.StartsWith('['))
        {
            if (!HostSyntax.ValidMailhostLiteral(rcptDomain))
                flags |= MailProto.ResolveFlagError;
        }
        else if (smtputf8 && !HostSyntax.ValidUtf8String(nextrcpt))
        {
            flags |= MailProto.ResolveFlagError;
        }
        else if (!HostSyntax.ValidUtf8Hostname(smtputf8, rcptDomain))
        {
            if (resolveNumDomain && HostSyntax.ValidHostAddr(rcptDomain))
            {
                rcptDomain = "[" + rcptDomain + "]";
                nextrcpt = nextrcpt[..(ratsign + 1)] + rcptDomain;
                if ((rc = resolveLocal.Check(rcptDomain)) > 0)
                {
                    remoteDomain = false;
                }
                else if (rc < 0)
                {
                    flags |= MailProto.ResolveFlagFail;
                    return Done();
                }
            }
            else
            {
                flags |= MailProto.ResolveFlagError;
            }
        }
        if ((flags & MailProto.ResolveFlagError) != 0)
        {
            flags |= MailProto.ResolveClassDefault;
            return Done();
        }

        // Routing operators in the local part, whatever the local settings.
        var firstOper = nextrcpt.AsSpan().IndexOfAny("@!%");
        if (firstOper < 0)
            firstOper = nextrcpt.Length;
        if (firstOper + 1 > nextrcpt.Length || nextrcpt[(firstOper + 1)..] != rcptDomain)
            flags |= MailProto.ResolveFlagRouted;

        string? blame = null;
        if (remoteDomain)
        {
            if (virtAliasDoms != null && virtAliasDoms.Match(rcptDomain))
            {
                if (helpfulWarnings)
                {
                    if (virtMailboxDoms != null && virtMailboxDoms.Match(rcptDomain))
                        Msg.Warn($"do not list domain {rcptDomain} in BOTH virtual_alias_domains and virtual_mailbox_domains");
                    if (relayDomains != null && relayDomains.Match(rcptDomain))
                        Msg.Warn($"do not list domain {rcptDomain} in BOTH virtual_alias_domains and relay_domains");
                }
                channel = "error";
                nexthop = "5.1.1 User unknown" + (showUnknownTable ? " in virtual alias table" : "");
                flags |= MailProto.ResolveClassAlias;
            }
            else if (virtAliasDoms != null && virtAliasDoms.Error != 0)
            {
                Msg.Warn("virtual_alias_domains lookup failure");
                flags |= MailProto.ResolveFlagFail;
                return Done();
            }
            else if (virtMailboxDoms != null && virtMailboxDoms.Match(rcptDomain))
            {
                if (helpfulWarnings && relayDomains != null && relayDomains.Match(rcptDomain))
                    Msg.Warn($"do not list domain {rcptDomain} in BOTH virtual_mailbox_domains and relay_domains");
                channel = rp.VirtTransport;
                nexthop = rcptDomain;
                blame = rp.VirtTransportName;
                flags |= MailProto.ResolveClassVirtual;
            }
            else if (virtMailboxDoms != null && virtMailboxDoms.Error != 0)
            {
                Msg.Warn("virtual_mailbox_domains lookup failure");
                flags |= MailProto.ResolveFlagFail;
                return Done();
            }
            else
            {
                if (relayDomains != null && relayDomains.Match(rcptDomain))
                {
                    channel = rp.RelayTransport;
                    blame = rp.RelayTransportName;
                    flags |= MailProto.ResolveClassRelay;
                }
                else if (relayDomains != null && relayDomains.Error != 0)
                {
                    Msg.Warn("relay_domains lookup failure");
                    flags |= MailProto.ResolveFlagFail;
                    return Done();
                }
                else
                {
                    string? xport;
                    string senderKey;
                    if (rp.SndDefXportInfo != null
                        && (xport = AccessSearch.MailAddrFind(rp.SndDefXportInfo,
                            senderKey = sender.Length > 0 ? sender : nullDefXportKey, out _, findOptions)) != null)
                    {
                        if (xport.Length == 0)
                        {
                            Msg.Warn($"{rp.SndDefXportMapsName}: ignoring null lookup result for {senderKey}");
                            xport = "DUNNO";
                        }
                        channel = xport.Equals("DUNNO", StringComparison.OrdinalIgnoreCase) ? rp.DefTransport : xport;
                        blame = rp.SndDefXportMapsName;
                    }
                    else if (rp.SndDefXportInfo != null && rp.SndDefXportInfo.Error != 0)
                    {
                        Msg.Warn($"{rp.SndDefXportMapsName} lookup failure");
                        flags |= MailProto.ResolveFlagFail;
                        return Done();
                    }
                    else
                    {
                        channel = rp.DefTransport;
                        blame = rp.DefTransportName;
                    }
                    flags |= MailProto.ResolveClassDefault;
                }

                // Sender-dependent or global relayhost override the domain.
                string? relay;
                string relayKey;
                if (rp.SndRelayInfo != null
                    && (relay = AccessSearch.MailAddrFind(rp.SndRelayInfo,
                        relayKey = sender.Length > 0 ? sender : nullRelayKey, out _, findOptions)) != null)
                {
                    if (relay.Length == 0)
                    {
                        Msg.Warn($"{rp.SndRelayMapsName}: ignoring null lookup result for {relayKey}");
                        relay = null;
                    }
                    else if (relay.Equals("DUNNO", StringComparison.OrdinalIgnoreCase))
                    {
                        relay = null;
                    }
                }
                else if (rp.SndRelayInfo != null && rp.SndRelayInfo.Error != 0)
                {
                    Msg.Warn($"{rp.SndRelayMapsName} lookup failure");
                    flags |= MailProto.ResolveFlagFail;
                    return Done();
                }
                else
                {
                    relay = null;
                }
                if (relay != null)
                    nexthop = relay;
                else if (rp.Relayhost.Length > 0)
                    nexthop = rp.Relayhost;
                else
                    nexthop = rcptDomain;
            }
        }
        else
        {
            if (helpfulWarnings)
            {
                if (virtAliasDoms != null && virtAliasDoms.Match(rcptDomain))
                    Msg.Warn($"do not list domain {rcptDomain} in BOTH mydestination and virtual_alias_domains");
                if (virtMailboxDoms != null && virtMailboxDoms.Match(rcptDomain))
                    Msg.Warn($"do not list domain {rcptDomain} in BOTH mydestination and virtual_mailbox_domains");
            }
            channel = rp.LocalTransport;
            nexthop = rcptDomain;
            blame = rp.LocalTransportName;
            flags |= MailProto.ResolveClassLocal;
        }

        // transport:nexthop in main.cf sets the nexthop.
        var colon = channel.IndexOf(':');
        if (colon >= 0)
        {
            var destination = channel[(colon + 1)..];
            channel = channel[..colon];
            if (destination.Length > 0)
                nexthop = destination;
        }
        if (channel.Length == 0)
        {
            if (blame == null)
                Msg.Panic("resolve_addr: null blame");
            Msg.Warn($"file {configDir}/main.cf: parameter {blame}: null transport is not allowed");
            flags |= MailProto.ResolveFlagFail;
            return Done();
        }
        if (nexthop.Length == 0)
            Msg.Panic("resolve_addr: null nexthop");

        // transport_maps, except for the virtual alias class.
        if (rp.TransportInfo != null && (flags & MailProto.ResolveClassAlias) == 0)
        {
            if (!rp.TransportInfo.Lookup(nextrcpt, rcptDomain, ref channel, ref nexthop)
                && rp.TransportInfo.Maps.Error != 0)
            {
                Msg.Warn($"{rp.TransportMapsName} lookup failure");
                flags |= MailProto.ResolveFlagFail;
                return Done();
            }
        }

        // Recipients that have moved.
        if (relocatedMaps != null)
        {
            var newloc = AccessSearch.MailAddrFind(relocatedMaps, nextrcpt, out _, findOptions);
            if (newloc != null)
            {
                channel = "error";
                nexthop = "5.1.6 User has moved to " + newloc;
            }
            else if (relocatedMaps.Error != 0)
            {
                Msg.Warn("relocated_maps lookup failure");
                flags |= MailProto.ResolveFlagFail;
                return Done();
            }
        }

        // A recipient that looks like a command-line option.
        if (!allowMinUser && nextrcpt.StartsWith('-'))
            flags |= MailProto.ResolveFlagError;
        return Done();
    }
}
