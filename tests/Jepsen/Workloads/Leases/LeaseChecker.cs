using System.Globalization;

namespace KvStore.Jepsen.Workloads.Leases;

/// <summary>
/// Judges a lease run:
/// <list type="bullet">
/// <item>revoked: a read that began after the revoke was acknowledged must not find the lease's key;</item>
/// <item>expired: a lease whose holder stopped renewing must be gone — no read that began later than the last
/// renewal plus the TTL plus <c>bound</c> may find its key (no lease outlives its TTL plus the bound);</item>
/// <item>live: a lease renewed to the end keeps its key: the final read (after recovery) finds it, provided a
/// renewal was acknowledged less than a TTL before that read began.</item>
/// </list>
/// The bound covers what the design allows past the TTL: a new leader's grace (one election
/// timeout per takeover, the record charged), the time the cluster had no leader, and clock-rate
/// faults (a leader whose clock runs at half speed counts a TTL in twice the real time).
/// </summary>
public static class LeaseChecker
{
    public const string Name = "lease (revoked and expired keys gone, live keys kept)";

    public static CheckerResult Check(IReadOnlyList<LeaseLife> leases, IReadOnlyList<LeaseKeyRead> reads, TimeSpan bound)
    {
        var violations = new List<string>();
        ILookup<string, LeaseKeyRead> byKey = reads.ToLookup(r => r.Key);
        int liveChecked = 0;
        foreach (LeaseLife lease in leases)
        {
            long ttlNanos = lease.TtlMs * 1_000_000;
            switch (lease.Ending)
            {
                case LeaseEnding.Revoked:
                    if (byKey[lease.Key].FirstOrDefault(r => r.Found && r.InvokeNanos > lease.EndedNanos) is { } afterRevoke)
                    {
                        violations.Add(Invariant($"lease {lease.Lease:x}: key {lease.Key} read {Seconds(afterRevoke.InvokeNanos - lease.EndedNanos)} after its revoke was acknowledged"));
                    }

                    break;
                case LeaseEnding.Abandoned:
                    long mustBeGoneBy = lease.LastRenewedNanos + ttlNanos + bound.Ticks * 100;
                    if (byKey[lease.Key].FirstOrDefault(r => r.Found && r.InvokeNanos > mustBeGoneBy) is { } outlived)
                    {
                        violations.Add(Invariant(
                            $"lease {lease.Lease:x} (TTL {lease.TtlMs} ms, last renewed at {Seconds(lease.LastRenewedNanos)}): key {lease.Key} still read at {Seconds(outlived.InvokeNanos)}, past TTL + {bound.TotalSeconds:0.#} s"));
                    }

                    break;
                case LeaseEnding.KeptAlive:
                    if (byKey[lease.Key].FirstOrDefault(r => r.Final) is { } final && final.InvokeNanos - lease.LastRenewedNanos < ttlNanos)
                    {
                        liveChecked++;
                        if (!final.Found)
                        {
                            violations.Add(Invariant(
                                $"lease {lease.Lease:x} (TTL {lease.TtlMs} ms) was renewed at {Seconds(lease.LastRenewedNanos)}, but the final read at {Seconds(final.InvokeNanos)} did not find its key {lease.Key}"));
                        }
                    }

                    break;
            }
        }

        var details = new Dictionary<string, object>
        {
            ["leases"] = leases.Count,
            ["revoked"] = leases.Count(l => l.Ending == LeaseEnding.Revoked),
            ["abandoned"] = leases.Count(l => l.Ending == LeaseEnding.Abandoned),
            ["keptAlive"] = leases.Count(l => l.Ending == LeaseEnding.KeptAlive),
            ["liveChecked"] = liveChecked,
            ["reads"] = reads.Count,
            ["boundSeconds"] = bound.TotalSeconds,
            ["violations"] = violations,
        };
        string figures = Invariant($"{leases.Count} leases ({details["revoked"]} revoked, {details["abandoned"]} abandoned, {details["keptAlive"]} kept alive, {liveChecked} checked live at the end), {reads.Count} reads, bound {bound.TotalSeconds:0.#} s");
        return violations.Count > 0
            ? new CheckerResult(Name, CheckerVerdict.Invalid, $"{violations.Count} violations, first: {violations[0]}; {figures}", details)
            : new CheckerResult(Name, CheckerVerdict.Valid, figures, details);
    }

    private static string Seconds(long nanos) => string.Create(CultureInfo.InvariantCulture, $"{nanos / 1e9:0.000} s");

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
