namespace KvStore.Storage.Lsm;

/// <summary>Tables, bytes and entries (values, tombstones and older versions) in one level.</summary>
public sealed record LevelStatistics(int Level, int Tables, long Bytes, long Entries);

/// <summary>A point-in-time view of an <see cref="LsmDatabase"/>'s shape and work.</summary>
public sealed record LsmStatistics
{
    public required IReadOnlyList<LevelStatistics> Levels { get; init; }

    /// <summary>Approximate bytes in the active and the not yet flushed memtables (data not in any table yet).</summary>
    public long MemtableBytes { get; init; }

    /// <summary>Bloom filter consultations by point reads.</summary>
    public long BloomChecks { get; init; }

    /// <summary>Checks where the filter ruled the table out (no block read).</summary>
    public long BloomUseful { get; init; }

    /// <summary>Checks where the filter said "maybe" and the table did not hold the key (false positives).</summary>
    public long BloomUseless { get; init; }

    /// <summary>Tables an iterator with <see cref="ReadOptions.Prefix"/> skipped because their prefix filter ruled the prefix out.</summary>
    public long PrefixFilterSkips { get; init; }

    /// <summary>Key and value bytes handed to Put/Delete/Write.</summary>
    public long UserBytesWritten { get; init; }

    public long WalBytesWritten { get; init; }

    public long WalSyncs { get; init; }

    public long BytesFlushed { get; init; }

    public long BytesCompactedRead { get; init; }

    public long BytesCompactedWritten { get; init; }

    public long Flushes { get; init; }

    public long Compactions { get; init; }

    /// <summary>(table bytes written by flush and compaction) / user bytes written.</summary>
    public double WriteAmplification => UserBytesWritten == 0 ? 0 : (double)(BytesFlushed + BytesCompactedWritten) / UserBytesWritten;

    /// <summary>Sleeps of writers held to <see cref="LsmOptions.DelayedWriteRate"/> because L0 passed the slowdown trigger (one sleep pays the delay of many small writes).</summary>
    public long SlowdownCount { get; init; }

    /// <summary>Waits (up to 100 ms each) of writes for a flush (memtable queue full) or for compaction (L0 at the stop trigger).</summary>
    public long StopCount { get; init; }

    /// <summary>
    /// Times the flush or compaction thread was woken by a signal (a sealed memtable, an installed
    /// version, a waiting writer or Flush), not counting its idle polls. Writes that seal nothing wake neither.
    /// </summary>
    public long BackgroundWakeups { get; init; }

    /// <summary>Most L0 tables ever present at once.</summary>
    public int MaxLevel0Tables { get; init; }
}
