namespace KvStore.Server.Mvcc;

/// <summary>The numbers the <c>status</c> verb shows for one group's store.</summary>
/// <param name="Revision">Current revision.</param>
/// <param name="CompactedRevision">Reads below it fail with COMPACTED.</param>
/// <param name="KeyCount">Live keys at the current revision (kept exactly, so no estimate is needed).</param>
/// <param name="DataSizeBytes">Bytes in the LSM's tables plus the approximate bytes still in its memtables.</param>
/// <param name="AppliedIndex">Raft index of the last applied command.</param>
public sealed record MvccStatus(long Revision, long CompactedRevision, long KeyCount, long DataSizeBytes, long AppliedIndex);
