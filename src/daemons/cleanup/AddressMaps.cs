// NAME
//	AddressMaps - canonical, virtual alias and automatic BCC tables
// POSTFIX
//	src/cleanup/cleanup_init.c (pre-jail table set-up),
//	src/global/ext_prop.c, src/global/resolve_local.c (simplified)
// DESCRIPTION
//	The tables (and masquerade_domains) cleanup applies to addresses when the client allows
//	address mapping (CLEANUP_FLAG_MAP_OK) or automatic BCC recipients
//	(CLEANUP_FLAG_BCC_OK), with the address classes each canonical
//	table covers (canonical_classes etc.) and whether an unmatched
//	address extension is carried over (propagate_unmatched_extensions).
//	Local domains for the user@ lookups are the names in mydestination
//	(tables and address literals there are not consulted).
using System;
using System.Collections.Generic;
using Postfix.Global.Config;
using Postfix.Global.Dict;
using Postfix.Util;

namespace Postfix.Daemons.Cleanup;

internal sealed class AddressMaps
{
    public const int EnvFrom = 1 << 0, EnvRcpt = 1 << 1, HdrFrom = 1 << 2, HdrRcpt = 1 << 3;
    public const int PropCanonical = 1 << 0, PropVirtual = 1 << 1;

    public Maps? CommCanon, SendCanon, RcptCanon, VirtAlias, SendBcc, RcptBcc;
    public int CommCanonFlags, SendCanonFlags, RcptCanonFlags;
    public int ExtPropMask = PropCanonical | PropVirtual;
    public int VirtRecurLimit = 1000, VirtExpanLimit = 1000, VirtAddrLenLimit = 1000;
    public AccessFindOptions Options = new();
    public List<string> MasqDomains = new();
    public HashSet<string> MasqExceptions = new(StringComparer.OrdinalIgnoreCase);
    public int MasqFlags;

    public static AddressMaps FromConf(MailConf conf, Func<string, string, DictFlags, Maps> open)
    {
        const DictFlags flags = DictFlags.Lock | DictFlags.FoldFix | DictFlags.Utf8Request;
        Maps? Open(string name)
        {
            var v = conf.Eval(name);
            return v.Length > 0 ? open(name, v, flags) : null;
        }
        var m = new AddressMaps
        {
            CommCanon = Open("canonical_maps"),
            SendCanon = Open("sender_canonical_maps"),
            RcptCanon = Open("recipient_canonical_maps"),
            VirtAlias = Open("virtual_alias_maps"),
            SendBcc = Open("sender_bcc_maps"),
            RcptBcc = Open("recipient_bcc_maps"),
            CommCanonFlags = Classes(conf, "canonical_classes", EnvFrom | EnvRcpt | HdrFrom | HdrRcpt),
            SendCanonFlags = Classes(conf, "sender_canonical_classes", EnvFrom | HdrFrom),
            RcptCanonFlags = Classes(conf, "recipient_canonical_classes", EnvRcpt | HdrRcpt),
            ExtPropMask = ExtProp(conf.Eval("propagate_unmatched_extensions")),
            VirtRecurLimit = int.Parse(conf.Eval("virtual_alias_recursion_limit"), System.Globalization.CultureInfo.InvariantCulture),
            VirtExpanLimit = int.Parse(conf.Eval("virtual_alias_expansion_limit"), System.Globalization.CultureInfo.InvariantCulture),
            VirtAddrLenLimit = int.Parse(conf.Eval("virtual_alias_address_length_limit"), System.Globalization.CultureInfo.InvariantCulture),
        };
        foreach (var d in conf.Eval("masquerade_domains").Split([',', ' ', '\t', '\r', '\n'], StringSplitOptions.RemoveEmptyEntries))
            m.MasqDomains.Add(d);
        foreach (var x in conf.Eval("masquerade_exceptions").Split([',', ' ', '\t', '\r', '\n'], StringSplitOptions.RemoveEmptyEntries))
            m.MasqExceptions.Add(x);
        if (m.MasqDomains.Count > 0)
            m.MasqFlags = Classes(conf, "masquerade_classes", EnvFrom | EnvRcpt | HdrFrom | HdrRcpt);
        var local = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var d in conf.Eval("mydestination").Split([',', ' ', '\t', '\r', '\n'], StringSplitOptions.RemoveEmptyEntries))
            if (!d.Contains(':', StringComparison.Ordinal))
                local.Add(d.TrimEnd('.'));
        m.Options = new AccessFindOptions
        {
            RecipientDelimiter = conf.Eval("recipient_delimiter"),
            MyOrigin = conf.Eval("myorigin"),
            DoubleBounceSender = conf.Eval("double_bounce_sender"),
            OwnerRequestSpecial = conf.Bool("owner_request_special"),
            ResolveLocal = domain => local.Contains(domain.TrimEnd('.')) ? 1 : 0,
        };
        return m;
    }

    private static int Classes(MailConf conf, string name, int allowed)
    {
        var mask = 0;
        foreach (var word in conf.Eval(name).Split([',', ' ', '\t', '\r', '\n'], StringSplitOptions.RemoveEmptyEntries))
        {
            var bit = word.ToLowerInvariant() switch
            {
                "envelope_sender" => EnvFrom,
                "envelope_recipient" => EnvRcpt,
                "header_sender" => HdrFrom,
                "header_recipient" => HdrRcpt,
                _ => 0,
            };
            if (bit == 0 || (bit & allowed) == 0)
                Msg.Fatal($"invalid canonical_classes value: \"{word}\"");
            mask |= bit;
        }
        return mask;
    }

    // ExtProp - ext_prop_mask().
    private static int ExtProp(string value)
    {
        var mask = 0;
        foreach (var word in value.Split([',', ' ', '\t', '\r', '\n'], StringSplitOptions.RemoveEmptyEntries))
        {
            mask |= word.ToLowerInvariant() switch
            {
                "canonical" => PropCanonical,
                "virtual" => PropVirtual,
                "alias" or "forward" or "include" or "generic" => 0,
                _ => Bad(word),
            };
        }
        return mask;
    }

    private static int Bad(string word)
    {
        Msg.Fatal($"unknown propagate_unmatched_extensions value \"{word}\"");
        return 0;
    }
}
