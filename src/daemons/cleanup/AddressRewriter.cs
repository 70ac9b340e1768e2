// NAME
//	IAddressRewriter - trivial-rewrite as cleanup uses it
// POSTFIX
//	src/cleanup/cleanup_rewrite.c, src/global/rewrite_clnt.c
// DESCRIPTION
//	Rewrite(context, address) gives the canonical external form of an
//	external-form address in the "local" or "remote" rewrite context.
//	TrivialRewriter asks the rewrite service (private/rewrite) through
//	RewriteClient; tests substitute their own rules. Addresses are
//	raw strings (one char per byte) on both sides.
using Postfix.Global.Address;
using Postfix.Global.Attr;

namespace Postfix.Daemons.Cleanup;

internal interface IAddressRewriter
{
    string Rewrite(string context, string address);
}

internal sealed class TrivialRewriter(RewriteClient client) : IAddressRewriter
{
    public string Rewrite(string context, string address) =>
        Raw.FromText(client.Rewrite(context, Raw.Text(address)) ?? Raw.Text(address));
}
