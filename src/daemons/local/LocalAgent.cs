// NAME
//	LocalAgent - local(8) delivery: aliases, .forward, mailboxes,
//	files and commands
// POSTFIX
//	src/local/local.c (local_deliver), recipient.c, alias.c,
//	dotforward.c, include.c, indirect.c, token.c, resolve.c, unknown.c,
//	mailbox.c, maildir.c, file.c, command.c, local_expand.c,
//	bounce_workaround.c
// DESCRIPTION
//	Deliver() handles every recipient of one request the way the
//	reference does: duplicate and loop checks, the address split into
//	user, extension and domain, then alias_maps (owner- aliases,
//	:include: files, |commands, /files, local and remote addresses,
//	recursion up to 100 levels), the user's .forward files along
//	forward_path, and finally the mailbox: mailbox_transport(_maps),
//	mailbox_command(_maps), home_mailbox (mbox or Maildir/) or
//	mail_spool_directory, each written with the recipient's privileges.
//	Unknown users go to fallback_transport(_maps) or luser_relay, or
//	bounce. Results leave through IDeliveryReport.
using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using Postfix.Global.Address;
using Postfix.Global.Dict;
using Postfix.Global.Mailbox;
using Postfix.Global.Deliver;
using Postfix.Util;

namespace Postfix.Daemons.Local;

internal struct LocalState
{
    public int Level;
    public MsgAttr Attr;
    public LocalRequest Request;
    public BeenHere DupFilter;
    public DeliveredHeaders LoopInfo;
    public DsnBuf Why;
}

internal sealed partial class LocalAgent
{
    private const bool No = false;
    private const bool Yes = true;

    private readonly LocalConfig cfg;
    private readonly IDeliveryReport report;
    private Maps? aliasMaps;
    private Maps? mboxTransportMaps;
    private Maps? fallbackTransportMaps;
    private Maps? mboxCommandMaps;

    // Resolver - rewrite (canonical) and resolve an external address:
    // (transport, recipient, flags) or null when the service failed.
    public Func<string, (string Transport, string Recipient, int Flags)?>? Resolver { get; set; }

    public LocalAgent(LocalConfig cfg, IDeliveryReport report, Maps? aliasMaps = null)
    {
        this.cfg = cfg;
        this.report = report;
        this.aliasMaps = aliasMaps;
    }

    public Maps AliasMaps => aliasMaps ??= Maps.Create("aliases", cfg.AliasMaps, DictFlags.Lock | DictFlags.FoldFix | DictFlags.Utf8Request);

    private static Maps? OptionalMaps(ref Maps? maps, string title, string names, DictFlags flags)
    {
        if (names.Length > 0 && maps == null)
            maps = Maps.Create(title, names, flags);
        return maps;
    }

    // Deliver - local_deliver(): the status of the whole request.
    public int Deliver(LocalRequest req, string service)
    {
        var state = new LocalState
        {
            Request = req,
            LoopInfo = new DeliveredHeaders(req.QueueFile, req.DataOffset, req.QueuePath),
            Attr = new MsgAttr
            {
                Sender = req.Sender,
                DsnEnvid = req.DsnEnvid,
                DsnRet = req.DsnRet,
                Relay = service,
            },
        };
        var usr = default(UserAttr);
        var msgStat = 0;
        foreach (var rcpt in req.Recipients)
        {
            state.DupFilter = new BeenHere(cfg.DupFilterLimit);
            state.Why = new DsnBuf();
            forwards = new Forwarder(this, req);
            state.Attr.Rcpt = rcpt;
            var rcptStat = DeliverRecipient(state, usr);
            rcptStat |= forwards.Finish(state.Attr, state.Why, rcptStat);
            forwards = null;
            if (rcptStat == 0 && (req.Flags & LocalRequest.FlagSuccess) != 0)
                report.Completed(req, rcpt.Offset);
            msgStat |= rcptStat;
        }
        return msgStat;
    }

