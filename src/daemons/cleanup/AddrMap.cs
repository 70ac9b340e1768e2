// NAME
//	CleanupSession (mapping) - canonical and virtual alias mapping
// POSTFIX
//	src/cleanup/cleanup_map11.c, cleanup_map1n.c,
//	src/global/mail_addr_map.c, mail_addr_crunch.c
// DESCRIPTION
//	Map11() replaces an address by its canonical(5) mapping, following
//	chains up to ten deep. Map1N() expands a recipient through
//	virtual_alias_maps into a list of addresses (recursively, with the
//	virtual_alias_* safety limits). Crunch() turns a table result into
//	canonical addresses, re-inserting an unmatched extension.
using Postfix.Global.Address;
using System;
using System.Collections.Generic;
using Postfix.Global.Dict;
using Postfix.Util;

namespace Postfix.Daemons.Cleanup;

internal sealed partial class CleanupSession
{
    // MailAddrMap - mail_addr_map_opt(): addresses (external form when
    // external is set), or null when not found or on error.
    private List<string>? MailAddrMap(Maps maps, string intAddr, bool propagate, bool external)
    {
        var maps0 = cfg.AddressMaps!;
        var text = AccessSearch.MailAddrMap(maps, Raw.Text(intAddr), propagate, out var ext, maps0.Options);
        if (text == null)
            return null;
        var list = Crunch(Raw.FromText(text), ext == null ? null : Raw.FromText(ext), external);
        if (list.Count == 0)
        {
            Msg.Warn($"{maps.Title} lookup of {Raw.Text(intAddr)} returns non-address result \"{text}\"");
            maps.SetError(DictError.Retry);
            return null;
        }
        return list;
    }

    // Crunch - mail_addr_crunch_opt() for an external-form table result.
    private List<string> Crunch(string text, string? extension, bool external)
    {
        if (text.Length == 0 || text == "<>")
            text = "\"\"";
        var result = new List<string>();
        foreach (var addr in Tok822.Grep(Tok822.Parse(text), Tok822.Addr))
        {
            var ext = Tok822.Externalize(addr.Head, Tok822.Str.Defl);
            var intern = Quote822.Unquote(rewriter.Rewrite("local", ext));
            if (extension != null)
            {
                var at = intern.LastIndexOf('@');
                intern = at < 0 ? intern + extension : intern[..at] + extension + intern[at..];
            }
            result.Add(external ? Quote822.Local(intern) : intern);
        }
        return result;
    }

    // Map11External - cleanup_map11_external().
    private bool Map11External(ref string addr, Maps maps, bool propagate)
    {
        var rewritten = false;
        for (var count = 0; count < 10; count++)
        {
            var list = MailAddrMap(maps, Quote822.Unquote(addr), propagate, external: true);
            if (list != null)
            {
                if (list.Count > 1)
                    Msg.Warn($"{QueueId}: multi-valued {maps.Title} entry for {Raw.Text(addr)}");
                var saved = addr;
                rewritten |= !string.Equals(list[0], addr, StringComparison.Ordinal);
                addr = list[0];
                if (string.Equals(saved, addr, StringComparison.OrdinalIgnoreCase))
                    return rewritten;
            }
            else if (maps.Error != DictError.None)
            {
                Msg.Warn($"{QueueId}: {maps.Title} map lookup problem for {Raw.Text(addr)} -- message not accepted, try again later");
                Errs |= CleanupStatus.Write;
                return rewritten;
            }
            else
            {
                return rewritten;
            }
        }
        Msg.Warn($"{QueueId}: unreasonable {maps.Title} map nesting for {Raw.Text(addr)} -- message not accepted, try again later");
        return rewritten;
    }

    // Map11Internal - cleanup_map11_internal().
    private bool Map11Internal(ref string addr, Maps maps, bool propagate)
    {
        var ext = Quote822.Local(addr);
        var rewritten = Map11External(ref ext, maps, propagate);
        addr = Quote822.Unquote(ext);
        return rewritten;
    }

    // Map11Tree - cleanup_map11_tree().
    private bool Map11Tree(Tok822 tree, Maps maps, bool propagate)
    {
        var ext = Tok822.Externalize(tree.Head, Tok822.Str.Defl);
        var rewritten = Map11External(ref ext, maps, propagate);
        var head = Tok822.Scan(ext, out var tail);
        tree.Head = head;
        tree.Tail = tail;
        for (var t = head; t != null; t = t.Next)
            t.Owner = tree;
        return rewritten;
    }

