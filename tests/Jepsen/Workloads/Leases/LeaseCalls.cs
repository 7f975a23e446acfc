using KvStore.Client;
using KvStore.Client.Protocol.Messages;

namespace KvStore.Jepsen.Workloads.Leases;

/// <summary>
/// The lease calls the lock and lease workloads make, as raw protocol requests through the SDK's
/// routing: the workloads renew by hand (one renewal at a time, stopped at will to let a lease
/// expire), which is all they need.
/// </summary>
internal static class LeaseCalls
{
    /// <summary>Grants a lease; returns its id and granted TTL in seconds.</summary>
    public static async Task<(long Id, long TtlSeconds)> GrantAsync(KvStoreClient client, long ttlSeconds, CancellationToken cancellationToken)
    {
        var response = await client.SendRawAsync<LeaseGrantResponse>(new LeaseGrantRequest { TtlSeconds = ttlSeconds }, isWrite: true, cancellationToken).ConfigureAwait(false);
        return (response.Id, response.TtlSeconds);
    }

    /// <summary>Renews once; returns the remaining TTL in seconds, 0 or less when the lease is gone.</summary>
    public static async Task<long> KeepAliveOnceAsync(KvStoreClient client, long id, CancellationToken cancellationToken)
    {
        var request = new LeaseKeepAliveRequest();
        request.Ids.Add(id);
        var response = await client.SendRawAsync<LeaseKeepAliveResponse>(request, isWrite: false, cancellationToken).ConfigureAwait(false);
        return response.Results.FirstOrDefault(r => r.Id == id)?.TtlSeconds ?? 0;
    }

    public static Task RevokeAsync(KvStoreClient client, long id, CancellationToken cancellationToken) =>
        client.SendRawAsync<LeaseRevokeResponse>(new LeaseRevokeRequest { Id = id }, isWrite: true, cancellationToken);
}
