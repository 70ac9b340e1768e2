// NAME
//	AccessSearch - the key search orders of access(5), virtual(5),
//	canonical(5), transport(5) and friends
// POSTFIX
//	src/global/mail_addr_find.c, src/global/mail_addr_map.c (the @domain
//	and extension rules), src/smtpd/smtpd_check.c (check_domain_access,
//	check_addr_access, check_mail_access)
// DESCRIPTION
//	Fixed-string tables (DictFlags.Fixed) get every partial key; pattern
//	tables get only the full key, once, so that a regular expression
//	never matches "user@" or a parent domain by accident. Each search
//	stops at the first result or at the first table error; Maps.Error
//	says which.
//
//	Addresses: user+ext@domain, user@domain, then (when the domain is
//	local) user+ext and user, then @domain, domain and parent domains,
//	user+ext@ and user@, as the strategy bits select.
//	Host names: the name, then parent domains ("example.com" matches
//	subdomains when parent_domain_matches_subdomains lists the table,
//	else ".example.com"); numerical addresses get no parent lookups.
//	Host addresses: 1.2.3.4, 1.2.3, 1.2, 1; IPv6 drops ":field" from
//	the right.
using System;

namespace Postfix.Global.Dict;

public static class AccessSearch
{
    // Strategy - MA_FIND_* bits.
    [Flags]
    public enum Strategy
    {
        None = 0,
        Full = 1 << 0,                   // localpart+ext@domain
        NoExt = 1 << 1,                  // localpart@domain
        LocalpartIfLocal = 1 << 2,       // localpart(+ext) when the domain is local
        LocalpartAtIfLocal = 1 << 3,     // localpart(+ext)@ when the domain is local
        AtDomain = 1 << 4,               // @domain
        Domain = 1 << 5,                 // domain
        Pdms = 1 << 6,                   // parent matches subdomain
        Pddmds = 1 << 7,                 // parent matches dot-subdomain
        LocalpartAt = 1 << 8,            // localpart(+ext)@ always
        Default = Full | NoExt | LocalpartIfLocal | AtDomain,
    }

    // Form - MA_FORM_*: how addresses are handed to tables.
    public enum Form
    {
        Internal = 1,          // unquoted
        External = 2,          // quoted
        ExternalFirst = 3,     // quoted, then unquoted
        InternalFirst = 4,     // unquoted, then quoted
    }

    private const DictFlags Partial = DictFlags.Fixed;
    private const DictFlags FullKey = DictFlags.None;

    // MailAddrFind - mail_addr_find(): the legacy forms with the default
    // strategy (virtual(5), canonical(5), relocated(5), sender maps).
    public static string? MailAddrFind(Maps maps, string address, out string? extension, AccessFindOptions options) =>
        MailAddrFind(maps, address, out extension, Form.Internal, Form.ExternalFirst, Form.External, Strategy.Default, options);

    // MailAddrFind - mail_addr_find_strategy(): the legacy forms.
    public static string? MailAddrFind(Maps maps, string address, out string? extension, Strategy strategy, AccessFindOptions options) =>
        MailAddrFind(maps, address, out extension, Form.Internal, Form.ExternalFirst, Form.External, strategy, options);

