// NAME
//	ShowqService - list the mail queue to one client
// POSTFIX
//	src/showq/showq.c (showq_service, showq_report, showq_reasons)
// DESCRIPTION
//	Serve() writes what the showq(8) daemon writes on one connection:
//	the protocol announcement, then for each queue file of maildrop
//	(not descending), active, incoming, deferred and hold (descending
//	into hash subdirectories), in readdir order, one attribute list per
//	message (queue_name, queue_id, time, size, forced_expire, sender)
//	followed by (recipient, reason) lists: first those of the defer
//	logfile, then the queue file's recipients not already listed; a
//	terminator ends each message and the whole listing. Addresses are
//	quoted (quote_822_local) and made printable. Output is flushed after
//	each queue file. The caller's current directory is queue_directory.
using System;
using System.Buffers;
using System.Collections.Generic;
using System.IO;
using System.Text;
using Postfix.Global.Attr;
using Postfix.Global.Bounce;
using Postfix.Global.Dict;
using Postfix.Global.Queue;
using Postfix.Util;

namespace Postfix.Daemons.Showq;

public sealed class ShowqService
{
    private static readonly (string Name, bool Recursive)[] Queues =
    {
        (MailQueue.Maildrop, false), (MailQueue.Active, true), (MailQueue.Incoming, true),
        (MailQueue.Deferred, true), (MailQueue.Hold, true),
    };

    // MAIL_ATTR_FORCED_EXPIRE
    internal const string AttrForcedExpire = "forced_expire";

    private readonly MailQueue queue;
    private readonly string emptyAddress;
    private readonly int dupFilterLimit;
    private readonly ArrayBufferWriter<byte> outBuf = new(4096);
    private readonly AttrWriter writer;
    private Stream client = Stream.Null;
    private bool clientError;

    // ShowqService - queue: the hashing; emptyAddress: empty_address_recipient;
    // dupFilterLimit: duplicate_filter_limit (0: no limit).
    public ShowqService(MailQueue queue, string emptyAddress = "MAILER-DAEMON", int dupFilterLimit = 1000)
    {
        this.queue = queue;
        this.emptyAddress = emptyAddress;
        this.dupFilterLimit = dupFilterLimit;
        writer = new AttrWriter(outBuf);
    }

    // Serve - the whole listing for one client; false when the client went away.
    public bool Serve(Stream clientStream)
    {
        client = clientStream;
        clientError = false;
        writer.Str(MailProto.AttrProto, MailProto.ProtoShowq).End();
        Flush();
        foreach (var (name, recursive) in Queues)
        {
            using var scan = new ScanDir(name);
            string? savedId = null;
            string? id;
            while ((id = recursive ? scan.NextQueueFile() : scan.Next()) != null)
            {
                if (savedId == id)
                {
                    Msg.Warn($"readdir loop on queue {name} id {id}");
                    break;
                }
                savedId = id;
                if (MailOpenOk.Check(queue, name, id, out var st, out var path))
                {
                    if (!Sys.TryReadFile(path, ref fileBuffer, out var length, out var errno))
                    {
                        if (errno != Sys.ENOENT)
                            Msg.Warn($"open {name} {id}: {Sys.StrError(errno)}");
                    }
                    else if (!clientError)
                    {
                        Report(name, id, fileBuffer.AsSpan(0, length), path, st.Size, st.MTime, st.Mode);
                    }
                }
                Flush();
            }
        }
        writer.End();
        Flush();
        return !clientError;
    }

    // Report - showq_report(): one message, from its queue file records.
    // One read buffer for every queue file of a listing.
    private byte[] fileBuffer = new byte[8192];

