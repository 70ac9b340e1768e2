// NAME
//	VerifyCache - the query and update requests of verify(8)
// POSTFIX
//	src/verify/verify.c (verify_query_service, verify_update_service,
//	verify_parse_entry), src/global/verify_sender_addr.c
// DESCRIPTION
//	Serve() handles one request on a client stream: "query" answers
//	with the cached status (or "verification in progress") and, when
//	the entry is missing, malformed, expired or due for a refresh,
//	sends a probe and records when; "update" stores a probe result.
//	Colons in addresses become underscores (IPv6 literals).
using System;
using System.Collections.Generic;
using System.Globalization;
using Postfix.Global.Attr;
using Postfix.Global.Dict;
using Postfix.Util;

namespace Postfix.Daemons.Verify;

internal sealed class VerifyCache(Dict map, VerifySettings settings, Func<long> now, Action<string, string> probe)
{
    // Recipient status (deliver_request.h DEL_RCPT_STAT_*), reply status (verify_clnt.h).
    public const int StatOk = 0, StatDefer = 1, StatBounce = 2, StatTodo = 3;
    public const int VrfyOk = 0, VrfyFail = -1, VrfyBad = -2;
    public const int DelReqFlagMtaVerify = 1 << 8;
    private const long ProbeTtl = 1000;

    public const string AttrAddrStatus = "recipient_status";

    // SenderRewrite - rewrite_clnt_internal(local) of the probe sender.
    public Func<string, string> SenderRewrite { get; init; } = s => s;

    public void Close() => map.Dispose();

    // The key that holds the time the last full cleanup run ended.
    public const string LastCleanupKey = "_LAST_CACHE_CLEANUP_COMPLETED_";

    // Name - the cache's name in the cleanup log line ("type:name").
    public string Name { get; init; } = "";

    // CleanupDelay - dict_cache_control(): seconds until the next cleanup
    // run, from the last run's end (at most one interval).
    public int CleanupDelay(int interval)
    {
        var last = map.Lookup(LastCleanupKey);
        long next = 0;
        if (last != null && long.TryParse(last.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var stamp))
            next = Math.Max(0, stamp + interval - now());
        return (int)Math.Min(next, interval);
    }

    // Cleanup state (dict_cache.c): the entry the scan stands on, whether
    // it is to be deleted once the scan moves past it, and the counts.
    private string? currentKey;
    private bool deleteBehind;
    private int retained, dropped;

    // CleanupRunning - a scan is under way (more steps to come).
    public bool CleanupRunning => currentKey != null;

    // Cleanup - one whole cleanup run, step after step.
    public void Cleanup()
    {
        while (CleanupStep())
        {
        }
    }

    // CleanupStep - dict_cache_clean_event(): examine one entry, so that
    // the daemon keeps answering requests between steps. An entry that
    // does not parse, or that expired with no probe in flight, is dropped
    // once the scan has moved past it (delete behind). At the end, the
    // statistics line and the completion time stamp. True while more
    // entries remain.
    public bool CleanupStep()
    {
        var first = currentKey == null;
        if (first)
            retained = dropped = 0;
        if (Msg.Verbose > 0 && first)
            Msg.Info($"dict_cache_clean_event: start {Name} cache cleanup");
        var status = CacheSequence(first ? DictSeq.First : DictSeq.Next, out var key, out var value);
        if (status == DictStatus.Success)
        {
            var t = now();
            var keep = ParseEntry(value, out var st, out var probed, out var updated, out _)
                && (t - probed < ProbeTtl || !(PositiveExpired(st, updated, t) || NegativeExpired(st, updated, t)));
            if (keep)
                retained++;
            else
            {
                deleteBehind = true;
                dropped++;
            }
            if (Msg.Verbose > 0)
                Msg.Info($"dict_cache_clean_event: {(keep ? "keep" : "drop")} {Name} cache entry for {key}");
            return true;
        }
        if (status == DictStatus.Error)
        {
            Msg.Warn($"{Name}: cache cleanup scan terminated due to error");
            Msg.Info($"cache {Name} partial cleanup: retained={retained} dropped={dropped} entries");
            return false;
        }
        Msg.Info($"cache {Name} full cleanup: retained={retained} dropped={dropped} entries");
        map.Update(LastCleanupKey, now().ToString(CultureInfo.InvariantCulture));
        return false;
    }

