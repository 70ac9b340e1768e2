// NAME
//	CleanupSession (milter) - mail filters on the queue file
// POSTFIX
//	src/cleanup/cleanup_milter.c, cleanup_body_edit.c, cleanup_region.c
// DESCRIPTION
//	With milters (received from smtpd, or non_smtpd_milters for local
//	submissions) the queue file carries dummy pointer records where
//	recipients, headers, meta records and body text may be appended,
//	short headers and senders are padded so that a pointer can overwrite
//	them, and the whole file is edited in place after the milters saw the
//	message: a change is written after the end of the file and linked in
//	with a forward pointer and a reverse pointer, a deleted recipient
//	changes its record type, a deleted header becomes a pointer past it.
//	Local submissions get emulated connect/EHLO/MAIL/RCPT/DATA events.
//	Replies become cleanup status: milter-reject, milter-discard and
//	milter-hold are logged as the reference does.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text;
using Postfix.Global.Address;
using Postfix.Global.Queue;
using Postfix.Milter;
using Postfix.Util;

namespace Postfix.Daemons.Cleanup;

internal sealed partial class CleanupSession : IMilterEditor, IMilterQueueFile
{
    private Milters? milters;
    private long senderPtOffset = -1, senderPtTarget = -1;
    private long appendRcptPtOffset = -1, appendRcptPtTarget = -1;
    private long appendHdrPtOffset = -1, appendHdrPtTarget = -1;
    private long appendMetaPtOffset = -1, appendMetaPtTarget = -1;
    private long bodyOffset = -1;
    private string? clientName, reverseName, clientAddr, clientPort, serverAddr, serverPort;
    private int clientAf;
    private string? milterExtFrom, milterExtRcpt;
    private List<(long Start, long Len)>? bodyRegions;
    private (long Start, long Len, long WriteOffs) curRegion;

    // Channel - the client stream, for the milter hand-over from smtpd.
    public IMilterChannel? Channel { get; set; }

    // MiltersActive - "state->milters || cleanup_milters".
    internal bool MiltersActive => milters != null || cfg.NonSmtpdMilters != null;

    private bool MilterOk => (Flags & CleanupFlags.Milter) != 0 && Errs == 0 && (Flags & CleanupFlags.Discard) == 0;

    private string Path => "queue file " + QueueId;

    // MilterReceive - cleanup_milter_receive().
    internal void MilterReceive(int count)
    {
        milters?.Dispose();
        milters = Channel == null ? null : Milters.Receive(Channel, count);
        if (milters == null)
            Msg.Fatal("cleanup_milter_receive: milter receive failed");
        if (count <= 0)
            return;
        milters.MacroLookup = MilterEval;
        milters.Editor = this;
        milters.LineLimit = cfg.LineLimit;
    }

    private void PutPtr(long target) => Out(RecordType.Ptr, target.ToString(CultureInfo.InvariantCulture).PadLeft(15));

    // Placeholder - a dummy pointer record; its offset and what follows it.
    private (long Offset, long Target) Placeholder()
    {
        var offset = Tell();
        PutPtr(0);
        return (offset, Tell());
    }

    private void Pad(int type, int len)
    {
        if (!OutOk)
            return;
        writer.Pad(type, len);
    }

    // MilterEval - cleanup_milter_eval().
    private string? MilterEval(string name)
    {
        switch (name)
        {
            case "{daemon_name}":
                return cfg.MilterDaemonName;
            case "{v}":
                return cfg.MilterV;
            case "{_}":
                {
                    var s = $"{reverseName} [{clientAddr}]";
                    if (!string.Equals(clientName, reverseName, StringComparison.OrdinalIgnoreCase))
                        s += " (may be forged)";
                    return s;
                }
            case "{j}":
                return cfg.MyHostname;
            case "{client_addr}":
                return clientAddr;
            case "{client_name}":
                return clientName;
            case "{client_port}":
                return clientPort != null && clientPort != "unknown" ? clientPort : "0";
            case "{client_ptr}":
                return reverseName;
            case "{daemon_addr}":
                return serverAddr;
            case "{daemon_port}":
                return serverPort != null && serverPort != "unknown" ? serverPort : "0";
            case "{i}":
                return QueueId;
            case "{auth_type}":
                return attr.GetValueOrDefault("sasl_method");
            case "{auth_authen}":
                return attr.GetValueOrDefault("sasl_username");
            case "{auth_author}":
                return attr.GetValueOrDefault("sasl_sender");
            case "{mail_addr}":
                return milterExtFrom;
            case "{rcpt_addr}":
                return milterExtRcpt;
            default:
                return null;
        }
    }

