using KvStore.Raft.Core;

namespace KvStore.Raft.Host;

/// <summary>What a host last observed of one of its groups (published by the loop after each iteration).</summary>
public readonly record struct RaftGroupStatus(ulong Group, RaftRole Role, ulong Leader, long Term, long Commit, long Applied, long LastIndex);
