using System.Globalization;

namespace KvStore.Client.Recipes;

/// <summary>
/// A double barrier (ZooKeeper's recipe, as etcd's client implements it): <see cref="EnterAsync"/>
/// returns to all participants only once <see cref="Count"/> of them have entered, and
/// <see cref="LeaveAsync"/> returns to all only once every one of them has left — so a computation
/// starts and ends together.
/// </summary>
/// <remarks>
/// Layout: each participant puts <c>NAME/waiters/…</c> bound to its lease; the one that completes
/// the count puts <c>NAME/ready</c>, which the others wait for. To leave, each participant but
/// the oldest deletes its key and waits for the oldest's key to go; the oldest waits until it is
/// alone, then deletes its key and <c>NAME/ready</c>, which frees the barrier for the next round.
/// A participant whose lease ends counts as gone.
/// </remarks>
/// <example>
/// <code>
/// var round = new DistributedDoubleBarrier(client, "jobs/round", count: 3);
/// await round.EnterAsync(lease.Id);
/// // all three are working
/// await round.LeaveAsync();
/// </code>
/// </example>
public sealed class DistributedDoubleBarrier
{
    private readonly KvStoreClient _client;
    private readonly string _waiters;
    private readonly string _ready;
    private string? _myKey;

    /// <summary>Creates one participant's handle on barrier <paramref name="name"/> for <paramref name="count"/> participants (no call is made).</summary>
    public DistributedDoubleBarrier(KvStoreClient client, string name, int count)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        _client = client;
        Name = name;
        Count = count;
        _waiters = name + "/waiters/";
        _ready = name + "/ready";
    }

    /// <summary>The barrier's name (its keys live under NAME/).</summary>
    public string Name { get; }

    /// <summary>How many participants the barrier waits for.</summary>
    public int Count { get; }

    /// <summary>Enters, bound to <paramref name="lease"/>, and returns once <see cref="Count"/> participants have entered.</summary>
    /// <exception cref="InvalidOperationException">This handle already entered and has not left.</exception>
    public async Task EnterAsync(long lease, CancellationToken cancellationToken = default)
    {
        if (lease == 0)
        {
            throw new ArgumentException("a participant is bound to a lease; grant one first", nameof(lease));
        }

        if (_myKey is not null)
        {
            throw new InvalidOperationException($"this participant already entered barrier {Name}; leave first");
        }

        string key = _waiters + ((ulong)lease).ToString("x16", CultureInfo.InvariantCulture) + "-" + Guid.NewGuid().ToString("N")[..12];
        await _client.PutAsync(key, string.Empty, new PutOptions { Lease = lease }, cancellationToken).ConfigureAwait(false);
        _myKey = key;

        // One read of the whole barrier: the ready flag and the waiters at one revision, so the
        // watch below starts exactly where this read ended.
        RangeResult state = await _client.RangeAsync(RangeOptions.ForPrefix(Name + "/"), cancellationToken).ConfigureAwait(false);
        if (state.Kvs.Any(kv => kv.KeyString == _ready))
        {
            return;
        }

        if (state.Kvs.Count(kv => kv.KeyString.StartsWith(_waiters, StringComparison.Ordinal)) >= Count)
        {
            await _client.PutAsync(_ready, string.Empty, new PutOptions { Lease = lease }, cancellationToken).ConfigureAwait(false);
            return;
        }

        await KeyChangeWaiter.WaitForPutAsync(_client, _ready, state.Header.Revision, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Leaves and returns once every participant has left.</summary>
    /// <exception cref="InvalidOperationException">This handle has not entered.</exception>
    public async Task LeaveAsync(CancellationToken cancellationToken = default)
    {
        string key = _myKey ?? throw new InvalidOperationException($"this participant has not entered barrier {Name}");
        while (true)
        {
            RangeResult state = await _client.RangeAsync(RangeOptions.ForPrefix(_waiters), cancellationToken).ConfigureAwait(false);
            List<KvPair> waiters = state.Kvs.OrderBy(kv => kv.CreateRevision).ToList();
            if (waiters.Count == 0)
            {
                break;
            }

            KvPair oldest = waiters[0];
            if (oldest.KeyString != key)
            {
                await _client.DeleteAsync(key, cancellationToken: cancellationToken).ConfigureAwait(false);
                await KeyChangeWaiter.WaitForDeleteAsync(_client, oldest.KeyString, prefix: false, state.Header.Revision, cancellationToken).ConfigureAwait(false);
                break;
            }

            if (waiters.Count == 1)
            {
                await _client.Txn().Then(Op.Delete(key), Op.Delete(_ready)).CommitAsync(cancellationToken).ConfigureAwait(false);
                break;
            }

            await KeyChangeWaiter.WaitForDeleteAsync(_client, _waiters, prefix: true, state.Header.Revision, cancellationToken).ConfigureAwait(false);
        }

        _myKey = null;
    }
}
