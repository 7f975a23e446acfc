using System.Diagnostics;

namespace KvStore.Jepsen.Linearizability;

/// <summary>
/// How long a check may search. Linearizability checking is NP-complete (Gibbons and Korach), so a
/// pathological history can take forever; past the budget the verdict is
/// <see cref="Verdict.Unknown"/> rather than a guess.
/// </summary>
public sealed class CheckBudget
{
    private readonly long _deadline;
    private readonly CancellationToken _cancellation;

    /// <param name="limit">Wall-clock time allowed from now; null for no limit.</param>
    /// <param name="cancellation">Stops the search early, with an unknown verdict.</param>
    public CheckBudget(TimeSpan? limit, CancellationToken cancellation = default)
    {
        if (limit is { } span && span < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(limit), span, "a time budget cannot be negative");
        }
        _deadline = limit is { } l
            ? Stopwatch.GetTimestamp() + (long)Math.Min(l.TotalSeconds * Stopwatch.Frequency, long.MaxValue / 2)
            : long.MaxValue;
        _cancellation = cancellation;
    }

    /// <summary>A budget that never runs out.</summary>
    public static CheckBudget Unlimited => new(null);

    /// <summary>True once the deadline has passed or the token is cancelled.</summary>
    public bool IsExhausted => _cancellation.IsCancellationRequested || Stopwatch.GetTimestamp() > _deadline;
}
