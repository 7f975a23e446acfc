using System.Globalization;
using KvStore.Jepsen.Run;

namespace KvStore.Jepsen.Workloads.Watches;

/// <summary>
/// Judges every watcher's streams against the committed history of the watched prefix, with the
/// guarantees etcd's robustness tests check:
/// <list type="bullet">
/// <item>ordered: revisions strictly increase along a watcher's streams (a bookmark may repeat the last);</item>
/// <item>unique: no revision is delivered twice, also across a restart;</item>
/// <item>atomic: a revision's events arrive together and all of them (a transaction is never split);</item>
/// <item>reliable: no committed revision between a watcher's start and the last revision it saw is missing, and after recovery every watcher reaches the last acknowledged write;</item>
/// <item>resumable: a stream reopened at the revision after the last one seen continues without gap or repeat;</item>
/// <item>bookmarkable: after a progress bookmark at R, nothing at or below R arrives, and everything up to R has;</item>
/// <item>valid: every delivered event is a write some client made, at the revision the store acknowledged.</item>
/// </list>
/// </summary>
/// <remarks>
/// The committed history is the acknowledged writes (their revisions are known) plus the writes of
/// unknown outcome that some watcher saw: each written value is unique, so a delivered value names
/// its write. All watchers must then agree on that write's revision.
/// </remarks>
public static class WatchChecker
{
    public const string Name = "watch (ordered, unique, atomic, reliable, resumable, bookmarkable)";

    public static CheckerResult Check(IReadOnlyList<WatchedWrite> writes, IReadOnlyList<WatcherHistory> watchers)
    {
        var violations = new List<string>();
        var committed = new Dictionary<long, List<KeyChange>>();
        foreach (WatchedWrite w in writes.Where(w => w.Outcome == OperationOutcome.Ok))
        {
            Add(committed, w.Revision, w.Change);
        }

        // Unknown-outcome puts that a watcher saw took effect: at the revision it saw them. Deletes
        // of unknown outcome are attributed the same way, one unattributed delete of the key per event.
        var unknownPuts = writes.Where(w => w.Outcome == OperationOutcome.Info && w.Change.Value is not null).Select(w => w.Change).ToHashSet();
        var unknownDeletes = writes.Where(w => w.Outcome == OperationOutcome.Info && w.Change.Value is null).GroupBy(w => w.Change.Key).ToDictionary(g => g.Key, g => g.Count());
        var attributed = new Dictionary<(long Revision, KeyChange Change), bool>();
        foreach (WatchDelivery d in watchers.SelectMany(w => w.Segments).SelectMany(s => s.Deliveries).Where(d => !d.IsProgress))
        {
            foreach (KeyChange e in d.Events)
            {
                if (committed.TryGetValue(d.Revision, out List<KeyChange>? known) && known.Contains(e))
                {
                    continue;
                }

                if (attributed.ContainsKey((d.Revision, e)))
                {
                    continue;
                }

                if (e.Value is not null ? unknownPuts.Remove(e) : TakeOne(unknownDeletes, e.Key))
                {
                    attributed[(d.Revision, e)] = true;
                    Add(committed, d.Revision, e);
                }
            }
        }

        long lastAcknowledged = writes.Where(w => w.Outcome == OperationOutcome.Ok).Select(w => w.Revision).DefaultIfEmpty(0).Max();
        foreach (WatcherHistory watcher in watchers)
        {
            CheckWatcher(watcher, committed, lastAcknowledged, violations);
        }

        var details = new Dictionary<string, object>
        {
            ["watchers"] = watchers.Count,
            ["streams"] = watchers.Sum(w => w.Segments.Count),
            ["eventsDelivered"] = watchers.Sum(w => w.Segments.Sum(s => s.Deliveries.Sum(d => d.Events.Count))),
            ["bookmarks"] = watchers.Sum(w => w.Segments.Sum(s => s.Deliveries.Count(d => d.IsProgress))),
            ["committedRevisions"] = committed.Count,
            ["unknownSeen"] = attributed.Count,
            ["violations"] = violations,
        };
        string figures = string.Create(CultureInfo.InvariantCulture,
            $"{watchers.Count} watchers, {details["streams"]} streams, {details["eventsDelivered"]} events and {details["bookmarks"]} bookmarks delivered, {committed.Count} committed revisions ({attributed.Count} of unknown-outcome writes)");
        return violations.Count > 0
            ? new CheckerResult(Name, CheckerVerdict.Invalid, $"{violations.Count} violations, first: {violations[0]}; {figures}", details)
            : new CheckerResult(Name, CheckerVerdict.Valid, figures, details);
    }

