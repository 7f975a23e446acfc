namespace KvStore.Storage.Lsm.Table;

/// <summary>Where a block's contents lie in a table file: varint64 offset, varint64 size. The 5-byte trailer follows.</summary>
internal readonly record struct BlockHandle(long Offset, int Size)
{
    public const int MaxEncodedLength = Varint.MaxLength64 * 2;

    public int Encode(Span<byte> destination)
    {
        int n = Varint.Write(destination, (ulong)Offset);
        return n + Varint.Write(destination[n..], (ulong)Size);
    }

    /// <summary>Decodes a handle and checks that it lies within [0, <paramref name="limit"/>) with its trailer; false if not.</summary>
    public static bool TryDecode(ReadOnlySpan<byte> source, long limit, out BlockHandle handle)
    {
        handle = default;
        int n = Varint.TryRead64(source, out ulong offset);
        if (n == 0)
        {
            return false;
        }

        int m = Varint.TryRead64(source[n..], out ulong size);
        if (m == 0 || size > TableFormat.MaxBlockContents || offset > (ulong)limit
            || offset + size + TableFormat.BlockTrailerLength > (ulong)limit)
        {
            return false;
        }

        handle = new BlockHandle((long)offset, (int)size);
        return true;
    }
}
