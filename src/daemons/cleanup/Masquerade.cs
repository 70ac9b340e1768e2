// NAME
//	CleanupSession (masquerade) - strip subdomains from addresses
// POSTFIX
//	src/cleanup/cleanup_masquerade.c
// DESCRIPTION
//	With masquerade_domains = example.com, user@host.example.com becomes
//	user@example.com for the address classes in masquerade_classes. The
//	first list entry that equals the domain or is a parent of it
//	decides; a "!" in front means "leave this one alone".
//	masquerade_exceptions lists local parts that are never changed
//	(plain names; lookup tables there are not consulted).
using Postfix.Global.Address;
using System;
using System.Collections.Generic;

namespace Postfix.Daemons.Cleanup;

internal sealed partial class CleanupSession
{
    // MasqExternal - cleanup_masquerade_external().
    private bool MasqExternal(ref string addr)
    {
        var m = cfg.AddressMaps!;
        var at = addr.LastIndexOf('@');
        if (at < 0)
            return false;
        var domain = addr[(at + 1)..].ToLowerInvariant();
        if (m.MasqExceptions.Count > 0 && m.MasqExceptions.Contains(addr[..at]))
            return false;
        foreach (var entry in m.MasqDomains)
        {
            var truncate = true;
            var k = 0;
            while (k < entry.Length && entry[k] == '!')
            {
                truncate = !truncate;
                k++;
            }
            var masq = entry[k..].ToLowerInvariant();
            if (masq.Length == 0)
                continue;
            if (masq.Length == domain.Length)
            {
                if (masq == domain)
                    break;
            }
            else if (masq.Length < domain.Length)
            {
                var parent = domain.Length - masq.Length;
                if (domain[parent - 1] == '.' && string.CompareOrdinal(domain, parent, masq, 0, masq.Length) == 0)
                {
                    if (truncate)
                    {
                        addr = addr[..(at + 1)] + masq;
                        return true;
                    }
                    break;
                }
            }
        }
        return false;
    }

    // MasqInternal - cleanup_masquerade_internal() for one address class.
    private void MasqInternal(ref string addr, int cls)
    {
        var m = cfg.AddressMaps;
        if (m == null || m.MasqDomains.Count == 0 || (Flags & CleanupFlags.MapOk) == 0 || (m.MasqFlags & cls) == 0)
            return;
        var ext = Quote822.Local(addr);
        MasqExternal(ref ext);
        addr = Quote822.Unquote(ext);
    }

    // MasqTree - cleanup_masquerade_tree() for one header address.
    private bool MasqTree(Tok822 tree, int cls)
    {
        var m = cfg.AddressMaps;
        if (m == null || m.MasqDomains.Count == 0 || (Flags & CleanupFlags.MapOk) == 0 || (m.MasqFlags & cls) == 0)
            return false;
        var ext = Tok822.Externalize(tree.Head, Tok822.Str.Defl);
        var rewritten = MasqExternal(ref ext);
        var head = Tok822.Scan(ext, out var tail);
        tree.Head = head;
        tree.Tail = tail;
        for (var t = head; t != null; t = t.Next)
            t.Owner = tree;
        return rewritten;
    }

}
