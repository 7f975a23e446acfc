using System.Globalization;

namespace KvStore.Jepsen.Workloads;

/// <summary>
/// Judges a grow-only set run, as Jepsen's set-full checker does: lost = acknowledged adds
/// missing from the final read; unexpected = elements read that were never attempted;
/// duplicated = elements the final read returned more than once; stale = reads that miss an
/// element whose add was acknowledged before the read was invoked. Any of them is invalid.
/// Adds of unknown outcome may or may not appear; those that do are counted as recovered.
/// </summary>
public static class SetChecker
{
    public const string Name = "set (lost, stale, duplicated)";

    /// <param name="attempted">Every element an add was invoked for.</param>
    /// <param name="acknowledgedAt">Acknowledged elements and the run-clock time of their acknowledgement.</param>
    /// <param name="unknown">Elements whose add ended in :info.</param>
    /// <param name="reads">Successful reads during the run: invocation time and the elements seen.</param>
    /// <param name="final">The final read, or null if it never succeeded (verdict unknown).</param>
    public static CheckerResult Check(
        IReadOnlySet<long> attempted,
        IReadOnlyDictionary<long, long> acknowledgedAt,
        IReadOnlySet<long> unknown,
        IReadOnlyList<(long InvokedAt, IReadOnlySet<long> Seen)> reads,
        IReadOnlyList<long>? final,
        IDictionary<string, object> details)
    {
        details["attempted"] = attempted.Count;
        details["acknowledged"] = acknowledgedAt.Count;
        details["unknownOutcome"] = unknown.Count;
        details["reads"] = reads.Count;
        if (final is null)
        {
            return new CheckerResult(Name, CheckerVerdict.Unknown, "the final read never succeeded", new Dictionary<string, object>(details));
        }

        var finalSet = final.ToHashSet();
        long[] lost = acknowledgedAt.Keys.Where(e => !finalSet.Contains(e)).Order().ToArray();
        long[] unexpected = finalSet.Where(e => !attempted.Contains(e)).Order().ToArray();
        long[] duplicated = final.GroupBy(e => e).Where(g => g.Count() > 1).Select(g => g.Key).Order().ToArray();
        int recovered = unknown.Count(finalSet.Contains);
        var staleReads = new List<string>();
        foreach ((long invokedAt, IReadOnlySet<long> seen) in reads)
        {
            long[] missed = acknowledgedAt.Where(a => a.Value < invokedAt && !seen.Contains(a.Key)).Select(a => a.Key).Order().ToArray();
            if (missed.Length > 0)
            {
                staleReads.Add(string.Create(CultureInfo.InvariantCulture, $"read at {invokedAt / 1e9:0.000} s misses {missed.Length} acknowledged element(s), e.g. {string.Join(",", missed.Take(5))}"));
            }
        }

        details["finalSize"] = final.Count;
        details["lost"] = lost;
        details["unexpected"] = unexpected;
        details["duplicated"] = duplicated;
        details["recovered"] = recovered;
        details["staleReads"] = staleReads;
        bool valid = lost.Length == 0 && unexpected.Length == 0 && duplicated.Length == 0 && staleReads.Count == 0;
        string summary = string.Create(CultureInfo.InvariantCulture,
            $"{acknowledgedAt.Count} acknowledged, final read {final.Count}: {lost.Length} lost, {unexpected.Length} unexpected, {duplicated.Length} duplicated, {staleReads.Count} stale reads, {recovered} of {unknown.Count} unknown recovered");
        return new CheckerResult(Name, valid ? CheckerVerdict.Valid : CheckerVerdict.Invalid, summary, new Dictionary<string, object>(details));
    }
}
