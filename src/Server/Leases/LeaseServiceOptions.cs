namespace KvStore.Server.Leases;

/// <summary>Timing of a <see cref="LeaseService"/>.</summary>
public sealed record LeaseServiceOptions
{
    /// <summary>
    /// The group's (base) election timeout. A new leader grants each lease its checkpointed
    /// remaining TTL plus this (time for clients to find it), and charges this much to the record
    /// at once: an election cannot happen faster, so repeated elections always use up TTL.
    /// </summary>
    public TimeSpan ElectionTimeout { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How often the service looks at leadership and deadlines; expiry is late by at most this.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// How often remaining TTLs are compared with their records, and the drift tolerated: a lease
    /// nobody renewed for half its TTL is checkpointed when its record is more than this above the
    /// truth, so after a leader change it gets at most this much extra.
    /// </summary>
    public TimeSpan CheckpointInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Checkpoints per proposed command (a command of 1,000 is about 15 KB).</summary>
    public int CheckpointBatchSize { get; init; } = 1_000;

    /// <summary>Leases whose expiry is proposed and not yet applied, at most (a mass expiry proceeds in waves).</summary>
    public int MaxRevocationsInFlight { get; init; } = 20_000;

    /// <summary>
    /// Leases expired by one command. Each command is one revision deleting all their keys; a
    /// batch keeps a mass expiry (100,000 leases granted together) from taking a Raft round per lease.
    /// </summary>
    public int ExpiryBatchSize { get; init; } = 500;

    /// <summary>How often the leader looks for records of long-ended leases to drop.</summary>
    public TimeSpan ForgetInterval { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Records of leases ended longer ago than this are dropped; the state machine re-checks with its own clock and option (<see cref="Mvcc.KvStateMachineOptions.EndedLeaseRetention"/>).</summary>
    public TimeSpan EndedLeaseRetention { get; init; } = TimeSpan.FromHours(1);

    public TimeProvider Clock { get; init; } = TimeProvider.System;

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(ElectionTimeout, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(PollInterval, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(CheckpointInterval, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(CheckpointBatchSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxRevocationsInFlight, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(ExpiryBatchSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(ForgetInterval, TimeSpan.Zero);
        ArgumentNullException.ThrowIfNull(Clock);
    }
}
