// NAME
//	CleanupSession (explain) - the address steps, for postfix explain
// POSTFIX
//	src/cleanup/cleanup_addr.c, cleanup_out_recipient.c
// DESCRIPTION
//	ExplainRecipient and ExplainSender run the same rewrite, canonical,
//	masquerade and virtual alias steps that AddrRecipient/OutRecipient
//	and AddrSender run, without writing records, and report each
//	intermediate result to step(name, result). "postfix explain
//	address" calls them so that it never has a second copy of
//	cleanup's address logic.
using System.Collections.Generic;

namespace Postfix.Daemons.Cleanup;

internal sealed partial class CleanupSession
{
    internal List<string> ExplainRecipient(string addr, System.Action<string, string> step)
    {
        var clean = RewriteInternal("local", addr.Length > 0 ? addr : cfg.EmptyAddr);
        step("rewrite", clean);
        CanonInternal(ref clean, AddressMaps.EnvRcpt, cfg.AddressMaps?.RcptCanon, cfg.AddressMaps?.RcptCanonFlags ?? 0);
        step("canonical", clean);
        MasqInternal(ref clean, AddressMaps.EnvRcpt);
        step("masquerade", clean);
        var virt = cfg.AddressMaps?.VirtAlias;
        var list = (Flags & CleanupFlags.MapOk) == 0 || virt == null
            ? new List<string> { clean }
            : Map1N(clean, virt, (cfg.AddressMaps!.ExtPropMask & AddressMaps.PropVirtual) != 0);
        step("virtual", string.Join(", ", list));
        return list;
    }

    internal string ExplainSender(string addr, System.Action<string, string> step)
    {
        var clean = RewriteInternal("local", addr);
        step("rewrite", clean);
        CanonInternal(ref clean, AddressMaps.EnvFrom, cfg.AddressMaps?.SendCanon, cfg.AddressMaps?.SendCanonFlags ?? 0);
        step("canonical", clean);
        MasqInternal(ref clean, AddressMaps.EnvFrom);
        step("masquerade", clean);
        return clean;
    }
}
