// NAME
//	LocalMailbox - the final delivery steps of local(8)
// POSTFIX
//	src/local/mailbox.c, src/local/maildir.c, src/local/file.c,
//	src/local/command.c
// DESCRIPTION
//	DeliverMailbox() chooses between mailbox_transport(_maps),
//	mailbox_command(_maps), a home_mailbox or mail_spool_directory
//	maildir, and a UNIX mailbox file; DeliverFile() appends to a file
//	(or maildir) named in an alias or .forward file; DeliverCommand()
//	pipes the message into a command. All of them write with the
//	recipient's privileges and report "delivered to mailbox",
//	"delivered to maildir", "delivered to file: PATH" or "delivered to
//	command: COMMAND".
using System;
using System.Collections.Generic;
using System.Text;
using Postfix.Global.Dict;
using Postfix.Global.Mailbox;
using Postfix.Util;

namespace Postfix.Daemons.Local;

internal sealed partial class LocalAgent
{
    // DeliverMailbox - deliver_mailbox(): false when the user is unknown.
    private bool DeliverMailbox(LocalState state, UserAttr usr, out int status)
    {
        status = 0;
        state.Level++;
        if (state.DupFilter.Check($"mailbox {state.Attr.Local}"))
            return Yes;
        var tmaps = OptionalMaps(ref mboxTransportMaps, "mailbox_transport_maps", cfg.MailboxTransportMaps,
            DictFlags.Lock | DictFlags.NoRegsub | DictFlags.Utf8Request);
        string? transport;
        if (tmaps != null && (transport = tmaps.Find(state.Attr.User!)) != null)
        {
            state.Attr.Rcpt.Offset = -1;
            status = report.Pass(state.Request, transport, state.Attr);
            return Yes;
        }
        if (tmaps != null && tmaps.Error != 0)
        {
            state.Why.Simple("4.3.0", "table lookup failure");
            status = Defer(state);
            return Yes;
        }
        if (cfg.MailboxTransport.Length > 0)
        {
            state.Attr.Rcpt.Offset = -1;
            status = report.Pass(state.Request, cfg.MailboxTransport, state.Attr);
            return Yes;
        }
        var pwd = Sys.GetPwNam(state.Attr.User!);
        if (pwd == null)
            return No;
        usr.Set(pwd);
        var cmaps = OptionalMaps(ref mboxCommandMaps, "mailbox_command_maps", cfg.MailboxCommandMaps,
            DictFlags.Lock | DictFlags.Utf8Request);
        string? command;
        if (cmaps != null && (command = cmaps.Find(state.Attr.User!)) != null)
            status = DeliverCommand(state, usr, command);
        else if (cmaps != null && cmaps.Error != 0)
        {
            state.Why.Simple("4.3.0", "table lookup failure");
            status = Defer(state);
        }
        else if (cfg.MailboxCommand.Length > 0)
            status = DeliverCommand(state, usr, cfg.MailboxCommand);
        else if (cfg.HomeMailbox.EndsWith('/'))
            status = DeliverMaildir(state, usr, usr.Home + "/" + cfg.HomeMailbox);
        else if (cfg.MailSpoolDirectory.EndsWith('/'))
            status = DeliverMaildir(state, usr, cfg.MailSpoolDirectory + state.Attr.User + "/");
        else
            status = DeliverMailboxFile(state, usr);
        return Yes;
    }

    private ReadOnlySpan<byte> Queue(in LocalState state) => state.Request.QueueFile;

