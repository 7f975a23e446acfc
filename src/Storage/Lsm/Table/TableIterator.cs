namespace KvStore.Storage.Lsm.Table;

/// <summary>
/// A two-level cursor over a table: the index block's cursor picks a data block, the data
/// block's cursor walks its entries, moving to the neighbouring block at either end. Holds
/// at most one data block, with a reference on it (released when it moves to another block
/// or is disposed); with a cache, blocks are shared with other readers.
/// </summary>
internal sealed class TableIterator : IInternalIterator
{
    private readonly TableReader _table;
    private readonly bool _fillCache;
    private readonly BlockIterator _index = new();
    private readonly BlockIterator _data = new();
    private Block? _dataBlock;          // the block loaded in _data, on which this iterator holds a reference
    private long _dataBlockOffset = -1; // its offset, -1 if none

    public TableIterator(TableReader table, bool fillCache)
    {
        _table = table;
        _fillCache = fillCache;
        _index.Reset(table.IndexBlock);
    }

    public bool Valid => _dataBlockOffset >= 0 && _data.Valid;

    public ReadOnlySpan<byte> Key => Valid ? _data.Key : throw new InvalidOperationException("iterator is not positioned on an entry");

    public ReadOnlySpan<byte> Value => Valid ? _data.Value : throw new InvalidOperationException("iterator is not positioned on an entry");

    public void SeekToFirst()
    {
        _index.SeekToFirst();
        if (LoadDataBlock())
        {
            _data.SeekToFirst();
        }

        SkipEmptyBlocksForward();
    }

    public void SeekToLast()
    {
        _index.SeekToLast();
        if (LoadDataBlock())
        {
            _data.SeekToLast();
        }

        SkipEmptyBlocksBackward();
    }

    public void Seek(ReadOnlySpan<byte> target)
    {
        _index.Seek(target);
        if (LoadDataBlock())
        {
            _data.Seek(target);
        }

        SkipEmptyBlocksForward();
    }

    public void Next()
    {
        EnsureValid();
        _data.Next();
        SkipEmptyBlocksForward();
    }

    public void Prev()
    {
        EnsureValid();
        _data.Prev();
        SkipEmptyBlocksBackward();
    }

    public void Dispose()
    {
        DropDataBlock();
        _index.Release();
    }

    private void EnsureValid()
    {
        if (!Valid)
        {
            throw new InvalidOperationException("iterator is not positioned on an entry");
        }
    }

    /// <summary>Points the data cursor at the block the index cursor names; false at the index's end.</summary>
    private bool LoadDataBlock()
    {
        if (!_index.Valid)
        {
            DropDataBlock();
            return false;
        }

        BlockHandle handle = _table.DecodeHandle(_index.Value, _table.IndexBlock);
        if (handle.Offset != _dataBlockOffset)
        {
            Block block = _table.ReadDataBlock(handle, _fillCache);
            _data.Reset(block);
            _dataBlock?.Release(); // only after _data stopped reading it
            _dataBlock = block;
            _dataBlockOffset = handle.Offset;
        }

        return true;
    }

    private void DropDataBlock()
    {
        _data.Release();
        _dataBlock?.Release();
        _dataBlock = null;
        _dataBlockOffset = -1;
    }

    private void SkipEmptyBlocksForward()
    {
        while (_dataBlockOffset >= 0 && !_data.Valid)
        {
            _index.Next();
            if (LoadDataBlock())
            {
                _data.SeekToFirst();
            }
        }
    }

    private void SkipEmptyBlocksBackward()
    {
        while (_dataBlockOffset >= 0 && !_data.Valid)
        {
            _index.Prev();
            if (LoadDataBlock())
            {
                _data.SeekToLast();
            }
        }
    }
}
