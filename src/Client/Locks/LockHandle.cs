using System.Text;

namespace KvStore.Client;

/// <summary>
/// A held lock: its key, its fencing token and the lease it is bound to. Disposing releases it.
/// </summary>
/// <remarks>
/// Holding the handle does not prove the lock is still held: if the lease ends (the process
/// paused or lost its connection for longer than the TTL) another client may hold it. Guard every
/// write the lock protects with <see cref="Fence"/> (the store refuses it once the lock moved on)
/// and hand <see cref="FencingToken"/> to other services, which check it with
/// <see cref="KvStoreLocks.ValidateFencingTokenAsync(string, long, CancellationToken)"/> or keep
/// the highest token seen and refuse smaller ones.
/// </remarks>
public sealed class LockHandle : IAsyncDisposable
{
    private readonly Func<LockHandle, CancellationToken, Task> _release;
    private int _released;

    internal LockHandle(ReadOnlyMemory<byte> name, ReadOnlyMemory<byte> key, long fencingToken, long lease, CancellationToken lost, Func<LockHandle, CancellationToken, Task> release)
    {
        NameBytes = name;
        KeyBytes = key;
        FencingToken = fencingToken;
        Lease = lease;
        Lost = lost;
        _release = release;
    }

    /// <summary>
    /// Fires when the client learns that the lease it granted for this lock has ended (it could
    /// not renew it in time): the lock may be someone else's now. Never fires for a lease the
    /// caller passed in (watch that lease instead).
    /// </summary>
    public CancellationToken Lost { get; }

    /// <summary>The lock's name (UTF-8 decoded).</summary>
    public string Name => Encoding.UTF8.GetString(NameBytes.Span);

    /// <summary>The lock's name.</summary>
    public ReadOnlyMemory<byte> NameBytes { get; }

    /// <summary>The holder key, <c>NAME/&lt;lease as 16 hex digits&gt;</c> (UTF-8 decoded).</summary>
    public string Key => Encoding.UTF8.GetString(KeyBytes.Span);

    /// <summary>The holder key.</summary>
    public ReadOnlyMemory<byte> KeyBytes { get; }

    /// <summary>
    /// The fencing token of this acquisition: the holder key's create revision. It grows strictly
    /// with every acquisition of the same lock, across leader changes, restarts and compaction.
    /// </summary>
    public long FencingToken { get; }

    /// <summary>The lease the lock is bound to; when it ends the lock is released.</summary>
    public long Lease { get; }

    /// <summary>A transaction condition that holds only while this acquisition holds the lock.</summary>
    public TxnCondition Fence => Cmp.Fence(NameBytes, FencingToken);

    /// <summary>Whether <see cref="ReleaseAsync"/> or <see cref="DisposeAsync"/> ran.</summary>
    public bool IsReleased => Volatile.Read(ref _released) != 0;

    /// <summary>Releases the lock (deletes the holder key); a second call does nothing.</summary>
    public Task ReleaseAsync(CancellationToken cancellationToken = default) =>
        Interlocked.Exchange(ref _released, 1) == 0 ? _release(this, cancellationToken) : Task.CompletedTask;

    /// <summary>Releases the lock.</summary>
    public async ValueTask DisposeAsync() => await ReleaseAsync().ConfigureAwait(false);
}
