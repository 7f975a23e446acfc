namespace KvStore.Raft.Core;

/// <summary>How a linearizable read is confirmed.</summary>
public enum ReadOnlyOption : byte
{
    /// <summary>ReadIndex: the leader confirms it is still leader with a heartbeat round (safe).</summary>
    Safe = 0,
    /// <summary>Lease-based: trust leadership for an election timeout after a quorum heard from us. Requires CheckQuorum; relies on bounded clock drift.</summary>
    LeaseBased = 1,
}

/// <summary>
/// Test-only switches that plant classic Raft bugs, so the simulator can prove it catches
/// them. Never set outside tests.
/// </summary>
[Flags]
public enum PlantedBugs
{
    None = 0,
    /// <summary>Commit an entry of an earlier term by counting its replicas (Raft §5.4.2, Figure 8).</summary>
    CommitPreviousTermByCount = 1,
    /// <summary>Grant votes without the candidate-log-up-to-date check (§5.4.1).</summary>
    VoteWithoutLogCheck = 2,
    /// <summary>Send vote responses without waiting for the vote to be persisted.</summary>
    AnswerBeforePersistingVote = 4,
}

/// <summary>Settings of one Raft node of one group. Each default is chosen for a LAN cluster.</summary>
public sealed record RaftConfig
{
    /// <summary>This node's id; never 0.</summary>
    public required ulong Id { get; init; }

    /// <summary>Ticks a follower waits without hearing from a leader before it campaigns; randomized in [ElectionTick, 2*ElectionTick).</summary>
    public int ElectionTick { get; init; } = 10;

    /// <summary>Ticks between leader heartbeats. Must be less than <see cref="ElectionTick"/>.</summary>
    public int HeartbeatTick { get; init; } = 1;

    /// <summary>Upper bound on the payload bytes of one Append message.</summary>
    public long MaxSizePerMessage { get; init; } = 1 << 20;

    /// <summary>Append messages in flight to one follower in the replicate state.</summary>
    public int MaxInflightMessages { get; init; } = 256;

    /// <summary>Payload bytes in flight to one follower; 0 means no byte limit.</summary>
    public long MaxInflightBytes { get; init; } = 32L << 20;

    /// <summary>Uncommitted payload bytes past which proposals are refused; 0 means no limit.</summary>
    public long MaxUncommittedEntriesSize { get; init; } = 64L << 20;

    /// <summary>Run a pre-election so a partitioned node does not disrupt the cluster when it returns (§9.6).</summary>
    public bool PreVote { get; init; } = true;

    /// <summary>A leader steps down when it has not heard from a quorum for an election timeout.</summary>
    public bool CheckQuorum { get; init; } = true;

    public ReadOnlyOption ReadOnlyOption { get; init; } = ReadOnlyOption.Safe;

    /// <summary>When true, a follower drops proposals instead of forwarding them to the leader.</summary>
    public bool DisableProposalForwarding { get; init; }

    /// <summary>Bytes per snapshot chunk message.</summary>
    public int SnapshotChunkSize { get; init; } = 1 << 20;

    /// <summary>Index the state machine had applied when the node restarted.</summary>
    public long Applied { get; init; }

    /// <summary>
    /// Seed of the node's election-timeout generator. Null derives it from <see cref="Id"/> and <see cref="Group"/>,
    /// so a run is deterministic either way; the simulator passes its own seed to vary timeouts per run.
    /// </summary>
    public ulong? RandomSeed { get; init; }

    /// <summary>The Raft group this node belongs to; stamped on every outgoing <see cref="Message.Group"/>.</summary>
    public ulong Group { get; init; }

    /// <summary>Test-only: planted bugs. Must be None in production.</summary>
    public PlantedBugs PlantedBugs { get; init; }
}