    // DeliverMailboxFile - deliver_mailbox_file().
    private int DeliverMailboxFile(LocalState state, UserAttr usr)
    {
        state.Level++;
        var why = state.Why;
        if (state.Request.TraceOnly)
        {
            why.Simple("2.0.0", "delivers to mailbox");
            return Sent(state);
        }
        if (!cfg.FrozenDelivered)
            state.Attr.Delivered = state.Attr.Rcpt.Address;
        var copyStatus = MailCopy.StatWrite;
        string? spoolDir;
        string mailbox;
        if (cfg.HomeMailbox.Length > 0)
        {
            spoolDir = null;
            mailbox = usr.Home + "/" + cfg.HomeMailbox;
        }
        else
        {
            spoolDir = cfg.MailSpoolDirectory;
            mailbox = spoolDir + "/" + state.Attr.User;
        }
        uint spoolUid, spoolGid;
        if (spoolDir == null || !Sys.Stat(spoolDir, out var sst) || (sst.Mode & 2) != 0)
        {
            spoolUid = usr.Uid;
            spoolGid = usr.Gid;
        }
        else if ((sst.Mode & 0x10) != 0)
        {
            spoolUid = usr.Uid;
            spoolGid = sst.Gid;
        }
        else
        {
            spoolUid = 0;
            spoolGid = 0;
        }
        uint chownUid = SafeOpen.Keep, chownGid = SafeOpen.Keep;
        if (spoolUid != usr.Uid)
        {
            chownUid = usr.Uid;
            chownGid = usr.Gid;
        }
        var copyFlags = MailCopy.MboxFlags;
        if ((cfg.DeliverHdrMask & DeliverHeader.File) == 0)
            copyFlags &= ~MailCopy.Delivered;
        Eugid.Set(spoolUid, spoolGid);
        long mailboxEnd = 0;
        var mp = Mbox.Open(mailbox, Sys.O_APPEND | Sys.O_WRONLY | Sys.O_CREAT, 0x180, out var st, chownUid, chownGid,
            cfg.MboxLockMask, "5.2.0", why);
        if (mp != null)
        {
            if (spoolUid != usr.Uid || spoolGid != usr.Gid)
                Eugid.Set(usr.Uid, usr.Gid);
            if (!Sys.IsReg(st.Mode))
            {
                mp.CloseFile();
                why.Simple("5.2.0", $"destination {mailbox} is not a regular file");
            }
            else if (cfg.StrictMailboxOwnership && st.Uid != usr.Uid)
            {
                mp.CloseFile();
                why.Simple("4.2.0", $"destination {mailbox} is not owned by recipient");
                Msg.Warn("specify \"strict_mailbox_ownership = no\" to ignore mailbox ownership mismatch");
            }
            else
            {
                // Where the new message starts (the biff notice says so).
                mailboxEnd = Sys.Stat(mailbox, out var now) ? now.Size : st.Size;
                copyStatus = MailCopy.Copy(Queue(state), state.Request.DataOffset, state.Request.QueuePath,
                    state.Attr.Sender, state.Attr.Rcpt.OrigAddr, state.Attr.Delivered, mp.TakeFd(), copyFlags, why, out _);
            }
            if (spoolUid != usr.Uid || spoolGid != usr.Gid)
                Eugid.Set(spoolUid, spoolGid);
            mp.Release();
        }
        Eugid.Set(cfg.OwnerUid, cfg.OwnerGid);
        if ((copyStatus & MailCopy.StatCorrupt) != 0)
            return 1;
        if (copyStatus != 0)
        {
            why.Reason = $"cannot update mailbox {mailbox} for user {state.Attr.User}. " + why.Reason;
            return why.Status.StartsWith('4') ? Defer(state) : Bounce(state);
        }
        why.Simple("2.0.0", "delivered to mailbox");
        var sent = Sent(state);
        if (cfg.Biff)
            BiffNotify.Send(usr.Logname ?? state.Attr.User ?? "", mailboxEnd);
        return sent;
    }

