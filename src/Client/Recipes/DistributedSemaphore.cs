namespace KvStore.Client.Recipes;

/// <summary>
/// A counting semaphore: at most <see cref="Permits"/> holders at once, served first come, first
/// served. Each permit is a key under <c>NAME/</c> bound to the holder's lease; the holders are
/// the <see cref="Permits"/> oldest keys (by create revision), so a crashed holder's permit comes
/// back when its lease ends.
/// </summary>
/// <remarks>
/// Every client must use the same <see cref="Permits"/> for a name: the count is not stored.
/// A waiter waits (on a watch) for any deletion under the prefix and then counts again.
/// </remarks>
/// <example>
/// <code>
/// await using Lease lease = await client.Leases.GrantAsync(TimeSpan.FromSeconds(10));
/// var downloads = new DistributedSemaphore(client, "limits/downloads", permits: 4);
/// await using QueueHold permit = await downloads.AcquireAsync(lease.Id);
/// // at most four processes are here at once
/// </code>
/// </example>
public sealed class DistributedSemaphore
{
    private readonly KvStoreClient _client;
    private readonly string _prefix;

    /// <summary>Creates the semaphore <paramref name="name"/> with <paramref name="permits"/> permits (no call is made).</summary>
    public DistributedSemaphore(KvStoreClient client, string name, int permits)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentOutOfRangeException.ThrowIfLessThan(permits, 1);
        _client = client;
        Name = name;
        Permits = permits;
        _prefix = name + "/";
    }

    /// <summary>The semaphore's name (its keys live under NAME/).</summary>
    public string Name { get; }

    /// <summary>How many holders may hold a permit at once.</summary>
    public int Permits { get; }

    /// <summary>Waits for a permit, bound to <paramref name="lease"/>; dispose the result to give it back.</summary>
    /// <exception cref="RecipeKeyLostException">The lease ended while waiting.</exception>
    public Task<QueueHold> AcquireAsync(long lease, CancellationToken cancellationToken = default) =>
        KeyQueue.AcquireAsync(_client, _prefix, "p", lease, ahead => ahead.Count < Permits ? null : (_prefix, true), cancellationToken);

    /// <summary>How many permits are held or waited for right now.</summary>
    public async Task<long> CountAsync(CancellationToken cancellationToken = default)
    {
        RangeResult result = await _client.RangeAsync(RangeOptions.ForPrefix(_prefix) with { CountOnly = true }, cancellationToken).ConfigureAwait(false);
        return result.Count;
    }
}
