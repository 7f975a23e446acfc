namespace KvStore.Raft.Core;

/// <summary>One member as the leader tracks it (empty on followers).</summary>
public readonly record struct PeerProgress(
    long Match, long Next, ProgressState State, bool IsLearner, bool RecentActive, long PendingSnapshot, int Inflight);

/// <summary>A point-in-time picture of a node, for the host, the CLI and tests.</summary>
public sealed record RaftStatus(
    ulong Id,
    long Term,
    ulong Vote,
    ulong Leader,
    RaftRole Role,
    long Commit,
    long Applied,
    long LastIndex,
    ConfState ConfState,
    IReadOnlyDictionary<ulong, PeerProgress> Progress,
    ulong LeadTransferee);
