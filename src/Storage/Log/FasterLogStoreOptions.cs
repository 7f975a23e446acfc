namespace KvStore.Storage.Log;

/// <summary>Tuning of <see cref="FasterLogStore"/>.</summary>
public sealed record FasterLogStoreOptions
{
    /// <summary>
    /// FasterLog page size as a power of two. A record (one Append) must fit in one page, so this caps
    /// the bytes of one Append; 8 MiB holds far more than Raft's per-message size limit.
    /// </summary>
    public int PageSizeBits { get; init; } = 23;

    /// <summary>In-memory buffer of FasterLog as a power of two (at least two pages): 32 MiB.</summary>
    public int MemorySizeBits { get; init; } = 25;

    /// <summary>FasterLog segment file size as a power of two: 256 MiB. Prefix compaction frees whole segments.</summary>
    public int SegmentSizeBits { get; init; } = 28;

    /// <summary>
    /// A checkpoint record is written every this many bytes of log; the log can only be truncated at a
    /// checkpoint, so this bounds how much obsolete log is kept after compaction. 64 MiB, as the segmented store.
    /// </summary>
    public long CheckpointIntervalBytes { get; init; } = 64L << 20;
}
