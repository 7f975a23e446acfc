using KvStore.Storage.Lsm.Versions;
using Version = KvStore.Storage.Lsm.Versions.Version;

namespace KvStore.Storage.Lsm.Iterators;

/// <summary>
/// Concatenation of the disjoint, key-ordered tables of one level ≥ 1. Tables are opened only
/// when the cursor reaches them, so a short scan touches one or two files.
/// </summary>
internal sealed class LevelIterator(IReadOnlyList<FileMetadata> files, Func<FileMetadata, IInternalIterator?> openTable) : IInternalIterator
{
    private int _index = -1;
    private IInternalIterator? _table;

    public bool Valid => _table != null && _table.Valid;

    public ReadOnlySpan<byte> Key => Table.Key;

    public ReadOnlySpan<byte> Value => Table.Value;

    private IInternalIterator Table => _table ?? throw new InvalidOperationException("iterator is not positioned on an entry");

    public void SeekToFirst()
    {
        Open(0);
        _table?.SeekToFirst();
        SkipEmptyForward();
    }

    public void SeekToLast()
    {
        Open(files.Count - 1);
        _table?.SeekToLast();
        SkipEmptyBackward();
    }

    public void Seek(ReadOnlySpan<byte> target)
    {
        int lo = 0, hi = files.Count;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (InternalKeyComparer.Compare(files[mid].Largest, target) < 0)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        if (lo != _index || _table == null)
        {
            Open(lo);
        }

        _table?.Seek(target);
        SkipEmptyForward();
    }

    public void Next()
    {
        Table.Next();
        SkipEmptyForward();
    }

    public void Prev()
    {
        Table.Prev();
        SkipEmptyBackward();
    }

    public void Dispose()
    {
        _table?.Dispose();
        _table = null;
    }

    private void SkipEmptyForward()
    {
        while ((_table == null || !_table.Valid) && _index + 1 < files.Count)
        {
            Open(_index + 1);
            _table?.SeekToFirst();
        }
    }

    private void SkipEmptyBackward()
    {
        while ((_table == null || !_table.Valid) && _index - 1 >= 0)
        {
            Open(_index - 1);
            _table?.SeekToLast();
        }
    }

    private void Open(int index)
    {
        if (index == _index && _table != null)
        {
            // Same table: keep its open reader and cursor.
            return;
        }

        _table?.Dispose();
        _table = null;
        _index = index;
        if (index >= 0 && index < files.Count)
        {
            // A null iterator means the opener ruled the table out (prefix filter): it reads as empty.
            _table = openTable(files[index]);
        }
    }
}
