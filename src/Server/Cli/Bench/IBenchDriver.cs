namespace KvStore.Server.Cli.Bench;

/// <summary>One system under test as the benchmark sees it: the three operations, on a connection chosen by index.</summary>
internal interface IBenchDriver : IAsyncDisposable
{
    /// <summary>Puts <paramref name="value"/> at <paramref name="key"/> over connection <paramref name="connection"/>.</summary>
    Task PutAsync(int connection, byte[] key, byte[] value, CancellationToken cancellationToken);

    /// <summary>Reads <paramref name="key"/>; returns its mod revision (0 if absent).</summary>
    Task<long> GetAsync(int connection, byte[] key, bool serializable, CancellationToken cancellationToken);

    /// <summary>
    /// "If mod_revision(key) == expected then put else get": returns whether the put happened and
    /// the key's mod revision afterwards (the put's revision, or the one the get saw).
    /// </summary>
    Task<(bool Swapped, long ModRevision)> CompareAndSwapAsync(int connection, byte[] key, long expectedModRevision, byte[] value, CancellationToken cancellationToken);
}
