namespace KvStore.Client.Recipes;

/// <summary>Settings of a <see cref="LeaderElection"/>.</summary>
public sealed record LeaderElectionOptions
{
    /// <summary>
    /// The TTL of the lease each campaign is bound to: how long after this process dies (or is cut
    /// off) another candidate can take over. Must be at least the cluster's minimum lease TTL.
    /// </summary>
    public TimeSpan LeaseTtl { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long to wait before campaigning again after the cluster could not be reached.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromSeconds(1);
}
