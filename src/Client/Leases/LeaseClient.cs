using Microsoft.Extensions.Logging;
using Wire = KvStore.Client.Protocol.Messages;

namespace KvStore.Client;

/// <summary>
/// Leases (<see cref="KvStoreClient.Leases"/>): grant, revoke, inspect and keep alive. A key put
/// with a lease (<see cref="PutOptions.Lease"/>) is deleted when the lease ends; all the lease's
/// keys go in one revision. Leases granted here are kept alive automatically by one background
/// loop per client until disposed, revoked or lost (<see cref="LeaseLost"/>).
/// </summary>
/// <example>
/// <code>
/// client.Leases.LeaseLost += (_, e) => Console.Error.WriteLine($"{e.Lease} lost: {e.Reason}");
/// await using Lease lease = await client.Leases.GrantAsync(TimeSpan.FromSeconds(10));
/// await client.PutAsync("members/me", "alive", new PutOptions { Lease = lease.Id });
/// await Task.Delay(Timeout.Infinite, lease.Lost); // until the lease is lost
/// </code>
/// </example>
public sealed class LeaseClient : IAsyncDisposable
{
    private readonly KvStoreClient _client;
    private readonly ILogger _logger;
    private readonly LeaseKeepAliveLoop _loop;

    internal LeaseClient(KvStoreClient client, ILogger logger, TimeProvider? clock = null)
    {
        _client = client;
        _logger = logger;
        _loop = new LeaseKeepAliveLoop(
            (request, ct) => _client.SendRawAsync<Wire.LeaseKeepAliveResponse>(request, isWrite: false, ct),
            OnLost,
            clock ?? TimeProvider.System,
            logger);
    }

    /// <summary>
    /// Raised (on the keep-alive loop's thread) when a kept-alive lease is lost: the leader says it
    /// is gone, or no renewal got through within its TTL. Handlers must not block.
    /// </summary>
    public event EventHandler<LeaseLostEventArgs>? LeaseLost;

    /// <summary>How many leases this client keeps alive now.</summary>
    public int KeptAliveCount => _loop.Count;

    /// <summary>Grants a lease of at least <paramref name="ttl"/> (rounded up to whole seconds).</summary>
    /// <param name="ttl">The TTL; the server refuses one below its minimum (three election timeouts, 3 s by default) with INVALID_ARGUMENT.</param>
    /// <param name="id">The id to use; 0 lets the server choose.</param>
    /// <param name="keepAlive">Renew it in the background until it is disposed, revoked or lost.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The lease handle; disposing it revokes the lease.</returns>
    public async Task<Lease> GrantAsync(TimeSpan ttl, long id = 0, bool keepAlive = true, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(ttl, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfNegative(id);
        long sentAt = _loop.NowMs;
        var request = new Wire.LeaseGrantRequest { TtlSeconds = (long)Math.Ceiling(ttl.TotalSeconds), Id = id };
        var response = await _client.SendRawAsync<Wire.LeaseGrantResponse>(request, isWrite: true, cancellationToken).ConfigureAwait(false);
        var lease = new Lease(this, response.Id, TimeSpan.FromSeconds(response.TtlSeconds), keepAlive);
        if (keepAlive)
        {
            _loop.Add(lease, sentAt);
        }

        return lease;
    }

    /// <summary>Starts keeping alive a lease granted elsewhere (another process, an earlier run): renews it once to learn its TTL.</summary>
    /// <exception cref="KvStoreProtocolException">LEASE_NOT_FOUND if the lease does not exist.</exception>
    public async Task<Lease> KeepAliveAsync(long id, CancellationToken cancellationToken = default)
    {
        long sentAt = _loop.NowMs;
        TimeSpan ttl = await KeepAliveOnceAsync(id, cancellationToken).ConfigureAwait(false);
        if (ttl <= TimeSpan.Zero)
        {
            throw new KvStoreProtocolException(Wire.ErrorCode.LeaseNotFound, $"lease {id} not found (never granted, revoked or expired)");
        }

        var lease = new Lease(this, id, ttl, keptAlive: true);
        _loop.Add(lease, sentAt);
        return lease;
    }

    /// <summary>Renews a lease once, on the leader.</summary>
    /// <returns>Its TTL from now on; <see cref="TimeSpan.Zero"/> if the lease is gone.</returns>
    public async Task<TimeSpan> KeepAliveOnceAsync(long id, CancellationToken cancellationToken = default)
    {
        var request = new Wire.LeaseKeepAliveRequest();
        request.Ids.Add(id);
        var response = await _client.SendRawAsync<Wire.LeaseKeepAliveResponse>(request, isWrite: false, cancellationToken).ConfigureAwait(false);
        long ttl = response.Results.FirstOrDefault(r => r.Id == id)?.TtlSeconds ?? 0;
        return ttl > 0 ? TimeSpan.FromSeconds(ttl) : TimeSpan.Zero;
    }

    /// <summary>Revokes a lease: every key attached to it is deleted, in one revision.</summary>
    /// <exception cref="KvStoreProtocolException">LEASE_NOT_FOUND if the lease had already ended.</exception>
    public async Task RevokeAsync(long id, CancellationToken cancellationToken = default)
    {
        await _client.SendRawAsync<Wire.LeaseRevokeResponse>(new Wire.LeaseRevokeRequest { Id = id }, isWrite: true, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The remaining and granted TTL of a lease as the leader sees it, and optionally its keys.</summary>
    public async Task<LeaseTimeToLive> TimeToLiveAsync(long id, bool keys = false, CancellationToken cancellationToken = default)
    {
        var response = await _client.SendRawAsync<Wire.LeaseTimeToLiveResponse>(
            new Wire.LeaseTimeToLiveRequest { Id = id, Keys = keys }, isWrite: false, cancellationToken).ConfigureAwait(false);
        if (response.TtlSeconds < 0)
        {
            return new LeaseTimeToLive(id, false, TimeSpan.Zero, TimeSpan.Zero, []);
        }

        return new LeaseTimeToLive(
            id,
            true,
            TimeSpan.FromSeconds(response.TtlSeconds),
            TimeSpan.FromSeconds(response.GrantedTtlSeconds),
            response.Keys.Select(k => k.Memory).ToArray());
    }

    /// <summary>The ids of every live lease, in order.</summary>
    public async Task<IReadOnlyList<long>> ListAsync(CancellationToken cancellationToken = default)
    {
        var response = await _client.SendRawAsync<Wire.LeaseLeasesResponse>(new Wire.LeaseLeasesRequest(), isWrite: false, cancellationToken).ConfigureAwait(false);
        return response.Leases.Select(l => l.Id).ToArray();
    }

    /// <summary>Stops the keep-alive loop (the leases are not revoked; they expire unless renewed elsewhere).</summary>
    public ValueTask DisposeAsync() => _loop.DisposeAsync();

    internal void StopKeepingAlive(Lease lease) => _loop.Remove(lease);

    private void OnLost(Lease lease, LeaseLossReason reason)
    {
        if (!lease.MarkLost(reason))
        {
            return;
        }

        _logger.LogWarning("{Lease} lost: {Reason}", lease, reason);
        try
        {
            LeaseLost?.Invoke(this, new LeaseLostEventArgs(lease, reason));
        }
        catch (Exception ex)
        {
            // A failing handler must not stop the loop that keeps the other leases alive.
            _logger.LogError(ex, "a LeaseLost handler failed for {Lease}", lease);
        }
    }
}
