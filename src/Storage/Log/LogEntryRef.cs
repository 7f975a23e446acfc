namespace KvStore.Storage.Log;

/// <summary>
/// Where one entry's payload lives, as the in-memory index keeps it (no payload bytes are held in memory).
/// </summary>
/// <param name="Term">The entry's Raft term.</param>
/// <param name="Record">The position of the record that holds the entry; its meaning belongs to the store
/// (segmented store: segment number and file offset packed by <see cref="SegmentedLogStore"/>; FasterLog store: the record's logical address).
/// <see cref="Missing"/> marks an entry known to exist but whose record was deleted (only while replaying).</param>
/// <param name="Offset">Offset of the payload from the start of the record.</param>
/// <param name="Length">Payload length in bytes.</param>
/// <param name="Type">Raft's entry kind, opaque here.</param>
/// <param name="Crc">CRC-32C of the payload, checked on every read so that bit rot after the store was
/// opened is reported instead of returned (the record CRC is only checked when the store is opened).</param>
internal readonly record struct LogEntryRef(long Term, long Record, int Offset, int Length, byte Type, uint Crc)
{
    public const long Missing = -1;

    public static LogEntryRef Placeholder => new(0, Missing, 0, 0, 0, 0);

    public bool IsMissing => Record == Missing;
}