    // CanonEnvelope - the canonical tables of one envelope address class.
    private void CanonInternal(ref string addr, int cls, Maps? specific, int specificFlags)
    {
        var m = cfg.AddressMaps;
        if (m == null || (Flags & CleanupFlags.MapOk) == 0)
            return;
        var prop = (m.ExtPropMask & AddressMaps.PropCanonical) != 0;
        if (specific != null && (specificFlags & cls) != 0)
            Map11Internal(ref addr, specific, prop);
        if (m.CommCanon != null && (m.CommCanonFlags & cls) != 0)
            Map11Internal(ref addr, m.CommCanon, prop);
    }

    // CanonTree - the canonical tables for one header address.
    private bool CanonTree(Tok822 tree, int cls, Maps? specific, int specificFlags)
    {
        var m = cfg.AddressMaps;
        if (m == null || (Flags & CleanupFlags.MapOk) == 0)
            return false;
        var prop = (m.ExtPropMask & AddressMaps.PropCanonical) != 0;
        var rewritten = false;
        if (specific != null && (specificFlags & cls) != 0)
            rewritten |= Map11Tree(tree, specific, prop);
        if (m.CommCanon != null && (m.CommCanonFlags & cls) != 0)
            rewritten |= Map11Tree(tree, m.CommCanon, prop);
        return rewritten;
    }

    // Map1N - cleanup_map1n_internal().
    private List<string> Map1N(string addr, Maps maps, bool propagate)
    {
        var m = cfg.AddressMaps!;
        var argv = new List<string> { addr };
        var beenHere = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        List<string> Unexpand(int errBit)
        {
            Errs |= errBit;
            Reason = "4.6.0 Alias expansion error";
            return [addr];
        }
        for (var arg = 0; arg < argv.Count; arg++)
        {
            if (argv.Count > m.VirtExpanLimit)
            {
                Msg.Warn($"{QueueId}: unreasonable {maps.Title} map expansion size for {Raw.Text(addr)} -- message not accepted, try again later");
                return Unexpand(CleanupStatus.Defer);
            }
            for (var count = 0; ; count++)
            {
                if (beenHere.Contains(argv[arg]))
                    break;
                if (count >= m.VirtRecurLimit)
                {
                    Msg.Warn($"{QueueId}: unreasonable {maps.Title} map nesting for {Raw.Text(addr)} -- message not accepted, try again later");
                    return Unexpand(CleanupStatus.Defer);
                }
                var lookup = MailAddrMap(maps, argv[arg], propagate, external: false);
                if (lookup != null)
                {
                    var savedLhs = argv[arg];
                    for (var i = 0; i < lookup.Count; i++)
                    {
                        if (lookup[i].Length > m.VirtAddrLenLimit)
                        {
                            Msg.Warn($"{QueueId}: unreasonable {maps.Title} result {Raw.Text(Trunc(lookup[i], 300))}... -- message not accepted, try again later");
                            return Unexpand(CleanupStatus.Defer);
                        }
                        if (i == 0)
                            argv[arg] = lookup[i];
                        else
                            argv.Add(lookup[i]);
                        if (string.Equals(savedLhs, lookup[i], StringComparison.OrdinalIgnoreCase))
                            beenHere.Add(savedLhs);
                    }
                }
                else if (maps.Error != DictError.None)
                {
                    Msg.Warn($"{QueueId}: {maps.Title} map lookup problem for {Raw.Text(addr)} -- message not accepted, try again later");
                    return Unexpand(CleanupStatus.Write);
                }
                else
                {
                    break;
                }
            }
        }
        return argv;
    }

    // BccLookup - mail_addr_find_to_internal() for sender/recipient_bcc_maps.
    private void BccLookup(Maps? maps, string addr)
    {
        if (maps == null || (Flags & CleanupFlags.BccOk) == 0 || addr.Length == 0)
            return;
        var bcc = AccessSearch.MailAddrFind(maps, Raw.Text(addr), out _, cfg.AddressMaps!.Options);
        if (bcc != null)
            AddrBcc(Raw.FromText(bcc));
        else if (maps.Error != DictError.None)
        {
            Msg.Warn($"{QueueId}: {maps.Title} map lookup problem -- message not accepted, try again later");
            Errs |= CleanupStatus.Write;
        }
    }

}