    // ClientInit - cleanup_milter_client_init().
    private void ClientInit()
    {
        clientName = attr.GetValueOrDefault("client_name");
        reverseName = attr.GetValueOrDefault("reverse_client_name");
        clientAddr = attr.GetValueOrDefault("client_address");
        clientPort = attr.GetValueOrDefault("client_port");
        var proto = attr.GetValueOrDefault("client_address_type");
        serverAddr = attr.GetValueOrDefault("server_address");
        serverPort = attr.GetValueOrDefault("server_port");
        if (clientName == null || clientAddr == null || proto == null || !AllDigits(proto))
        {
            clientName = "localhost";
            if (cfg.InetProtocolsFirstIpv6)
            {
                clientAddr = "::1";
                clientAf = 10;
            }
            else
            {
                clientAddr = "127.0.0.1";
                clientAf = 2;
            }
            serverAddr = clientAddr;
        }
        else
            clientAf = Atoi(proto);
        reverseName ??= clientName;
        if (clientPort == null)
        {
            clientPort = "0";
            serverPort = clientPort;
        }
    }

    private void SetReason(string reason)
    {
        Reason = reason;
        SmtpReply = null;
    }

    private void SetSmtpReply(string reply)
    {
        var r = reply.Length > 4 ? reply[4..] : "";
        var sb = new StringBuilder(r.Length);
        foreach (var c in r)
            sb.Append(c < 32 || c > 126 ? '_' : c);
        Reason = sb.ToString();
        SmtpReply = reply;
    }

    private bool RejectingOrDiscarding => (Flags & CleanupFlags.Discard) != 0 || (Errs & CleanupStatus.Cont) != 0;

    // MilterApply - cleanup_milter_apply(): non-null when rejecting.
    private string? MilterApply(string ev, string resp)
    {
        // A milter_header_checks reply: acted on (and logged) already.
        if (hbcReply.Length > 0 && resp == hbcReply)
            return null;
        if (RejectingOrDiscarding)
            return null;
        if (!OutOk)
            return null;
        string action, text;
        string? ret = null;
        switch (resp[0])
        {
            case 'H':
                if ((Flags & CleanupFlags.Hold) != 0)
                    return null;
                Flags |= CleanupFlags.Hold;
                action = "milter-hold";
                text = "milter triggers HOLD action";
                break;
            case 'D':
                Flags |= CleanupFlags.Discard;
                action = "milter-discard";
                text = "milter triggers DISCARD action";
                break;
            case 'S':
                Flags |= CleanupStatus.Cont;
                action = "milter-reject";
                text = CleanupStatus.DetailOf(CleanupStatus.Cont).Text;
                break;
            case '4':
                SetSmtpReply(resp);
                ret = Reason;
                Errs |= CleanupStatus.Defer;
                action = "milter-reject";
                text = resp[4..];
                break;
            case '5':
                SetSmtpReply(resp);
                ret = Reason;
                Errs |= CleanupStatus.Cont;
                action = "milter-reject";
                text = resp[4..];
                break;
            default:
                Msg.Panic($"cleanup_milter_apply: unexpected mail filter reply: {resp}");
                return null;
        }
        var sb = new StringBuilder();
        sb.Append(QueueId).Append(": ").Append(action).Append(": ").Append(ev).Append(" from ")
          .Append(clientName).Append('[').Append(clientAddr).Append("]: ").Append(Raw.Text(text)).Append(';');
        if (Sender != null)
            sb.Append(" from=<").Append(Raw.Text(LogSender(Sender))).Append('>');
        if (Recip != null)
            sb.Append(" to=<").Append(Raw.Text(LogSender(Recip))).Append('>');
        if (attr.TryGetValue("log_protocol_name", out var proto))
            sb.Append(" proto=").Append(proto);
        if (attr.TryGetValue("log_helo_name", out var helo))
            sb.Append(" helo=<").Append(helo).Append('>');
        Msg.Info(sb.ToString());
        return ret;
    }

