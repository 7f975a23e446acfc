namespace KvStore.Storage.Log;

/// <summary>One Raft log entry as the log store keeps it. <see cref="Type"/> is opaque here (Raft's entry kind).</summary>
public readonly record struct LogEntry(long Index, long Term, byte Type, ReadOnlyMemory<byte> Data);

/// <summary>What a Raft group must remember across restarts besides its entries (Raft §5.1, Figure 2).</summary>
/// <param name="Term">The latest term the node has seen.</param>
/// <param name="Vote">The node voted for in <see cref="Term"/>, or 0 for none.</param>
/// <param name="Commit">The highest index known committed (an optimisation; safe to lose).</param>
public readonly record struct LogHardState(long Term, ulong Vote, long Commit);

/// <summary>
/// The node's Raft log: one store shared by every Raft group on the node so that one
/// fsync makes the appends of all groups durable (group commit across groups).
/// </summary>
/// <remarks>
/// Index space per group: entries are contiguous in [FirstIndex, LastIndex].
/// An empty group has FirstIndex = CompactedIndex + 1 and LastIndex = CompactedIndex.
/// Mutations (<see cref="Append"/>, <see cref="SaveHardState"/>, <see cref="TruncateSuffix"/>,
/// <see cref="CompactPrefix"/>) are visible to reads at once and durable after the next
/// <see cref="Sync"/>. After a crash, the store recovers exactly a prefix of the mutation
/// sequence that includes everything before the last completed Sync; a torn tail record is
/// detected by CRC32C and cut.
/// Thread-safety: one writer (the Raft host's persist loop) and any number of readers.
/// </remarks>
public interface IRaftLogStore : IDisposable
{
    /// <summary>The groups that have any state in the store.</summary>
    IReadOnlyCollection<ulong> Groups { get; }

    /// <summary>
    /// Appends entries to a group's log. <c>entries[0].Index</c> may be at most LastIndex + 1;
    /// if it is lower, the conflicting suffix from that index on is replaced (Raft §5.3).
    /// Indexes within <paramref name="entries"/> must be consecutive.
    /// </summary>
    void Append(ulong group, ReadOnlySpan<LogEntry> entries);

    void SaveHardState(ulong group, LogHardState state);

    /// <summary>The last saved hard state, or default if none was ever saved.</summary>
    LogHardState GetHardState(ulong group);

    /// <summary>One fsync covering every mutation of every group since the previous Sync.</summary>
    void Sync();

    /// <summary>Number of fsyncs issued by <see cref="Sync"/> since the store was opened (tests prove group commit with it).</summary>
    long SyncCount { get; }

    /// <summary>
    /// Entries in [<paramref name="low"/>, <paramref name="high"/>), stopping early once their payload
    /// bytes exceed <paramref name="maxBytes"/> (at least one entry is always returned when the range is non-empty).
    /// Throws <see cref="ArgumentOutOfRangeException"/> if the range is outside [FirstIndex, LastIndex + 1].
    /// </summary>
    IReadOnlyList<LogEntry> GetEntries(ulong group, long low, long high, long maxBytes = long.MaxValue);

    /// <summary>Term of the entry at <paramref name="index"/>; valid for CompactedIndex..LastIndex (the compacted index keeps its term).</summary>
    long GetTerm(ulong group, long index);

    long FirstIndex(ulong group);

    long LastIndex(ulong group);

    /// <summary>Removes every entry with index ≥ <paramref name="fromIndex"/>.</summary>
    void TruncateSuffix(ulong group, long fromIndex);

    /// <summary>
    /// Drops every entry with index ≤ <paramref name="throughIndex"/> (after a snapshot that covers it),
    /// remembering <paramref name="term"/> as that index's term. If the log does not reach that far,
    /// the log becomes empty starting after it (a snapshot installed from the leader).
    /// </summary>
    void CompactPrefix(ulong group, long throughIndex, long term);

    /// <summary>Forgets a group entirely (a replica removed from this node).</summary>
    void RemoveGroup(ulong group);
}
