// NAME
//	ArgvExpander - $name expansion of a pipe(8) command line
// POSTFIX
//	src/pipe/pipe.c (parse_callback, morph_recipient, expand_argv),
//	src/global/split_addr.c, src/global/fold_addr.c
// DESCRIPTION
//	An argument that names a per-recipient macro ($recipient,
//	$original_recipient, $user, $extension, $mailbox, $domain) becomes
//	one argument per recipient; other arguments expand once. Values
//	are not expanded again (addresses may contain "$"). An unknown name
//	fails the whole expansion with the reference's warning. The table
//	keeps its values between deliveries, as the reference's dictionary
//	does.
using System;
using System.Collections.Generic;
using System.Text;
using Postfix.Global.Address;
using Postfix.Util;

namespace Postfix.Daemons.Pipe;

public sealed class ArgvExpander
{
    [Flags]
    private enum RcptMacro
    {
        None = 0,
        Rcpt = 1 << 0,
        User = 1 << 1,
        Extension = 1 << 2,
        Mailbox = 1 << 3,
        Domain = 1 << 4,
        OrigRcpt = 1 << 5,
    }

    private static readonly Dictionary<string, RcptMacro> Known = new(StringComparer.Ordinal)
    {
        ["nexthop"] = RcptMacro.None,
        ["recipient"] = RcptMacro.Rcpt,
        ["original_recipient"] = RcptMacro.OrigRcpt,
        ["sender"] = RcptMacro.None,
        ["user"] = RcptMacro.User,
        ["extension"] = RcptMacro.Extension,
        ["mailbox"] = RcptMacro.Mailbox,
        ["domain"] = RcptMacro.Domain,
        ["size"] = RcptMacro.None,
        ["client_address"] = RcptMacro.None,
        ["client_hostname"] = RcptMacro.None,
        ["client_port"] = RcptMacro.None,
        ["client_protocol"] = RcptMacro.None,
        ["client_helo"] = RcptMacro.None,
        ["sasl_method"] = RcptMacro.None,
        ["sasl_username"] = RcptMacro.None,
        ["sasl_sender"] = RcptMacro.None,
        ["queue_id"] = RcptMacro.None,
    };

    private readonly Dictionary<string, string> table = new(StringComparer.Ordinal);

    // ConfigDir, RecipientDelimiter, DoubleBounce, OwnerRequestSpecial -
    // the main.cf values the expansion depends on.
    public string ConfigDir { get; init; } = "/etc/postfix";

    public string RecipientDelimiter { get; init; } = "";

    public string DoubleBounceSender { get; init; } = "double-bounce";

    public bool OwnerRequestSpecial { get; init; } = true;

    // Set - dict_update() of one macro value.
    public void Set(string name, string value) => table[name] = value;

    public string? Get(string name) => table.TryGetValue(name, out var v) ? v : null;

    // Expand - expand_argv(); null after an unknown macro name.
    public List<string>? Expand(string service, IReadOnlyList<string> argv,
        IReadOnlyList<(string Address, string OrigAddress)> recipients, CopyFlags flags)
    {
        var result = new List<string>();
        foreach (var arg in argv)
        {
            var which = RcptMacro.None;
            var bad = false;
            MacExpand.Parse(arg, (isVar, name) =>
            {
                if (!isVar)
                    return 0;
                if (!Known.TryGetValue(name, out var f))
                {
                    Msg.Warn($"file {ConfigDir}/master.cf: service {service}: unknown macro name: \"{name}\"");
                    bad = true;
                    return MacExpand.ParseError;
                }
                which |= f;
                return 0;
            });
            if (bad)
                return null;
            if (which == RcptMacro.None)
            {
                result.Add(Eval(arg));
                continue;
            }
            foreach (var (address, orig) in recipients)
            {
                if ((which & RcptMacro.Rcpt) != 0)
                    Set("recipient", Morph(address, flags));
                if ((which & RcptMacro.OrigRcpt) != 0)
                    Set("original_recipient", Morph(orig, flags));
                if ((which & RcptMacro.User) != 0)
                {
                    var local = LocalPart(address, flags);
                    if (RecipientDelimiter.Length > 0)
                        SplitAddr(ref local);
                    if (local.Length == 0)
                        continue;
                    Set("user", local);
                }
                if ((which & RcptMacro.Extension) != 0)
                {
                    var local = LocalPart(address, flags);
                    var ext = RecipientDelimiter.Length == 0 ? null : SplitAddr(ref local);
                    Set("extension", ext ?? "");
                }
                if ((which & RcptMacro.Mailbox) != 0)
                    Set("mailbox", LocalPart(address, flags));
                if ((which & RcptMacro.Domain) != 0)
                {
                    var folded = FoldAddr(address, flags & CopyFlags.FoldAll);
                    var at = folded.LastIndexOf('@');
                    if (at < 0)
                        Msg.Warn($"no @ in recipient address: {address}");
                    Set("domain", at < 0 ? "" : folded[(at + 1)..]);
                }
                result.Add(Eval(arg));
            }
        }
        return result;
    }

    // Eval - dict_eval() without recursion.
    public string Eval(string arg) =>
        MacExpand.Expand(arg, MacExpand.FlagNone, (name, _) => Get(name), out _);

    private string LocalPart(string address, CopyFlags flags)
    {
        var folded = FoldAddr(address, flags & CopyFlags.FoldAll);
        var at = folded.LastIndexOf('@');
        if (at < 0)
        {
            Msg.Warn($"no @ in recipient address: {address}");
            return folded;
        }
        return folded[..at];
    }

    // Morph - morph_recipient(): optional quoting, then folding.
    public static string Morph(string address, CopyFlags flags)
    {
        var quoted = (flags & CopyFlags.QuoteLocal) != 0 ? Quote822.Local(address) : address;
        return FoldAddr(quoted, flags);
    }

    // FoldAddr - fold_addr() with the 'u'/'h' bits of flags.
    public static string FoldAddr(string addr, CopyFlags flags)
    {
        var at = addr.LastIndexOf('@');
        switch (flags & CopyFlags.FoldAll)
        {
            case CopyFlags.FoldHost when at >= 0:
                return addr[..(at + 1)] + addr[(at + 1)..].ToLowerInvariant();
            case CopyFlags.FoldUser when at >= 0:
                return addr[..at].ToLowerInvariant() + addr[at..];
            case CopyFlags.FoldHost:
            case CopyFlags.None:
                return addr;
            default:
                return addr.ToLowerInvariant();
        }
    }

    // SplitAddr - split_addr(): cut the local part at the first
    // delimiter; the extension, or null when not split.
    public string? SplitAddr(ref string localpart)
    {
        if (string.Equals(localpart, "postmaster", StringComparison.OrdinalIgnoreCase)
            || string.Equals(localpart, "MAILER-DAEMON", StringComparison.OrdinalIgnoreCase)
            || string.Equals(localpart, DoubleBounceSender, StringComparison.OrdinalIgnoreCase))
            return null;
        if (RecipientDelimiter.Contains('-') && OwnerRequestSpecial)
        {
            if (localpart.StartsWith("owner-", StringComparison.OrdinalIgnoreCase))
                return null;
            if (localpart.Length - 8 > 0 && localpart.EndsWith("-request", StringComparison.OrdinalIgnoreCase))
                return null;
        }
        var len = localpart.AsSpan().IndexOfAny(RecipientDelimiter);
        if (len <= 0)
            return null;
        var ext = localpart[(len + 1)..];
        localpart = localpart[..len];
        return ext;
    }
}
