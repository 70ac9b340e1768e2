// NAME
//	LocalTypes - the state that local(8) carries through one delivery
// POSTFIX
//	src/local/local.h (LOCAL_STATE, USER_ATTR, DELIVER_ATTR),
//	src/util/been_here.c, src/global/delivered_hdr.c
// DESCRIPTION
//	UserAttr, MsgAttr and LocalState are value types: like the C code,
//	each nesting level works on its own copy, so that what an alias or
//	include file changes is gone when that level returns. What must be
//	shared (the duplicate filter, the loop-detection headers, the status
//	buffer, the request) is held by reference. LocalRequest is the part
//	of a delivery request that the agent uses; IDeliveryReport is how
//	results leave the agent (sent/bounce/defer/trace records, passing a
//	recipient to another transport, forwarding).
using System;
using System.Collections.Generic;
using System.Text;
using Postfix.Global.Mailbox;
using Postfix.Global.Deliver;
using Postfix.Global.Queue;

namespace Postfix.Daemons.Local;

internal static class ExpandType
{
    public const int Alias = 1 << 0;
    public const int Forward = 1 << 1;
    public const int Include = 1 << 2;
}

internal static class DeliverHeader
{
    public const int Command = 1 << 0;
    public const int File = 1 << 1;
    public const int Forward = 1 << 2;
}

internal static class ExtProp
{
    public const int Canonical = 1 << 0;
    public const int Virtual = 1 << 1;
    public const int Alias = 1 << 2;
    public const int Forward = 1 << 3;
    public const int Include = 1 << 4;
    public const int Generic = 1 << 5;
}

internal struct UserAttr
{
    public uint Uid;
    public uint Gid;
    public string? Home;
    public string? Logname;
    public string? Shell;

    public void Reset() => this = default;

    public void Set(Postfix.Util.Sys.Passwd pwd)
    {
        Uid = pwd.Uid;
        Gid = pwd.Gid;
        Home = pwd.Dir;
        Logname = pwd.Name;
        Shell = pwd.Shell;
    }
}

internal struct Rcpt
{
    public string OrigAddr;
    public string Address;
    public long Offset;
    public string DsnOrcpt;
    public int DsnNotify;

    public Rcpt(string origAddr, string address, long offset, string dsnOrcpt, int dsnNotify)
    {
        OrigAddr = origAddr;
        Address = address;
        Offset = offset;
        DsnOrcpt = dsnOrcpt;
        DsnNotify = dsnNotify;
    }
}

internal struct MsgAttr
{
    public string Sender;
    public string DsnEnvid;
    public int DsnRet;
    public string Relay;
    public Rcpt Rcpt;
    public string? Domain;
    public string? Extension;
    public string? Local;
    public string? User;
    public string? Unmatched;
    public string? Owner;
    public string? ExpFrom;
    public string? Delivered;
    public int ExpType;
}

// LocalRequest - the fields of DELIVER_REQUEST that local(8) reads.
internal sealed class LocalRequest
{
    public string QueueName { get; init; } = "";
    public string QueueId { get; init; } = "";
    public string QueuePath { get; init; } = "";
    public byte[] QueueFile { get; init; } = [];
    public long DataOffset { get; init; }
    public string Encoding { get; init; } = "";
    public int SmtpUtf8 { get; init; }
    public string Sender { get; init; } = "";
    public string DsnEnvid { get; init; } = "";
    public int DsnRet { get; init; }
    public int Flags { get; init; }
    public string ClientName { get; init; } = "";
    public string ClientAddr { get; init; } = "";
    public string ClientHelo { get; init; } = "";
    public string ClientProto { get; init; } = "";
    public string SaslMethod { get; init; } = "";
    public string SaslUsername { get; init; } = "";
    public string SaslSender { get; init; } = "";
    public string LogIdent { get; init; } = "";
    public string RewriteContext { get; init; } = "";
    public List<Rcpt> Recipients { get; init; } = [];
    public object? Native { get; init; }

