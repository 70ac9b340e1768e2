// NAME
//	AccessFindOptions - the configuration that address search orders use
// POSTFIX
//	src/global/mail_addr_find.c, src/global/split_addr.c (the var_*
//	parameters they read)
// DESCRIPTION
//	recipient_delimiter, myorigin, double_bounce_sender,
//	owner_request_special, and resolve_local(): whether a domain is
//	local ($mydestination, $inet_interfaces, $proxy_interfaces); it
//	returns > 0 for local, 0 for not local, < 0 (a DictError) when the
//	answer is not available.
using System;

namespace Postfix.Global.Dict;

public sealed class AccessFindOptions
{
    public string RecipientDelimiter { get; init; } = "";

    public string MyOrigin { get; init; } = "";

    public string DoubleBounceSender { get; init; } = "double-bounce";

    public bool OwnerRequestSpecial { get; init; } = true;

    public Func<string, int> ResolveLocal { get; init; } = static _ => 0;
}
