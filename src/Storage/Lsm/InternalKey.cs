using System.Buffers.Binary;

namespace KvStore.Storage.Lsm;

/// <summary>What an internal key records about its user key. Stored on disk: do not change the values.</summary>
public enum ValueKind : byte
{
    /// <summary>A tombstone: the user key was deleted at this sequence number.</summary>
    Deletion = 0,
    Value = 1,
}

/// <summary>
/// Internal keys, as stored in memtables and SSTables (LevelDB's layout):
/// <code>
///   user key bytes | fixed64 little-endian (sequence &lt;&lt; 8 | kind)
/// </code>
/// Ordered by user key (bytewise ascending), then sequence descending, then kind
/// descending, so that a seek to (K, S) lands on the newest version of K visible at S.
/// Sequence numbers are below 2^56.
/// </summary>
public static class InternalKey
{
    public const int TrailerSize = 8;

    public const ulong MaxSequence = (1UL << 56) - 1;

    public static int EncodedLength(int userKeyLength) => userKeyLength + TrailerSize;

    public static void Encode(Span<byte> destination, ReadOnlySpan<byte> userKey, ulong sequence, ValueKind kind)
    {
        userKey.CopyTo(destination);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[userKey.Length..], Pack(sequence, kind));
    }

    public static byte[] Encode(ReadOnlySpan<byte> userKey, ulong sequence, ValueKind kind)
    {
        var key = new byte[userKey.Length + TrailerSize];
        Encode(key, userKey, sequence, kind);
        return key;
    }

    /// <summary>The key to seek to for "newest version of <paramref name="userKey"/> at <paramref name="sequence"/>".</summary>
    public static byte[] SeekKey(ReadOnlySpan<byte> userKey, ulong sequence) => Encode(userKey, sequence, ValueKind.Value);

    public static ulong Pack(ulong sequence, ValueKind kind) => (sequence << 8) | (byte)kind;

    public static ReadOnlySpan<byte> UserKey(ReadOnlySpan<byte> internalKey) => internalKey[..^TrailerSize];

    public static ulong Sequence(ReadOnlySpan<byte> internalKey) => Trailer(internalKey) >> 8;

    public static ValueKind Kind(ReadOnlySpan<byte> internalKey) => (ValueKind)(byte)Trailer(internalKey);

    public static ulong Trailer(ReadOnlySpan<byte> internalKey) => BinaryPrimitives.ReadUInt64LittleEndian(internalKey[^TrailerSize..]);

    /// <summary>Whether the bytes are long enough to be an internal key with a known kind.</summary>
    public static bool IsWellFormed(ReadOnlySpan<byte> internalKey) =>
        internalKey.Length >= TrailerSize && (byte)Trailer(internalKey) <= (byte)ValueKind.Value;
}

/// <summary>The order of internal keys; see <see cref="InternalKey"/>.</summary>
public sealed class InternalKeyComparer : IComparer<byte[]>
{
    public static InternalKeyComparer Instance { get; } = new();

    public static int Compare(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        int c = InternalKey.UserKey(a).SequenceCompareTo(InternalKey.UserKey(b));
        if (c != 0)
        {
            return c;
        }

        // Larger trailer (newer sequence) sorts first.
        return InternalKey.Trailer(b).CompareTo(InternalKey.Trailer(a));
    }

    int IComparer<byte[]>.Compare(byte[]? x, byte[]? y) => Compare(x, y);
}

/// <summary>
/// Maps a user key to the part a Bloom filter is built on, so "latest version of K" lookups
/// can skip tables (for MVCC keys: K without its revision suffix). Its <see cref="Name"/> is
/// stored in each table; a table built with another extractor is not filtered by this one.
/// </summary>
public interface IKeyPrefixExtractor
{
    string Name { get; }

    /// <summary>Whether <paramref name="userKey"/> has a prefix in this extractor's domain.</summary>
    bool InDomain(ReadOnlySpan<byte> userKey);

    ReadOnlySpan<byte> Prefix(ReadOnlySpan<byte> userKey);
}

/// <summary>
/// A cursor over sorted internal keys (memtable, table, level, merge). Not thread-safe.
/// <see cref="Key"/> and <see cref="Value"/> stay valid until the next move.
/// Errors (a corrupted block) are thrown as <see cref="StorageCorruptionException"/>.
/// </summary>
public interface IInternalIterator : IDisposable
{
    bool Valid { get; }

    void SeekToFirst();

    void SeekToLast();

    /// <summary>Positions at the first key ≥ <paramref name="target"/> (internal order).</summary>
    void Seek(ReadOnlySpan<byte> target);

    void Next();

    void Prev();

    ReadOnlySpan<byte> Key { get; }

    ReadOnlySpan<byte> Value { get; }
}