    private static string Quote821(string addr) => addr.Length > 0 ? Quote822.Local(addr) : addr;

    // MilterEmulMail - cleanup_milter_emul_mail().
    private void MilterEmulMail(Milters m, string addr)
    {
        m.MacroLookup = MilterEval;
        m.Editor = this;
        m.LineLimit = cfg.LineLimit;
        if (clientName == null)
            ClientInit();
        string? resp;
        if ((resp = m.ConnectEvent(clientName!, clientAddr!, clientPort!, clientAf)) != null)
        {
            MilterApply("CONNECT", resp);
            return;
        }
        if (MilterOk)
        {
            var helo = attr.GetValueOrDefault("helo_name") ?? clientName!;
            if ((resp = m.HeloEvent(helo, true)) != null)
            {
                MilterApply("EHLO", resp);
                return;
            }
        }
        if (MilterOk)
        {
            milterExtFrom = Quote821(addr);
            if ((resp = m.MailEvent([milterExtFrom])) != null)
                MilterApply("MAIL", resp);
        }
    }

    // MilterEmulRcpt - cleanup_milter_emul_rcpt().
    private void MilterEmulRcpt(Milters m, string addr)
    {
        milterExtRcpt = Quote821(addr);
        string? resp;
        if ((resp = m.RcptEvent([milterExtRcpt])) != null && MilterApply("RCPT", resp) != null)
        {
            Msg.Warn($"{QueueId}: milter configuration error: can't reject recipient in non-smtpd(8) submission");
            Msg.Warn($"{QueueId}: message not accepted, try again later");
            SetReason("4.3.5 Server configuration error");
            Errs |= CleanupStatus.Defer;
        }
    }

    // MilterAtFlush - the milter part of cleanup_flush().
    internal void MilterAtFlush()
    {
        if (!MilterOk)
            return;
        if (milters != null)
            MilterInspect(milters);
        else if (cfg.NonSmtpdMilters != null)
        {
            if (clientName == null)
                ClientInit();
            string? resp;
            if ((resp = cfg.NonSmtpdMilters.DataEvent()) != null)
                MilterApply("DATA", resp);
            if (MilterOk)
                MilterInspect(cfg.NonSmtpdMilters);
        }
    }

    // MilterDisconnect - the disconnect event of cleanup_free().
    internal void MilterDisconnect()
    {
        if (cfg.NonSmtpdMilters != null && milters == null)
            cfg.NonSmtpdMilters.DisconnectEvent();
        milters?.Dispose();
        milters = null;
    }

    // MilterInspect - cleanup_milter_inspect().
    private void MilterInspect(Milters m)
    {
        if (clientName == null)
            ClientInit();
        m.Editor = this;
        if (cfg.MilterHeaderChecks != null)
            MilterChecksReinit();
        var resp = m.MessageEvent(Snapshot(), Path, dataOffset, autoHdrs);
        if (resp != null)
            MilterApply("END-OF-MESSAGE", resp);
        if (cfg.MilterHeaderChecks != null)
            MilterChecksFinish();
    }

    // Snapshot - the queue file as written so far.
    public byte[] Snapshot()
    {
        dst.Flush();
        var saved = dst.Position;
        var data = new byte[dst.Length];
        dst.Seek(0, SeekOrigin.Begin);
        var got = 0;
        while (got < data.Length)
        {
            var n = dst.Read(data, got, data.Length - got);
            if (n <= 0)
                break;
            got += n;
        }
        dst.Seek(saved, SeekOrigin.Begin);
        return data;
    }

    // MilterError - cleanup_milter_error().
    private string MilterError(int errno)
    {
        if (errno != 0)
            MilterSetError(errno);
        var d = CleanupStatus.DetailOf(Errs);
        return $"{d.Smtp} {d.Dsn} {d.Text}";
    }

