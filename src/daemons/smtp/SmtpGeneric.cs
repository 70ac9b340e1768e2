// NAME
//	SmtpGeneric, SmtpCliFlags, SmtpDelivered - output address rewriting
//	(smtp_generic_maps), the master.cf flags=DORX, and the Delivered-To:
//	loop check
// POSTFIX
//	src/smtp/smtp_map11.c, src/smtp/smtp_misc.c
//	(smtp_rewrite_generic_internal), src/global/mail_addr_map.c,
//	src/global/delivered_hdr.c, src/smtp/smtp.c (deliver_message)
// DESCRIPTION
//	SmtpGeneric maps one address through the generic(5) table: the
//	envelope sender and recipients in their internal form, header
//	addresses as parse trees. A table result is an address list in
//	external form; the first address wins (a warning names the others),
//	an unqualified one is completed by trivial-rewrite's "local"
//	context, and with "generic" in propagate_unmatched_extensions an
//	unmatched address extension is put back. A table that fails is
//	fatal, as with the reference.
//
//	SmtpDelivered.Contains() tells whether a Delivered-To: header of the
//	message (primary headers only) names the address, case-folded.
using System;
using System.Collections.Generic;
using System.Text;
using Postfix.Global.Address;
using Postfix.Global.Attr;
using Postfix.Global.Config;
using Postfix.Global.Dict;
using Postfix.Global.Queue;
using Postfix.Util;

namespace Postfix.Daemons.Smtp;

[Flags]
internal enum SmtpCliFlags
{
    None = 0,
    DeliveredTo = 1 << 0,
    OrigRcpt = 1 << 1,
    ReturnPath = 1 << 2,
    FinalDelivery = 1 << 3,
    AddHeaders = DeliveredTo | OrigRcpt | ReturnPath,
}

internal sealed class SmtpGeneric
{
    private static readonly char[] ListDelims = { ' ', '\t', ',', '\r', '\n' };
    private readonly Maps maps;
    private readonly bool propagate;
    private readonly AccessFindOptions options;
    private RewriteClient? rewriter;

    public SmtpGeneric(Maps maps, bool propagate, AccessFindOptions options)
    {
        this.maps = maps;
        this.propagate = propagate;
        this.options = options;
    }

    // Canonicalize - canon_addr_external() for an unqualified table result;
    // tests replace it.
    internal Func<string, string>? Canonicalize { get; set; }

    public static SmtpGeneric Create(MailConf conf, string title, string mapNames)
    {
        var maps = Maps.Create(title, mapNames, DictFlags.Lock | DictFlags.FoldFix | DictFlags.Utf8Request);
        var propagate = false;
        foreach (var word in conf.Eval("propagate_unmatched_extensions").Split(ListDelims, StringSplitOptions.RemoveEmptyEntries))
        {
            switch (word.ToLowerInvariant())
            {
                case "generic":
                    propagate = true;
                    break;
                case "canonical" or "virtual" or "alias" or "forward" or "include":
                    break;
                default:
                    Msg.Fatal($"invalid propagate_unmatched_extensions value \"{word}\"");
                    break;
            }
        }
        var options = new AccessFindOptions
        {
            RecipientDelimiter = conf.Eval("recipient_delimiter"),
            MyOrigin = conf.Eval("myorigin"),
            DoubleBounceSender = conf.Eval("double_bounce_sender"),
            OwnerRequestSpecial = conf.Bool("owner_request_special"),
        };
        return new SmtpGeneric(maps, propagate, options);
    }

    private string CanonExternal(string addr)
    {
        if (Canonicalize != null)
            return Canonicalize(addr);
        rewriter ??= new RewriteClient(null);
        return rewriter.Rewrite("local", addr) ?? addr;
    }

    // MapInternal - smtp_map11_internal(): true when the table had the address.
    public bool MapInternal(ref string addr)
    {
        var result = AccessSearch.MailAddrMap(maps, addr, propagate, out var ext, options);
        if (result != null)
        {
            var list = Crunch(result, ext);
            if (list.Count == 0)
            {
                Msg.Warn($"{maps.Title} lookup of {addr} returns non-address result \"{result}\"");
                maps.SetError(DictError.Retry);
            }
            else
            {
                if (list.Count > 1)
                    Msg.Warn($"multi-valued {maps.Title} result for {addr}");
                if (Msg.Verbose > 0)
                    Msg.Info($"smtp_map11_internal: {addr} -> {list[0]}");
                addr = list[0];
                return true;
            }
        }
        if (maps.Error != DictError.None)
            Msg.Fatal($"{maps.Title} map lookup problem for {addr}");
        if (Msg.Verbose > 0)
            Msg.Info($"smtp_map11_internal: {addr} not found");
        return false;
    }

    // RewriteInternal - smtp_rewrite_generic_internal(): a non-empty
    // address through the table, else unchanged.
    public string RewriteInternal(string addr)
    {
        if (addr.Length > 0)
            MapInternal(ref addr);
        return addr;
    }

    // MapTree - smtp_map11_tree(): one address of a parsed header.
    public bool MapTree(Tok822 tree)
    {
        var intern = Tok822.Internalize(new StringBuilder(), tree.Head, Tok822.Str.Defl).ToString();
        var found = MapInternal(ref intern);
        var head = Tok822.Scan(Quote822.Local(intern), out var tail);
        tree.Head = head;
        tree.Tail = tail;
        for (var t = head; t != null; t = t.Next)
            t.Owner = tree;
        return found;
    }