    private static void CheckWatcher(WatcherHistory watcher, Dictionary<long, List<KeyChange>> committed, long lastAcknowledged, List<string> violations)
    {
        string who = $"watcher {watcher.Watcher}";
        if (watcher.Segments.Count == 0)
        {
            return;
        }

        long start = watcher.Segments[0].StartRevision;
        long last = start - 1;
        var delivered = new HashSet<long>();
        for (int s = 0; s < watcher.Segments.Count; s++)
        {
            WatchSegment segment = watcher.Segments[s];
            if (s > 0 && segment.StartRevision != last + 1)
            {
                violations.Add(Invariant($"{who}: stream {s} resumed at revision {segment.StartRevision}, not after the last one seen ({last})"));
            }

            foreach (WatchDelivery d in segment.Deliveries)
            {
                if (d.IsProgress)
                {
                    if (d.Revision < last)
                    {
                        violations.Add(Invariant($"{who}: bookmark at revision {d.Revision} after revision {last} was delivered"));
                    }

                    long? missedBefore = committed.Keys.Where(r => r >= start && r <= d.Revision && !delivered.Contains(r)).Select(r => (long?)r).Min();
                    if (missedBefore is { } missed)
                    {
                        violations.Add(Invariant($"{who}: bookmark at revision {d.Revision} although committed revision {missed} ({Describe(committed[missed])}) was never delivered"));
                    }

                    last = Math.Max(last, d.Revision);
                    continue;
                }

                if (d.Revision <= last)
                {
                    violations.Add(delivered.Contains(d.Revision)
                        ? Invariant($"{who}: revision {d.Revision} delivered twice (stream {s})")
                        : Invariant($"{who}: revision {d.Revision} delivered after revision {last} (out of order, stream {s})"));
                }

                if (!committed.TryGetValue(d.Revision, out List<KeyChange>? expected))
                {
                    violations.Add(Invariant($"{who}: revision {d.Revision} ({Describe(d.Events)}) was never written"));
                }
                else if (!SameEvents(expected, d.Events))
                {
                    violations.Add(Invariant($"{who}: revision {d.Revision} delivered as [{Describe(d.Events)}] but committed as [{Describe(expected)}] (not atomic, or wrong events)"));
                }

                delivered.Add(d.Revision);
                last = Math.Max(last, d.Revision);
            }
        }

        List<long> missing = committed.Keys.Where(r => r >= start && r <= last && !delivered.Contains(r)).Order().ToList();
        if (missing.Count > 0)
        {
            violations.Add(Invariant($"{who}: {missing.Count} committed revisions between {start} and {last} never delivered, first {missing[0]} ({Describe(committed[missing[0]])})"));
        }

        if (last < lastAcknowledged && lastAcknowledged >= start)
        {
            violations.Add(Invariant($"{who}: ended at revision {last}, short of the last acknowledged write at revision {lastAcknowledged}"));
        }
    }

    private static bool TakeOne(Dictionary<string, int> counts, string key)
    {
        if (counts.TryGetValue(key, out int left) && left > 0)
        {
            counts[key] = left - 1;
            return true;
        }

        return false;
    }

    private static bool SameEvents(IReadOnlyList<KeyChange> expected, IReadOnlyList<KeyChange> actual) =>
        expected.Count == actual.Count && expected.All(actual.Contains);

    private static void Add(Dictionary<long, List<KeyChange>> committed, long revision, KeyChange change)
    {
        if (!committed.TryGetValue(revision, out List<KeyChange>? list))
        {
            committed[revision] = list = [];
        }

        list.Add(change);
    }

    private static string Describe(IEnumerable<KeyChange> events) => string.Join(", ", events);

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