    private Forwarder? forwards;

    internal IDeliveryReport Report => report;

    internal LocalConfig Config => cfg;

    private int Bounce(in LocalState s) => report.Bounce(s.Request, s.Attr, s.Why);

    private int Defer(in LocalState s) => report.Defer(s.Request, s.Attr, s.Why);

    private int Sent(in LocalState s) => report.Sent(s.Request, s.Attr, s.Why);

    // DeliverRecipient - deliver_recipient().
    internal int DeliverRecipient(LocalState state, UserAttr usr)
    {
        state.Level++;
        if (state.DupFilter.Check($"recipient {state.Level} {state.Attr.Rcpt.Address}"))
            return 0;
        if (state.LoopInfo.Find(state.Attr.Rcpt.Address))
        {
            state.Why.Simple("5.4.6", $"mail forwarding loop for {state.Attr.Rcpt.Address}");
            return BounceWorkaround(state);
        }
        state.Attr.Delivered ??= state.Attr.Rcpt.Address;
        var local = state.Attr.Rcpt.Address.ToLowerInvariant();
        var at = local.LastIndexOf('@');
        if (at >= 0)
        {
            state.Attr.Domain = local[(at + 1)..];
            local = local[..at];
        }
        else
        {
            state.Attr.Domain = null;
            Msg.Warn($"no @ in recipient address: {local}");
        }
        state.Attr.Local = local;
        var user = local;
        state.Attr.Extension = null;
        if (cfg.RecipientDelimiter.Length > 0)
        {
            var ext = SplitAddr(ref user, cfg.RecipientDelimiter);
            if (ext != null && ext.Contains('/'))
            {
                Msg.Warn($"{state.Request.QueueId}: address with illegal extension: {state.Attr.Local}");
                ext = null;
                state.Attr.Local = user;
            }
            state.Attr.Extension = ext;
        }
        state.Attr.User = user;
        state.Attr.Unmatched = state.Attr.Extension;
        if (user.Length == 0)
        {
            state.Why.Simple("5.1.3", $"null username in \"{state.Attr.Rcpt.Address}\"");
            return Bounce(state);
        }
        return DeliverSwitch(state, usr);
    }

    // SplitAddr - split_addr(): cut the extension off a local part; the
    // owner-/-request special names keep theirs.
    internal string? SplitAddr(ref string localpart, string delimiters)
    {
        if (localpart.Length == 0)
            return null;
        if (cfg.OwnerRequestSpecial
            && (localpart.StartsWith("owner-", StringComparison.OrdinalIgnoreCase)
                || (localpart.Length > 8 && localpart.EndsWith("-request", StringComparison.OrdinalIgnoreCase))))
            return null;
        var pos = localpart.IndexOfAny(delimiters.ToCharArray());
        if (pos < 0)
            return null;
        var ext = localpart[(pos + 1)..];
        localpart = localpart[..pos];
        return ext;
    }

    // DeliverSwitch - deliver_switch().
    private int DeliverSwitch(LocalState state, UserAttr usr)
    {
        state.Level++;
        int status;
        if (state.Attr.Rcpt.Address.Length > 0 && state.Attr.Rcpt.Address[0] == '\\')
        {
            state.Attr.Rcpt.Address = state.Attr.Rcpt.Address[1..];
            state.Attr.Local = state.Attr.Local![1..];
            state.Attr.User = state.Attr.User![1..];
            if (!DeliverMailbox(state, usr, out status))
                status = DeliverUnknown(state, usr);
            return status;
        }
        state.Attr.Unmatched = null;
        if (DeliverAlias(state, usr, state.Attr.Local!, out status))
            return status;
        if (state.Attr.Extension != null)
        {
            if ((cfg.ExtPropMask & ExtProp.Alias) != 0)
                state.Attr.Unmatched = state.Attr.Extension;
            if (DeliverAlias(state, usr, state.Attr.User!, out status))
                return status;
            state.Attr.Unmatched = state.Attr.Extension;
        }
        if (state.Attr.Owner != null && !string.Equals(state.Attr.Owner, state.Attr.User, StringComparison.OrdinalIgnoreCase))
            return DeliverIndirect(state);
        if (state.Attr.ExpType == ExpandType.Include)
            return DeliverIndirect(state);
        if (cfg.StatHomeDir)
        {
            var pwd = Sys.GetPwNam(state.Attr.User!);
            if (pwd != null && !StatAs(pwd.Dir, pwd.Uid, pwd.Gid, out _, out var err))
            {
                state.Why.Simple("4.3.0", $"cannot access home directory {pwd.Dir}: {err}");
                return Defer(state);
            }
        }
        if (!DeliverDotForward(state, usr, out status) && !DeliverMailbox(state, usr, out status))
            status = DeliverUnknown(state, usr);
        return status;
    }