    private void Report(string queueName, string id, ReadOnlySpan<byte> data, string path, long size, long mtime, uint mode)
    {
        var reader = new RecordReader(data, path);
        long arrivalTime = 0;
        var msgSize = size;
        var msgSizeOk = false;
        var senderSeen = 0;
        HashSet<string>? dupFilter = null;
        int type;
        while (!clientError && (type = reader.Read(out var rec)) > 0)
        {
            if (type is not (RecordType.Time or RecordType.Size or RecordType.From or RecordType.Rcpt) && Msg.Verbose == 0)
            {
                if (type == RecordType.Mesg && msgSizeOk)
                    reader.Seek(reader.Position + msgSize);
                continue;
            }
            var start = Latin1(RecordReader.CString(rec));
            if (Msg.Verbose > 0)
                Msg.Info($"record {(char)type} {BounceLogReader.Printable(start)}");
            switch (type)
            {
                case RecordType.Time:
                    if (arrivalTime == 0)
                        arrivalTime = Atol(start);
                    break;
                case RecordType.Size:
                    if (!msgSizeOk)
                    {
                        msgSizeOk = OnlyDigitsAndSpaces(start) && (msgSize = Atol(start)) >= 0;
                        if (!msgSizeOk)
                        {
                            Msg.Warn($"{id}: malformed size record: {Cut(BounceLogReader.Printable(start), 100)} -- using file size instead");
                            msgSize = size;
                        }
                    }
                    break;
                case RecordType.From:
                    {
                        var sender = Externalize(start);
                        if (senderSeen++ > 0)
                        {
                            Msg.Warn($"{id}: duplicate sender address: {sender} -- skipping remainder of this file");
                            writer.End();
                            return;
                        }
                        writer.Str(MailProto.AttrQueue, queueName)
                            .Str(MailProto.AttrQueueId, id)
                            .Long(MailProto.AttrTime, arrivalTime > 0 ? arrivalTime : mtime)
                            .Long(MailProto.AttrSize, msgSize)
                            .Int(AttrForcedExpire, (mode & MailQueue.StatExpire) != 0 ? 1 : 0)
                            .Str(MailProto.AttrSender, Bytes(sender))
                            .End(AttrFlags.More);
                        dupFilter = Reasons(id);
                        break;
                    }
                case RecordType.Rcpt:
                    {
                        if (senderSeen == 0)
                        {
                            Msg.Warn($"{id}: missing sender address:  -- skipping remainder of this file");
                            return;
                        }
                        var rcpt = Externalize(start);
                        if (dupFilter == null || !dupFilter.Contains(rcpt))
                        {
                            writer.Str(MailProto.AttrRecip, Bytes(rcpt)).Str(MailProto.AttrWhy, "").End(AttrFlags.More);
                        }
                        break;
                    }
                case RecordType.Mesg:
                    if (msgSizeOk)
                        reader.Seek(reader.Position + msgSize);
                    break;
            }
        }
        if (senderSeen > 0)
            writer.End();
    }

    // Reasons - showq_reasons(): the defer logfile's recipients with their
    // reasons; returns the duplicate filter, or null without a logfile.
    private HashSet<string>? Reasons(string id)
    {
        var path = queue.Path(MailQueue.Defer, id);
        var data = Sys.TryReadFile(path, out _);
        if (data == null)
            return null;
        var filter = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in new BounceLogReader(data, path, defer: true).Entries())
        {
            if (dupFilterLimit == 0 || filter.Count < dupFilterLimit)
                filter.Add(entry.Recipient);
            writer.Str(MailProto.AttrRecip, Bytes(entry.Recipient)).Str(MailProto.AttrWhy, Bytes(entry.Reason)).End(AttrFlags.More);
        }
        return filter;
    }

    // Externalize - the empty address replaced, quoted, made printable.
    private string Externalize(string address)
    {
        if (address.Length == 0)
            address = emptyAddress;
        return BounceLogReader.Printable(AccessAddress.Quote(address));
    }

    private void Flush()
    {
        if (outBuf.WrittenCount == 0)
            return;
        if (!clientError)
        {
            try
            {
                client.Write(outBuf.WrittenSpan);
                client.Flush();
            }
            catch (IOException)
            {
                clientError = true;
            }
        }
        outBuf.ResetWrittenCount();
    }

    private static string Latin1(ReadOnlySpan<byte> b) => Encoding.Latin1.GetString(b);

    private static byte[] Bytes(string latin1) => Encoding.Latin1.GetBytes(latin1);

    private static string Cut(string s, int n) => s.Length > n ? s[..n] : s;

    private static bool OnlyDigitsAndSpaces(string s)
    {
        foreach (var c in s)
        {
            if (c != ' ' && (c < '0' || c > '9'))
                return false;
        }
        return true;
    }

    // Atol - atol(): white space, a sign, digits; 0 when there are none.
    internal static long Atol(string s)
    {
        var i = 0;
        while (i < s.Length && (s[i] is ' ' or '\t' or '\n' or '\r' or '\f' or '\v'))
            i++;
        var neg = false;
        if (i < s.Length && (s[i] == '+' || s[i] == '-'))
            neg = s[i++] == '-';
        long v = 0;
        for (; i < s.Length && s[i] >= '0' && s[i] <= '9'; i++)
            v = unchecked(v * 10 + (s[i] - '0'));
        return neg ? -v : v;
    }
}
