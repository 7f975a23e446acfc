using System.Buffers.Binary;

namespace KvStore.Storage.Lsm.Table;

/// <summary>
/// A block read from a table, its trailer already checked: contents (entries and restart
/// array, see <see cref="BlockBuilder"/>) at the start of <see cref="Data"/>. Immutable, so one
/// instance is shared by the block cache and every iterator that reads it.
/// </summary>
internal sealed class Block
{
    /// <summary>Approximate bytes a cached block costs beyond its data: the block object, cache node and map entry.</summary>
    public const int CacheOverhead = 160;

    private Block(byte[] data, int restartsOffset, int restartCount, bool internalKeys, string fileName, long fileOffset)
    {
        Data = data;
        RestartsOffset = restartsOffset;
        RestartCount = restartCount;
        InternalKeys = internalKeys;
        FileName = fileName;
        FileOffset = fileOffset;
    }

    public byte[] Data { get; }

    /// <summary>Where entries end and the restart array begins.</summary>
    public int RestartsOffset { get; }

    public int RestartCount { get; }

    /// <summary>Keys are internal keys (data and index blocks) rather than plain names (metaindex).</summary>
    public bool InternalKeys { get; }

    public string FileName { get; }

    public long FileOffset { get; }

    public long Charge => Data.Length + CacheOverhead;

    /// <summary>Parses the restart array of the first <paramref name="contentsLength"/> bytes of <paramref name="data"/>.</summary>
    public static Block Parse(byte[] data, int contentsLength, bool internalKeys, string fileName, long fileOffset)
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

        return new Block(data, (int)restartsOffset, (int)restartCount, internalKeys, fileName, fileOffset);
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
