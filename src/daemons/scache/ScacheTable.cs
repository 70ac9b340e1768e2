// NAME
//	ScacheTable - the multi-session connection cache of scache(8)
// POSTFIX
//	src/global/scache_multi.c
// DESCRIPTION
//	Two tables with a time to live on every entry. The endpoint table
//	maps an endpoint label to the idle connections saved under it
//	(a descriptor and the client's endpoint properties each); the
//	destination table maps a destination label to endpoint labels
//	(with the client's destination properties). Lookups take the
//	oldest entry first, and a connection found is removed: the caller
//	owns the descriptor. Saving a destination binding that exists
//	already (same endpoint label and properties) only renews its time
//	to live. Expired connections are closed without any goodbye.
//	Time is a monotonic millisecond clock the caller supplies.
using System;
using System.Collections.Generic;

namespace Postfix.Daemons.Scache;

internal sealed class ScacheTable
{
    private sealed class Session
    {
        public required int Fd;
        public required string EndpProp;
        public required long Expires;
    }

    private sealed class Binding
    {
        public required string EndpLabel;
        public required string DestProp;
        public required long Expires;
    }

    private readonly Dictionary<string, LinkedList<Session>> endpoints = new(StringComparer.Ordinal);
    private readonly Dictionary<string, LinkedList<Binding>> destinations = new(StringComparer.Ordinal);
    private readonly Func<long> clock;
    private readonly Action<int> closeFd;

    public ScacheTable(Func<long> clock, Action<int> closeFd)
    {
        this.clock = clock;
        this.closeFd = closeFd;
    }

    // DestCount, EndpCount, SessCount - scache_size(): the labels and
    // connections held now.
    public int DestCount => destinations.Count;

    public int EndpCount => endpoints.Count;

    public int SessCount { get; private set; }

    // SaveEndp - keep fd under the endpoint label for ttl seconds.
    public void SaveEndp(int ttlSeconds, string endpLabel, string endpProp, int fd)
    {
        if (!endpoints.TryGetValue(endpLabel, out var list))
            endpoints[endpLabel] = list = new LinkedList<Session>();
        list.AddLast(new Session { Fd = fd, EndpProp = endpProp, Expires = clock() + ttlSeconds * 1000L });
        SessCount++;
    }

    // FindEndp - the oldest connection under the label, removed from the
    // cache; -1 when there is none.
    public int FindEndp(string endpLabel, out string endpProp)
    {
        endpProp = "";
        if (!endpoints.TryGetValue(endpLabel, out var list) || list.First == null)
            return -1;
        var session = list.First.Value;
        list.RemoveFirst();
        SessCount--;
        if (list.Count == 0)
            endpoints.Remove(endpLabel);
        endpProp = session.EndpProp;
        return session.Fd;
    }

    // SaveDest - bind the destination label to an endpoint label for ttl
    // seconds; an identical binding gets the new expiry.
    public void SaveDest(int ttlSeconds, string destLabel, string destProp, string endpLabel)
    {
        if (!destinations.TryGetValue(destLabel, out var list))
            destinations[destLabel] = list = new LinkedList<Binding>();
        var expires = clock() + ttlSeconds * 1000L;
        foreach (var b in list)
        {
            if (b.EndpLabel == endpLabel && b.DestProp == destProp)
            {
                b.Expires = expires;
                return;
            }
        }
        list.AddLast(new Binding { EndpLabel = endpLabel, DestProp = destProp, Expires = expires });
    }

    // FindDest - a connection of the first bound endpoint that has one.
    public int FindDest(string destLabel, out string destProp, out string endpProp)
    {
        destProp = "";
        endpProp = "";
        if (!destinations.TryGetValue(destLabel, out var list))
            return -1;
        foreach (var b in list)
        {
            var fd = FindEndp(b.EndpLabel, out endpProp);
            if (fd >= 0)
            {
                destProp = b.DestProp;
                return fd;
            }
        }
        return -1;
    }

    // ExpireDue - drop every entry whose time is up.
    public void ExpireDue()
    {
        var now = clock();
        List<string>? empty = null;
        foreach (var (label, list) in endpoints)
        {
            for (var node = list.First; node != null;)
            {
                var next = node.Next;
                if (node.Value.Expires <= now)
                {
                    list.Remove(node);
                    SessCount--;
                    closeFd(node.Value.Fd);
                }
                node = next;
            }
            if (list.Count == 0)
                (empty ??= new()).Add(label);
        }
        if (empty != null)
        {
            foreach (var label in empty)
                endpoints.Remove(label);
            empty.Clear();
        }
        foreach (var (label, list) in destinations)
        {
            for (var node = list.First; node != null;)
            {
                var next = node.Next;
                if (node.Value.Expires <= now)
                    list.Remove(node);
                node = next;
            }
            if (list.Count == 0)
                (empty ??= new()).Add(label);
        }
        if (empty != null)
            foreach (var label in empty)
                destinations.Remove(label);
    }

    // NextExpiry - the earliest expiry time, or long.MaxValue.
    public long NextExpiry()
    {
        var next = long.MaxValue;
        foreach (var list in endpoints.Values)
            foreach (var s in list)
                next = Math.Min(next, s.Expires);
        foreach (var list in destinations.Values)
            foreach (var b in list)
                next = Math.Min(next, b.Expires);
        return next;
    }
}