    // MailAddrFind - mail_addr_find_opt(): search the keys that strategy
    // selects; extension is the unmatched +ext when the match came from
    // a key without it.
    public static string? MailAddrFind(Maps maps, string address, out string? extension,
        Form inForm, Form queryForm, Form outForm, Strategy strategy, AccessFindOptions options)
    {
        extension = null;
        var intAddr = inForm == Form.External ? AccessAddress.Unquote(address) : address;
        var fullKey = intAddr;
        string? bareKey = null;
        string? savedExt = null;
        if (options.RecipientDelimiter.Length > 0 && (strategy & Strategy.NoExt) != 0)
            bareKey = AccessAddress.StripExtension(fullKey, options.RecipientDelimiter, options, out savedExt);
        string? result;

        // user+foo@domain, then user@domain.
        if ((strategy & Strategy.Full) != 0)
        {
            result = FindAddr(maps, fullKey, FullKey, true, queryForm);
        }
        else
        {
            result = null;
            maps.ClearError();
        }
        if (result == null && maps.Error == 0 && bareKey != null
            && (result = FindAddr(maps, bareKey, Partial, true, queryForm)) != null)
        {
            extension = savedExt;
            savedExt = null;
        }

        // user+foo and user when the domain is local.
        var at = fullKey.LastIndexOf('@');
        if (result == null && maps.Error == 0 && at >= 0
            && (strategy & (Strategy.LocalpartIfLocal | Strategy.LocalpartAtIfLocal)) != 0)
        {
            var domain = fullKey[(at + 1)..];
            var rc = 0;
            if (domain.Equals(options.MyOrigin, StringComparison.OrdinalIgnoreCase)
                || (rc = options.ResolveLocal(domain)) > 0)
            {
                if ((strategy & Strategy.LocalpartIfLocal) != 0)
                    result = FindLocal(maps, fullKey, bareKey, false, queryForm, ref extension, ref savedExt);
                if (result == null && maps.Error == 0 && (strategy & Strategy.LocalpartAtIfLocal) != 0)
                    result = FindLocal(maps, fullKey, bareKey, true, queryForm, ref extension, ref savedExt);
            }
            else if (rc < 0)
            {
                maps.SetError((DictError)rc);
            }
        }

        // @domain.
        if (result == null && maps.Error == 0 && at >= 0 && (strategy & Strategy.AtDomain) != 0)
            result = maps.Find(fullKey[at..], Partial);

        // domain, optionally parent domains.
        if (result == null && maps.Error == 0 && at >= 0 && (strategy & Strategy.Domain) != 0)
        {
            if ((strategy & Strategy.Pdms) != 0 && (strategy & Strategy.Pddmds) != 0)
                Postfix.Util.Msg.Warn("mail_addr_find_opt: do not specify both MA_FIND_PDMS and MA_FIND_PDDMDS");
            var name = at + 1;
            while (name < fullKey.Length)
            {
                if ((result = maps.Find(fullKey[name..], Partial)) != null
                    || maps.Error != 0
                    || (strategy & (Strategy.Pdms | Strategy.Pddmds)) == 0)
                    break;
                var next = fullKey.IndexOf('.', name + 1);
                if (next < 0)
                    break;
                if ((strategy & Strategy.Pddmds) == 0)
                    next++;
                name = next;
            }
        }

        // user+foo@ and user@, whatever the domain.
        if ((strategy & Strategy.LocalpartAt) != 0 && result == null && maps.Error == 0)
            result = FindLocal(maps, fullKey, bareKey, true, queryForm, ref extension, ref savedExt);

        if (result != null && outForm == Form.Internal)
            result = AccessAddress.Unquote(result);
        if (Postfix.Util.Msg.Verbose > 0)
            Postfix.Util.Msg.Info($"mail_addr_find: {address} -> {result ?? (maps.Error != 0 ? "(try again)" : "(not found)")}");
        return result;
    }

    // FindAddr - one key in the query form(s).
    private static string? FindAddr(Maps maps, string address, DictFlags flags, bool withDomain, Form queryForm)
    {
        var quoteFlags = withDomain ? AccessAddress.QuoteDefault : AccessAddress.QuoteDefault | AccessAddress.QuoteBareLocalpart;
        string? result;
        switch (queryForm)
        {
            case Form.External:
            case Form.ExternalFirst:
                {
                    var ext = AccessAddress.Quote(address, quoteFlags);
                    result = maps.Find(ext, flags);
                    if (result != null || maps.Error != 0 || queryForm != Form.ExternalFirst || address == ext)
                        break;
                    result = maps.Find(address, flags);
                    break;
                }
            default:
                {
                    result = maps.Find(address, flags);
                    if (result != null || maps.Error != 0 || queryForm != Form.InternalFirst)
                        break;
                    var ext = AccessAddress.Quote(address, quoteFlags);
                    if (address == ext)
                        break;
                    result = maps.Find(ext, flags);
                    break;
                }
        }
        return result;
    }

    // FindLocal - the local part (withAt: followed by "@") with, then
    // without, its extension.
    private static string? FindLocal(Maps maps, string fullKey, string? bareKey, bool withAt, Form queryForm,
        ref string? extension, ref string? savedExt)
    {
        var at = fullKey.LastIndexOf('@');
        if (at < 0)
            at = fullKey.Length;
        var key = withAt ? fullKey[..Math.Min(at + 1, fullKey.Length)] : fullKey[..at];
        var result = FindAddr(maps, key, Partial, withAt, queryForm);
        if (result == null && maps.Error == 0 && bareKey != null)
        {
            var bareAt = bareKey.LastIndexOf('@');
            if (bareAt < 0)
                bareAt = bareKey.Length;
            var bare = withAt ? bareKey[..Math.Min(bareAt + 1, bareKey.Length)] : bareKey[..bareAt];
            if ((result = FindAddr(maps, bare, Partial, withAt, queryForm)) != null)
            {
                extension = savedExt;
                savedExt = null;
            }
        }
        return result;
    }