    // Crunch - mail_addr_crunch_opt(): the table result as internal-form
    // addresses, each qualified and with the unmatched extension.
    private List<string> Crunch(string text, string? extension)
    {
        if (text.Length == 0 || text == "<>")
            text = "\"\"";
        var result = new List<string>();
        foreach (var addr in Tok822.Grep(Tok822.Parse(text), Tok822.Addr))
        {
            var ext = Tok822.Externalize(addr.Head, Tok822.Str.Defl);
            var intern = Quote822.Unquote(CanonExternal(ext));
            if (extension != null)
            {
                var at = intern.LastIndexOf('@');
                intern = at < 0 ? intern + extension : intern[..at] + extension + intern[at..];
            }
            result.Add(intern);
        }
        return result;
    }

    // IsAddressHeader - HDR_OPT_SENDER or HDR_OPT_RECIP in header_opts.c.
    public static bool IsAddressHeader(string name)
    {
        switch (name.ToLowerInvariant())
        {
            case "apparently-to" or "bcc" or "cc" or "disposition-notification-to" or "errors-to" or "from"
                or "mail-followup-to" or "reply-to" or "resent-bcc" or "resent-cc" or "resent-from" or "resent-reply-to"
                or "resent-sender" or "resent-to" or "return-path" or "return-receipt-to" or "sender" or "to":
                return true;
            default:
                return false;
        }
    }

    // RewriteHeader - the address part of smtp_header_rewrite(): null
    // when no address matched, else the header as folded lines (newline
    // separated, continuation lines starting with a TAB).
    public string? RewriteHeader(string header)
    {
        var nameLen = 0;
        while (nameLen < header.Length && header[nameLen] is > ' ' and < (char)127 and not ':')
            nameLen++;
        if (nameLen == 0 || !IsAddressHeader(header[..nameLen]))
            return null;
        var colon = header.IndexOf(':', nameLen);
        if (colon < 0)
            return null;
        var tree = Tok822.Parse(header[(nameLen + 1)..]);
        var rewritten = false;
        foreach (var addr in Tok822.Grep(tree, Tok822.Addr))
            rewritten |= MapTree(addr);
        if (!rewritten)
            return null;
        var sb = new StringBuilder(header[..nameLen]).Append(": ");
        Tok822.Externalize(sb, tree, Tok822.Str.Head);
        // One address per line from the externalizer: join lines while
        // they fit in 70 columns, then start continuation lines with TAB.
        var lines = sb.ToString().Split('\n');
        var folded = new List<string>();
        var current = new StringBuilder(lines[0]);
        for (var i = 1; i < lines.Length; i++)
        {
            if (current.Length + 1 + lines[i].Length < 70)
            {
                current.Append(' ').Append(lines[i]);
            }
            else
            {
                folded.Add(current.ToString());
                current.Clear().Append(lines[i]);
            }
        }
        folded.Add(current.ToString());
        for (var i = 1; i < folded.Count; i++)
            if (folded[i].Length == 0 || folded[i][0] is not (' ' or '\t'))
                folded[i] = "\t" + folded[i];
        return string.Join('\n', folded);
    }
}

internal static class SmtpDelivered
{
    private const int Limit = 1000;

    // Contains - delivered_hdr_init() + delivered_hdr_find() with FOLD_ADDR_ALL.
    public static bool Contains(byte[] queueFile, long offset, string queueId, string address)
    {
        var key = Quote822.Local(address).ToLowerInvariant();
        var table = new HashSet<string>(StringComparer.Ordinal);
        var reader = new RecordReader(queueFile, queueId);
        reader.Seek(offset);
        var prevType = RecordType.Norm;
        int type;
        while (table.Count < Limit && ((type = reader.Read(out var rec)) == RecordType.Norm || type == RecordType.Cont))
        {
            var wasCont = prevType == RecordType.Cont;
            prevType = type;
            if (wasCont)
                continue;
            var line = Raw.FromBytes(rec);
            var nameLen = HeaderNameLength(line);
            if (nameLen > 0)
            {
                var name = line[..nameLen];
                if (string.Equals(name, "Delivered-To", StringComparison.OrdinalIgnoreCase))
                {
                    var cp = line.IndexOf(':') + 1;
                    while (cp < line.Length && char.IsWhiteSpace(line[cp]))
                        cp++;
                    table.Add(line[cp..].ToLowerInvariant());
                }
            }
            else if (line.Length > 0 && char.IsWhiteSpace(line[0]))
            {
                continue;
            }
            else
            {
                break;
            }
        }
        return table.Contains(key);
    }

    // HeaderNameLength - is_header(): the name's length when the line
    // starts "name:" (blanks allowed before the colon), else 0.
    private static int HeaderNameLength(string line)
    {
        var i = 0;
        while (i < line.Length && line[i] > ' ' && line[i] < 127 && line[i] != ':')
            i++;
        if (i == 0)
            return 0;
        var j = i;
        while (j < line.Length && line[j] is ' ' or '\t')
            j++;
        return j < line.Length && line[j] == ':' ? i : 0;
    }
}
