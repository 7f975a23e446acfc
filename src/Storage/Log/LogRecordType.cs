namespace KvStore.Storage.Log;

/// <summary>
/// The kind of a Raft log store record (see <see cref="LogRecordCodec"/> for the layouts).
/// Do not change these values: they are embedded in on-disk data.
/// </summary>
internal enum LogRecordType : byte
{
    /// <summary>Every group's hard state, compaction point and last index; heads every segment.</summary>
    Checkpoint = 1,
    Entries = 2,
    HardState = 3,
    TruncateSuffix = 4,
    CompactPrefix = 5,
    RemoveGroup = 6,
}
