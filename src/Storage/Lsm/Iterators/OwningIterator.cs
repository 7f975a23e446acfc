namespace KvStore.Storage.Lsm.Iterators;

/// <summary>Forwards to an inner iterator and, when disposed, releases what keeps the inner one usable (an open table).</summary>
internal sealed class OwningIterator(IInternalIterator inner, Action release) : IInternalIterator
{
    private bool _disposed;

    public bool Valid => inner.Valid;

    public ReadOnlySpan<byte> Key => inner.Key;

    public ReadOnlySpan<byte> Value => inner.Value;

    public void SeekToFirst() => inner.SeekToFirst();

    public void SeekToLast() => inner.SeekToLast();

    public void Seek(ReadOnlySpan<byte> target) => inner.Seek(target);

    public void Next() => inner.Next();

    public void Prev() => inner.Prev();

    public void Dispose()
    {
        if (!_disposed)
        {
            _disposed = true;
            inner.Dispose();
            release();
        }
    }
}
