namespace KvStore.Storage.IO;

/// <summary>What a simulated power loss (<see cref="FaultInjectingFileSystem.Crash(CrashMode, Random)"/>) leaves on disk.</summary>
public enum CrashMode
{
    /// <summary>Every byte and directory entry not made durable by a sync is lost.</summary>
    LoseUnsynced,

    /// <summary>
    /// As <see cref="LoseUnsynced"/>, except that for each file with unsynced bytes appended past
    /// its durable length, a random prefix of those bytes survives (the disk wrote some sectors
    /// of the last write before power went), cutting a record at any byte.
    /// </summary>
    TornTail,

    /// <summary>
    /// As <see cref="TornTail"/>, and a random stretch at the end of the surviving unsynced bytes
    /// holds garbage instead of what was written (sectors allocated but never written).
    /// </summary>
    TornTailWithGarbage,
}
