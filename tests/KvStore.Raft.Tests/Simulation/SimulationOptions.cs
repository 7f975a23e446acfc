using KvStore.Raft.Core;

namespace KvStore.Raft.Tests.Simulation;

/// <summary>
/// One simulated run: the cluster shape, which faults are on, and how long each phase lasts.
/// Probabilities and ranges here are upper bounds; each seed draws its own values inside them, so
/// different seeds explore gentle and harsh networks alike.
/// </summary>
public sealed record SimulationOptions
{
    /// <summary>Voters at the start (ids 1..Nodes).</summary>
    public int Nodes { get; init; } = 3;

    /// <summary>Extra node ids that membership changes may add (learner, then voter).</summary>
    public int SpareNodes { get; init; }

    public ulong Seed { get; init; }

    public int ElectionTick { get; init; } = 5;

    /// <summary>Ticks (of a node at the base rate) during which faults are injected.</summary>
    public int FaultTicks { get; init; } = 100;

    /// <summary>Ticks allowed after healing for a leader to be elected and a new proposal to commit.</summary>
    public int LivenessTicks { get; init; } = 200;

    public double MaxDropRate { get; init; } = 0.2;

    public double MaxDuplicateRate { get; init; } = 0.1;

    /// <summary>Probability that a message is held back long enough to arrive after later ones.</summary>
    public double MaxReorderRate { get; init; } = 0.2;

    public bool Partitions { get; init; } = true;

    public bool Crashes { get; init; } = true;

    /// <summary>Probability that a node which just answered a vote is crashed before its next step (targets the vote-persistence window).</summary>
    public double CrashAfterVoteRate { get; init; } = 0.05;

    /// <summary>
    /// Probability that a leader which just sent Appends with new entries is crashed before it syncs them: the
    /// followers may hold entries the leader loses, and nothing committed may be lost.
    /// </summary>
    public double CrashLeaderBeforeSyncRate { get; init; } = 0.01;

    /// <summary>Probability that a leader which just advanced its commit index is crashed at once (before its followers hear of it).</summary>
    public double CrashLeaderAfterCommitRate { get; init; }

    /// <summary>Probability that a leader which just advanced its commit index is cut off from every peer at once (messages in flight are lost).</summary>
    public double IsolateLeaderAfterCommitRate { get; init; }

    public bool DifferentTickRates { get; init; } = true;

    public bool MembershipChanges { get; init; }

    /// <summary>Take state machine snapshots and compact logs every few applied entries.</summary>
    public bool Snapshots { get; init; } = true;

    /// <summary>
    /// Keep each node's log in the real SegmentedLogStore and its snapshots in FileSnapshotStore, on a
    /// FaultInjectingFileSystem whose crashes lose unsynced bytes and may tear the tail; otherwise the
    /// in-memory log store that loses unsynced mutations.
    /// </summary>
    public bool RealLogStore { get; init; }

    public bool PreVote { get; init; } = true;

    public bool CheckQuorum { get; init; } = true;

    /// <summary>Small values force one entry per Append, which widens windows where only part of a batch is replicated.</summary>
    public long MaxSizePerMessage { get; init; } = 1 << 20;

    /// <summary>Mean virtual time between client requests (a tick is 100 units).</summary>
    public int ClientInterval { get; init; } = 40;

    /// <summary>Mean virtual time between nemesis actions (a tick is 100 units).</summary>
    public int NemesisInterval { get; init; } = 400;

    /// <summary>Planted bugs: the core's (CommitPreviousTermByCount, VoteWithoutLogCheck) and the simulator's own (AnswerBeforePersistingVote).</summary>
    public PlantedBugs Bugs { get; init; }
}
