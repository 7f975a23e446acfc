namespace KvStore.Raft.Core;

/// <summary>
/// Everything a <see cref="RaftNode"/> asks its host to do, in order:
/// 1. send <see cref="EarlyMessages"/> (may overlap the persistence below);
/// 2. persist <see cref="HardState"/>, <see cref="Entries"/> and <see cref="Snapshot"/> (sync if <see cref="MustSync"/>);
///    then send <see cref="Messages"/>;
/// 3. apply <see cref="CommittedEntries"/> to the state machine, serve <see cref="ReadStates"/> once applied;
/// 4. call <see cref="RaftNode.Advance"/>.
/// </summary>
public sealed record Ready
{
    /// <summary>Set when leader or role changed since the previous Ready.</summary>
    public SoftState? SoftState { get; init; }

    /// <summary>Set when term, vote or commit changed since the previous Ready; persist before sending.</summary>
    public HardState? HardState { get; init; }

    /// <summary>Entries to append to stable storage before sending <see cref="Messages"/>.</summary>
    public IReadOnlyList<Entry> Entries { get; init; } = [];

    /// <summary>A snapshot received from the leader, to persist and restore into the state machine.</summary>
    public Snapshot? Snapshot { get; init; }

    /// <summary>Entries known committed, to apply in order. They are already in stable storage.</summary>
    public IReadOnlyList<Entry> CommittedEntries { get; init; } = [];

    /// <summary>Messages to send after the persistence above is durable.</summary>
    public IReadOnlyList<Message> Messages { get; init; } = [];

    /// <summary>
    /// The leader's Appends and Heartbeats, which may be sent before or while this Ready's entries are
    /// persisted (dissertation §10.2.1): they claim nothing about the leader's disk, and the leader counts
    /// its own entries toward commit only after <see cref="RaftNode.Advance"/> reports them persisted.
    /// Only messages of a term whose hard state is already durable are here. Sending them with
    /// <see cref="Messages"/> instead is also correct, just slower.
    /// </summary>
    public IReadOnlyList<Message> EarlyMessages { get; init; } = [];

    /// <summary>Linearizable reads whose index is now confirmed.</summary>
    public IReadOnlyList<ReadState> ReadStates { get; init; } = [];

    /// <summary>Whether the hard state or entries must be fsynced before messages go out.</summary>
    public bool MustSync { get; init; }
}

/// <summary>
/// The stable storage a <see cref="RaftNode"/> reads from (it never writes: the host
/// persists what <see cref="Ready"/> says, then the node reads it back from here).
/// Index conventions as in <see cref="KvStore.Storage.Log.IRaftLogStore"/>.
/// </summary>
public interface IRaftStorage
{
    (HardState HardState, ConfState ConfState) InitialState();

    /// <summary>Entries in [low, high), capped by <paramref name="maxBytes"/> (at least one entry if non-empty).</summary>
    IReadOnlyList<Entry> Entries(long low, long high, long maxBytes);

    /// <summary>Term of entry <paramref name="index"/>, valid from the snapshot index to LastIndex.</summary>
    long Term(long index);

    long FirstIndex();

    long LastIndex();

    /// <summary>The most recent snapshot (for sending to a lagging follower).</summary>
    Snapshot Snapshot();
}