    // DeliverMaildir - deliver_maildir().
    private int DeliverMaildir(LocalState state, UserAttr usr, string path)
    {
        state.Level++;
        var why = state.Why;
        if (state.Request.TraceOnly)
        {
            why.Simple("2.0.0", "delivers to maildir");
            return Sent(state);
        }
        if (!cfg.FrozenDelivered)
            state.Attr.Delivered = state.Attr.Rcpt.Address;
        var copyFlags = MailCopy.ToFile | MailCopy.ReturnPath | MailCopy.OrigRcpt;
        if ((cfg.DeliverHdrMask & DeliverHeader.File) != 0)
            copyFlags |= MailCopy.Delivered;
        Eugid.Set(usr.Uid, usr.Gid);
        var copyStatus = Maildir.Write(Queue(state), state.Request.DataOffset, state.Request.QueuePath,
            state.Attr.Sender, state.Attr.Rcpt.OrigAddr, state.Attr.Delivered ?? state.Attr.Rcpt.Address,
            path, copyFlags, why, out var errno);
        Eugid.Set(cfg.OwnerUid, cfg.OwnerGid);
        if ((copyStatus & MailCopy.StatCorrupt) != 0)
            return 1;
        if (copyStatus != 0)
        {
            if (errno == Sys.EACCES)
            {
                Msg.Warn($"maildir access problem for UID/GID={usr.Uid}/{usr.Gid}: {why.Reason}");
                Msg.Warn("perhaps you need to create the maildirs in advance");
            }
            why.Reason = "maildir delivery failed: " + why.Reason;
            return why.Status.StartsWith('4') ? Defer(state) : Bounce(state);
        }
        why.Simple("2.0.0", "delivered to maildir");
        return Sent(state);
    }

    // DeliverFile - deliver_file().
    private int DeliverFile(LocalState state, UserAttr usr, string path)
    {
        state.Level++;
        var why = state.Why;
        if (state.DupFilter.Check($"file {usr.Uid} {path}"))
            return 0;
        if ((cfg.FileDeliverMask & state.Attr.ExpType) == 0)
        {
            why.Simple("5.7.1", "mail to file is restricted");
            return BounceWorkaround(state);
        }
        if (state.Request.TraceOnly)
        {
            why.Simple("2.0.0", $"delivers to file: {path}");
            return Sent(state);
        }
        if (usr.Uid == 0)
            usr.Uid = cfg.DefaultUid;
        if (usr.Gid == 0)
            usr.Gid = cfg.DefaultGid;
        if (path.EndsWith('/'))
            return DeliverMaildir(state, usr, path);
        var copyFlags = MailCopy.MboxFlags;
        if ((cfg.DeliverHdrMask & DeliverHeader.File) == 0)
            copyFlags &= ~MailCopy.Delivered;
        var copyStatus = MailCopy.StatWrite;
        Eugid.Set(usr.Uid, usr.Gid);
        var mp = Mbox.Open(path, Sys.O_APPEND | Sys.O_CREAT | Sys.O_WRONLY, 0x180, out var st, SafeOpen.Keep, SafeOpen.Keep,
            cfg.MboxLockMask | MboxLock.DotMayFail, "5.2.0", why);
        if (mp != null)
        {
            if (Sys.IsReg(st.Mode) && (st.Mode & 0x49) != 0)
            {
                mp.CloseFile();
                why.Simple("5.7.1", "file is executable");
            }
            else
            {
                copyStatus = MailCopy.Copy(Queue(state), state.Request.DataOffset, state.Request.QueuePath,
                    state.Attr.Sender, state.Attr.Rcpt.OrigAddr, state.Attr.Delivered, mp.TakeFd(),
                    Sys.IsReg(st.Mode) ? copyFlags : copyFlags & ~MailCopy.ToFile, why, out _);
            }
            mp.Release();
        }
        Eugid.Set(cfg.OwnerUid, cfg.OwnerGid);
        if ((copyStatus & MailCopy.StatCorrupt) != 0)
            return 1;
        if (copyStatus != 0)
        {
            why.Reason = $"cannot append message to file {path}: " + why.Reason;
            return BounceWorkaround(state);
        }
        why.Simple("2.0.0", $"delivered to file: {path}");
        return Sent(state);
    }

