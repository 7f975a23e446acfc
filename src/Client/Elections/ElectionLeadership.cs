namespace KvStore.Client;

/// <summary>
/// Leadership won by a campaign that granted its own lease: the lease is kept alive while this
/// is held; disposing resigns and revokes it. If the process stops renewing (it dies or pauses
/// past the TTL) the lease expires and the next candidate is elected.
/// </summary>
public sealed class ElectionLeadership : IAsyncDisposable
{
    private readonly Func<CancellationToken, Task> _resign;
    private int _resigned;

    internal ElectionLeadership(ElectionLeaderKey leader, CancellationToken lost, Func<CancellationToken, Task> resign)
    {
        Leader = leader;
        Lost = lost;
        _resign = resign;
    }

    /// <summary>The leader key: name, key, revision (the fencing token) and lease.</summary>
    public ElectionLeaderKey Leader { get; }

    /// <summary>Fires when the client learns its lease ended: it no longer leads.</summary>
    public CancellationToken Lost { get; }

    /// <summary>Resigns and revokes the lease; a second call does nothing.</summary>
    public Task ResignAsync(CancellationToken cancellationToken = default) =>
        Interlocked.Exchange(ref _resigned, 1) == 0 ? _resign(cancellationToken) : Task.CompletedTask;

    /// <summary>Resigns.</summary>
    public async ValueTask DisposeAsync() => await ResignAsync().ConfigureAwait(false);
}
