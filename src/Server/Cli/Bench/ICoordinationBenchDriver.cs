namespace KvStore.Server.Cli.Bench;

/// <summary>One system under test as the coordination benchmarks see it: leases and locks, on a connection chosen by index.</summary>
internal interface ICoordinationBenchDriver : IAsyncDisposable
{
    /// <summary>Grants a lease of <paramref name="ttlSeconds"/> over connection <paramref name="connection"/>; with <paramref name="keepAlive"/> the driver renews it until disposed.</summary>
    Task<long> GrantLeaseAsync(int connection, int ttlSeconds, bool keepAlive, CancellationToken cancellationToken);

    /// <summary>Waits for lock <paramref name="name"/> bound to <paramref name="lease"/>; returns the holder key.</summary>
    Task<byte[]> LockAsync(int connection, byte[] name, long lease, CancellationToken cancellationToken);

    /// <summary>Releases the lock held by <paramref name="key"/>.</summary>
    Task UnlockAsync(int connection, byte[] key, CancellationToken cancellationToken);

    /// <summary>How many kept-alive leases the driver's keep-alive found gone (lost) so far.</summary>
    long LostLeases { get; }

    /// <summary>The longest time one renewal round of the driver's own keep-alive took (null when the SDK renews): longer than a third of the TTL means the benchmark's client fell behind.</summary>
    TimeSpan? SlowestRenewalRound { get; }

    /// <summary>The ids of every lease the cluster has now.</summary>
    Task<IReadOnlySet<long>> ListLeasesAsync(CancellationToken cancellationToken);
}
