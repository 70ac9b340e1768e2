// NAME
//	ResolveReply - what trivial-rewrite's resolve service answers
// POSTFIX
//	src/global/resolve_clnt.h
// DESCRIPTION
//	Transport, next-hop, recipient and the RESOLVE_FLAG_* / RESOLVE_CLASS_*
//	bits (MailProto.Resolve*).
namespace Postfix.Global.Attr;

public readonly record struct ResolveReply(string Transport, string Nexthop, string Recipient, int Flags)
{
    public bool Has(int flag) => (Flags & flag) != 0;
}
