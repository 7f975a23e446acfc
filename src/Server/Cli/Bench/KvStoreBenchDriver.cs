using KvStore.Client;

namespace KvStore.Server.Cli.Bench;

/// <summary>The benchmark against KvStore through the SDK: one <see cref="KvStoreClient"/> per connection.</summary>
internal sealed class KvStoreBenchDriver : IBenchDriver
{
    private readonly KvStoreClient[] _clients;

    public KvStoreBenchDriver(BenchSettings settings)
    {
        _clients = Enumerable.Range(0, settings.Connections).Select(_ => new KvStoreClient(new KvStoreClientOptions
        {
            Endpoints = settings.Endpoints.ToList(),
            ClientName = "kvstore-bench",
            RequestTimeout = TimeSpan.FromSeconds(30),
        })).ToArray();
    }

    public Task PutAsync(int connection, byte[] key, byte[] value, CancellationToken cancellationToken) =>
        _clients[connection].PutAsync(key, value, null, cancellationToken);

    public async Task<long> GetAsync(int connection, byte[] key, bool serializable, CancellationToken cancellationToken)
    {
        var kv = await _clients[connection].GetAsync(key, new GetOptions { Serializable = serializable }, cancellationToken).ConfigureAwait(false);
        return kv?.ModRevision ?? 0;
    }

    public async Task<(bool Swapped, long ModRevision)> CompareAndSwapAsync(int connection, byte[] key, long expectedModRevision, byte[] value, CancellationToken cancellationToken)
    {
        var result = await _clients[connection].Txn()
            .If(Cmp.ModRevision(key) == expectedModRevision)
            .Then(Op.Put(key, value))
            .Else(Op.Get(key))
            .CommitAsync(cancellationToken).ConfigureAwait(false);
        if (result.Succeeded)
        {
            return (true, result.Header.Revision);
        }

        var seen = result.Results.Count > 0 ? result.Results[0].Range?.Kvs : null;
        return (false, seen is { Count: > 0 } ? seen[0].ModRevision : 0);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var client in _clients)
        {
            await client.DisposeAsync().ConfigureAwait(false);
        }
    }
}