    public const int FlagSuccess = 1 << 0;
    public const int FlagMtaVrfy = 1 << 8;
    public const int FlagUsrVrfy = 1 << 9;
    public const int FlagRecord = 1 << 10;
    public const int FlagRecDlySent = 1 << 13;

    public bool TraceOnly => (Flags & (FlagMtaVrfy | FlagUsrVrfy)) != 0;

    // BounceFlags - DEL_REQ_TRACE_FLAGS(flags).
    public int BounceFlags => Flags & (FlagMtaVrfy | FlagUsrVrfy | FlagRecord | FlagRecDlySent);
}

// IDeliveryReport - where delivery results go. Each returns 0 when the
// result was recorded, non-zero (defer) otherwise.
internal interface IDeliveryReport
{
    int Sent(LocalRequest req, in MsgAttr attr, DsnBuf why);
    int Bounce(LocalRequest req, in MsgAttr attr, DsnBuf why);
    int Defer(LocalRequest req, in MsgAttr attr, DsnBuf why);
    int Trace(LocalRequest req, in MsgAttr attr, DsnBuf why);
    int BounceOne(LocalRequest req, in MsgAttr attr, DsnBuf why);
    int DeferOne(LocalRequest req, in MsgAttr attr, DsnBuf why);
    int Pass(LocalRequest req, string transport, in MsgAttr attr);
    int ForwardAppend(LocalRequest req, in MsgAttr attr);
    void Completed(LocalRequest req, long offset);
}

// BeenHere - been_here(): a bounded, case-folded duplicate filter.
internal sealed class BeenHere
{
    private readonly HashSet<string> seen = new(StringComparer.Ordinal);
    private readonly int limit;

    public BeenHere(int limit) => this.limit = limit;

    // Check - whether key was seen; remembers it (when room is left).
    public bool Check(string key)
    {
        key = key.ToLowerInvariant();
        if (seen.Contains(key))
            return true;
        if (limit <= 0 || seen.Count < limit)
            seen.Add(key);
        return false;
    }

    // Fixed - been_here_check(): whether key was seen, without adding it.
    public bool Seen(string key) => seen.Contains(key.ToLowerInvariant());
}

// DeliveredHeaders - delivered_hdr_init()/find(): the Delivered-To:
// addresses in the message headers, case-folded.
internal sealed class DeliveredHeaders
{
    private readonly HashSet<string> addresses = new(StringComparer.Ordinal);

    public DeliveredHeaders(ReadOnlySpan<byte> queueFile, long offset, string path)
    {
        var reader = new RecordReader(queueFile, path);
        reader.Seek(offset);
        int type;
        var prevType = RecordType.Norm;
        ReadOnlySpan<byte> name = "delivered-to:"u8;
        while ((type = reader.Read(out var rec)) > 0)
        {
            if (type != RecordType.Norm && type != RecordType.Cont)
                break;
            var start = prevType == RecordType.Norm;
            prevType = type;
            if (!start)
                continue;
            if (rec.Length == 0 || !IsHeaderOrContinuation(rec))
                break;
            if (rec.Length >= name.Length && Ascii.EqualsIgnoreCase(rec[..name.Length], name))
            {
                var value = Encoding.UTF8.GetString(rec[name.Length..]).TrimStart(' ', '\t', '\r', '\n');
                addresses.Add(value.ToLowerInvariant());
            }
        }
    }

    private static bool IsHeaderOrContinuation(ReadOnlySpan<byte> line)
    {
        if (line[0] == ' ' || line[0] == '\t')
            return true;
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (c == ':')
                return i > 0;
            if (c <= ' ' || c >= 127)
            {
                // is_header() allows white space only right before the colon.
                var j = i;
                while (j < line.Length && (line[j] == ' ' || line[j] == '\t'))
                    j++;
                return j < line.Length && line[j] == ':' && i > 0 && j > i;
            }
        }
        return false;
    }

    public bool Find(string address) => addresses.Contains(address.ToLowerInvariant());

    public int Count => addresses.Count;
}
