namespace KvStore.Storage.Lsm;

/// <summary>
/// A consistent read view at a sequence number. While it lives, compaction keeps every version
/// it can see. Dispose it when done.
/// </summary>
public sealed class LsmSnapshot : IDisposable
{
    private readonly Action<LsmSnapshot> _release;
    private int _disposed;

    internal LsmSnapshot(ulong sequence, Action<LsmSnapshot> release)
    {
        Sequence = sequence;
        _release = release;
    }

    public ulong Sequence { get; }

    internal bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _release(this);
        }
    }
}
