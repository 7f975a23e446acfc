namespace KvStore.Raft.Core;

/// <summary>
/// Kinds of <see cref="Message"/>. Values are part of the wire encoding:
/// do not change them, only add new ones.
/// </summary>
public enum MessageType : byte
{
    /// <summary>Local: start an election (sent to self by Tick or Campaign).</summary>
    Hup = 0,
    /// <summary>Local: the leader should send heartbeats.</summary>
    Beat = 1,
    /// <summary>A proposal: local, or forwarded by a follower to the leader.</summary>
    Propose = 2,
    Append = 3,
    AppendResponse = 4,
    Vote = 5,
    VoteResponse = 6,
    PreVote = 7,
    PreVoteResponse = 8,
    /// <summary>One chunk of a snapshot (leader to follower).</summary>
    Snapshot = 9,
    /// <summary>Acknowledges a snapshot chunk (follower to leader).</summary>
    SnapshotResponse = 10,
    Heartbeat = 11,
    HeartbeatResponse = 12,
    /// <summary>Local: the host could not reach a peer.</summary>
    Unreachable = 13,
    /// <summary>Local: the leader should verify it still has a quorum (CheckQuorum).</summary>
    CheckQuorum = 14,
    /// <summary>Asks the leader to transfer leadership to <see cref="Message.From"/>'s requested target.</summary>
    TransferLeader = 15,
    /// <summary>Leader to transfer target: campaign now, ignoring the election timeout.</summary>
    TimeoutNow = 16,
    ReadIndex = 17,
    ReadIndexResponse = 18,
}

/// <summary>Kinds of <see cref="Entry"/>. Stored on disk: do not change the values.</summary>
public enum EntryType : byte
{
    Normal = 0,
    ConfChange = 1,
}

/// <summary>A Raft log entry. An empty <see cref="Data"/> in a Normal entry is a leader's no-op.</summary>
public readonly record struct Entry(long Index, long Term, EntryType Type, ReadOnlyMemory<byte> Data)
{
    public static Entry Normal(long index, long term, ReadOnlyMemory<byte> data) => new(index, term, EntryType.Normal, data);

    /// <summary>Bytes this entry counts for size limits (payload plus a fixed header estimate).</summary>
    public long Size => Data.Length + 24;
}

/// <summary>The state a node must persist before it answers any message (Raft Figure 2).</summary>
public readonly record struct HardState(long Term, ulong Vote, long Commit)
{
    public bool IsEmpty => Term == 0 && Vote == 0 && Commit == 0;
}

public enum RaftRole : byte
{
    Follower = 0,
    PreCandidate = 1,
    Candidate = 2,
    Leader = 3,
}

/// <summary>Volatile state worth telling the host about when it changes.</summary>
public readonly record struct SoftState(ulong Leader, RaftRole Role);

/// <summary>
/// Cluster membership. In a joint configuration (§4.3 of the dissertation) both
/// <see cref="Voters"/> (incoming) and <see cref="VotersOutgoing"/> must agree.
/// </summary>
public sealed record ConfState
{
    public static ConfState Empty { get; } = new();

    public IReadOnlyList<ulong> Voters { get; init; } = [];
    public IReadOnlyList<ulong> Learners { get; init; } = [];
    /// <summary>The old voters while a joint configuration is in force; empty otherwise.</summary>
    public IReadOnlyList<ulong> VotersOutgoing { get; init; } = [];
    /// <summary>Voters being demoted to learners once the joint configuration is left.</summary>
    public IReadOnlyList<ulong> LearnersNext { get; init; } = [];
    /// <summary>Whether the leader leaves the joint configuration by itself once it commits.</summary>
    public bool AutoLeave { get; init; }

    public bool IsJoint => VotersOutgoing.Count > 0;
}

public enum ConfChangeType : byte
{
    AddVoter = 0,
    AddLearner = 1,
    RemoveNode = 2,
}

public readonly record struct ConfChangeSingle(ConfChangeType Type, ulong NodeId);

/// <summary>
/// A membership change. One single change may be applied directly (simple change);
/// several at once go through a joint configuration. An empty <see cref="Changes"/>
/// list leaves a joint configuration.
/// </summary>
public sealed record ConfChange
{
    public IReadOnlyList<ConfChangeSingle> Changes { get; init; } = [];

    /// <summary>Force joint consensus even for a single change; leave it automatically when true.</summary>
    public bool UseJoint { get; init; }

    public bool AutoLeave { get; init; } = true;

    /// <summary>Opaque bytes for the host (for example the new node's address).</summary>
    public ReadOnlyMemory<byte> Context { get; init; }

    public bool IsLeaveJoint => Changes.Count == 0;
}

public readonly record struct SnapshotMetadata(long Index, long Term, ConfState ConfState);

/// <summary>A state machine snapshot covering the log up to <see cref="SnapshotMetadata.Index"/>.</summary>
public sealed record Snapshot(SnapshotMetadata Metadata, ReadOnlyMemory<byte> Data)
{
    public bool IsEmpty => Metadata.Index == 0;
}

/// <summary>A linearizable read may be served once the state machine has applied <see cref="Index"/>.</summary>
public readonly record struct ReadState(long Index, ReadOnlyMemory<byte> RequestContext);

/// <summary>
/// A message between Raft nodes of one group. Which fields mean something depends on
/// <see cref="Type"/>; the rest are zero. <see cref="Group"/> names the Raft group so that a
/// node-to-node connection can carry the messages of many groups.
/// </summary>
public sealed record Message
{
    public MessageType Type { get; init; }
    public ulong Group { get; init; }
    public ulong From { get; init; }
    public ulong To { get; init; }
    public long Term { get; init; }
    /// <summary>Append: term of the entry before <see cref="Entries"/>; Vote: term of the candidate's last entry.</summary>
    public long LogTerm { get; init; }
    /// <summary>Append: index before <see cref="Entries"/>; AppendResponse: match or rejected index; Vote: last index.</summary>
    public long Index { get; init; }
    public IReadOnlyList<Entry> Entries { get; init; } = [];
    public long Commit { get; init; }
    public bool Reject { get; init; }
    /// <summary>On a rejected Append: the follower's hint of where the logs may agree.</summary>
    public long RejectHint { get; init; }
    /// <summary>On a rejected Append: the term of the entry at <see cref="RejectHint"/>.</summary>
    public long RejectHintTerm { get; init; }
    /// <summary>Snapshot chunk: the snapshot's metadata (on every chunk).</summary>
    public SnapshotMetadata? SnapshotMetadata { get; init; }
    /// <summary>Snapshot chunk: byte offset of <see cref="Payload"/> within the snapshot data.</summary>
    public long ChunkOffset { get; init; }
    /// <summary>Snapshot chunk: whether this chunk ends the snapshot.</summary>
    public bool ChunkLast { get; init; }
    /// <summary>Snapshot chunk bytes; ReadIndex request context; TimeoutNow/Vote: campaign context.</summary>
    public ReadOnlyMemory<byte> Payload { get; init; }
}
