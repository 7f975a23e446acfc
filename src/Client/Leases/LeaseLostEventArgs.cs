namespace KvStore.Client;

/// <summary>Why a kept-alive lease was lost (<see cref="LeaseClient.LeaseLost"/>, <see cref="Lease.Lost"/>).</summary>
public enum LeaseLossReason
{
    /// <summary>The leader answered that the lease no longer exists (it expired or someone revoked it).</summary>
    Gone,

    /// <summary>No renewal succeeded before the lease's TTL ran out from the last acknowledged one: it may have expired.</summary>
    RenewalTimedOut,
}

/// <summary>A lease the client kept alive is lost: anything it protected (locks, ephemeral keys) must be considered gone.</summary>
/// <param name="lease">The lease.</param>
/// <param name="reason">Why.</param>
public sealed class LeaseLostEventArgs(Lease lease, LeaseLossReason reason) : EventArgs
{
    /// <summary>The lost lease.</summary>
    public Lease Lease { get; } = lease;

    /// <summary>Why it is considered lost.</summary>
    public LeaseLossReason Reason { get; } = reason;
}
