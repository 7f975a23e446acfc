namespace KvStore.Client.Recipes;

/// <summary>
/// A read-write lock (ZooKeeper's shared-lock recipe): any number of readers, or one writer, in
/// first-come-first-served order. Readers put <c>NAME/r-…</c> keys and writers <c>NAME/w-…</c>,
/// bound to their leases; a reader holds once no writer key is older than its own, a writer once
/// its key is the oldest of all. A writer waiting behind readers blocks the readers that come
/// after it, so writers are not starved.
/// </summary>
/// <remarks>
/// A reader waits for the deletion of the newest writer key ahead of it; a writer for the key
/// just ahead of it — one watch each, so a release wakes only who it concerns. Guard writes made
/// under the write lock with <see cref="QueueHold.Fence"/>.
/// </remarks>
/// <example>
/// <code>
/// var rw = new DistributedReadWriteLock(client, "catalog/lock");
/// await using (QueueHold write = await rw.AcquireWriteAsync(lease.Id))
/// {
///     await client.Txn().If(write.Fence).Then(Op.Put("catalog/v", "2")).CommitAsync();
/// }
/// </code>
/// </example>
public sealed class DistributedReadWriteLock
{
    private const string ReaderKind = "r";
    private const string WriterKind = "w";

    private readonly KvStoreClient _client;
    private readonly string _prefix;

    /// <summary>Creates the lock <paramref name="name"/> (no call is made).</summary>
    public DistributedReadWriteLock(KvStoreClient client, string name)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentException.ThrowIfNullOrEmpty(name);
        _client = client;
        Name = name;
        _prefix = name + "/";
    }

    /// <summary>The lock's name (its keys live under NAME/).</summary>
    public string Name { get; }

    /// <summary>Waits for a shared (read) hold bound to <paramref name="lease"/>.</summary>
    /// <exception cref="RecipeKeyLostException">The lease ended while waiting.</exception>
    public Task<QueueHold> AcquireReadAsync(long lease, CancellationToken cancellationToken = default) =>
        KeyQueue.AcquireAsync(_client, _prefix, ReaderKind, lease, ahead =>
        {
            KvPair? writer = ahead.LastOrDefault(kv => KeyQueue.IsKind(kv, _prefix, WriterKind));
            return writer is null ? null : (writer.KeyString, false);
        }, cancellationToken);

    /// <summary>Waits for the exclusive (write) hold bound to <paramref name="lease"/>.</summary>
    /// <exception cref="RecipeKeyLostException">The lease ended while waiting.</exception>
    public Task<QueueHold> AcquireWriteAsync(long lease, CancellationToken cancellationToken = default) =>
        KeyQueue.AcquireAsync(_client, _prefix, WriterKind, lease, ahead => ahead.Count == 0 ? null : (ahead[^1].KeyString, false), cancellationToken);
}