    // StatAs - stat_as(): stat() with the given effective ids.
    private bool StatAs(string path, uint uid, uint gid, out Sys.FileStat st, out string error, bool lstat = false)
    {
        Eugid.Set(uid, gid);
        var ok = lstat ? Sys.LStat(path, out st) : Sys.Stat(path, out st);
        error = ok ? "" : Sys.LastError();
        Eugid.Set(cfg.OwnerUid, cfg.OwnerGid);
        return ok;
    }

    // OpenAs - open_as(): read a file with the given effective ids.
    private byte[]? ReadAs(string path, uint uid, uint gid, out string error)
    {
        Eugid.Set(uid, gid);
        var data = Sys.TryReadFile(path, out var errno);
        error = data == null ? Sys.StrError(errno) : "";
        Eugid.Set(cfg.OwnerUid, cfg.OwnerGid);
        return data;
    }

    // DeliverAlias - deliver_alias().
    private bool DeliverAlias(LocalState state, UserAttr usr, string name, out int status)
    {
        status = 0;
        state.Level++;
        if (state.Attr.ExpFrom != null && string.Equals(state.Attr.ExpFrom, name, StringComparison.OrdinalIgnoreCase))
            return No;
        if (state.Level > 100)
        {
            Msg.Warn($"alias database loop for {name}");
            state.Why.Simple("5.4.6", $"alias database loop for {name}");
            status = Bounce(state);
            return Yes;
        }
        state.Attr.ExpFrom = name;
        var maps = AliasMaps;
        foreach (var dict in maps.Dicts)
        {
            var result = dict.Lookup(name);
            if (result != null)
            {
                if ((state.Request.Flags & LocalRequest.FlagMtaVrfy) != 0)
                {
                    state.Why.Simple("2.0.0", $"aliased to {result}");
                    status = Sent(state);
                    return Yes;
                }
                state.Attr.ExpType = ExpandType.Alias;
                if (!AliasOwner(dict, out var ownerPwd))
                {
                    Msg.Warn($"cannot find alias database owner for {dict.Type}:{dict.Name}");
                    state.Why.Simple("4.3.0", "cannot find alias database owner");
                    status = Defer(state);
                    return Yes;
                }
                if (ownerPwd == null)
                    usr.Reset();
                else
                    usr.Set(ownerPwd);

                var owner = cfg.OwnerRequestSpecial ? "owner-" + name : null;
                string? canonOwner = null;
                string? ownerRhs = owner != null ? maps.Find(owner) : null;
                if (ownerRhs != null)
                {
                    canonOwner = CanonInternal(cfg.ExpandOwnerAlias ? ownerRhs : owner!);
                    state.Attr.Sender = state.Attr.Owner = canonOwner;
                }
                else if (cfg.ResetOwnerAttr)
                {
                    state.Attr.Owner = null;
                }
                if (!cfg.FrozenDelivered)
                    state.Attr.Delivered = state.Attr.Rcpt.Address;
                var aliasCount = 0;
                if (owner != null && maps.Error != 0)
                {
                    state.Why.Simple("4.3.0", "alias database unavailable");
                    status = Defer(state);
                }
                else
                {
                    var dsnNotify = state.Attr.Rcpt.DsnNotify;
                    state.Attr.Rcpt.DsnNotify = dsnNotify == DsnNotifyFlags.Success ? DsnNotifyFlags.Never : dsnNotify & ~DsnNotifyFlags.Success;
                    var dsnEnvid = state.Attr.DsnEnvid;
                    var dsnRet = state.Attr.DsnRet;
                    var dsnOrcpt = state.Attr.Rcpt.DsnOrcpt;
                    if (canonOwner != null)
                    {
                        state.Attr.DsnEnvid = "";
                        state.Attr.DsnRet = 0;
                        state.Attr.Rcpt.DsnOrcpt = "";
                        state.Attr.Rcpt.OrigAddr = "";
                    }
                    status = DeliverTokenString(state, usr, result, ref aliasCount);
                    if (aliasCount < 1)
                    {
                        Msg.Warn($"no recipient in alias lookup result for {name}");
                        state.Why.Simple("4.3.0", "alias database unavailable");
                        status = Defer(state);
                    }
                    else if ((dsnNotify & DsnNotifyFlags.Success) != 0)
                    {
                        state.Attr.Rcpt.DsnNotify = dsnNotify;
                        if (canonOwner != null)
                        {
                            state.Attr.DsnEnvid = dsnEnvid;
                            state.Attr.DsnRet = dsnRet;
                            state.Attr.Rcpt.DsnOrcpt = dsnOrcpt;
                        }
                        state.Why.Simple("2.0.0", "alias expanded");
                        state.Why.Action = canonOwner != null ? "delivered" : "expanded";
                        report.Trace(state.Request, state.Attr, state.Why);
                    }
                }
                return Yes;
            }
            if (dict.Error != 0)
            {
                Msg.Warn($"{dict.Type}:{dict.Name}: lookup of '{name}' failed");
                state.Why.Simple("4.3.0", "alias database unavailable");
                status = Defer(state);
                return Yes;
            }
        }
        return No;
    }

