namespace KvStore.Storage.Log;

/// <summary>One group's state in a Checkpoint record: what replay needs when the records before it are gone.</summary>
internal readonly record struct CheckpointGroupState(ulong Group, LogHardState HardState, long CompactedIndex, long CompactedTerm, long LastIndex);
