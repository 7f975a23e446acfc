namespace KvStore.Raft.Core;

/// <summary>
/// One member of one Raft group as a pure state machine (in the style of etcd's raft): no threads,
/// clocks, sockets or files. Inputs are <see cref="Tick"/>, <see cref="Step"/> and the local requests
/// (<see cref="Propose"/>, <see cref="ReadIndex"/>, ...); every effect comes out through
/// <see cref="GetReady"/>, and <see cref="Advance"/> acknowledges it. Not thread-safe: one caller at a time.
/// </summary>
public sealed partial class RaftNode
{
    /// <summary>Marks the Vote messages of a campaign started by TimeoutNow: voters must not ignore them because of a leader lease (§3.10).</summary>
    private static readonly byte[] s_campaignTransfer = "CampaignTransfer"u8.ToArray();

    private readonly RaftConfig _config;
    private readonly IRaftStorage _storage;
    private readonly RaftLog _log;
    private readonly ProgressTracker _tracker;
    private readonly DeterministicRandom _random;

    private List<Message> _messages = [];
    private List<ReadState> _readStates = [];

    private int _electionElapsed;
    private int _heartbeatElapsed;
    private int _randomizedElectionTimeout;

    /// <summary>Leader only: the node leadership is being handed to, 0 when none.</summary>
    private ulong _leadTransferee;

    /// <summary>Leader only: index of the last conf change appended; no new change until it is applied (one at a time).</summary>
    private long _pendingConfIndex;

    /// <summary>Leader only: payload bytes appended but not yet applied, for proposal backpressure.</summary>
    private long _uncommittedSize;

    private ReadIndexQueue _readIndexQueue = new();
    // Ids of ReadIndex requests this node has led; they only grow, for the life of the node (see ReadIndexQueue).
    private ulong _lastReadRequestId;

    /// <summary>ReadIndex requests that arrived before this leader committed an entry of its term (§6.4): answered once it has.</summary>
    private readonly List<Message> _pendingReadIndexMessages = [];

    /// <summary>Set when ReadIndex requests were queued since the last heartbeat: one heartbeat round confirms them all.</summary>
    private bool _readHeartbeatPending;

    /// <summary>Leader only: proposals were appended since the last Ready and are not yet sent to followers.</summary>
    private bool _appendBroadcastPending;

    private SnapshotAssembly? _snapshotAssembly;

    private SoftState _prevSoftState;
    private HardState _prevHardState;
    private Ready? _outstandingReady;

    /// <summary>
    /// Starts (or restarts) a node from <paramref name="storage"/>'s InitialState. A brand-new group is bootstrapped by
    /// storages whose ConfState lists the initial voters (as if a snapshot at index 0 carried it). A node that will
    /// join an existing group later starts from the same bootstrap ConfState (it replays the conf changes in the log
    /// from index 1), or from an empty one if the leader's log is compacted (it then receives a snapshot).
    /// </summary>
    public RaftNode(RaftConfig config, IRaftStorage storage)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(storage);
        Validate(config);
        _config = config;
        _storage = storage;
        _random = new DeterministicRandom(config.RandomSeed ?? (config.Id * 0x9E3779B97F4A7C15UL) ^ (config.Group * 0xC2B2AE3D27D4EB4FUL) ^ 0x5DEECE66DUL);
        _log = new RaftLog(storage);
        _tracker = new ProgressTracker(config.MaxInflightMessages, config.MaxInflightBytes);

