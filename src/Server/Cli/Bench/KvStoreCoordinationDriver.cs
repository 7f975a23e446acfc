using KvStore.Client;

namespace KvStore.Server.Cli.Bench;

/// <summary>
/// The coordination benchmarks against KvStore through the SDK: one <see cref="KvStoreClient"/>
/// per connection; kept-alive leases ride each client's batching keep-alive loop, and a loss is
/// what that loop reports through <see cref="LeaseClient.LeaseLost"/>.
/// </summary>
internal sealed class KvStoreCoordinationDriver : ICoordinationBenchDriver
{
    private readonly KvStoreClient[] _clients;
    private long _lost;

    public KvStoreCoordinationDriver(IReadOnlyList<string> endpoints, int connections)
    {
        _clients = Enumerable.Range(0, connections).Select(_ => new KvStoreClient(new KvStoreClientOptions
        {
            Endpoints = endpoints.ToList(),
            ClientName = "kvstore-bench",
            RequestTimeout = TimeSpan.FromSeconds(60),
        })).ToArray();
        foreach (KvStoreClient client in _clients)
        {
            client.Leases.LeaseLost += (_, _) => Interlocked.Increment(ref _lost);
        }
    }

    public long LostLeases => Interlocked.Read(ref _lost);

    public TimeSpan? SlowestRenewalRound => null;

    public async Task<long> GrantLeaseAsync(int connection, int ttlSeconds, bool keepAlive, CancellationToken cancellationToken) =>
        (await _clients[connection].Leases.GrantAsync(TimeSpan.FromSeconds(ttlSeconds), keepAlive: keepAlive, cancellationToken: cancellationToken).ConfigureAwait(false)).Id;

    public async Task<byte[]> LockAsync(int connection, byte[] name, long lease, CancellationToken cancellationToken)
    {
        LockHandle held = await _clients[connection].Locks.AcquireLockAsync(name, lease, cancellationToken: cancellationToken).ConfigureAwait(false);
        return held.KeyBytes.ToArray();
    }

    public Task UnlockAsync(int connection, byte[] key, CancellationToken cancellationToken) =>
        _clients[connection].Locks.UnlockAsync(key, cancellationToken);

    public async Task<IReadOnlySet<long>> ListLeasesAsync(CancellationToken cancellationToken) =>
        (await _clients[0].Leases.ListAsync(cancellationToken).ConfigureAwait(false)).ToHashSet();

    public async ValueTask DisposeAsync()
    {
        foreach (KvStoreClient client in _clients)
        {
            await client.DisposeAsync().ConfigureAwait(false);
        }
    }
}