    // DeliverCommand - deliver_command().
    private int DeliverCommand(LocalState state, UserAttr usr, string command)
    {
        state.Level++;
        var why = state.Why;
        if (state.DupFilter.Check($"command {state.Attr.User}:{usr.Uid} {command}"))
            return 0;
        if (state.Request.TraceOnly)
        {
            why.Simple("2.0.0", $"delivers to command: {command}");
            return Sent(state);
        }
        if (usr.Uid == 0)
            usr.Uid = cfg.DefaultUid;
        if (usr.Gid == 0)
            usr.Gid = cfg.DefaultGid;
        var copyFlags = MailCopy.From | MailCopy.ReturnPath | MailCopy.OrigRcpt;
        if ((cfg.DeliverHdrMask & DeliverHeader.Command) != 0)
            copyFlags |= MailCopy.Delivered;

        var env = new List<KeyValuePair<string, string>>();
        void Add(string k, string? v)
        {
            if (v != null)
                env.Add(new(k, v));
        }
        Add("HOME", usr.Home);
        Add("LOGNAME", state.Attr.User);
        Add("USER", state.Attr.User);
        Add("SENDER", state.Attr.Sender);
        Add("RECIPIENT", state.Attr.Rcpt.Address);
        Add("LOCAL", state.Attr.Local);
        Add("SHELL", usr.Shell);
        Add("DOMAIN", state.Attr.Domain);
        Add("EXTENSION", state.Attr.Extension);
        if (state.Attr.Rcpt.OrigAddr.Length > 0)
            Add("ORIGINAL_RECIPIENT", state.Attr.Rcpt.OrigAddr);
        var req = state.Request;
        void Export(string k, string v)
        {
            if (v.Length > 0)
                env.Add(new(k, v));
        }
        Export("CLIENT_HOSTNAME", req.ClientName);
        Export("CLIENT_ADDRESS", req.ClientAddr);
        Export("CLIENT_HELO", req.ClientHelo);
        Export("CLIENT_PROTOCOL", req.ClientProto);
        Export("SASL_METHOD", req.SaslMethod);
        Export("SASL_SENDER", req.SaslSender);
        Export("SASL_USERNAME", req.SaslUsername);
        for (var i = 0; i < env.Count; i++)
            env[i] = new(env[i].Key, Filter(env[i].Value, cfg.CommandFilter));

        var execDir = new StringBuilder();
        var rc = Expand(execDir, cfg.ExecDirectory, state, usr, cfg.ExecFilter);
        PipeStatus cmdStatus;
        if ((rc & MacExpand.ParseError) != 0)
        {
            cmdStatus = PipeStatus.Defer;
            why.Simple("4.3.5", "mail system configuration error");
            Msg.Warn($"bad parameter value syntax for command_execution_directory: {cfg.ExecDirectory}");
        }
        else
        {
            cmdStatus = PipeCommand.Run(Queue(state), req.DataOffset, req.QueuePath, new PipeCommandArgs
            {
                Command = command,
                Uid = usr.Uid,
                Gid = usr.Gid,
                CopyFlags = copyFlags,
                Sender = state.Attr.Sender,
                OrigRcpt = state.Attr.Rcpt.OrigAddr,
                Delivered = state.Attr.Delivered ?? state.Attr.Rcpt.Address,
                TimeLimitSeconds = cfg.CommandTimeLimit,
                Environment = env,
                Export = cfg.ExportEnvironment.Split([',', ' ', '\t', '\r', '\n'], StringSplitOptions.RemoveEmptyEntries),
                Shell = cfg.LocalCommandShell,
                WorkingDirectory = execDir.Length > 0 ? execDir.ToString() : null,
                RestoreUid = cfg.OwnerUid,
                RestoreGid = cfg.OwnerGid,
            }, why);
        }
        switch (cmdStatus)
        {
            case PipeStatus.Ok:
                why.Simple("2.0.0", $"delivered to command: {command}");
                return Sent(state);
            case PipeStatus.Bounce:
            case PipeStatus.Defer:
                return BounceWorkaround(state);
            default:
                return 1;
        }
    }

    // Filter - replace characters not in the allowed set with '_'.
    private static string Filter(string value, string allowed)
    {
        var sb = new StringBuilder(value.Length);
        foreach (var c in value)
            sb.Append(allowed.Contains(c) ? c : '_');
        return sb.ToString();
    }
}
