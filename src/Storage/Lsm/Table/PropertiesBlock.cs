namespace KvStore.Storage.Lsm.Table;

/// <summary>
/// Encodes the table's properties block (layout in <see cref="TableFormat"/>):
/// varint64 entry count, data bytes, index bytes, filter bytes; then the smallest and the
/// largest internal key, each as varint32 length and bytes. The file size is not stored:
/// the reader takes it from the file.
/// </summary>
internal static class PropertiesBlock
{
    public static byte[] Encode(TableProperties properties)
    {
        int length = (4 * Varint.MaxLength64) + (2 * Varint.MaxLength32)
            + properties.SmallestKey.Length + properties.LargestKey.Length;
        byte[] buffer = new byte[length];
        int p = Varint.Write(buffer, (ulong)properties.EntryCount);
        p += Varint.Write(buffer.AsSpan(p), (ulong)properties.DataBytes);
        p += Varint.Write(buffer.AsSpan(p), (ulong)properties.IndexBytes);
        p += Varint.Write(buffer.AsSpan(p), (ulong)properties.FilterBytes);
        p += Varint.Write(buffer.AsSpan(p), (ulong)properties.SmallestKey.Length);
        properties.SmallestKey.CopyTo(buffer.AsSpan(p));
        p += properties.SmallestKey.Length;
        p += Varint.Write(buffer.AsSpan(p), (ulong)properties.LargestKey.Length);
        properties.LargestKey.CopyTo(buffer.AsSpan(p));
        p += properties.LargestKey.Length;
        return buffer[..p];
    }

    public static TableProperties Decode(ReadOnlySpan<byte> contents, long fileSize, string fileName, long blockOffset)
    {
        int p = 0;
        long entryCount = ReadCount(contents, ref p, fileName, blockOffset);
        long dataBytes = ReadCount(contents, ref p, fileName, blockOffset);
        long indexBytes = ReadCount(contents, ref p, fileName, blockOffset);
        long filterBytes = ReadCount(contents, ref p, fileName, blockOffset);
        byte[] smallest = ReadKey(contents, ref p, fileName, blockOffset);
        byte[] largest = ReadKey(contents, ref p, fileName, blockOffset);
        return new TableProperties(fileSize, entryCount, smallest, largest, dataBytes, indexBytes, filterBytes);
    }

    private static long ReadCount(ReadOnlySpan<byte> contents, ref int p, string fileName, long blockOffset)
    {
        int n = Varint.TryRead64(contents[p..], out ulong value);
        if (n == 0 || value > long.MaxValue)
        {
            throw new StorageCorruptionException(fileName, blockOffset + p, "malformed varint in the properties block");
        }

        p += n;
        return (long)value;
    }

    private static byte[] ReadKey(ReadOnlySpan<byte> contents, ref int p, string fileName, long blockOffset)
    {
        int n = Varint.TryReadInt32(contents[p..], out int length);
        if (n == 0 || length > contents.Length - p - n || (length != 0 && length < InternalKey.TrailerSize))
        {
            throw new StorageCorruptionException(fileName, blockOffset + p, "malformed key in the properties block");
        }

        p += n;
        byte[] key = contents.Slice(p, length).ToArray();
        p += length;
        return key;
    }
}
