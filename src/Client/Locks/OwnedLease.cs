using KvStore.Client.Routing;
using Wire = KvStore.Client.Protocol.Messages;

namespace KvStore.Client;

/// <summary>
/// A lease a lock handle or campaign granted for itself: kept alive every third of its TTL until
/// disposed, then revoked. <see cref="Lost"/> fires if the cluster says the lease is gone (the
/// client could not renew it in time, e.g. it was paused or cut off).
/// </summary>
internal sealed class OwnedLease : IAsyncDisposable
{
    private readonly RequestInvoker _invoker;
    private readonly CancellationTokenSource _stop = new();
    private readonly CancellationTokenSource _lost = new();
    private readonly Task _keepAlive;

    private OwnedLease(RequestInvoker invoker, long id, TimeSpan ttl)
    {
        _invoker = invoker;
        Id = id;
        _keepAlive = Task.Run(() => KeepAliveAsync(ttl / 3, _stop.Token));
    }

    public long Id { get; }

    public CancellationToken Lost => _lost.Token;

    public static async Task<OwnedLease> GrantAsync(RequestInvoker invoker, TimeSpan ttl, CancellationToken cancellationToken)
    {
        long seconds = (long)Math.Ceiling(ttl.TotalSeconds);
        if (seconds <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(ttl), ttl, "the lease TTL must be at least one second");
        }

        var response = await invoker.InvokeAsync<Wire.LeaseGrantResponse>(new Wire.LeaseGrantRequest { TtlSeconds = seconds }, CallKind.Write, null, cancellationToken).ConfigureAwait(false);
        return new OwnedLease(invoker, response.Id, TimeSpan.FromSeconds(response.TtlSeconds));
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _keepAlive.ConfigureAwait(false);
        try
        {
            if (!_lost.IsCancellationRequested)
            {
                await _invoker.InvokeAsync<Wire.LeaseRevokeResponse>(new Wire.LeaseRevokeRequest { Id = Id }, CallKind.Write, null, CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (KvStoreProtocolException ex) when (ex.Code == Wire.ErrorCode.LeaseNotFound)
        {
            // Already gone: what revoking wanted.
        }
        finally
        {
            _stop.Dispose();
            _lost.Dispose();
        }
    }

    private async Task KeepAliveAsync(TimeSpan interval, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(interval, cancellationToken).ConfigureAwait(false);
                var request = new Wire.LeaseKeepAliveRequest { Ids = { Id } };
                var response = await _invoker.InvokeAsync<Wire.LeaseKeepAliveResponse>(request, CallKind.Read, null, cancellationToken).ConfigureAwait(false);
                if (response.Results.Count > 0 && response.Results[0].TtlSeconds <= 0)
                {
                    await _lost.CancelAsync().ConfigureAwait(false);
                    return;
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (KvStoreException)
            {
                // One missed renewal is not a lost lease: the TTL leaves two more tries.
            }
        }
    }
}
