namespace KvStore.Jepsen.Workloads.Leases;

/// <summary>How a lease's holder ended it.</summary>
public enum LeaseEnding
{
    /// <summary>Revoked, and the revoke was acknowledged at <see cref="LeaseLife.EndedNanos"/>.</summary>
    Revoked,

    /// <summary>The holder stopped renewing it at <see cref="LeaseLife.EndedNanos"/>: it must expire.</summary>
    Abandoned,

    /// <summary>Kept alive to the end of the run.</summary>
    KeptAlive,

    /// <summary>A revoke of unknown outcome: nothing can be required of the lease.</summary>
    Unknown,
}

/// <summary>
/// One lease as its holder saw it (times in run-clock ns): granted with <see cref="TtlMs"/>, its key
/// attached, renewed (the last acknowledged renewal completed at <see cref="LastRenewedNanos"/>,
/// or the grant when there was none), and ended.
/// </summary>
public sealed record LeaseLife(long Lease, string Key, long TtlMs, long GrantedNanos, long LastRenewedNanos, LeaseEnding Ending, long EndedNanos);

/// <summary>A linearizable read of a lease's key that succeeded: whether the key was there.</summary>
public sealed record LeaseKeyRead(string Key, bool Found, long InvokeNanos, long CompleteNanos, bool Final);
