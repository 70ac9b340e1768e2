// NAME
//	AnvilTable - anvil(8)'s per-client counters, rate windows and peaks
// POSTFIX
//	src/anvil/anvil.c (ANVIL_REMOTE, ANVIL_LOCAL, ANVIL_MAX)
// DESCRIPTION
//	One Remote per ident (SERVICE:CLIENT) holds the number of open
//	connections and the connection, message, recipient, new-TLS and
//	AUTH counts of the current rate window. A window starts at the
//	first event and is thrown away, not slid, once it is older than
//	the time unit. A Local stands for one anvil client (one smtpd
//	process connection) and remembers the last remote it connected,
//	so that a server that goes away without saying "disconnect" does
//	not leave a count behind. A remote whose count drops to zero is
//	forgotten one time unit later unless it connects again.
//
//	The table also keeps the peak of each measure (value, ident and
//	time) for the "statistics:" lines, and resets a peak once it has
//	been reported.
//
//	Not thread-safe: anvil serves one request at a time.
using System;
using System.Collections.Generic;
using System.Globalization;

namespace Postfix.Daemons.Anvil;

public sealed class AnvilTable
{
    public sealed class Remote
    {
        internal Remote(string ident, long now)
        {
            Ident = ident;
            Count = 1;
            Rate = 1;
            Start = now;
        }

        public string Ident { get; }
        public int Count { get; internal set; }
        public int Rate { get => Rates[(int)Measure.Conn]; private set => Rates[(int)Measure.Conn] = value; }
        public int Mail => Rates[(int)Measure.Mail];
        public int Rcpt => Rates[(int)Measure.Rcpt];
        public int NewTls => Rates[(int)Measure.NewTls];
        public int Auth => Rates[(int)Measure.Auth];

        // Rates - the event counts of the current window, by Measure.
        internal readonly int[] Rates = new int[MeasureCount];

        // Start - when the current rate window began (0: none yet).
        public long Start { get; internal set; }

        // ExpireAt - when an idle entry goes away (0: not scheduled).
        public long ExpireAt { get; internal set; }

        internal void ResetRates(long start)
        {
            Array.Clear(Rates);
            Start = start;
        }
    }

    // Measure - the rate-limited events, one window counter each.
    internal enum Measure { Conn, Mail, Rcpt, NewTls, Auth }

    private const int MeasureCount = 5;

    // Local - one anvil client connection.
    public sealed class Local
    {
        internal Remote? Linked;
    }

    private sealed class Peak
    {
        public int Value;
        public string? Ident;
        public long When;

        public void Update(int value, string ident, long when)
        {
            Value = value;
            Ident = ident;
            When = when;
        }
    }

    private readonly Dictionary<string, Remote> remotes = new(StringComparer.Ordinal);
    private readonly HashSet<Remote> expiring = [];
    private readonly Func<long> clock;
    private readonly Peak connCount = new();
    private readonly Peak[] ratePeaks = [new(), new(), new(), new(), new()]; // by Measure
    private int maxCacheSize;
    private long maxCacheTime;

    // AnvilTable - timeUnit: anvil_rate_time_unit in seconds; clock: the
    // time in seconds (event_time()).
    public AnvilTable(int timeUnit, Func<long>? clock = null)
    {
        TimeUnit = timeUnit;
        this.clock = clock ?? (() => DateTimeOffset.UtcNow.ToUnixTimeSeconds());
    }

    public int TimeUnit { get; }

    // Size - the number of remotes in the cache.
    public int Size => remotes.Count;

    public Remote? Find(string ident) => remotes.GetValueOrDefault(ident);

    private void IncrementRate(Remote r, Measure measure)
    {
        var now = clock();
        if (r.Start + TimeUnit < now)
            r.ResetRates(now);
        if (r.Rates[(int)measure] < int.MaxValue)
            r.Rates[(int)measure]++;
    }

    // UpdatePeak - remember a new highest rate of a measure.
    private int UpdatePeak(Remote r, Measure measure)
    {
        var value = r.Rates[(int)measure];
        var peak = ratePeaks[(int)measure];
        if (value > peak.Value)
            peak.Update(value, r.Ident, clock());
        return value;
    }

    private void DropOne(Remote? r)
    {
        if (r != null && r.Count > 0 && --r.Count == 0)
        {
            r.ExpireAt = clock() + TimeUnit;
            expiring.Add(r);
        }
    }

    // ConnUpdate - anvil_remote_conn_update(): count a connection and
    // link it to the local client.
    private Remote ConnUpdate(Local local, string ident)
    {
        if (!remotes.TryGetValue(ident, out var r))
        {
            r = new Remote(ident, clock());
            remotes[ident] = r;
            if (maxCacheSize < remotes.Count)
            {
                maxCacheSize = remotes.Count;
                maxCacheTime = clock();
            }
        }
        else
        {
            IncrementRate(r, Measure.Conn);
            if (r.Count == 0)
            {
                r.ExpireAt = 0;
                expiring.Remove(r);
            }
            r.Count++;
        }
        // One remote per local client: a new connect releases the old one.
        if (local.Linked != null)
            DropOne(local.Linked);
        local.Linked = r;
        return r;
    }

