namespace KvStore.Storage.Lsm.Versions;

/// <summary>One SSTable as the manifest knows it: number (file name), size and internal-key range.</summary>
internal sealed record FileMetadata(ulong Number, long Size, byte[] Smallest, byte[] Largest, long Entries)
{
    public ReadOnlySpan<byte> SmallestUserKey => InternalKey.UserKey(Smallest);

    public ReadOnlySpan<byte> LargestUserKey => InternalKey.UserKey(Largest);

    /// <summary>Whether the user-key range [<paramref name="begin"/>, <paramref name="end"/>] (null = unbounded) touches this file.</summary>
    public bool Overlaps(ReadOnlySpan<byte> begin, bool hasBegin, ReadOnlySpan<byte> end, bool hasEnd) =>
        !(hasEnd && LargestUserKey.SequenceCompareTo(end) > 0 && SmallestUserKey.SequenceCompareTo(end) > 0) &&
        !(hasBegin && LargestUserKey.SequenceCompareTo(begin) < 0);

    public bool ContainsUserKey(ReadOnlySpan<byte> userKey) =>
        SmallestUserKey.SequenceCompareTo(userKey) <= 0 && LargestUserKey.SequenceCompareTo(userKey) >= 0;
}