    // CacheSequence - dict_cache_sequence(): first/next entry with the
    // time stamp hidden; the entry left behind is deleted when scheduled.
    private DictStatus CacheSequence(DictSeq how, out string key, out string value)
    {
        var status = map.Sequence(how, out key, out value);
        if (status == DictStatus.Success && key == LastCleanupKey)
            status = map.Sequence(DictSeq.Next, out key, out value);
        var previous = currentKey;
        currentKey = status == DictStatus.Success ? key : null;
        if (status != DictStatus.Error && deleteBehind)
        {
            deleteBehind = false;
            if (previous != null)
                map.Delete(previous);
        }
        return status;
    }

    // CacheLookup - dict_cache_lookup(): an entry waiting for its delete
    // behind is not found.
    private string? CacheLookup(string key) => deleteBehind && key == currentKey ? null : map.Lookup(key);

    // CacheUpdate - dict_cache_update(): storing the entry the scan
    // stands on cancels its delete behind.
    private void CacheUpdate(string key, string value)
    {
        if (deleteBehind && key == currentKey)
            deleteBehind = false;
        map.Update(key, value);
    }

    // CacheDelete - dict_cache_delete(): the entry the scan stands on is
    // deleted behind, not now, so the scan can move on from it.
    private void CacheDelete(string key)
    {
        if (key == currentKey)
            deleteBehind = true;
        else
            map.Delete(key);
    }

    // Serve - verify_service(): false when the client went away.
    public bool Serve(AttrStream client)
    {
        var v = new AttrValue[1];
        if (client.Receive([AttrSpec.Str(MailProto.AttrReq)], v, AttrFlags.More | AttrFlags.Strict) != 1)
            return false;
        var request = v[0].Str;
        if (request == "update")
            return Update(client);
        if (request == "query")
            return Query(client);
        Msg.Warn($"unrecognized request: \"{request}\", ignored");
        return client.Send(w => w.Int(MailProto.AttrStatus, VrfyBad));
    }

    // MakeEntry - verify_make_entry().
    internal static string MakeEntry(int status, long probed, long updated, string text) =>
        string.Create(CultureInfo.InvariantCulture, $"{status}:{probed}:{updated}:{text}");

    // ParseEntry - verify_parse_entry().
    internal static bool ParseEntry(string raw, out int status, out long probed, out long updated, out string text)
    {
        status = 0;
        probed = updated = 0;
        text = "";
        var parts = raw.Split(':', 4);
        if (parts.Length == 4 && AllDigits(parts[0]) && AllDigits(parts[1]) && AllDigits(parts[2]))
        {
            probed = long.Parse(parts[1], CultureInfo.InvariantCulture);
            updated = long.Parse(parts[2], CultureInfo.InvariantCulture);
            status = int.Parse(parts[0], CultureInfo.InvariantCulture);
            text = parts[3];
            if (status is StatOk or StatDefer or StatBounce or StatTodo && (probed != 0 || updated != 0))
                return true;
        }
        Msg.Warn($"bad address verify table entry: {(raw.Length > 100 ? raw[..100] : raw)}");
        return false;
    }

    private static bool AllDigits(string s)
    {
        if (s.Length == 0)
            return false;
        foreach (var c in s)
        {
            if (!char.IsAsciiDigit(c))
                return false;
        }
        return true;
    }

    private static string? StatusName(int status) => status switch
    {
        StatOk => "deliverable",
        StatDefer or StatBounce => "undeliverable",
        _ => null,
    };

    // Update - verify_update_service().
    private bool Update(AttrStream client)
    {
        var v = new AttrValue[3];
        if (client.Receive([AttrSpec.Str(MailProto.AttrAddr), AttrSpec.Int(AttrAddrStatus), AttrSpec.Str(MailProto.AttrWhy)],
                v, AttrFlags.Strict) != 3)
            return false;
        var addr = v[0].Str.Replace(':', '_');
        var status = v[1].Int;
        if (StatusName(status) == null)
        {
            Msg.Warn($"bad recipient status {status} for recipient {addr}");
            return client.Send(w => w.Int(MailProto.AttrStatus, VrfyBad));
        }
        string? raw;
        if (status == StatOk || (raw = CacheLookup(addr)) == null || AtoI(raw) != StatOk)
        {
            var text = Msg.Printable(v[2].Str);
            var updated = now();
            if (Msg.Verbose > 0)
                Msg.Info($"PUT {addr} status={status} probed=0 updated={updated} text={text}");
            CacheUpdate(addr, MakeEntry(status, 0, updated, text));
        }
        return client.Send(w => w.Int(MailProto.AttrStatus, VrfyOk));
    }

