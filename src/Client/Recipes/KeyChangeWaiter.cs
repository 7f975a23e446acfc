using KvStore.Client.Watch;

namespace KvStore.Client.Recipes;

/// <summary>
/// The one place the recipes wait: a watch started just after the revision the caller's last
/// read saw, so a change made between that read and the watch is replayed from history rather
/// than missed (etcd's "watch from rev+1" rule). Nothing polls.
/// </summary>
internal static class KeyChangeWaiter
{
    /// <summary>Returns once <paramref name="key"/> (or any key under it, with <paramref name="prefix"/>) is deleted after <paramref name="afterRevision"/>.</summary>
    public static Task WaitForDeleteAsync(KvStoreClient client, string key, bool prefix, long afterRevision, CancellationToken cancellationToken) =>
        WaitAsync(client, key, new WatchOptions { Prefix = prefix, NoPut = true, StartRevision = afterRevision + 1 }, cancellationToken);

    /// <summary>Returns once <paramref name="key"/> is written after <paramref name="afterRevision"/>.</summary>
    public static Task WaitForPutAsync(KvStoreClient client, string key, long afterRevision, CancellationToken cancellationToken) =>
        WaitAsync(client, key, new WatchOptions { NoDelete = true, StartRevision = afterRevision + 1 }, cancellationToken);

    private static async Task WaitAsync(KvStoreClient client, string key, WatchOptions options, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (WatchBatch batch in client.Watch(key, options, cancellationToken).ConfigureAwait(false))
            {
                if (batch.Events.Count > 0)
                {
                    return;
                }
            }
        }
        catch (WatchCompactedException)
        {
            // The history since the caller's read is compacted away, so the key changed since:
            // returning makes the caller read the state again, which is what a delivered event does.
        }

        cancellationToken.ThrowIfCancellationRequested();
    }
}
