namespace KvStore.Storage.Lsm;

/// <summary>Cursor over a <see cref="Memtable"/>; safe while the writer keeps adding (it sees a prefix-consistent list).</summary>
internal sealed class MemtableIterator(Memtable table) : IInternalIterator
{
    private Memtable.Node? _node;

    public bool Valid => _node != null;

    public ReadOnlySpan<byte> Key => Current.Key;

    public ReadOnlySpan<byte> Value => Current.Value;

    private Memtable.Node Current => _node ?? throw new InvalidOperationException("iterator is not positioned on an entry");

    public void SeekToFirst() => _node = table.First();

    public void SeekToLast() => _node = table.FindLast();

    public void Seek(ReadOnlySpan<byte> target) => _node = table.FindGreaterOrEqual(target, null);

    public void Next() => _node = Volatile.Read(ref Current.Next[0]);

    // Nodes have no back links; like LevelDB, search for the last key before this one.
    public void Prev() => _node = table.FindLessThan(Current.Key);

    public void Dispose()
    {
    }
}
