using System.Globalization;

namespace KvStore.Client.Recipes;

/// <summary>
/// The queue under a prefix that the semaphore and the read-write lock share (ZooKeeper's
/// recipes, with create revisions in place of sequence numbers): each contender puts a key with a
/// unique name under the prefix, bound to its lease, and its place in line is the key's create
/// revision. A contender waits for the deletion of a key ahead of it that blocks it, then looks
/// again; the rule names the one key whose deletion can change the answer, so releases do not wake
/// every waiter (ZooKeeper's herd effect), except where the rule needs any deletion ahead.
/// </summary>
internal static class KeyQueue
{
    /// <summary>What blocks the contender: the key (or prefix) whose deletion to wait for, or null when the place is granted.</summary>
    /// <param name="ahead">The keys created before the contender's, oldest first.</param>
    public delegate (string Key, bool Prefix)? BlockerRule(IReadOnlyList<KvPair> ahead);

    /// <summary>Joins the queue under <paramref name="prefix"/> with a key named by <paramref name="kind"/> and waits until <paramref name="blocker"/> says it is granted.</summary>
    public static async Task<QueueHold> AcquireAsync(KvStoreClient client, string prefix, string kind, long lease, BlockerRule blocker, CancellationToken cancellationToken)
    {
        if (lease == 0)
        {
            throw new ArgumentException("a recipe's key is bound to a lease; grant one first", nameof(lease));
        }

        string key = prefix + kind + "-" + ((ulong)lease).ToString("x16", CultureInfo.InvariantCulture) + "-" + Guid.NewGuid().ToString("N")[..12];
        PutResult put = await client.PutAsync(key, string.Empty, new PutOptions { Lease = lease }, cancellationToken).ConfigureAwait(false);
        long createRevision = put.Header.Revision;
        try
        {
            while (true)
            {
                RangeResult line = await client.RangeAsync(RangeOptions.ForPrefix(prefix), cancellationToken).ConfigureAwait(false);
                List<KvPair> ordered = line.Kvs.OrderBy(kv => kv.CreateRevision).ToList();
                int mine = ordered.FindIndex(kv => kv.KeyString == key);
                if (mine < 0 || ordered[mine].CreateRevision != createRevision)
                {
                    throw new RecipeKeyLostException(key);
                }

                if (blocker(ordered.GetRange(0, mine)) is not { } ahead)
                {
                    return new QueueHold(client, key, createRevision, lease);
                }

                await KeyChangeWaiter.WaitForDeleteAsync(client, ahead.Key, ahead.Prefix, line.Header.Revision, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is not RecipeKeyLostException)
        {
            // Leave the line so nobody waits behind a contender that gave up; the lease bounds how
            // long the key could stay if even this fails.
            await DeleteQuietlyAsync(client, key).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Whether a queue key was put by a contender of <paramref name="kind"/>.</summary>
    public static bool IsKind(KvPair kv, string prefix, string kind) =>
        kv.KeyString.AsSpan(prefix.Length).StartsWith(kind + "-", StringComparison.Ordinal);

    private static async Task DeleteQuietlyAsync(KvStoreClient client, string key)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await client.DeleteAsync(key, cancellationToken: timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is KvStoreException or OperationCanceledException)
        {
            // Best effort: the lease deletes the key when it ends.
        }
    }
}