    // Query - verify_query_service().
    private bool Query(AttrStream client)
    {
        var v = new AttrValue[1];
        if (client.Receive([AttrSpec.Str(MailProto.AttrAddr)], v, AttrFlags.Strict) != 1)
            return false;
        var t = now();
        var addr = v[0].Str.Replace(':', '_');
        var raw = CacheLookup(addr);
        int status = 0;
        long probed = 0, updated = 0;
        var text = "";
        if (raw == null || !ParseEntry(raw, out status, out probed, out updated, out text)
            || (t - probed > ProbeTtl && (PositiveExpired(status, updated, t) || NegativeExpired(status, updated, t))))
        {
            status = StatTodo;
            probed = updated = 0;
            text = "Address verification in progress";
            if (raw != null && !settings.NegativeCache)
                CacheDelete(addr);
        }
        if (Msg.Verbose > 0)
            Msg.Info($"GOT {addr} status={status} probed={probed} updated={updated} text={text}");
        var sent = client.Send(w => w.Int(MailProto.AttrStatus, VrfyOk).Int(AttrAddrStatus, status).Str(MailProto.AttrWhy, text));
        if (t - probed > ProbeTtl
            && ((status == StatOk && updated + settings.PositiveRefresh < t)
                || (status != StatOk && updated + settings.NegativeRefresh < t)))
        {
            if (Msg.Verbose > 0)
                Msg.Info($"PROBE {addr} status={status} probed={t} updated={updated}");
            probe(SenderAddress(t), addr);
            if (updated != 0 || settings.NegativeCache)
            {
                if (Msg.Verbose > 0)
                    Msg.Info($"PUT {addr} status={status} probed={t} updated={updated} text={text}");
                CacheUpdate(addr, MakeEntry(status, t, updated, text));
            }
        }
        return sent;
    }

    private bool PositiveExpired(int status, long updated, long t) => status == StatOk && updated + settings.PositiveExpire < t;

    private bool NegativeExpired(int status, long updated, long t) => status != StatOk && updated + settings.NegativeExpire < t;

    // SenderAddress - make_verify_sender_addr().
    internal string SenderAddress(long t)
    {
        var sender = settings.Sender;
        if (sender.Length == 0 || sender == "<>")
            return "";
        if (sender[0] == '@')
            Msg.Fatal($"parameter address_verify_sender: value \"{sender}\" must not start with '@'");
        var at = sender.IndexOf('@', StringComparison.Ordinal);
        if (at >= 0 && at == sender.Length - 1)
            Msg.Fatal($"parameter address_verify_sender: value \"{sender}\" must not end with '@'");
        var addr = sender;
        if (settings.SenderTtl > 0)
        {
            var local = at >= 0 ? sender[..at] : sender;
            var domain = at >= 0 ? sender[at..] : "";
            addr = local + SafeUlToStr((ulong)(t / settings.SenderTtl), 31) + domain;
        }
        return SenderRewrite(addr);
    }

    // SafeUlToStr - safe_ultostr() without padding: digits from a
    // base-52 alphabet without vowels.
    private static string SafeUlToStr(ulong value, int radix)
    {
        const string digits = "0123456789BCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz";
        var sb = new System.Text.StringBuilder();
        do
        {
            sb.Insert(0, digits[(int)(value % (ulong)radix)]);
            value /= (ulong)radix;
        }
        while (value != 0);
        return sb.ToString();
    }

    private static int AtoI(string s)
    {
        var i = 0;
        var n = 0;
        while (i < s.Length && char.IsAsciiDigit(s[i]))
            n = n * 10 + (s[i++] - '0');
        return n;
    }
}
