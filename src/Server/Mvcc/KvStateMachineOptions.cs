namespace KvStore.Server.Mvcc;

/// <summary>Settings of a <see cref="KvStateMachine"/>. Every replica of a group must use the same values: they shape the replicated state.</summary>
public sealed record KvStateMachineOptions
{
    /// <summary>
    /// A session untouched for this long (by the issued_at clock of later commands) is dropped.
    /// 15 minutes outlasts any client retry deadline and leader failover by far, while a crashed
    /// client's session (one record) does not linger for long.
    /// </summary>
    public TimeSpan SessionTtl { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>
    /// How long an expired session's id is remembered, so that its late retries get SESSION_EXPIRED
    /// instead of being applied again as a new session. 24 hours of markers are 26 bytes each.
    /// </summary>
    public TimeSpan ExpiredSessionRetention { get; init; } = TimeSpan.FromHours(24);

    /// <summary>
    /// The smallest lease TTL a grant may ask for (rounded up to whole seconds). It must exceed the
    /// time a leader change takes, or a lease could end while its holder looks for the new leader:
    /// etcd's rule of three election timeouts; the node sets it from its Raft timing.
    /// </summary>
    public TimeSpan MinLeaseTtl { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>
    /// How long the record of an ended lease (how and when it ended, read by the lock service's
    /// lock-delay) is kept before the leader's lease service may drop it. An hour outlasts any
    /// lock-delay by far; the records of a busy cluster's ended leases do not pile up forever.
    /// </summary>
    public TimeSpan EndedLeaseRetention { get; init; } = TimeSpan.FromHours(1);

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(EndedLeaseRetention, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(MinLeaseTtl, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(SessionTtl, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(ExpiredSessionRetention, TimeSpan.Zero);
    }
}