    private void MilterSetError(int errno)
    {
        if (errno == 27)
        {
            Msg.Warn($"{QueueId}: queue file size limit exceeded");
            Errs |= CleanupStatus.Size;
        }
        else
        {
            Msg.Warn($"{QueueId}: write queue file: {Sys.StrError(errno)}");
            Errs |= CleanupStatus.Write;
        }
    }

    private string? OkOrError() => OutOk ? null : MilterError(0);

    // Record reading at the current file position (rec_get_raw).
    private int GetRaw(out string data)
    {
        data = "";
        var type = dst.ReadByte();
        if (type < 0)
            return -1;
        long len = 0;
        for (var shift = 0; ; shift += 7)
        {
            if (shift >= 32)
                return -1;
            var b = dst.ReadByte();
            if (b < 0)
                return -1;
            len |= (long)(b & 0x7f) << shift;
            if ((b & 0x80) == 0)
                break;
        }
        var buf = new byte[len];
        var got = 0;
        while (got < len)
        {
            var n = dst.Read(buf, got, (int)len - got);
            if (n <= 0)
                return -1;
            got += n;
        }
        data = Raw.FromBytes(buf);
        return type;
    }

    // Goto - rec_goto().
    private bool Goto(string ptr)
    {
        var t = ptr.Trim();
        if (t.Length > 0 && !long.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out _))
            return false;
        var offset = t.Length == 0 ? 0 : long.Parse(t, CultureInfo.InvariantCulture);
        if (offset != 0)
            dst.Seek(offset, SeekOrigin.Begin);
        return true;
    }

    private void SeekEnd() => dst.Seek(0, SeekOrigin.End);

    // AddHeader - cleanup_add_header().
    public string? AddHeader(string name, string space, string value)
    {
        if (appendHdrPtOffset < 0 || appendHdrPtTarget < 0)
            Msg.Panic("cleanup_add_header: no header append pointer location");
        var buf = name + ":" + space + value;
        if (cfg.MilterHeaderChecks != null)
        {
            if (!MilterHeaderCheck(ref buf) || (Flags & CleanupFlags.Discard) != 0)
                return null;
            if (!OutOk)
                return MilterError(0);
        }
        SeekEnd();
        var newHdrOffset = Tell();
        OutHeader(buf);
        var reversePtrOffset = Tell();
        PutPtr(appendHdrPtTarget);
        dst.Seek(appendHdrPtOffset, SeekOrigin.Begin);
        PutPtr(newHdrOffset);
        appendHdrPtOffset = reversePtrOffset;
        return EditReply();
    }

    private const long NotFound = -1, IoError = -2;

    private static bool IsSpaceTab(string s) => s.Length > 0 && (s[0] == ' ' || s[0] == '\t');

    // FindHeaderStart - cleanup_find_header_start().
    private long FindHeaderStart(int index, string? label, out string buf, out int recType, bool allowPtrBackup, List<string>? hidden = null)
    {
        buf = "";
        recType = -1;
        string? ptrBuf = null;
        long ptrOffset = 0;
        var lastType = 0;
        var hideDone = 0;
        long currOffset;
        int type = -1;
        dst.Seek(dataOffset, SeekOrigin.Begin);
        for (; ; )
        {
            currOffset = Tell();
            if (currOffset == appendHdrPtOffset)
                break;
            if ((type = GetRaw(out buf)) < 0)
            {
                Msg.Warn($"cleanup_find_header_start: read file {Path}: {Sys.StrError(5)}");
                MilterSetError(5);
                return IoError;
            }
            if (type == RecordType.Dtxt)
                continue;
            if (type != RecordType.Norm && type != RecordType.Cont && type != RecordType.Ptr)
                break;
            if (type == RecordType.Ptr)
            {
                if (!Goto(buf))
                {
                    MilterSetError(5);
                    return IoError;
                }
                if (allowPtrBackup)
                {
                    ptrOffset = currOffset;
                    ptrBuf = buf;
                }
                continue;
            }
            else if (lastType == RecordType.Cont || IsSpaceTab(buf))
            {
                // The middle of a multi-record header.
            }
            else
            {
                var len = HeaderText.IsHeader(buf);
                if (len == 0)
                    break;
                if ((label == null || (string.Compare(label, 0, buf, 0, len, StringComparison.OrdinalIgnoreCase) == 0
                        && label.Length == len && !HiddenHeader(buf, ref hideDone)))
                    && --index == 0)
                    break;
            }
            ptrOffset = 0;
            lastType = type;
        }
        if (index > 0)
            return NotFound;
        if (buf.Length < RecordType.PtrPayloadSize)
        {
            if (GetRaw(out var pad) != RecordType.Dtxt)
                Msg.Panic("cleanup_find_header_start: short header without padding");
            _ = pad;
        }
        if (ptrOffset != 0)
        {
            type = RecordType.Ptr;
            currOffset = ptrOffset;
            buf = ptrBuf!;
        }
        recType = type;
        return currOffset;
    }

    // HiddenHeader - hidden_header(): our own Received: header is not
    // counted for header change requests.
    private bool HiddenHeader(string buf, ref int hideDone)
    {
        for (var i = 0; i < autoHdrs.Count && i < 31; i++)
        {
            var h = autoHdrs[i];
            if ((hideDone & (1 << i)) == 0 && h.Length >= buf.Length && string.CompareOrdinal(h, 0, buf, 0, buf.Length) == 0)
            {
                hideDone |= 1 << i;
                return true;
            }
        }
        return false;
    }

    // FindHeaderEnd - cleanup_find_header_end().
    private long FindHeaderEnd(int lastType)
    {
        long readOffset;
        for (; ; )
        {
            readOffset = Tell();
            if (readOffset == appendHdrPtOffset)
                break;
            var type = GetRaw(out var rec);
            if (type < 0)
                return -1;
            if (type == RecordType.Dtxt)
                continue;
            if (type != RecordType.Norm && type != RecordType.Cont && type != RecordType.Ptr)
                break;
            if (type == RecordType.Ptr)
            {
                if (!Goto(rec))
                    return -1;
                continue;
            }
            if (lastType != RecordType.Cont && !IsSpaceTab(rec))
                break;
            lastType = type;
        }
        return readOffset;
    }

    // PatchHeader - cleanup_patch_header().
    private string? PatchHeader(string name, string space, string value, long oldRecOffset, int oldRecType, string? oldRecBuf, long nextOffset)
    {
        var buf = name + ":" + space + value;
        if (cfg.MilterHeaderChecks != null && !MilterHeaderCheck(ref buf))
            return null;
        SeekEnd();
        var newHdrOffset = Tell();
        OutHeader(buf);
        if (oldRecType > 0)
        {
            Out(oldRecType, oldRecBuf!);
            if (oldRecBuf!.Length < RecordType.PtrPayloadSize)
                Pad(RecordType.Dtxt, RecordType.PtrPayloadSize - oldRecBuf.Length);
        }
        if (oldRecType != RecordType.Ptr)
        {
            if (nextOffset < 0)
                Msg.Panic($"cleanup_patch_header: bad reverse pointer {nextOffset}");
            PutPtr(nextOffset);
        }
        dst.Seek(oldRecOffset, SeekOrigin.Begin);
        PutPtr(newHdrOffset);
        return EditReply();
    }

    // InsertHeader - cleanup_ins_header().
    public string? InsertHeader(int index, string name, string space, string value)
    {
        if (index < 1)
            index = 1;
        var old = FindHeaderStart(index, null, out var oldBuf, out var oldType, true);
        if (old == IoError)
            return MilterError(0);
        if (old < 0)
            return AddHeader(name, space, value);
        var nextOffset = oldType == RecordType.Ptr ? -1 : Tell();
        return PatchHeader(name, space, value, old, oldType, oldBuf, nextOffset);
    }

    // UpdateHeader - cleanup_upd_header().
    public string? UpdateHeader(int index, string name, string space, string value)
    {
        if (name.Length == 0)
            Msg.Panic("cleanup_upd_header: null header name");
        var old = FindHeaderStart(index, name, out _, out var lastType, false);
        if (old == IoError)
            return MilterError(0);
        if (old < 0)
            return AddHeader(name, space, value);
        var next = FindHeaderEnd(lastType);
        if (next < 0)
            return MilterError(0);
        return PatchHeader(name, space, value, old, 0, null, next);
    }

    // DeleteHeader - cleanup_del_header().
    public string? DeleteHeader(int index, string name)
    {
        if (name.Length == 0)
            Msg.Panic("cleanup_del_header: null header name");
        var off = FindHeaderStart(index, name, out _, out var lastType, false);
        if (off == IoError)
            return MilterError(0);
        if (off > 0)
        {
            var next = FindHeaderEnd(lastType);
            if (next < 0)
                return MilterError(0);
            dst.Seek(off, SeekOrigin.Begin);
            writer.Put(RecordType.Ptr, Encoding.ASCII.GetBytes(next.ToString(CultureInfo.InvariantCulture).PadLeft(15)));
        }
        return OkOrError();
    }

    private static string? ParseOneAddress(string ext, out int count)
    {
        count = 0;
        string? result = null;
        for (var tp = Tok822.Parse(ext); tp != null; tp = tp.Next)
        {
            if (tp.Type == Tok822.Addr)
            {
                if (count == 0)
                {
                    result = Tok822.Internalize(tp.Head);
                    count = 1;
                }
                else
                {
                    count = 2;
                    break;
                }
            }
        }
        return result;
    }

    // ChangeFrom - cleanup_chg_from().
    public string? ChangeFrom(string extFrom, string esmtpArgs)
    {
        var newEnvid = (string?)null;
        var newRet = 0;
        if (esmtpArgs.Length > 0)
        {
            foreach (var arg in esmtpArgs.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                if (arg.StartsWith("RET=", StringComparison.OrdinalIgnoreCase))
                {
                    var v = arg[4..].ToUpperInvariant();
                    var code = v == "FULL" ? DsnRetFull : v == "HDRS" ? DsnRetHdrs : 0;
                    if (code == 0)
                        Msg.Warn($"Ignoring bad ESMTP parameter \"{arg}\" in SMFI_CHGFROM request");
                    else
                        dsnRet = newRet = code;
                }
                else if (arg.StartsWith("ENVID=", StringComparison.OrdinalIgnoreCase))
                {
                    var u = XtextUnquote(arg[6..]);
                    if (u == null || !AllPrint(u))
                        Msg.Warn($"Ignoring bad ESMTP parameter \"{arg}\" in SMFI_CHGFROM request");
                    else
                        dsnEnvid = newEnvid = u;
                }
                else
                    Msg.Warn($"Ignoring bad ESMTP parameter \"{arg}\" in SMFI_CHGFROM request");
            }
        }
        if (senderPtOffset < 0 || senderPtTarget < 0)
            Msg.Panic("cleanup_chg_from: no original sender record offset");
        SeekEnd();
        var newOffset = Tell();
        if (newEnvid != null)
            writer.Put(RecordType.Attr, Raw.ToBytes("envelope_id=" + newEnvid));
        if (newRet != 0)
            writer.Put(RecordType.Attr, Raw.ToBytes("ret_flags=" + newRet.ToString(CultureInfo.InvariantCulture)));
        var newSenderOffset = newEnvid == null && newRet == 0 ? newOffset : Tell();
        var addr = ParseOneAddress(extFrom, out var count);
        if (count > 1)
            Msg.Warn($"{QueueId}: Milter request to add multi-sender: \"{extFrom}\"");
        Sender = null;
        var afterSender = AddrSenderForMilter(addr ?? "");
        PutPtr(senderPtTarget);
        senderPtTarget = afterSender;
        dst.Seek(senderPtOffset, SeekOrigin.Begin);
        PutPtr(newOffset);
        senderPtOffset = newSenderOffset;
        return OkOrError();
    }

    private static string? XtextUnquote(string s)
    {
        var sb = new StringBuilder();
        for (var i = 0; i < s.Length; i++)
        {
            if (s[i] == '+')
            {
                if (i + 2 >= s.Length || !int.TryParse(s.AsSpan(i + 1, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var v))
                    return null;
                sb.Append((char)v);
                i += 2;
            }
            else
                sb.Append(s[i]);
        }
        return sb.ToString();
    }

    // AddRcpt - cleanup_add_rcpt_par().
    public string? AddRcpt(string extRcpt, string esmtpArgs)
    {
        if (appendRcptPtOffset < 0 || appendRcptPtTarget < 0)
            Msg.Panic("cleanup_add_rcpt_par: no recipient append pointer location");
        SeekEnd();
        var newRcptOffset = Tell();
        var notify = 0;
        string? orcpt = null;
        if (esmtpArgs.Length > 0)
        {
            foreach (var arg in esmtpArgs.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                if (arg.StartsWith("NOTIFY=", StringComparison.OrdinalIgnoreCase))
                {
                    if (notify != 0 || (notify = DsnNotifyMask(arg[7..])) == 0)
                        Msg.Warn($"{QueueId}: Bad NOTIFY parameter from Milter or header/body_checks: \"{Trunc(arg, 100)}\"");
                }
                else if (arg.StartsWith("ORCPT=", StringComparison.OrdinalIgnoreCase))
                {
                    var val = arg[6..];
                    var semi = val.IndexOf(';');
                    string? u;
                    if (orcpt != null || semi <= 0 || (u = XtextUnquote(val[(semi + 1)..])) == null)
                        Msg.Warn($"{QueueId}: Bad ORCPT parameter from Milter or header/body_checks: \"{Trunc(arg, 100)}\"");
                    else
                        orcpt = val[..semi] + ";" + u;
                }
                else
                    Msg.Warn($"{QueueId}: ignoring ESMTP argument from Milter or header/body_checks: \"{Trunc(arg, 100)}\"");
            }
        }
        var addr = ParseOneAddress(extRcpt, out var count);
        if (count > 1)
            Msg.Warn($"{QueueId}: Milter or header/body_checks request to add multi-recipient: \"{extRcpt}\"");
        if (count != 0)
            AddrBccDsn(addr!, orcpt, notify);
        else
            Msg.Warn($"{QueueId}: ignoring attempt from Milter to add null recipient");
        if (Tell() == newRcptOffset)
            return OkOrError();
        var reversePtrOffset = Tell();
        PutPtr(appendRcptPtTarget);
        dst.Seek(appendRcptPtOffset, SeekOrigin.Begin);
        PutPtr(newRcptOffset);
        appendRcptPtOffset = reversePtrOffset;
        return OkOrError();
    }

    private static int DsnNotifyMask(string s)
    {
        var mask = 0;
        foreach (var w in s.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            var bit = w.ToUpperInvariant() switch
            {
                "NEVER" => DsnNotifyNever,
                "SUCCESS" => DsnNotifySuccess,
                "FAILURE" => DsnNotifyFailure,
                "DELAY" => DsnNotifyDelay,
                _ => -1,
            };
            if (bit < 0)
                return 0;
            mask |= bit;
        }
        return DsnNotifyOk(mask) ? mask : 0;
    }

    // DeleteRcpt - cleanup_del_rcpt().
    public string? DeleteRcpt(string extRcpt)
    {
        dst.Seek(0, SeekOrigin.Begin);
        var addr = ParseOneAddress(extRcpt, out var count) ?? "";
        if (count > 1)
            Msg.Warn($"{QueueId}: Milter request to drop multi-recipient: \"{extRcpt}\"");
        string? dsnOrcptRec = null, origRcptRec = null;
        var dsnNotifyRec = 0;
        var deleted = 0;
        for (; ; )
        {
            if (!OutOk)
                return MilterError(0);
            var currOffset = Tell();
            var type = GetRaw(out var buf);
            if (type <= 0)
            {
                Msg.Warn($"cleanup_del_rcpt: read file {Path}: {Sys.StrError(5)}");
                return MilterError(5);
            }
            if (type == RecordType.End)
                break;
            if (type == RecordType.Mesg)
            {
                dst.Seek(xtraOffset, SeekOrigin.Begin);
                continue;
            }
            var start = buf;
            if (type == RecordType.Ptr)
            {
                if (!Goto(start))
                    return MilterError(29);
                continue;
            }
            if (type == RecordType.Attr)
            {
                if (Postfix.Global.Config.NameValue.Split(buf, out var an, out var av) != null || av.Length == 0)
                    continue;
                var junk = RecAttrMap(an);
                if (junk != 0)
                {
                    start = av;
                    type = junk;
                }
            }
            if (type == RecordType.DsnOrcpt)
                dsnOrcptRec = start;
            else if (type == RecordType.DsnNotify)
                dsnNotifyRec = AllDigits(start) && Atoi(start) > 0 && DsnNotifyOk(Atoi(start)) ? Atoi(start) : 0;
            else if (type == RecordType.Orcp)
                origRcptRec = start;
            else if (type == RecordType.Rcpt || type == RecordType.Drcp || type == RecordType.Done)
            {
                if (type == RecordType.Rcpt)
                {
                    if (string.Equals(origRcptRec ?? start, addr, StringComparison.Ordinal))
                    {
                        dst.Seek(currOffset, SeekOrigin.Begin);
                        writer.Put(RecordType.Drcp, Raw.ToBytes(buf));
                        deleted++;
                    }
                    if (cfg.EnableOrigRcpt)
                        dups.Drop((dsnOrcptRec ?? "") + "\n" + dsnNotifyRec.ToString(CultureInfo.InvariantCulture) + "\n"
                            + (origRcptRec ?? "") + "\n" + addr);
                }
                origRcptRec = null;
                dsnOrcptRec = null;
                dsnNotifyRec = 0;
            }
        }
        if (!cfg.EnableOrigRcpt && deleted > 0)
            dups.Drop(addr);
        return null;
    }

    // ReplaceBody - cleanup_repl_body() with cleanup_body_edit.c.
    public string? ReplaceBody(MilterBodyCmd cmd, int recordType, byte[]? line)
    {
        switch (cmd)
        {
            case MilterBodyCmd.Start:
                BodyEditStart();
                BodyEditWrite(RecordType.Norm, []);
                break;
            case MilterBodyCmd.Line:
                BodyEditWrite(recordType, line ?? []);
                break;
            case MilterBodyCmd.End:
                BodyEditFinish();
                break;
        }
        return OkOrError();
    }

    private static readonly int PtrRecLen = (int)RecordWriter.SpaceNeeded(RecordType.PtrPayloadSize);

    private void BodyEditStart()
    {
        contLength = bodyOffset - dataOffset;
        // The first region is the original body space; later regions are
        // appended to the file, and a region is never reused here.
        bodyRegions ??= [(appendHdrPtTarget, xtraOffset - appendHdrPtTarget)];
        var first = bodyRegions[0];
        bodyRegions = [first];
        curRegion = (first.Start, first.Len, first.Start);
        dst.Seek(appendHdrPtOffset, SeekOrigin.Begin);
        appendHdrPtTarget = curRegion.Start;
        PutPtr(appendHdrPtTarget);
        dst.Seek(curRegion.Start, SeekOrigin.Begin);
    }

    private void BodyEditWrite(int type, byte[] line)
    {
        if (curRegion.Len > 0)
        {
            var spaceUsed = curRegion.WriteOffs - curRegion.Start;
            var spaceNeeded = RecordWriter.SpaceNeeded(line.Length) + PtrRecLen;
            if (spaceNeeded > curRegion.Len - spaceUsed)
            {
                contLength += spaceUsed;
                var nextStart = dst.Length;
                PutPtr(nextStart);
                curRegion = (nextStart, 0, nextStart);
                bodyRegions!.Add((nextStart, 0));
                dst.Seek(nextStart, SeekOrigin.Begin);
            }
        }
        Out(type, Raw.FromBytes(line));
        curRegion.WriteOffs = Tell();
    }

    private void BodyEditFinish()
    {
        contLength += curRegion.WriteOffs - curRegion.Start;
        PutPtr(xtraOffset);
        curRegion.WriteOffs = Tell();
    }
}
