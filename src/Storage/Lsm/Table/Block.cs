using System.Buffers.Binary;

namespace KvStore.Storage.Lsm.Table;

/// <summary>
/// A block read from a table, its trailer already checked: contents (entries and restart
/// array, see <see cref="BlockBuilder"/>) at the start of <see cref="Data"/>. Its contents never
/// change, so one instance is shared by the block cache and every cursor that reads it.
/// </summary>
/// <remarks>
/// Data blocks are reference counted so their buffers can go back to <see cref="BlockBufferPool"/>:
/// whoever gets a block from <see cref="TableReader.ReadDataBlock"/> holds one reference and
/// calls <see cref="Release"/> when done; the block cache holds one more while it keeps the
/// block. Invariant: a block is reachable from the cache or a cursor only while its count is
/// above zero; the buffer is recycled when it reaches zero, never before. Metadata blocks
/// (index, metaindex) live as long as their reader and are not counted.
/// </remarks>
internal sealed class Block
{
    /// <summary>Approximate bytes a cached block costs beyond its data: the block object, cache node and map entry.</summary>
    public const int CacheOverhead = 160;

    private byte[]? _data;
    private readonly bool _pooled;
    private int _references;

    private Block(byte[] data, int restartsOffset, int restartCount, bool internalKeys, string fileName, long fileOffset, bool pooled)
    {
        _data = data;
        _pooled = pooled;
        _references = 1;
        RestartsOffset = restartsOffset;
        RestartCount = restartCount;
        InternalKeys = internalKeys;
        FileName = fileName;
        FileOffset = fileOffset;
        Charge = data.Length + CacheOverhead;
    }

    /// <summary>The buffer; at least the block's contents and trailer long. Throws once the block is released.</summary>
    public byte[] Data => _data ?? throw new ObjectDisposedException(nameof(Block), $"block at {FileOffset} of {FileName} used after its release");

    /// <summary>Where entries end and the restart array begins.</summary>
    public int RestartsOffset { get; }

    public int RestartCount { get; }

    /// <summary>Keys are internal keys (data and index blocks) rather than plain names (metaindex).</summary>
    public bool InternalKeys { get; }

    public string FileName { get; }

    public long FileOffset { get; }

    /// <summary>What the block cache counts for this block: its buffer and bookkeeping.</summary>
    public long Charge { get; }

    /// <summary>Current reference count (tests).</summary>
    internal int References => Volatile.Read(ref _references);

    /// <summary>
    /// Parses the restart array of the first <paramref name="contentsLength"/> bytes of <paramref name="data"/>.
    /// A <paramref name="pooled"/> block returns <paramref name="data"/> to <see cref="BlockBufferPool"/> on its last <see cref="Release"/>.
    /// The new block holds one reference, the caller's.
    /// </summary>
    public static Block Parse(byte[] data, int contentsLength, bool internalKeys, string fileName, long fileOffset, bool pooled = false)
    {
        if (contentsLength < 4)
        {
            throw new StorageCorruptionException(fileName, fileOffset, $"block of {contentsLength} bytes is too short for its restart count");
        }

        uint restartCount = BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(contentsLength - 4));
        long restartsOffset = contentsLength - 4 - (4L * restartCount);
        if (restartCount == 0 || restartsOffset < 0)
        {
            throw new StorageCorruptionException(fileName, fileOffset + contentsLength - 4, $"block restart count {restartCount} does not fit a block of {contentsLength} bytes");
        }

        return new Block(data, (int)restartsOffset, (int)restartCount, internalKeys, fileName, fileOffset, pooled);
    }

    /// <summary>Takes another reference. Only valid while the caller already knows the count is above zero (it holds one, or the cache does under its lock).</summary>
    public void AddReference()
    {
        if (!_pooled)
        {
            return;
        }

        if (Interlocked.Increment(ref _references) <= 1)
        {
            throw new InvalidOperationException($"block at {FileOffset} of {FileName} was referenced after its buffer was recycled");
        }
    }

    /// <summary>Drops a reference; the last one recycles the buffer.</summary>
    public void Release()
    {
        if (!_pooled)
        {
            return;
        }

        int left = Interlocked.Decrement(ref _references);
        if (left == 0)
        {
            byte[] data = _data!;
            _data = null;
            BlockBufferPool.Return(data);
        }
        else if (left < 0)
        {
            throw new InvalidOperationException($"block at {FileOffset} of {FileName} was released more often than referenced");
        }
    }

    /// <summary>Offset of restart entry <paramref name="index"/>, checked to lie within the entries.</summary>
    public int RestartPoint(int index)
    {
        uint offset = BinaryPrimitives.ReadUInt32LittleEndian(Data.AsSpan(RestartsOffset + (4 * index)));
        if (offset > (uint)RestartsOffset)
        {
            throw Corruption(RestartsOffset + (4 * index), $"restart point {offset} lies beyond the entries ({RestartsOffset} bytes)");
        }

        return (int)offset;
    }

    public StorageCorruptionException Corruption(int positionInBlock, string what) =>
        new(FileName, FileOffset + positionInBlock, what);
}
