namespace KvStore.Client.Recipes;

/// <summary>
/// A barrier (ZooKeeper's simple barrier): while one key exists, everybody who calls
/// <see cref="WaitAsync"/> waits; deleting it releases them all at once. Useful to hold workers
/// back until a coordinator has finished a step.
/// </summary>
/// <example>
/// <code>
/// var gate = new DistributedBarrier(client, "jobs/gate");
/// await gate.HoldAsync(lease.Id);   // coordinator
/// await gate.WaitAsync();           // workers: block until the coordinator calls ReleaseAsync
/// </code>
/// </example>
public sealed class DistributedBarrier
{
    private readonly KvStoreClient _client;

    /// <summary>Creates the barrier at <paramref name="key"/> (no call is made).</summary>
    public DistributedBarrier(KvStoreClient client, string key)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentException.ThrowIfNullOrEmpty(key);
        _client = client;
        Key = key;
    }

    /// <summary>The barrier key.</summary>
    public string Key { get; }

    /// <summary>Raises the barrier. With a <paramref name="lease"/>, the barrier falls by itself when the lease ends (the holder died).</summary>
    public async Task HoldAsync(long lease = 0, CancellationToken cancellationToken = default) =>
        await _client.PutAsync(Key, string.Empty, new PutOptions { Lease = lease }, cancellationToken).ConfigureAwait(false);

    /// <summary>Drops the barrier, releasing every waiter.</summary>
    public async Task ReleaseAsync(CancellationToken cancellationToken = default) =>
        await _client.DeleteAsync(Key, cancellationToken: cancellationToken).ConfigureAwait(false);

    /// <summary>Returns once the barrier is down (at once if it is not raised).</summary>
    public async Task WaitAsync(CancellationToken cancellationToken = default)
    {
        RangeResult now = await _client.RangeAsync(RangeOptions.ForKey(Key), cancellationToken).ConfigureAwait(false);
        if (now.Kvs.Count > 0)
        {
            await KeyChangeWaiter.WaitForDeleteAsync(_client, Key, prefix: false, now.Header.Revision, cancellationToken).ConfigureAwait(false);
        }
    }
}