    // AliasOwner - the privileges for an alias database: true with null
    // for a trusted (root-owned) database, true with the owner's passwd
    // entry, or false when the owner is unknown.
    private static bool AliasOwner(Dict dict, out Sys.Passwd? pwd)
    {
        pwd = null;
        if (dict.OwnerUid == 0)
            return true;
        pwd = Sys.GetPwUid((uint)dict.OwnerUid);
        return pwd != null;
    }

    // CanonInternal - canon_addr_internal(): append @$myorigin when there
    // is no domain. (The rewrite service would also apply other rules.)
    private string CanonInternal(string addr)
    {
        if (Resolver != null && CanonicalRewrite != null)
            return CanonicalRewrite(addr);
        return addr;
    }

    public Func<string, string>? CanonicalRewrite { get; set; }

    // DeliverTokenString - deliver_token_string().
    private int DeliverTokenString(LocalState state, UserAttr usr, string text, ref int count)
    {
        var status = 0;
        for (var addr = Tok822.Parse(text); addr != null; addr = addr.Next)
        {
            if (addr.Type == Tok822.Addr)
            {
                count++;
                status |= DeliverToken(state, usr, addr);
            }
        }
        return status;
    }

    // DeliverTokenStream - deliver_token_stream(): a .forward or
    // :include: file, '#' lines skipped.
    private int DeliverTokenStream(LocalState state, UserAttr usr, byte[] data, ref int count)
    {
        var status = 0;
        foreach (var line in SplitLines(data))
        {
            if (line.Length > 0 && line[0] == '#')
                continue;
            status = DeliverTokenString(state, usr, line, ref count);
            if (status != 0)
                break;
        }
        return status;
    }

    private static IEnumerable<string> SplitLines(byte[] data)
    {
        var text = Raw.FromBytes(data);
        var start = 0;
        while (start < text.Length)
        {
            var nl = text.IndexOf('\n', start);
            var end = nl < 0 ? text.Length : nl;
            yield return Raw.Text(text[start..end]);
            start = end + 1;
        }
    }

