namespace KvStore.Storage.Lsm.Table;

/// <summary>
/// Short index keys (LevelDB's FindShortestSeparator / FindShortSuccessor) on the user-key
/// part of internal keys. A shortened user key gets the largest trailer (newest possible
/// sequence), which sorts it before every real entry of that user key, so the separator
/// stays ≥ the block's last key and &lt; the next block's first key.
/// </summary>
internal static class IndexSeparator
{
    /// <summary>Writes into <paramref name="destination"/> a key k with last ≤ k &lt; next; returns its length.</summary>
    public static int Between(ReadOnlySpan<byte> last, ReadOnlySpan<byte> next, ref byte[] destination)
    {
        ReadOnlySpan<byte> a = InternalKey.UserKey(last);
        ReadOnlySpan<byte> b = InternalKey.UserKey(next);
        int common = a.CommonPrefixLength(b);
        if (common < Math.Min(a.Length, b.Length))
        {
            byte diff = a[common];
            if (diff < 0xff && diff + 1 < b[common])
            {
                return WriteShortened(a[..(common + 1)], ref destination);
            }
        }

        return Copy(last, ref destination);
    }

    /// <summary>Writes a short key k ≥ <paramref name="last"/>, for the index entry of the final block.</summary>
    public static int After(ReadOnlySpan<byte> last, ref byte[] destination)
    {
        ReadOnlySpan<byte> a = InternalKey.UserKey(last);
        for (int i = 0; i < a.Length; i++)
        {
            if (a[i] != 0xff)
            {
                return WriteShortened(a[..(i + 1)], ref destination);
            }
        }

        return Copy(last, ref destination);
    }

    /// <summary>Writes <paramref name="userKeyPrefix"/> with its last byte incremented, then the largest trailer.</summary>
    private static int WriteShortened(ReadOnlySpan<byte> userKeyPrefix, ref byte[] destination)
    {
        int length = InternalKey.EncodedLength(userKeyPrefix.Length);
        Grow(ref destination, length);
        InternalKey.Encode(destination, userKeyPrefix, InternalKey.MaxSequence, ValueKind.Value);
        destination[userKeyPrefix.Length - 1]++;
        return length;
    }

    private static int Copy(ReadOnlySpan<byte> key, ref byte[] destination)
    {
        Grow(ref destination, key.Length);
        key.CopyTo(destination);
        return key.Length;
    }

    private static void Grow(ref byte[] buffer, int length)
    {
        if (buffer.Length < length)
        {
            buffer = new byte[Math.Max(length, buffer.Length * 2)];
        }
    }
}
