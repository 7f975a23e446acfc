namespace KvStore.Server.Watch;

/// <summary>Tuning of a <see cref="WatchHub"/>; each value says why it is what it is.</summary>
public sealed record WatchHubOptions
{
    /// <summary>
    /// Revisions read from the event index at once, by the live dispatcher and by each catching-up
    /// watcher: bounds the memory one read holds (a revision holds one command's events).
    /// </summary>
    public int MaxRevisionsPerRead { get; init; } = 512;

    /// <summary>
    /// Catching-up watchers reading history at the same time. A connection whose push queue
    /// filled detaches all its busy watchers at once; without a bound they would all scan the
    /// event index together and starve the live dispatcher of disk and CPU.
    /// </summary>
    public int MaxConcurrentHistoryReads { get; init; } = 4;

    /// <summary>How often an idle watch that asked for progress notifications gets one (etcd: 10 minutes; ours is cheap).</summary>
    public TimeSpan ProgressInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The clock of the progress timer (the node's, so the fault harness can skew it).</summary>
    public TimeProvider Clock { get; init; } = TimeProvider.System;

    /// <summary>Cluster id stamped on every pushed header.</summary>
    public ulong ClusterId { get; init; }

    /// <summary>Member id stamped on every pushed header.</summary>
    public ulong MemberId { get; init; }

    /// <summary>Raft group whose store the hub watches.</summary>
    public ulong GroupId { get; init; } = 1;

    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxRevisionsPerRead);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxConcurrentHistoryReads);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(ProgressInterval, TimeSpan.Zero);
        ArgumentNullException.ThrowIfNull(Clock);
    }
}
