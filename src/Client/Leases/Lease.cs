namespace KvStore.Client;

/// <summary>
/// A lease granted (or adopted) through <see cref="LeaseClient"/>, normally kept alive by the
/// client's background loop. Disposing it stops the renewals and revokes it, which deletes every
/// key attached to it.
/// </summary>
/// <example>
/// <code>
/// await using Lease lease = await client.Leases.GrantAsync(TimeSpan.FromSeconds(10));
/// await client.PutAsync("services/web-1", "10.0.0.7:80", new PutOptions { Lease = lease.Id });
/// // ... the key lives as long as this process keeps the lease alive.
/// </code>
/// </example>
public sealed class Lease : IAsyncDisposable
{
    private readonly LeaseClient _owner;
    private readonly CancellationTokenSource _lost = new();
    private int _lossReported;
    private int _disposed;

    internal Lease(LeaseClient owner, long id, TimeSpan ttl, bool keptAlive)
    {
        _owner = owner;
        Id = id;
        Ttl = ttl;
        IsKeptAlive = keptAlive;
    }

    /// <summary>The lease id (pass it in <see cref="PutOptions.Lease"/>).</summary>
    public long Id { get; }

    /// <summary>The TTL the lease was granted with.</summary>
    public TimeSpan Ttl { get; }

    /// <summary>Whether the client's keep-alive loop renews this lease.</summary>
    public bool IsKeptAlive { get; }

    /// <summary>Cancelled when the lease is lost (see <see cref="LeaseLossReason"/>); never cancelled by a revoke through this handle.</summary>
    public CancellationToken Lost => _lost.Token;

    /// <summary>Whether the lease was lost.</summary>
    public bool IsLost => _lost.IsCancellationRequested;

    /// <summary>Why the lease was lost, once it is.</summary>
    public LeaseLossReason? LossReason { get; private set; }

    /// <summary>Stops renewing and revokes the lease now (its keys are deleted in one revision).</summary>
    /// <exception cref="KvStoreProtocolException">LEASE_NOT_FOUND if it had already ended.</exception>
    public Task RevokeAsync(CancellationToken cancellationToken = default)
    {
        _owner.StopKeepingAlive(this);
        return _owner.RevokeAsync(Id, cancellationToken);
    }

    /// <summary>
    /// Stops renewing and revokes the lease. Failures are swallowed: a lease that cannot be revoked
    /// now (cluster unreachable) expires by itself within its TTL.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _owner.StopKeepingAlive(this);
        if (IsLost)
        {
            return;
        }

        try
        {
            await _owner.RevokeAsync(Id, CancellationToken.None).ConfigureAwait(false);
        }
        catch (KvStoreException)
        {
            // Gone already, or unreachable: either way it ends by itself.
        }
        catch (ObjectDisposedException)
        {
            // The client was disposed first.
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"lease {Id} (ttl {Ttl.TotalSeconds:0}s{(IsLost ? ", lost" : string.Empty)})";

    /// <summary>Marks the lease lost once; true for the call that did.</summary>
    internal bool MarkLost(LeaseLossReason reason)
    {
        if (Interlocked.Exchange(ref _lossReported, 1) != 0)
        {
            return false;
        }

        LossReason = reason;
        _lost.Cancel();
        return true;
    }
}
