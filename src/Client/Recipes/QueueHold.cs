namespace KvStore.Client.Recipes;

/// <summary>
/// A place a queue-based recipe holds: a permit of a <see cref="DistributedSemaphore"/>, or a read
/// or write hold of a <see cref="DistributedReadWriteLock"/>. Disposing releases it.
/// </summary>
/// <remarks>
/// The place is a key bound to a lease. It is held while that key exists: once granted it stays
/// granted until it is released or its lease ends, because only keys created before it can make
/// it wait and they never come back. So <see cref="Fence"/>, which holds while the key exists with
/// its create revision, guards writes exactly as long as the place is held; a holder whose lease
/// expired (a pause longer than the TTL) has its fenced writes refused.
/// </remarks>
public sealed class QueueHold : IAsyncDisposable
{
    private readonly KvStoreClient _client;
    private int _released;

    internal QueueHold(KvStoreClient client, string key, long fencingToken, long lease)
    {
        _client = client;
        Key = key;
        FencingToken = fencingToken;
        Lease = lease;
    }

    /// <summary>The key that holds the place.</summary>
    public string Key { get; }

    /// <summary>
    /// The key's create revision: strictly larger for every later hold of the same recipe, so a
    /// service that remembers the largest token it has seen can refuse older holders.
    /// </summary>
    public long FencingToken { get; }

    /// <summary>The lease the hold is bound to; when it ends the place is released.</summary>
    public long Lease { get; }

    /// <summary>A transaction condition that holds only while this place is held.</summary>
    public TxnCondition Fence => Cmp.CreateRevision(Key) == FencingToken;

    /// <summary>Whether <see cref="ReleaseAsync"/> or <see cref="DisposeAsync"/> ran.</summary>
    public bool IsReleased => Volatile.Read(ref _released) != 0;

    /// <summary>Releases the place (deletes its key); a second call does nothing.</summary>
    public async Task ReleaseAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _released, 1) == 0)
        {
            await _client.DeleteAsync(Key, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Releases the place.</summary>
    public async ValueTask DisposeAsync() => await ReleaseAsync().ConfigureAwait(false);
}
