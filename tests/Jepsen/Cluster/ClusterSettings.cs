namespace KvStore.Jepsen.Cluster;

/// <summary>How the nodes under test are started, beyond their addresses.</summary>
public sealed record ClusterSettings
{
    /// <summary>
    /// Snapshot (and compact the log) every this many applied entries. Small, so that a node killed for
    /// a few seconds comes back behind the leader's compacted log and must install a snapshot.
    /// </summary>
    public long SnapshotEveryEntries { get; init; } = 2_000;

    /// <summary>Log entries kept behind a snapshot: a tenth of the interval, so lagging nodes soon need a snapshot.</summary>
    public long CompactionRetainEntries => Math.Max(10, SnapshotEveryEntries / 10);

    /// <summary>
    /// Run every node on the buffer-until-sync file system (<c>--fault-lose-unsynced-writes</c>), so that a
    /// kill loses what was not synced, as a power cut would (the lost-writes nemesis).
    /// </summary>
    public bool LoseUnsyncedWrites { get; init; }
}