    // DeliverToken - deliver_token().
    private int DeliverToken(LocalState state, UserAttr usr, Tok822 addr)
    {
        var text = Tok822.Internalize(new StringBuilder(), addr.Head, Tok822.Str.Defl).ToString();
        if (text.StartsWith('/'))
            return DeliverFile(state, usr, text);
        if (text.StartsWith('~'))
            return DeliverTokenHome(state, usr, text);
        if (text.StartsWith('|'))
        {
            if ((cfg.CommandDeliverMask & state.Attr.ExpType) == 0)
            {
                state.Why.Simple("5.7.1", "mail to command is restricted");
                return Bounce(state);
            }
            return DeliverCommand(state, usr, text[1..]);
        }
        if (text.StartsWith(":include:", StringComparison.OrdinalIgnoreCase))
            return DeliverInclude(state, usr, text[":include:".Length..]);
        return DeliverResolve(state, usr, addr);
    }

    private int DeliverTokenHome(LocalState state, UserAttr usr, string addr)
    {
        if (addr.Length < 2 || addr[1] != '/')
        {
            Msg.Warn($"bad home directory syntax for: {addr}");
            state.Why.Simple("5.3.5", "mail system configuration error");
            return Bounce(state);
        }
        if (usr.Home == null)
        {
            Msg.Warn($"unknown home directory for: {addr}");
            state.Why.Simple("5.3.5", "mail system configuration error");
            return Bounce(state);
        }
        if (usr.Home == "/")
            return DeliverFile(state, usr, addr[1..]);
        return DeliverFile(state, usr, usr.Home + addr[1..]);
    }

    // DeliverResolve - deliver_resolve_tree(): a plain address from an
    // alias or forward file; local recipients recurse, others forward.
    private int DeliverResolve(LocalState state, UserAttr usr, Tok822 addr)
    {
        state.Level++;
        string transport, recipient;
        if (Resolver == null)
        {
            recipient = Tok822.Internalize(new StringBuilder(), addr.Head, Tok822.Str.Defl).ToString();
            transport = state.Attr.Relay;
        }
        else
        {
            var ext = Tok822.Externalize(new StringBuilder(), addr.Head, Tok822.Str.Defl).ToString();
            var reply = Resolver(ext);
            if (reply == null || (reply.Value.Flags & Postfix.Global.Attr.MailProto.ResolveFlagFail) != 0)
            {
                state.Why.Simple("4.3.0", "address resolver failure");
                return Defer(state);
            }
            if ((reply.Value.Flags & Postfix.Global.Attr.MailProto.ResolveFlagError) != 0)
            {
                state.Why.Simple("5.1.3", $"bad recipient address syntax: {reply.Value.Recipient}");
                return Bounce(state);
            }
            transport = reply.Value.Transport;
            recipient = reply.Value.Recipient;
        }
        if (state.Attr.Unmatched != null)
        {
            var delim = state.Attr.Local!.Length > state.Attr.User!.Length ? state.Attr.Local[state.Attr.User.Length] : '\0';
            var at = recipient.LastIndexOf('@');
            recipient = at < 0
                ? recipient + delim + state.Attr.Unmatched
                : recipient[..at] + delim + state.Attr.Unmatched + recipient[at..];
        }
        state.Attr.Rcpt.Address = recipient;
        return transport == state.Attr.Relay ? DeliverRecipient(state, usr) : DeliverIndirect(state);
    }

    // DeliverIndirect - deliver_indirect(): forward to the address.
    private int DeliverIndirect(LocalState state)
    {
        if (state.DupFilter.Check($"indirect {state.Attr.Rcpt.Address}"))
            return 0;
        if (state.Request.TraceOnly)
        {
            state.Why.Simple("2.0.0", $"forwards to {state.Attr.Rcpt.Address}");
            return Sent(state);
        }
        if (forwards == null || forwards.Append(state.Attr) != 0)
        {
            state.Why.Simple("4.3.0", "unable to forward message");
            return Defer(state);
        }
        return 0;
    }

