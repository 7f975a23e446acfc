using System.Buffers.Binary;

namespace KvStore.Storage.Lsm.Table;

/// <summary>
/// Builds the contents of a data, index or metaindex block (layout in <see cref="TableFormat"/>):
/// <code>
///   entry*   := varint32 shared | varint32 unshared | varint32 value length | unshared key bytes | value
///   restarts := fixed32 restart offset * n | fixed32 n
/// </code>
/// Each key is stored as the bytes it does not share with the previous key, except at a
/// restart point (every <c>restartInterval</c> entries) where it is stored whole, so a reader
/// can binary-search the restart array and then scan at most one interval.
/// The caller supplies keys in the block's order; the table builder checks it.
/// </summary>
internal sealed class BlockBuilder
{
    private readonly int _restartInterval;
    private byte[] _buffer;
    private int _length;
    private int[] _restarts = new int[16];
    private int _restartCount;
    private int _sinceRestart;
    private byte[] _lastKey = new byte[64];
    private int _lastKeyLength;
    private int _entryCount;

    public BlockBuilder(int restartInterval, int initialCapacity)
    {
        _restartInterval = restartInterval;
        _buffer = new byte[Math.Max(initialCapacity, 256)];
        Reset();
    }

    public bool IsEmpty => _entryCount == 0;

    /// <summary>Size of the contents if the block were finished now.</summary>
    public int EstimatedSize => _length + (_restartCount * 4) + 4;

    public void Reset()
    {
        _length = 0;
        _restarts[0] = 0;
        _restartCount = 1;
        _sinceRestart = 0;
        _lastKeyLength = 0;
        _entryCount = 0;
    }

    public void Add(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        int shared = 0;
        if (_sinceRestart < _restartInterval)
        {
            shared = key.CommonPrefixLength(_lastKey.AsSpan(0, _lastKeyLength));
        }
        else
        {
            if (_restartCount == _restarts.Length)
            {
                Array.Resize(ref _restarts, _restarts.Length * 2);
            }

            _restarts[_restartCount++] = _length;
            _sinceRestart = 0;
        }

        int unshared = key.Length - shared;
        EnsureCapacity((Varint.MaxLength32 * 3) + unshared + value.Length);
        _length += Varint.Write(_buffer.AsSpan(_length), (uint)shared);
        _length += Varint.Write(_buffer.AsSpan(_length), (uint)unshared);
        _length += Varint.Write(_buffer.AsSpan(_length), (uint)value.Length);
        key[shared..].CopyTo(_buffer.AsSpan(_length));
        _length += unshared;
        value.CopyTo(_buffer.AsSpan(_length));
        _length += value.Length;

        if (_lastKey.Length < key.Length)
        {
            _lastKey = new byte[Math.Max(key.Length, _lastKey.Length * 2)];
        }

        key.CopyTo(_lastKey);
        _lastKeyLength = key.Length;
        _sinceRestart++;
        _entryCount++;
    }

    /// <summary>Appends the restart array and returns the contents; valid until the next <see cref="Reset"/> or <see cref="Add"/>.</summary>
    public ReadOnlySpan<byte> Finish()
    {
        EnsureCapacity((_restartCount * 4) + 4);
        for (int i = 0; i < _restartCount; i++)
        {
            BinaryPrimitives.WriteInt32LittleEndian(_buffer.AsSpan(_length), _restarts[i]);
            _length += 4;
        }

        BinaryPrimitives.WriteInt32LittleEndian(_buffer.AsSpan(_length), _restartCount);
        _length += 4;
        return _buffer.AsSpan(0, _length);
    }

    private void EnsureCapacity(int extra)
    {
        long needed = (long)_length + extra;
        if (needed > TableFormat.MaxBlockContents)
        {
            throw new ArgumentException($"a table block cannot exceed {TableFormat.MaxBlockContents} bytes; the entry is too large");
        }

        if (needed > _buffer.Length)
        {
            Array.Resize(ref _buffer, (int)Math.Min(Math.Max(needed, _buffer.Length * 2L), TableFormat.MaxBlockContents));
        }
    }
}
