// NAME
//	AddressRewrite - the rewrite half of trivial-rewrite(8)
// POSTFIX
//	src/trivial-rewrite/rewrite.c
// DESCRIPTION
//	Rewrite(context, address) brings an address to the standard
//	user@fully.qualified.domain form: a source route is dropped; an
//	address without a domain gets site!user swapped to user@site
//	(swap_bangpath), user%domain made into user@domain
//	(allow_percent_hack), or @$myorigin appended (append_at_myorigin);
//	a domain without a dot gets .$mydomain (append_dot_mydomain); one
//	trailing dot goes. The "local" context uses $myorigin and
//	$mydomain, the "remote" context $remote_header_rewrite_domain for
//	both. The address is parsed and printed with the RFC 822 token
//	rules of the reference (quoted local parts stay quoted).
using System.Collections.Generic;
using System.Text;
using Postfix.Global.Address;
using Postfix.Global.Config;

namespace Postfix.Daemons.TrivialRewrite;

internal sealed class AddressRewrite
{
    private readonly bool swapBangpath;
    private readonly bool percentHack;
    private readonly bool appendAtMyorigin;
    private readonly bool appendDotMydomain;
    private readonly string localOrigin;
    private readonly string localDomain;
    private readonly string remoteDomain;

    public AddressRewrite(MailConf conf)
    {
        swapBangpath = conf.Bool("swap_bangpath");
        percentHack = conf.Bool("allow_percent_hack");
        appendAtMyorigin = conf.Bool("append_at_myorigin");
        appendDotMydomain = conf.Bool("append_dot_mydomain");
        localOrigin = conf.Eval("myorigin");
        localDomain = conf.Eval("mydomain");
        remoteDomain = conf.Eval("remote_header_rewrite_domain");
    }

    // Rewrite - null for an unknown context.
    public string? Rewrite(string context, string address)
    {
        string origin, domain;
        switch (context)
        {
            case "local":
                origin = localOrigin;
                domain = localDomain;
                break;
            case "remote":
                origin = domain = remoteDomain;
                break;
            default:
                return null;
        }
        var tokens = new List<Tok822>();
        for (var tp = Tok822.Scan(address, out _); tp != null; tp = tp.Next)
            tokens.Add(tp);
        RewriteTokens(tokens, origin, domain);
        return Externalize(tokens);
    }

    // RewriteLocal - rewrite_tree() in the "local" context, as the
    // resolver uses it.
    internal void RewriteLocal(List<Tok822> tokens) => RewriteTokens(tokens, localOrigin, localDomain);

    // Owned - a token that the reference adds with tok822_sub_append or
    // tok822_sub_prepend; it never gets a space after it when the
    // resolver internalizes the address.
    internal static readonly Tok822 Owner = new(Tok822.Addr);

    internal static Tok822 OwnerMark(int type) => Owned(new Tok822(type));

    private static Tok822 Owned(Tok822 tp)
    {
        tp.Owner = Owner;
        return tp;
    }

    private void RewriteTokens(List<Tok822> t, string origin, string domain)
    {
        if (t.Count == 0)
            return;
        // An empty quoted string is the null address.
        if (t.Count == 1 && t[0].Type == Tok822.QString && t[0].Text.Length == 0)
            return;
        // "@" alone becomes the null address too.
        if (t.Count == 1 && t[0].Type == '@')
        {
            t.Clear();
            t.Add(Owned(new Tok822(Tok822.QString, "")));
            return;
        }
        // Strip a source route: @a,@b:user@c becomes user@c.
        if (t[0].Type == '@')
        {
            var colon = t.FindIndex(x => x.Type == ':');
            if (colon >= 0 && colon != t.Count - 1)
                t.RemoveRange(0, colon + 1);
        }
        var at = t.FindLastIndex(x => x.Type == '@');
        if (at < 0)
        {
            var bang = t.FindIndex(x => x.Type == '!');
            var percent = t.FindLastIndex(x => x.Type == '%');
            if (swapBangpath && bang >= 0)
            {
                // site!user -> user@site (the part before the first bang is the site).
                var site = t.GetRange(0, bang);
                var local = t.GetRange(bang + 1, t.Count - bang - 1);
                t.Clear();
                foreach (var tp in local)
                    t.Add(Owned(tp));
                t.Add(Owned(new Tok822('@')));
                t.AddRange(site);
            }
            else if (percentHack && percent >= 0)
            {
                t[percent] = new Tok822('@');
            }
            else if (appendAtMyorigin && origin.Length > 0)
            {
                t.Add(Owned(new Tok822('@')));
                AppendScan(t, origin);
            }
        }
        at = t.FindLastIndex(x => x.Type == '@');
        if (appendDotMydomain && domain.Length > 0 && at >= 0 && at != t.Count - 1)
        {
            var hasDot = false;
            for (var i = at; i < t.Count; i++)
            {
                if (t[i].Type == Tok822.DomLit || t[i].Type == '.')
                {
                    hasDot = true;
                    break;
                }
            }
            if (!hasDot)
            {
                t.Add(Owned(new Tok822('.')));
                AppendScan(t, domain);
            }
        }
        // One trailing dot after a name goes.
        if (t.Count >= 2 && t[^1].Type == '.' && t[^2].Type != '.' && t[^2].Type != '@')
            t.RemoveAt(t.Count - 1);
    }

    private static void AppendScan(List<Tok822> t, string text)
    {
        for (var tp = Tok822.Scan(text, out _); tp != null; tp = tp.Next)
            t.Add(Owned(tp));
    }

    // Externalize - tok822_externalize() of an address: the internal
    // form, with the local part quoted where RFC 822 needs it.
    private static string Externalize(List<Tok822> t)
    {
        var sb = new StringBuilder();
        for (var i = 0; i < t.Count; i++)
        {
            var tp = t[i];
            if (tp.Type == Tok822.DomLit)
                sb.Append('[').Append(tp.Text).Append(']');
            else if (tp.Type >= Tok822.MinTok)
                sb.Append(tp.Text);
            else
                sb.Append((char)tp.Type);
            if (i + 1 < t.Count && IsWord(tp) && IsWord(t[i + 1]))
                sb.Append(' ');
        }
        return Quote822.Local(sb.ToString());
    }

    private static bool IsWord(Tok822 tp) =>
        tp.Type is Tok822.Atom or Tok822.QString or Tok822.Comment or Tok822.DomLit or Tok822.Addr;
}