        var (hardState, confState) = storage.InitialState();
        var (cfg, prs) = ConfChanger.Restore(confState, _tracker, _log.LastIndex());
        SwitchToConfig(cfg, prs);
        if (!hardState.IsEmpty)
        {
            _log.LoadCommit(hardState.Commit);
            Term = hardState.Term;
            Vote = hardState.Vote;
        }
        if (config.Applied > 0)
        {
            _log.AppliedTo(config.Applied);
        }
        BecomeFollower(Term, 0);
        _prevHardState = new HardState(Term, Vote, _log.Committed);
        _prevSoftState = new SoftState(0, RaftRole.Follower);
    }

    private static void Validate(RaftConfig c)
    {
        if (c.Id == 0)
        {
            throw new ArgumentException("RaftConfig.Id must not be 0 (0 means 'no node')", nameof(c));
        }
        if (c.HeartbeatTick <= 0)
        {
            throw new ArgumentException($"RaftConfig.HeartbeatTick must be positive, was {c.HeartbeatTick}", nameof(c));
        }
        if (c.ElectionTick <= c.HeartbeatTick)
        {
            throw new ArgumentException($"RaftConfig.ElectionTick ({c.ElectionTick}) must be greater than HeartbeatTick ({c.HeartbeatTick})", nameof(c));
        }
        if (c.MaxInflightMessages <= 0)
        {
            throw new ArgumentException($"RaftConfig.MaxInflightMessages must be positive, was {c.MaxInflightMessages}", nameof(c));
        }
        if (c.MaxSizePerMessage <= 0 || c.SnapshotChunkSize <= 0)
        {
            throw new ArgumentException("RaftConfig.MaxSizePerMessage and SnapshotChunkSize must be positive", nameof(c));
        }
        if (c.MaxInflightBytes < 0 || c.MaxUncommittedEntriesSize < 0 || c.Applied < 0)
        {
            throw new ArgumentException("RaftConfig.MaxInflightBytes, MaxUncommittedEntriesSize and Applied must not be negative", nameof(c));
        }
        if (c.ReadOnlyOption == ReadOnlyOption.LeaseBased && !c.CheckQuorum)
        {
            // A lease is only sound if a leader that lost its quorum steps down within the lease (§6.4.1).
            throw new ArgumentException("ReadOnlyOption.LeaseBased requires CheckQuorum", nameof(c));
        }
    }

    public ulong Id => _config.Id;

    public long Term { get; private set; }

    private ulong _vote;

    /// <summary>
    /// The node this one voted for in <see cref="Term"/>, 0 for none.
    /// Invariant: at most one vote per term (§5.2) — once set, it only changes back to 0 with a new term.
    /// </summary>
    public ulong Vote
    {
        get => _vote;
        private set
        {
            if (_vote != 0 && value != 0 && value != _vote)
            {
                throw new InvalidOperationException($"node {Id}: second vote in term {Term} ({_vote} then {value})");
            }
            _vote = value;
        }
    }

    /// <summary>The leader of <see cref="Term"/> as far as this node knows; 0 when unknown.</summary>
    public ulong Leader { get; private set; }

    public RaftRole Role { get; private set; }

    public ConfState ConfState => _tracker.Config.ToConfState();

    public long CommitIndex => _log.Committed;

    public long AppliedIndex => _log.Applied;

    public long LastIndex => _log.LastIndex();

    /// <summary>Whether this node may campaign: a voter of the current configuration with no snapshot being installed.</summary>
    private bool Promotable =>
        _tracker.Progress.TryGetValue(Id, out var pr) && !pr.IsLearner && !_log.HasPendingSnapshot;

    /// <summary>One logical clock tick: followers count towards an election, leaders towards a heartbeat.</summary>
    public void Tick()
    {
        if (Role == RaftRole.Leader)
        {
            TickHeartbeat();
        }
        else
        {
            TickElection();
        }
    }

    private void TickElection()
    {
        _electionElapsed++;
        if (Promotable && _electionElapsed >= _randomizedElectionTimeout)
        {
            _electionElapsed = 0;
            StepCore(new Message { Type = MessageType.Hup, From = Id });
        }
    }

    private void TickHeartbeat()
    {
        _heartbeatElapsed++;
        _electionElapsed++;
        if (_electionElapsed >= _config.ElectionTick)
        {
            _electionElapsed = 0;
            if (_config.CheckQuorum)
            {
                StepCore(new Message { Type = MessageType.CheckQuorum, From = Id });
            }
            // §3.10: a transfer that has not completed within an election timeout is abandoned.
            if (Role == RaftRole.Leader && _leadTransferee != 0)
            {
                AbortLeaderTransfer();
            }
        }
        if (Role != RaftRole.Leader)
        {
            return;
        }
        ExpireLostSnapshots();
        if (_heartbeatElapsed >= _config.HeartbeatTick)
        {
            _heartbeatElapsed = 0;
            StepCore(new Message { Type = MessageType.Beat, From = Id });
        }
    }

    /// <summary>Feeds a message from a peer (or a local kind such as Hup or Beat). Refused forwarded proposals are dropped silently.</summary>
    public void Step(Message message)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (message.Group != _config.Group)
        {
            throw new ArgumentException($"message for group {message.Group} stepped into node {Id} of group {_config.Group}", nameof(message));
        }
        StepCore(message);
    }

    /// <summary>Starts an election now (a pre-election first when PreVote is on).</summary>
    public void Campaign() => StepCore(new Message { Type = MessageType.Hup, From = Id });

    /// <summary>Proposes an entry; on a follower it is forwarded to the leader. Throws <see cref="ProposalDroppedException"/> when refused here.</summary>
    public void Propose(ReadOnlyMemory<byte> data) =>
        ThrowIfDropped(StepCore(new Message
        {
            Type = MessageType.Propose,
            From = Id,
            Entries = [new Entry(0, 0, EntryType.Normal, data)],
        }));

    /// <summary>Proposes a membership change (one pending at a time). Invalid changes throw <see cref="ArgumentException"/> on the leader.</summary>
    public void ProposeConfChange(ConfChange change)
    {
        ArgumentNullException.ThrowIfNull(change);
        if (Role == RaftRole.Leader && ConfChangeRefusal(change, throwIfInvalid: true) is { } reason)
        {
            ThrowIfDropped(reason);
        }
        ThrowIfDropped(StepCore(new Message
        {
            Type = MessageType.Propose,
            From = Id,
            Entries = [new Entry(0, 0, EntryType.ConfChange, ConfChangeCodec.Encode(change))],
        }));
    }

    /// <summary>Asks for a linearizable read; the answer is a <see cref="Ready.ReadStates"/> item with the same context.</summary>
    public void ReadIndex(ReadOnlyMemory<byte> requestContext) =>
        ThrowIfDropped(StepCore(new Message { Type = MessageType.ReadIndex, From = Id, Payload = requestContext }));

    /// <summary>
    /// On the leader: hands leadership to <paramref name="transferee"/> (§3.10). On a follower only a
    /// transfer to this node itself can be requested; it is forwarded to the leader.
    /// </summary>
    public void TransferLeadership(ulong transferee)
    {
        if (Role == RaftRole.Leader)
        {
            if (!_tracker.Progress.ContainsKey(transferee))
            {
                throw new ArgumentException($"node {transferee} is not a member of group {_config.Group}", nameof(transferee));
            }
        }
        else if (transferee != Id)
        {
            throw new ArgumentException($"follower {Id} can only ask the leader to transfer leadership to itself, not to {transferee}", nameof(transferee));
        }
        ThrowIfDropped(StepCore(new Message { Type = MessageType.TransferLeader, From = transferee }));
    }

    public void ReportUnreachable(ulong peer) => StepCore(new Message { Type = MessageType.Unreachable, From = peer });

    /// <summary>The host's word on a snapshot it sent to <paramref name="peer"/>: the follower goes back to probing.</summary>
    public void ReportSnapshot(ulong peer, bool failed)
    {
        if (Role != RaftRole.Leader || !_tracker.Progress.TryGetValue(peer, out var pr) || pr.State != ProgressState.Snapshot)
        {
            return;
        }
        if (failed)
        {
            pr.SnapshotFailed();
        }
        else
        {
            pr.BecomeProbe();
        }
        // Wait for the follower's answer (or the next heartbeat answer) before the next Append.
        pr.MsgAppFlowPaused = true;
    }

    /// <summary>Applies a committed ConfChange entry (the host calls this while applying); returns the new configuration.</summary>
    public ConfState ApplyConfChange(ConfChange change)
    {
        ArgumentNullException.ThrowIfNull(change);
        TrackerConfig cfg;
        SortedDictionary<ulong, Progress> prs;
        try
        {
            (cfg, prs) = new ConfChanger(_tracker, _log.LastIndex()).Apply(change);
        }
        catch (ArgumentException e)
        {
            throw new InvalidOperationException($"node {Id}: a committed configuration change cannot be applied: {e.Message}", e);
        }
        return SwitchToConfig(cfg, prs);
    }

    public RaftStatus Status()
    {
        var progress = new SortedDictionary<ulong, PeerProgress>();
        if (Role == RaftRole.Leader)
        {
            foreach (var (id, pr) in _tracker.Progress)
            {
                progress[id] = new PeerProgress(pr.Match, pr.Next, pr.State, pr.IsLearner, pr.RecentActive, pr.PendingSnapshot, pr.Inflights.Count);
            }
        }
        return new RaftStatus(Id, Term, Vote, Leader, Role, _log.Committed, _log.Applied, _log.LastIndex(), ConfState, progress, _leadTransferee);
    }

    private void ThrowIfDropped(DropReason? reason)
    {
        if (reason is { } r)
        {
            throw new ProposalDroppedException(r, Leader);
        }
    }

    private void Send(Message m)
    {
        long term = m.Term;
        if (m.Type is MessageType.Vote or MessageType.PreVote or MessageType.VoteResponse or MessageType.PreVoteResponse)
        {
            if (term == 0)
            {
                throw new InvalidOperationException($"{m.Type} must carry a term");
            }
        }
        else if (m.Type is not (MessageType.Propose or MessageType.ReadIndex))
        {
            // Forwarded proposals and reads travel without a term, like local requests.
            term = Term;
        }
        _messages.Add(m with { From = Id, Group = _config.Group, Term = term });
    }

    private void ResetRandomizedElectionTimeout() =>
        _randomizedElectionTimeout = _config.ElectionTick + _random.Next(_config.ElectionTick);

    private ConfState SwitchToConfig(TrackerConfig cfg, SortedDictionary<ulong, Progress> prs)
    {
        _tracker.Switch(cfg, prs);
        var cs = cfg.ToConfState();
        bool present = prs.TryGetValue(Id, out var self);
        if ((!present || self!.IsLearner) && Role == RaftRole.Leader)
        {
            // A leader removed (or demoted) by a committed change steps down (dissertation §4.2.2).
            BecomeFollower(Term, 0);
            return cs;
        }
        if (Role != RaftRole.Leader || cs.Voters.Count == 0)
        {
            return cs;
        }
        // The quorum changed: something may be committed now, and new members need their first Append.
        if (MaybeCommit())
        {
            BcastAppend();
        }
        else
        {
            foreach (var (id, pr) in _tracker.Progress.ToList())
            {
                if (id != Id)
                {
                    // A member we know nothing about yet (just added) gets a probe now, not at the next heartbeat.
                    MaybeSendAppend(id, sendIfEmpty: pr.Match == 0);
                }
            }
        }
        if (_leadTransferee != 0 && !_tracker.IsVoter(_leadTransferee))
        {
            AbortLeaderTransfer();
        }
        return cs;
    }

    private void AbortLeaderTransfer() => _leadTransferee = 0;

    /// <summary>
    /// A snapshot whose chunks or answer were lost would otherwise pause the follower until the host calls
    /// ReportSnapshot. After two election timeouts without an answer the leader gives up on it; the next
    /// heartbeat answer starts a new one.
    /// </summary>
    private void ExpireLostSnapshots()
    {
        foreach (var (id, pr) in _tracker.Progress)
        {
            if (id == Id || pr.State != ProgressState.Snapshot)
            {
                continue;
            }
            pr.SnapshotTicks++;
            if (pr.SnapshotTicks >= 2 * _config.ElectionTick)
            {
                pr.SnapshotFailed();
                pr.MsgAppFlowPaused = true;
            }
        }
    }

    private sealed class SnapshotAssembly
    {
        public required SnapshotMetadata Metadata { get; init; }
        public MemoryStream Data { get; } = new();
    }
}