    // DeliverInclude - deliver_include().
    private int DeliverInclude(LocalState state, UserAttr usr, string path)
    {
        state.Level++;
        if (state.DupFilter.Check($"include {usr.Uid} {path}"))
            return 0;
        state.Attr.ExpFrom = state.Attr.Local;
        if (!path.StartsWith('/'))
        {
            Msg.Warn($":include:{path} uses a relative path");
            state.Why.Simple("5.3.5", "mail system configuration error");
            return Bounce(state);
        }
        if (!StatAs(path, usr.Uid, usr.Gid, out var st, out var err))
        {
            Msg.Warn($"unable to lookup :include: file {path}: {err}");
            state.Why.Simple("5.3.5", "mail system configuration error");
            return Bounce(state);
        }
        if (!Sys.IsReg(st.Mode))
        {
            Msg.Warn($":include: file {path} is not a regular file");
            state.Why.Simple("5.3.5", "mail system configuration error");
            return Bounce(state);
        }
        if ((st.Mode & 2) != 0)
        {
            Msg.Warn($":include: file {path} is world writable");
            state.Why.Simple("5.3.5", "mail system configuration error");
            return Bounce(state);
        }
        state.Attr.ExpType = ExpandType.Include;
        if (usr.Uid == 0)
        {
            var filePwd = Sys.GetPwUid(st.Uid);
            if (filePwd == null)
            {
                Msg.Warn($"cannot find username for uid {st.Uid}");
                Msg.Warn($"{path}: cannot find :include: file owner username");
                state.Why.Simple("4.3.5", "mail system configuration error");
                return Defer(state);
            }
            if (filePwd.Uid != 0)
                usr.Set(filePwd);
        }
        state.Attr.Owner ??= state.Attr.Rcpt.Address;
        var data = ReadAs(path, usr.Uid, usr.Gid, out err);
        if (data == null)
        {
            Msg.Warn($"cannot open include file {path}: {err}");
            state.Why.Simple("5.3.5", "mail system configuration error");
            return Bounce(state);
        }
        if ((cfg.ExtPropMask & ExtProp.Include) == 0)
            state.Attr.Unmatched = null;
        var ignored = 0;
        return DeliverTokenStream(state, usr, data, ref ignored);
    }

    // Expand - local_expand(): $user, $home, $extension... in a pattern.
    internal int Expand(StringBuilder result, string pattern, in LocalState state, in UserAttr usr, string? filter)
    {
        var status = 0;
        var attr = state.Attr;
        var u = usr;
        var delim = cfg.RecipientDelimiter;
        var rc = MacExpand.Expand(result, pattern, MacExpand.FlagNone, filter, (name, mode) =>
        {
            switch (name)
            {
                case "user": return attr.User;
                case "home": return u.Home;
                case "shell": return u.Shell;
                case "domain": return attr.Domain;
                case "local": return attr.Local;
                case "mailbox": return attr.Local;
                case "recipient": return attr.Rcpt.Address;
                case "extension":
                    if (mode == MacExpand.ModeUse)
                        status |= LocalExpExtensionMatched;
                    return attr.Extension;
                case "recipient_delimiter":
                    var c = attr.Local != null && attr.User != null && attr.Local.Length > attr.User.Length
                        ? attr.Local[attr.User.Length].ToString() : delim.Length > 0 ? delim[..1] : null;
                    return c;
                default: return null;
            }
        });
        return status | rc;
    }

    internal const int LocalExpExtensionMatched = 1 << 8;