    // Connect - returns the connection count and rate.
    public (int Count, int Rate) Connect(Local local, string ident)
    {
        var r = ConnUpdate(local, ident);
        UpdatePeak(r, Measure.Conn);
        if (r.Count > connCount.Value)
            connCount.Update(r.Count, r.Ident, clock());
        return (r.Count, r.Rate);
    }

    // After "postfix reload" a client may send events without a connect.
    private Remote FindOrConnect(Local local, string ident) =>
        remotes.TryGetValue(ident, out var r) ? r : ConnUpdate(local, ident);

    // Mail, Rcpt, NewTls, Auth - count one event; the rate so far.
    public int Mail(Local local, string ident) => CountEvent(local, ident, Measure.Mail);

    public int Rcpt(Local local, string ident) => CountEvent(local, ident, Measure.Rcpt);

    public int NewTls(Local local, string ident) => CountEvent(local, ident, Measure.NewTls);

    public int Auth(Local local, string ident) => CountEvent(local, ident, Measure.Auth);

    private int CountEvent(Local local, string ident, Measure measure)
    {
        var r = FindOrConnect(local, ident);
        IncrementRate(r, measure);
        return UpdatePeak(r, measure);
    }

    // Stale - drop a window that is over before reporting it.
    private void Stale(Remote r)
    {
        if (r.Start != 0 && r.Start + TimeUnit < clock())
            r.ResetRates(0);
    }

    // NewTlsStatus - the new-TLS rate, without counting an event.
    public int NewTlsStatus(string ident)
    {
        if (!remotes.TryGetValue(ident, out var r))
            return 0;
        Stale(r);
        return r.NewTls;
    }

    // Lookup - all counters of one ident (zeros when unknown).
    public (int Count, int Rate, int Mail, int Rcpt, int NewTls, int Auth) Lookup(string ident)
    {
        if (!remotes.TryGetValue(ident, out var r))
            return default;
        Stale(r);
        return (r.Count, r.Rate, r.Mail, r.Rcpt, r.NewTls, r.Auth);
    }

    // Disconnect - only a connection this local client made counts.
    public void Disconnect(Local local, string ident)
    {
        if (remotes.TryGetValue(ident, out var r) && local.Linked == r)
        {
            DropOne(r);
            local.Linked = null;
        }
    }

    // ServiceDone - the local client went away.
    public void ServiceDone(Local local)
    {
        if (local.Linked != null)
            Disconnect(local, local.Linked.Ident);
    }

    // NextExpiry - the earliest scheduled expiry (0: none).
    public long NextExpiry()
    {
        long next = 0;
        foreach (var r in expiring)
        {
            if (next == 0 || r.ExpireAt < next)
                next = r.ExpireAt;
        }
        return next;
    }

    // ExpireDue - forget the idle remotes whose time has come.
    public int ExpireDue()
    {
        var now = clock();
        List<Remote>? due = null;
        foreach (var r in expiring)
        {
            if (r.ExpireAt <= now)
                (due ??= []).Add(r);
        }
        if (due == null)
            return 0;
        foreach (var r in due)
        {
            if (r.Count != 0)
                throw new InvalidOperationException($"anvil_remote_expire: bad connection count: {r.Count}");
            expiring.Remove(r);
            remotes.Remove(r.Ident);
        }
        return due.Count;
    }

    // StatusDump - anvil_status_dump(): the "statistics:" lines of the
    // peaks since the last dump; each reported peak starts over.
    public void StatusDump(Action<string> info)
    {
        PeakReport(info, ratePeaks[(int)Measure.Conn], "connection rate", $"/{TimeUnit}s");
        PeakReport(info, connCount, "connection count", "");
        PeakReport(info, ratePeaks[(int)Measure.Mail], "message rate", $"/{TimeUnit}s");
        PeakReport(info, ratePeaks[(int)Measure.Rcpt], "recipient rate", $"/{TimeUnit}s");
        PeakReport(info, ratePeaks[(int)Measure.NewTls], "newtls rate", $"/{TimeUnit}s");
        PeakReport(info, ratePeaks[(int)Measure.Auth], "auth rate", $"/{TimeUnit}s");
        if (maxCacheSize > 0)
        {
            info($"statistics: max cache size {maxCacheSize} at {CTime(maxCacheTime)}");
            maxCacheSize = 0;
        }
    }

    private static void PeakReport(Action<string> info, Peak p, string what, string unit)
    {
        if (p.Value <= 0)
            return;
        info($"statistics: max {what} {p.Value}{unit} for ({p.Ident}) at {CTime(p.When)}");
        p.Value = 0;
    }

    // CTime - ctime() without the weekday and year: "Nov  1 12:34:56".
    public static string CTime(long when)
    {
        var t = DateTimeOffset.FromUnixTimeSeconds(when).ToLocalTime();
        return string.Create(CultureInfo.InvariantCulture, $"{t:MMM} {t.Day,2} {t:HH:mm:ss}");
    }
}
