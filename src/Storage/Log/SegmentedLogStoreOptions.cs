namespace KvStore.Storage.Log;

/// <summary>Tuning of <see cref="SegmentedLogStore"/>.</summary>
public sealed record SegmentedLogStoreOptions
{
    /// <summary>
    /// A segment is rolled once the next record would take it past this size. 64 MiB: large enough that
    /// the roll's extra fsyncs (old segment, directory) are rare, small enough that compaction frees
    /// disk space soon after Raft snapshots.
    /// </summary>
    public long SegmentBytes { get; init; } = 64L << 20;
}