    // DeliverDotForward - deliver_dotforward().
    private bool DeliverDotForward(LocalState state, UserAttr usr, out int status)
    {
        status = 0;
        state.Level++;
        if (cfg.ForwardPath.Length == 0)
            return No;
        var pwd = Sys.GetPwNam(state.Attr.User!);
        if (pwd == null)
            return No;
        if (!cfg.FrozenDelivered)
            state.Attr.Delivered = state.Attr.Rcpt.Address;
        usr.Set(pwd);
        state.Attr.ExpType = ExpandType.Forward;
        state.Attr.Owner = state.Attr.User;
        var path = new StringBuilder();
        var found = false;
        Sys.FileStat st = default;
        foreach (var lhs in cfg.ForwardPath.Split([',', ' ', '\t', '\r', '\n'], StringSplitOptions.RemoveEmptyEntries))
        {
            var rc = Expand(path, lhs, state, usr, cfg.ForwardFilter);
            if ((rc & (MacExpand.ParseError | MacExpand.ParseUndef)) == 0
                && StatAs(path.ToString(), usr.Uid, usr.Gid, out st, out _, lstat: true))
            {
                if ((rc & LocalExpExtensionMatched) != 0 || (cfg.ExtPropMask & ExtProp.Forward) == 0)
                    state.Attr.Unmatched = null;
                found = true;
                break;
            }
        }
        if (!found)
            return No;
        var file = path.ToString();
        var forwardFound = false;
        if ((state.Request.Flags & LocalRequest.FlagMtaVrfy) != 0)
        {
            state.Why.Simple("2.0.0", $"forward via file: {file}");
            status = Sent(state);
            return Yes;
        }
        if (!state.DupFilter.Check($"forward {file}"))
        {
            state.Attr.ExpFrom = state.Attr.Local;
            if (!Sys.IsReg(st.Mode))
            {
                Msg.Warn($"file {file} is not a regular file");
            }
            else if (st.Uid != 0 && st.Uid != usr.Uid)
            {
                Msg.Warn($"file {file} has bad owner uid {st.Uid}");
            }
            else if ((st.Mode & 2) != 0)
            {
                Msg.Warn($"file {file} is world writable");
            }
            else if (ReadAs(file, usr.Uid, usr.Gid, out var err) is not { } data)
            {
                Msg.Warn($"cannot open file {file}: {err}");
            }
            else
            {
                var count = 0;
                var savedNotify = state.Attr.Rcpt.DsnNotify;
                state.Attr.Rcpt.DsnNotify = savedNotify == DsnNotifyFlags.Success ? DsnNotifyFlags.Never : savedNotify & ~DsnNotifyFlags.Success;
                status = DeliverTokenStream(state, usr, data, ref count);
                if (count > 0)
                {
                    forwardFound = true;
                    state.DupFilter.Check($"forward-done {file}");
                    if (status == 0 && (savedNotify & DsnNotifyFlags.Success) != 0)
                    {
                        state.Attr.Rcpt.DsnNotify = savedNotify;
                        state.Why.Simple("2.0.0", "alias expanded");
                        state.Why.Action = "expanded";
                        report.Trace(state.Request, state.Attr, state.Why);
                    }
                }
            }
        }
        else if (state.DupFilter.Seen($"forward-done {file}"))
        {
            forwardFound = true;
        }
        return forwardFound;
    }

