using System.Runtime.CompilerServices;

namespace KvStore.Storage.Lsm.Table;

/// <summary>
/// A cursor over one <see cref="Block"/>. Reusable: <see cref="Reset"/> points it at another
/// block without allocating, so table iterators and point reads keep one per level of the
/// two-level lookup. Every length read from the block is bounds-checked; a malformed entry
/// throws <see cref="StorageCorruptionException"/> naming the file and the entry's offset.
/// </summary>
internal sealed class BlockIterator
{
    private Block? _block;
    private byte[] _data = [];
    private int _limit;          // end of entries = start of the restart array
    private int _restartCount;
    private bool _internalKeys;

    private int _current;        // offset of the current entry; == _limit when not valid
    private int _next;           // offset just past the current entry
    private int _restartIndex;   // restart interval holding _current
    private byte[] _key = new byte[64];
    private int _keyLength;
    private int _valueOffset;
    private int _valueLength;

    public bool Valid => _current < _limit;

    public ReadOnlySpan<byte> Key => _key.AsSpan(0, _keyLength);

    public ReadOnlySpan<byte> Value => _data.AsSpan(_valueOffset, _valueLength);

    public Block? Block => _block;

    public void Reset(Block block)
    {
        _block = block;
        _data = block.Data;
        _limit = block.RestartsOffset;
        _restartCount = block.RestartCount;
        _internalKeys = block.InternalKeys;
        Invalidate();
    }

    /// <summary>Drops the reference to the block so a pooled or cached iterator does not keep it alive.</summary>
    public void Release()
    {
        _block = null;
        _data = [];
        _limit = 0;
        _restartCount = 0;
        Invalidate();
    }

    public void SeekToFirst()
    {
        SeekToRestartPoint(0);
        ParseNextEntry();
    }

    public void SeekToLast()
    {
        SeekToRestartPoint(_restartCount - 1);
        while (ParseNextEntry() && _next < _limit)
        {
        }
    }

    public void Next()
    {
        ParseNextEntry();
    }

    public void Prev()
    {
        // Back up to a restart point strictly before the current entry, then scan forward
        // to the entry just before it: entries only decode forwards.
        int original = _current;
        while (RestartPoint(_restartIndex) >= original)
        {
            if (_restartIndex == 0)
            {
                Invalidate();
                return;
            }

            _restartIndex--;
        }

        SeekToRestartPoint(_restartIndex);
        while (ParseNextEntry() && _next < original)
        {
        }
    }

    /// <summary>Positions at the first entry with key ≥ <paramref name="target"/> in the block's order.</summary>
    public void Seek(ReadOnlySpan<byte> target)
    {
        // Binary search for the last restart point whose (whole) key is < target.
        int left = 0;
        int right = _restartCount - 1;
        while (left < right)
        {
            int mid = (left + right + 1) >>> 1;
            if (Compare(RestartKey(mid), target) < 0)
            {
                left = mid;
            }
            else
            {
                right = mid - 1;
            }
        }

        SeekToRestartPoint(left);
        while (ParseNextEntry())
        {
            if (Compare(Key, target) >= 0)
            {
                return;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Compare(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b) =>
        _internalKeys ? InternalKeyComparer.Compare(a, b) : a.SequenceCompareTo(b);

    private ReadOnlySpan<byte> RestartKey(int index)
    {
        int position = RestartPoint(index);
        int p = DecodeHeader(position, out int shared, out int unshared, out _);
        if (shared != 0)
        {
            throw _block!.Corruption(position, $"entry at restart point {index} shares {shared} bytes with a previous key");
        }

        if (_internalKeys && unshared < InternalKey.TrailerSize)
        {
            throw _block!.Corruption(position, $"internal key of {unshared} bytes is shorter than its trailer");
        }

        return _data.AsSpan(p, unshared);
    }

    private int RestartPoint(int index) => _block!.RestartPoint(index);

    private void SeekToRestartPoint(int index)
    {
        _keyLength = 0;
        _restartIndex = index;
        _next = _restartCount == 0 ? _limit : RestartPoint(index);
    }

    private void Invalidate()
    {
        _current = _limit;
        _next = _limit;
        _restartIndex = _restartCount;
        _keyLength = 0;
        _valueOffset = 0;
        _valueLength = 0;
    }

    private bool ParseNextEntry()
    {
        _current = _next;
        if (_current >= _limit)
        {
            Invalidate();
            return false;
        }

        int p = DecodeHeader(_current, out int shared, out int unshared, out int valueLength);
        if (shared > _keyLength)
        {
            throw _block!.Corruption(_current, $"entry shares {shared} bytes with a previous key of {_keyLength} bytes");
        }

        int keyLength = shared + unshared;
        if (_internalKeys && keyLength < InternalKey.TrailerSize)
        {
            throw _block!.Corruption(_current, $"internal key of {keyLength} bytes is shorter than its trailer");
        }

        if (_key.Length < keyLength)
        {
            byte[] grown = new byte[Math.Max(keyLength, _key.Length * 2)];
            _key.AsSpan(0, shared).CopyTo(grown);
            _key = grown;
        }

        _data.AsSpan(p, unshared).CopyTo(_key.AsSpan(shared));
        _keyLength = keyLength;
        _valueOffset = p + unshared;
        _valueLength = valueLength;
        _next = _valueOffset + valueLength;
        while (_restartIndex + 1 < _restartCount && RestartPoint(_restartIndex + 1) < _current)
        {
            _restartIndex++;
        }

        return true;
    }

    /// <summary>Decodes an entry header at <paramref name="position"/>; returns where the key bytes start. Checks the entry fits.</summary>
    private int DecodeHeader(int position, out int shared, out int unshared, out int valueLength)
    {
        int p = position;
        if (p + 3 <= _limit && (_data[p] | _data[p + 1] | _data[p + 2]) < 0x80)
        {
            // Common case: all three lengths below 128 take one byte each.
            shared = _data[p];
            unshared = _data[p + 1];
            valueLength = _data[p + 2];
            p += 3;
        }
        else
        {
            p = ReadLength(p, position, out shared);
            p = ReadLength(p, position, out unshared);
            p = ReadLength(p, position, out valueLength);
        }

        if ((long)p + unshared + valueLength > _limit)
        {
            throw _block!.Corruption(position, $"entry of {unshared} key and {valueLength} value bytes runs past the block's entries");
        }

        return p;
    }

    private int ReadLength(int p, int entryPosition, out int value)
    {
        int n = Varint.TryReadInt32(_data.AsSpan(p, _limit - p), out value);
        if (n == 0)
        {
            throw _block!.Corruption(entryPosition, "malformed varint in entry header");
        }

        return p + n;
    }
}
