using System.Buffers.Binary;

namespace KvStore.Storage.Lsm.Table;

/// <summary>
/// The fixed 48-byte end of a table (layout in <see cref="TableFormat"/>): handles of the
/// metaindex and index blocks, the format version, a CRC of those, and the magic number.
/// Fixed-width so a reader finds it at <c>length - 48</c> without parsing anything else.
/// </summary>
internal readonly record struct Footer(BlockHandle MetaIndex, BlockHandle Index)
{
    public void Encode(Span<byte> destination)
    {
        BinaryPrimitives.WriteInt64LittleEndian(destination, MetaIndex.Offset);
        BinaryPrimitives.WriteInt64LittleEndian(destination[8..], MetaIndex.Size);
        BinaryPrimitives.WriteInt64LittleEndian(destination[16..], Index.Offset);
        BinaryPrimitives.WriteInt64LittleEndian(destination[24..], Index.Size);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[32..], TableFormat.FormatVersion);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[36..], Crc32C.Mask(Crc32C.Compute(destination[..36])));
        BinaryPrimitives.WriteUInt64LittleEndian(destination[40..], TableFormat.Magic);
    }

    /// <summary>Decodes and checks the footer found at <paramref name="footerOffset"/> (= file length - 48).</summary>
    public static Footer Decode(ReadOnlySpan<byte> source, string fileName, long footerOffset)
    {
        ulong magic = BinaryPrimitives.ReadUInt64LittleEndian(source[40..]);
        if (magic != TableFormat.Magic)
        {
            throw new StorageCorruptionException(fileName, footerOffset + 40, $"bad table magic number 0x{magic:x16} (not a table, or truncated)");
        }

        uint storedCrc = Crc32C.Unmask(BinaryPrimitives.ReadUInt32LittleEndian(source[36..]));
        if (storedCrc != Crc32C.Compute(source[..36]))
        {
            throw new StorageCorruptionException(fileName, footerOffset, "table footer checksum mismatch");
        }

        uint version = BinaryPrimitives.ReadUInt32LittleEndian(source[32..]);
        if (version != TableFormat.FormatVersion)
        {
            throw new StorageCorruptionException(fileName, footerOffset + 32, $"unsupported table format version {version}");
        }

        var metaIndex = ReadHandle(source, 0, fileName, footerOffset);
        var index = ReadHandle(source, 16, fileName, footerOffset);
        return new Footer(metaIndex, index);
    }

    private static BlockHandle ReadHandle(ReadOnlySpan<byte> source, int at, string fileName, long footerOffset)
    {
        long offset = BinaryPrimitives.ReadInt64LittleEndian(source[at..]);
        long size = BinaryPrimitives.ReadInt64LittleEndian(source[(at + 8)..]);
        if (offset < 0 || size < 0 || size > TableFormat.MaxBlockContents
            || offset > footerOffset - size - TableFormat.BlockTrailerLength)
        {
            throw new StorageCorruptionException(fileName, footerOffset + at, $"block handle ({offset}, {size}) lies outside the table's {footerOffset} bytes of blocks");
        }

        return new BlockHandle(offset, (int)size);
    }
}