    // DeliverUnknown - deliver_unknown().
    private int DeliverUnknown(LocalState state, UserAttr usr)
    {
        state.Level++;
        if (state.DupFilter.Check($"deliver_unknown {state.Attr.Local}"))
            return 0;
        var maps = OptionalMaps(ref fallbackTransportMaps, "fallback_transport_maps", cfg.FallbackTransportMaps,
            DictFlags.Lock | DictFlags.NoRegsub | DictFlags.Utf8Request);
        string? transport;
        if (maps != null && (transport = maps.Find(state.Attr.User!)) != null)
        {
            state.Attr.Rcpt.Offset = -1;
            return report.Pass(state.Request, transport, state.Attr);
        }
        if (maps != null && maps.Error != 0)
        {
            state.Why.Simple("4.3.0", "table lookup failure");
            return Defer(state);
        }
        if (cfg.FallbackTransport.Length > 0)
        {
            state.Attr.Rcpt.Offset = -1;
            return report.Pass(state.Request, cfg.FallbackTransport, state.Attr);
        }
        if (cfg.LuserRelay.Length > 0)
        {
            state.Attr.Unmatched = null;
            var expanded = new StringBuilder();
            Expand(expanded, cfg.LuserRelay, state, usr, null);
            var relay = expanded.ToString();
            var canon = CanonicalRewrite != null ? CanonicalRewrite(relay) : relay;
            if (string.Equals(canon, state.Attr.Rcpt.Address, StringComparison.OrdinalIgnoreCase))
            {
                state.Why.Simple("5.1.1", $"unknown user: \"{state.Attr.User}\"");
                return Bounce(state);
            }
            var tree = Tok822.Scan(relay, out _);
            var addr = new Tok822(Tok822.Addr);
            if (tree != null)
                Tok822.SubAppend(addr, tree);
            return DeliverResolve(state, usr, addr);
        }
        if (string.Equals(state.Attr.User, "MAILER-DAEMON", StringComparison.OrdinalIgnoreCase)
            || string.Equals(state.Attr.User, "postmaster", StringComparison.OrdinalIgnoreCase))
        {
            Msg.Warn($"required alias not found: {state.Attr.User}");
            state.Why.Simple("2.0.0", "discarded");
            return Sent(state);
        }
        state.Why.Simple("5.1.1", $"unknown user: \"{state.Attr.User}\"");
        return Bounce(state);
    }

    // BounceWorkaround - bounce_workaround(): report a failure to the
    // owner- alias of the recipient when there is one.
    private int BounceWorkaround(LocalState state)
    {
        string? canonOwner = null;
        if (cfg.OwnerRequestSpecial)
        {
            var maps = AliasMaps;
            string OwnerOf(string addr)
            {
                var lhs = "owner-" + addr;
                var at = lhs.LastIndexOf('@');
                return at >= 0 ? lhs[..at] : lhs;
            }
            var ownerAlias = OwnerOf(state.Attr.Rcpt.Address);
            var expansion = maps.Find(ownerAlias);
            if (maps.Error == 0 && expansion == null)
            {
                var stripped = StripAddr(state.Attr.Rcpt.Address);
                if (stripped != null)
                {
                    ownerAlias = OwnerOf(stripped);
                    expansion = maps.Find(ownerAlias);
                }
            }
            if (maps.Error == 0 && expansion != null)
            {
                canonOwner = CanonInternal(cfg.ExpandOwnerAlias ? expansion : ownerAlias);
                state.Attr.Sender = state.Attr.Owner = canonOwner;
            }
            if (maps.Error != 0)
            {
                state.Why.Simple("4.3.0", "alias database unavailable");
                return Defer(state);
            }
        }
        var temporary = state.Why.Status.StartsWith('4');
        if (canonOwner != null)
            return temporary ? report.DeferOne(state.Request, state.Attr, state.Why) : report.BounceOne(state.Request, state.Attr, state.Why);
        return temporary ? Defer(state) : Bounce(state);
    }

    // StripAddr - strip_addr(): the address without its extension, or
    // null when it has none.
    private string? StripAddr(string address)
    {
        if (cfg.RecipientDelimiter.Length == 0)
            return null;
        var at = address.LastIndexOf('@');
        var local = at >= 0 ? address[..at] : address;
        var ext = SplitAddr(ref local, cfg.RecipientDelimiter);
        if (ext == null)
            return null;
        return at >= 0 ? local + address[at..] : local;
    }

    internal static byte[] QueueBytes(LocalRequest req) => req.QueueFile;
}

internal static class DsnNotifyFlags
{
    public const int Never = 1 << 0;
    public const int Success = 1 << 1;
    public const int Failure = 1 << 2;
    public const int Delay = 1 << 3;
}