    // MailAddrMap - the lookup half of mail_addr_map() (virtual(5),
    // canonical(5)): a result "@otherdomain" keeps the original local
    // part (without the unmatched extension); with propagate, the
    // unmatched extension comes back in extension for the caller to
    // re-insert into each address of the result.
    public static string? MailAddrMap(Maps maps, string address, bool propagate, out string? extension, AccessFindOptions options)
    {
        var result = MailAddrFind(maps, address, out var ext, Form.Internal, Form.ExternalFirst, Form.External, Strategy.Default, options);
        extension = null;
        if (result == null)
            return null;
        if (result.Length > 0 && result[0] == '@')
        {
            var at = address.LastIndexOf('@');
            var user = at >= 0 ? address[..at] : address;
            if (ext != null && user.Length >= ext.Length)
                user = user[..^ext.Length];
            result = AccessAddress.Quote(user + result);
        }
        if (propagate)
            extension = ext;
        return result;
    }

    // DomainFind - check_domain_access(): the name, then its parent
    // domains (parentStyle: "example.com" matches subdomains; else only
    // ".example.com" does). flags restricts the first (full) lookup.
    public static string? DomainFind(Maps maps, string domain, bool parentStyle, DictFlags flags = DictFlags.None)
    {
        var maybeNumerical = true;
        var name = 0;
        while (name < domain.Length)
        {
            var value = maps.Find(name == 0 ? domain : domain[name..], flags);
            if (value != null || maps.Error != 0)
                return value;
            // No subdomain magic for numerical host names.
            if (maybeNumerical && (maybeNumerical = AccessAddress.IsHostAddr(domain)))
                break;
            var next = domain.IndexOf('.', name + 1);
            if (next < 0)
                break;
            if (parentStyle)
                next++;
            name = next;
            flags = Partial;
        }
        return null;
    }

    // HostAddrFind - check_addr_access(): the address, then shorter
    // prefixes split at the last "." (IPv4) or ":" (IPv6).
    public static string? HostAddrFind(Maps maps, string address, DictFlags flags = DictFlags.None)
    {
        var delim = address.Contains(':', StringComparison.Ordinal) ? ':' : '.';
        var addr = address;
        for (;;)
        {
            var value = maps.Find(addr, flags);
            if (value != null || maps.Error != 0)
                return value;
            flags = Partial;
            var cut = addr.LastIndexOf(delim);
            if (cut < 0)
                return null;
            addr = addr[..cut];
        }
    }

    // ParentStyle - match_parent_style(): does the
    // parent_domain_matches_subdomains value list this feature (for
    // example "smtpd_access_maps", "transport_maps")? Then "example.com"
    // matches its subdomains; else only ".example.com" does.
    public static bool ParentStyle(string parentDomainMatchesSubdomains, string feature)
    {
        var pos = 0;
        while (RegexpSupport.NextToken(parentDomainMatchesSubdomains, ref pos, ", \t\r\n", out var item))
        {
            if (item.Equals(feature, StringComparison.OrdinalIgnoreCase))
                return true;
        }
        return false;
    }

    // MailAccessFind - check_mail_access(): the access(5) address order
    // user+ext@domain, user@domain, domain (and parents), user+ext@, user@.
    public static string? MailAccessFind(Maps maps, string address, bool parentStyle, AccessFindOptions options)
    {
        var strategy = Strategy.Full | Strategy.NoExt | Strategy.Domain | Strategy.LocalpartAt
            | (parentStyle ? Strategy.Pdms : Strategy.Pddmds);
        return MailAddrFind(maps, address, out _, strategy, options);
    }

    // TransportFind - transport.c's address order: user+ext@domain,
    // user@domain, domain and parent domains (parentStyle as for
    // DomainFind). The caller tries "*" after a miss.
    public static string? TransportFind(Maps maps, string address, bool parentStyle, AccessFindOptions options)
    {
        var strategy = Strategy.Full | Strategy.NoExt | Strategy.Domain
            | (parentStyle ? Strategy.Pdms : Strategy.Pddmds);
        return MailAddrFind(maps, address, out _, strategy, options);
    }
}
