using System.Buffers.Binary;
using System.Collections.Concurrent;
using KvStore.Raft.Core;
using KvStore.Storage.Log;

namespace KvStore.Raft.Host;

/// <summary>
/// Runs many Raft groups of one node in one process. A single loop owns every
/// <see cref="RaftNode"/> (they are not thread-safe) and, per iteration:
/// <list type="number">
/// <item>takes queued commands, proposals, reads and inbound messages, and ticks every group when a tick is due;</item>
/// <item>collects the Ready of every group with work;</item>
/// <item>sends the leaders' Appends and Heartbeats (<see cref="Ready.EarlyMessages"/>), so followers persist in
/// parallel with this node's fsync;</item>
/// <item>installs snapshots, appends every group's entries and hard state to the one
/// <see cref="IRaftLogStore"/> and syncs it ONCE for the whole batch (group commit across groups);</item>
/// <item>sends the other messages (votes, append responses), one batch per destination node;</item>
/// <item>applies committed entries to each group's state machine, completes proposals, serves reads;</item>
/// <item>advances every node, then starts a snapshot of groups whose log has grown (serialized off the loop,
/// saved and compacted back on it).</item>
/// </list>
/// Any storage failure stops the host (fail-stop): see <see cref="HostFailedException"/>.
/// </summary>
public sealed class RaftHost : IDisposable
{
    private readonly RaftHostOptions _options;
    private readonly RaftConfig _groupConfig;
    private readonly IRaftLogStore _log;
    private readonly ISnapshotStore _snapshots;
    private readonly IRaftTransport _transport;
    private readonly long _tickMs;
    private readonly TimeProvider _clock;
    private readonly long _clockStart;
    private readonly long _timeoutMs;

    // Owned by the loop thread.
    private readonly Dictionary<ulong, HostedGroup> _groups = [];
    private readonly List<HostedGroup> _dirty = [];
    private readonly List<(HostedGroup Group, Ready Ready)> _readies = [];
    private readonly Dictionary<ulong, PendingProposal> _proposals = [];
    private readonly Dictionary<ulong, PendingRead> _reads = [];
    private readonly Dictionary<ulong, List<Message>> _outbox = [];
    private readonly List<Entry> _applyBuffer = [];
    private readonly List<ulong> _applySequences = [];
    private readonly List<(HostedGroup Group, ulong To)> _snapshotsSent = [];
    private readonly List<Task> _snapshotBuilds = [];

    // Filled by any thread, drained by the loop.
    private readonly ConcurrentQueue<Action> _commands = new();
    private readonly ConcurrentQueue<ProposalRequest> _proposalQueue = new();
    private readonly ConcurrentQueue<PendingRead> _readQueue = new();
    private readonly ConcurrentQueue<IReadOnlyList<Message>> _inbound = new();
    private int _inboundCount;

    private readonly ConcurrentDictionary<ulong, RaftGroupStatus> _status = new();
    private readonly ManualResetEventSlim _wake = new(false);
    private int _wakePending;
    private long _nextSequence;
    // Read contexts are (incarnation, sequence): the sequence restarts with the process, the random incarnation does not repeat.
    private readonly ulong _incarnation = (ulong)Random.Shared.NextInt64() | 1;
    private Thread? _thread;
    private volatile bool _stopping;
    private volatile HostFailedException? _failure;
    private long _iterations;
    private long _nextTickAt;

    public RaftHost(RaftHostOptions options, IRaftLogStore log, ISnapshotStore snapshots, IRaftTransport transport)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.NodeId == 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "node id 0 is reserved for 'none'");
        }

        if (transport.LocalNode != options.NodeId)
        {
            throw new ArgumentException($"transport endpoint belongs to node {transport.LocalNode}, not {options.NodeId}", nameof(transport));
        }

        _options = options;
        _groupConfig = (options.GroupConfig ?? new RaftConfig { Id = options.NodeId }) with { Id = options.NodeId };
        _log = log;
        _snapshots = snapshots;
        _transport = transport;
        _tickMs = Math.Max(1, (long)options.TickInterval.TotalMilliseconds);
        _clock = options.Clock;
        _clockStart = _clock.GetTimestamp();
        _timeoutMs = Math.Max(1, (long)options.ProposalTimeout.TotalMilliseconds);
        _transport.SetReceiver(Receive);
    }

    public ulong NodeId => _options.NodeId;

    /// <summary>Loop iterations run so far (each ends with at most one log store Sync).</summary>
    public long Iterations => Interlocked.Read(ref _iterations);

    /// <summary>Why the host stopped (fail-stop), or null while it runs. A server watches it to exit instead of hanging.</summary>
    public HostFailedException? Failure => _failure;

    /// <summary>The groups hosted here, as of the last loop iteration.</summary>
    public IReadOnlyCollection<ulong> Groups => _status.Keys.ToArray();

    /// <summary>Starts the loop thread (unless <see cref="RaftHostOptions.RunLoopThread"/> is false).</summary>
    public void Start()
    {
        if (!_options.RunLoopThread || _thread is not null)
        {
            return;
        }

        _nextTickAt = ClockMs() + _tickMs;
        _thread = new Thread(RunLoop) { IsBackground = true, Name = $"raft-host-{NodeId}" };
        _thread.Start();
    }

    /// <summary>
    /// Adds a replica of <paramref name="group"/>. A group with no stored state is bootstrapped with
    /// <paramref name="initialVoters"/>: the group's voters when it was created, also on a node that joins
    /// later (the log does not repeat the bootstrap configuration, so a joining node that replays the log
    /// from index 1 needs it; a node that receives a snapshot gets the configuration from it). A group with
    /// stored state restarts from it and restores the state machine from its latest snapshot, then replays the log.
    /// </summary>
    public Task AddGroupAsync(ulong group, IReadOnlyList<ulong> initialVoters, IStateMachine stateMachine)
    {
        ArgumentNullException.ThrowIfNull(stateMachine);
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Enqueue(_commands, () =>
        {
            if (_groups.ContainsKey(group))
            {
                throw new InvalidOperationException($"node {NodeId} already hosts group {group}");
            }

            LogStoreRaftStorage.Bootstrap(group, _snapshots, new ConfState { Voters = initialVoters.ToArray() });
            var storage = new LogStoreRaftStorage(group, _log, _snapshots);
            var snapshot = storage.Snapshot();
            if (snapshot.Metadata.Index > 0)
            {
                stateMachine.Restore(snapshot);
            }

            var node = new RaftNode(_groupConfig with { Group = group, Applied = snapshot.Metadata.Index }, storage);
            var hosted = new HostedGroup(group, node, storage, stateMachine, snapshot.Metadata.Index);
            _groups.Add(group, hosted);
            MarkDirty(hosted);
            Publish(hosted);
            done.SetResult();
        }, done);
        return done.Task;
    }

    /// <summary>Stops hosting <paramref name="group"/>; with <paramref name="deleteState"/> its log and snapshot are erased.</summary>
    public Task RemoveGroupAsync(ulong group, bool deleteState)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Enqueue(_commands, () =>
        {
            if (!_groups.Remove(group, out var hosted))
            {
                throw new GroupNotFoundException(NodeId, group);
            }

            _dirty.Remove(hosted);
            _status.TryRemove(group, out _);
            FailGroupRequests(group, new GroupNotFoundException(NodeId, group));
            if (deleteState)
            {
                _log.RemoveGroup(group);
                _log.Sync();
                _snapshots.Remove(group);
            }

            done.SetResult();
        }, done);
        return done.Task;
    }

    /// <summary>
    /// Proposes <paramref name="command"/> to <paramref name="group"/>. Completes with the state machine's
    /// result once the entry is applied on this node; fails with <see cref="NotLeaderException"/>,
    /// <see cref="ProposalDroppedException"/>, <see cref="GroupNotFoundException"/>,
    /// <see cref="TimeoutException"/> or cancellation.
    /// </summary>
    public Task<object?> ProposeAsync(ulong group, ReadOnlyMemory<byte> command, CancellationToken cancellationToken = default)
    {
        ulong sequence = (ulong)Interlocked.Increment(ref _nextSequence);
        byte[] data = ProposalHeader.Wrap(NodeId, sequence, command.Span);
        return Submit(new ProposalRequest(group, sequence, data, null), cancellationToken);
    }

    /// <summary>Proposes a membership change; completes with the configuration once the change is applied here.</summary>
    public async Task<ConfState> ProposeConfChangeAsync(ulong group, ConfChange change, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(change);
        ulong sequence = (ulong)Interlocked.Increment(ref _nextSequence);
        // The header rides in the change's context so the applied entry finds this waiter.
        var tagged = change with { Context = ProposalHeader.Wrap(NodeId, sequence, change.Context.Span) };
        object? result = await Submit(new ProposalRequest(group, sequence, null, tagged), cancellationToken).ConfigureAwait(false);
        return (ConfState)result!;
    }

    /// <summary>
    /// A linearizable read barrier: completes once this node's state machine has applied every entry
    /// committed before the call began (Raft §6.4 ReadIndex); the result is that index.
    /// </summary>
    public Task<long> ReadIndexAsync(ulong group, CancellationToken cancellationToken = default)
    {
        ThrowIfFailed();
        ulong id = (ulong)Interlocked.Increment(ref _nextSequence);
        var completion = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        RegisterCancellation(completion, cancellationToken);
        Enqueue(_readQueue, new PendingRead(group, id, completion, Environment.TickCount64 + _timeoutMs));
        return completion.Task;
    }

    /// <summary>Asks this node to campaign for leadership of <paramref name="group"/> now.</summary>
    public Task CampaignAsync(ulong group) => RunOnLoop(group, g => g.Node.Campaign());

    /// <summary>
    /// The group's full Raft status, read on the loop thread: on the leader it includes every peer's
    /// progress (match index, learner or not), which membership decisions such as promotion need.
    /// </summary>
    public async Task<RaftStatus> GetRaftStatusAsync(ulong group)
    {
        RaftStatus? status = null;
        await RunOnLoop(group, g => status = g.Node.Status()).ConfigureAwait(false);
        return status!;
    }

    /// <summary>Asks the leader (this node) to hand leadership of <paramref name="group"/> to <paramref name="transferee"/>.</summary>
    public Task TransferLeadershipAsync(ulong group, ulong transferee) => RunOnLoop(group, g => g.Node.TransferLeadership(transferee));

    /// <summary>What the loop last saw of <paramref name="group"/>.</summary>
    public RaftGroupStatus GetStatus(ulong group) =>
        _status.TryGetValue(group, out var status) ? status : throw new GroupNotFoundException(NodeId, group);

    /// <summary>
    /// Runs one loop iteration on the caller's thread: for hosts created with RunLoopThread = false.
    /// Returns whether any group had a Ready.
    /// </summary>
    public bool ProcessIteration(bool tick)
    {
        if (_thread is not null)
        {
            throw new InvalidOperationException("the host runs its own loop thread");
        }

        ThrowIfFailed();
        return RunIterationGuarded(tick);
    }

    public void Dispose()
    {
        _stopping = true;
        _wake.Set();
        _thread?.Join();
        _transport.SetReceiver(static _ => { });
        // A snapshot still being serialized reads the state machine, which the owner closes after this returns.
        try
        {
            Task.WaitAll([.. _snapshotBuilds]);
        }
        catch (AggregateException)
        {
            // Its result would only have been saved by the loop, which has stopped.
        }

        var disposed = new ObjectDisposedException(nameof(RaftHost), $"the Raft host of node {NodeId} was stopped");
        FailEverything(disposed);
        _wake.Dispose();
    }

    private void RunLoop()
    {
        while (!_stopping)
        {
            long now = ClockMs();
            bool tick = now >= _nextTickAt;
            if (tick)
            {
                // Never let ticks pile up after a stall: one tick, then back on schedule.
                _nextTickAt = Math.Max(_nextTickAt + _tickMs, now + 1);
            }

            if (!tick && !HasQueuedWork())
            {
                _wake.Wait(TimeSpan.FromMilliseconds(WaitMs(_nextTickAt - now)));
                _wake.Reset();
                Volatile.Write(ref _wakePending, 0);
                continue;
            }

            RunIterationGuarded(tick);
            if (_failure is not null)
            {
                return;
            }
        }
    }

    /// <summary>Milliseconds of the tick clock since the host was created.</summary>
    private long ClockMs() => (long)_clock.GetElapsedTime(_clockStart).TotalMilliseconds;

    /// <summary>
    /// Real milliseconds to sleep until the next tick is due on the tick clock. The system clock runs
    /// at real pace, so the whole gap; any other clock may run faster, so at most a quarter tick, which
    /// keeps ticks on a clock twice as fast at most a quarter tick late.
    /// </summary>
    private long WaitMs(long untilTick) =>
        Math.Max(1, ReferenceEquals(_clock, TimeProvider.System) ? untilTick : Math.Min(untilTick, Math.Max(1, _tickMs / 4)));

    private bool HasQueuedWork() =>
        !_commands.IsEmpty || !_proposalQueue.IsEmpty || !_readQueue.IsEmpty || !_inbound.IsEmpty || _dirty.Count > 0;

    /// <summary>Runs one iteration; returns whether it found work, and false when the host has failed (thread mode).</summary>
    private bool RunIterationGuarded(bool tick)
    {
        try
        {
            return RunIteration(tick);
        }
        catch (Exception e) when (e is not HostFailedException)
        {
            // Fail-stop: whatever was half-persisted is recovered from the durable prefix on restart.
            var failure = new HostFailedException(NodeId, e);
            _failure = failure;
            _stopping = true;
            FailEverything(failure);
            if (_thread is null)
            {
                throw failure;
            }

            return false;
        }
    }

    private bool RunIteration(bool tick)
    {
        Interlocked.Increment(ref _iterations);
        _wake.Reset();
        Volatile.Write(ref _wakePending, 0);

        while (_commands.TryDequeue(out var command))
        {
            command();
        }

        DrainProposals();
        DrainReads();
        DrainInbound();
        if (tick)
        {
            foreach (var g in _groups.Values)
            {
                g.Node.Tick();
                MarkDirty(g);
            }

            ExpireRequests();
        }

        return HandleReadies();
    }

    private bool HandleReadies()
    {
        _readies.Clear();
        foreach (var g in _dirty)
        {
            g.Dirty = false;
            if (g.Node.HasReady())
            {
                _readies.Add((g, g.Node.GetReady()));
            }
        }

        _dirty.Clear();
        if (_readies.Count == 0)
        {
            return false;
        }

        // 1. The leaders' Appends and Heartbeats go out before the fsync below, so followers persist in parallel
        // with this node (dissertation §10.2.1); a leader counts its own entries only once Advance says they are durable.
        SendMessages(early: true);

        // 2-3. Persist every group's state, then one fsync for all of them.
        bool mustSync = false;
        foreach (var (g, ready) in _readies)
        {
            if (ready.Snapshot is { IsEmpty: false } snapshot)
            {
                g.Storage.ApplySnapshot(snapshot);
            }

            g.Storage.Append(ready.Entries);
            if (ready.HardState is { } hardState)
            {
                g.Storage.SetHardState(hardState);
            }

            mustSync |= ready.MustSync;
        }

        if (mustSync)
        {
            _log.Sync();
        }

        // 4. Send what vouches for this node's disk (votes, append responses), batched per destination across groups.
        SendMessages(early: false);

        // 4-5. Apply, complete proposals, serve reads.
        foreach (var (g, ready) in _readies)
        {
            if (ready.Snapshot is { IsEmpty: false } snapshot && snapshot.Metadata.Index > g.Applied)
            {
                g.StateMachine.Restore(snapshot);
                g.Applied = snapshot.Metadata.Index;
                g.SnapshotIndex = snapshot.Metadata.Index;
                g.ConfState = snapshot.Metadata.ConfState;
            }

            Apply(g, ready.CommittedEntries);
            foreach (var rs in ready.ReadStates)
            {
                ConfirmRead(g, rs);
            }

            ServeWaitingReads(g);
        }

        // 6. Advance, then compact and publish.
        foreach (var (g, _) in _readies)
        {
            g.Node.Advance();
        }

        // The whole snapshot is handed to the transport: tell Raft so the follower is probed again rather than
        // waiting forever on a SnapshotResponse that a lossy link may drop (etcd's ReportSnapshot).
        foreach (var (g, to) in _snapshotsSent)
        {
            g.Node.ReportSnapshot(to, failed: false);
        }

        _snapshotsSent.Clear();
        foreach (var (g, _) in _readies)
        {
            MaybeSnapshot(g);
            Publish(g);
            // Advance may leave more work (entries that were waiting on this Ready); look again next iteration.
            if (g.Node.HasReady())
            {
                MarkDirty(g);
            }
        }

        return true;
    }

    private void SendMessages(bool early)
    {
        foreach (var (g, ready) in _readies)
        {
            foreach (var m in early ? ready.EarlyMessages : ready.Messages)
            {
                var stamped = m.Group == g.Id ? m : m with { Group = g.Id };
                if (!_outbox.TryGetValue(m.To, out var batch))
                {
                    batch = [];
                    _outbox[m.To] = batch;
                }

                batch.Add(stamped);
                if (m.Type == MessageType.Snapshot && m.ChunkLast)
                {
                    _snapshotsSent.Add((g, m.To));
                }
            }
        }

        foreach (var (to, batch) in _outbox)
        {
            if (batch.Count > 0)
            {
                // The transport owns the list it is given; keep a fresh one for the next iteration.
                _transport.Send(to, batch);
                _outbox[to] = [];
            }
        }
    }

    private void Apply(HostedGroup g, IReadOnlyList<Entry> committed)
    {
        if (committed.Count == 0)
        {
            return;
        }

        _applyBuffer.Clear();
        _applySequences.Clear();
        foreach (var e in committed)
        {
            if (e.Index <= g.Applied)
            {
                continue;
            }

            if (e.Index != g.Applied + _applyBuffer.Count + 1)
            {
                throw new InvalidOperationException($"group {g.Id}: committed entry {e.Index} does not follow applied index {g.Applied + _applyBuffer.Count}");
            }

            if (e.Type == EntryType.ConfChange)
            {
                ApplyConfChange(g, e);
                _applyBuffer.Add(e);
                continue;
            }

            if (e.Data.IsEmpty)
            {
                _applyBuffer.Add(e);
                _applySequences.Add(0);
                continue;
            }

            var (proposer, sequence, command) = ProposalHeader.Unwrap(g.Id, e.Index, e.Data);
            _applyBuffer.Add(e with { Data = command });
            _applySequences.Add(proposer == NodeId ? sequence : 0);
        }

        if (_applyBuffer.Count == 0)
        {
            return;
        }

        var results = g.StateMachine.Apply(_applyBuffer);
        if (results.Count != _applySequences.Count)
        {
            throw new InvalidOperationException($"group {g.Id}: state machine returned {results.Count} results for {_applySequences.Count} normal entries");
        }

        g.Applied = _applyBuffer[^1].Index;
        for (int i = 0; i < results.Count; i++)
        {
            ulong sequence = _applySequences[i];
            if (sequence != 0 && _proposals.Remove(sequence, out var pending))
            {
                pending.Completion.TrySetResult(results[i]);
            }
        }
    }

    private void ApplyConfChange(HostedGroup g, Entry e)
    {
        if (e.Data.IsEmpty)
        {
            return;
        }

        var change = ConfChangeCodec.Decode(e.Data.Span);
        ulong sequence = 0;
        if (change.Context.Length >= ProposalHeader.Size)
        {
            var (proposer, seq, original) = ProposalHeader.Unwrap(g.Id, e.Index, change.Context);
            sequence = proposer == NodeId ? seq : 0;
            change = change with { Context = original };
        }

        g.ConfState = g.Node.ApplyConfChange(change);
        g.MemberAdded |= change.Changes.Any(c => c.Type != ConfChangeType.RemoveNode);
        if (sequence != 0 && _proposals.Remove(sequence, out var pending))
        {
            pending.Completion.TrySetResult(g.ConfState);
        }
    }

    private void ConfirmRead(HostedGroup g, ReadState rs)
    {
        // A read state of another incarnation of this node (a response delayed across a restart) is
        // not ours: its index may be older than a read we issued since.
        if (rs.RequestContext.Length != 16 || BinaryPrimitives.ReadUInt64LittleEndian(rs.RequestContext.Span) != _incarnation)
        {
            return;
        }

        ulong id = BinaryPrimitives.ReadUInt64LittleEndian(rs.RequestContext.Span[8..]);
        if (_reads.TryGetValue(id, out var read) && read.Index < 0)
        {
            read.Index = rs.Index;
            g.WaitingReads.Add(read);
        }
    }

    private void ServeWaitingReads(HostedGroup g)
    {
        if (g.WaitingReads.Count == 0)
        {
            return;
        }

        g.WaitingReads.RemoveAll(read =>
        {
            if (read.Completion.Task.IsCompleted)
            {
                _reads.Remove(read.Id);
                return true;
            }

            if (read.Index > g.Applied)
            {
                return false;
            }

            _reads.Remove(read.Id);
            read.Completion.TrySetResult(read.Index);
            return true;
        });
    }

    /// <summary>
    /// Starts a local snapshot of a group whose log has grown. The state machine pins a consistent view here,
    /// on the loop; serializing it (the expensive part, proportional to the whole state) runs on the thread
    /// pool while the loop keeps committing and applying; saving it and compacting the log come back to the
    /// loop (<see cref="InstallLocalSnapshot"/>), which owns the log and snapshot stores.
    /// </summary>
    private void MaybeSnapshot(HostedGroup g)
    {
        long every = _options.SnapshotEveryEntries;
        // After a member is added, snapshot at once: an older snapshot does not list the new member, and
        // Raft refuses to install a snapshot of a configuration it is not part of.
        if (g.SnapshotBuild is not null || every <= 0 || g.Applied <= g.SnapshotIndex || (g.Applied - g.SnapshotIndex < every && !g.MemberAdded))
        {
            return;
        }

        g.MemberAdded = false;
        long index = g.Applied;
        var confState = g.ConfState;
        var serialize = g.StateMachine.CaptureSnapshot();
        var build = Task.Run(serialize);
        g.SnapshotBuild = build;
        _snapshotBuilds.Add(build);
        build.ContinueWith(
            done => Enqueue(_commands, () => InstallLocalSnapshot(g, index, confState, done)),
            CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private void InstallLocalSnapshot(HostedGroup g, long index, ConfState confState, Task<ReadOnlyMemory<byte>> build)
    {
        g.SnapshotBuild = null;
        _snapshotBuilds.Remove(build);
        if (!_groups.TryGetValue(g.Id, out var current) || !ReferenceEquals(current, g))
        {
            return;
        }

        // A failed serialization is a storage failure like any other: fail-stop (the exception leaves the loop).
        var data = build.GetAwaiter().GetResult();
        // A snapshot installed from the leader meanwhile may be newer; SaveLocalSnapshot then keeps it.
        if (index > g.SnapshotIndex)
        {
            long compactThrough = Math.Max(0, index - _options.CompactionRetainEntries);
            g.Storage.SaveLocalSnapshot(index, confState, data, compactThrough);
            g.SnapshotIndex = index;
        }

        MarkDirty(g);
    }

    private void DrainProposals()
    {
        while (_proposalQueue.TryDequeue(out var request))
        {
            if (request.Completion.Task.IsCompleted)
            {
                continue;
            }

            if (!_groups.TryGetValue(request.Group, out var g))
            {
                request.Completion.TrySetException(new GroupNotFoundException(NodeId, request.Group));
                continue;
            }

            if (!_options.ForwardProposals && g.Node.Role != RaftRole.Leader)
            {
                request.Completion.TrySetException(new NotLeaderException(g.Id, NodeId, g.Node.Leader));
                continue;
            }

            try
            {
                if (request.ConfChange is { } change)
                {
                    g.Node.ProposeConfChange(change);
                }
                else
                {
                    g.Node.Propose(request.Data);
                }
            }
            catch (ProposalDroppedException e)
            {
                request.Completion.TrySetException(Refusal(g, e));
                continue;
            }
            catch (ArgumentException e)
            {
                // An invalid membership change: the caller's mistake, not the host's.
                request.Completion.TrySetException(e);
                continue;
            }
            catch (Exception e)
            {
                request.Completion.TrySetException(new HostFailedException(NodeId, e));
                throw;
            }

            _proposals[request.Sequence] = new PendingProposal(g.Id, request.Completion, request.Deadline);
            MarkDirty(g);
        }
    }

    private void DrainReads()
    {
        Span<byte> context = stackalloc byte[16];
        BinaryPrimitives.WriteUInt64LittleEndian(context, _incarnation);
        while (_readQueue.TryDequeue(out var read))
        {
            if (read.Completion.Task.IsCompleted)
            {
                continue;
            }

            if (!_groups.TryGetValue(read.Group, out var g))
            {
                read.Completion.TrySetException(new GroupNotFoundException(NodeId, read.Group));
                continue;
            }

            if (!_options.ForwardProposals && g.Node.Role != RaftRole.Leader)
            {
                read.Completion.TrySetException(new NotLeaderException(g.Id, NodeId, g.Node.Leader));
                continue;
            }

            BinaryPrimitives.WriteUInt64LittleEndian(context[8..], read.Id);
            try
            {
                g.Node.ReadIndex(context.ToArray());
            }
            catch (ProposalDroppedException e)
            {
                read.Completion.TrySetException(Refusal(g, e));
                continue;
            }
            catch (Exception e)
            {
                read.Completion.TrySetException(new HostFailedException(NodeId, e));
                throw;
            }

            _reads[read.Id] = read;
            MarkDirty(g);
        }
    }

    private void DrainInbound()
    {
        while (_inbound.TryDequeue(out var batch))
        {
            Interlocked.Decrement(ref _inboundCount);
            foreach (var m in batch)
            {
                // Messages for groups not (or no longer) hosted here are dropped; the sender retries or gives up.
                if (_groups.TryGetValue(m.Group, out var g))
                {
                    g.Node.Step(m);
                    MarkDirty(g);
                }
            }
        }
    }

    private void ExpireRequests()
    {
        long now = Environment.TickCount64;
        List<ulong>? expired = null;
        foreach (var (sequence, pending) in _proposals)
        {
            if (pending.Completion.Task.IsCompleted || now >= pending.Deadline)
            {
                (expired ??= []).Add(sequence);
            }
        }

        if (expired is not null)
        {
            foreach (ulong sequence in expired)
            {
                _proposals.Remove(sequence, out var pending);
                pending!.Completion.TrySetException(new TimeoutException(
                    $"proposal to group {pending.Group} on node {NodeId} was not applied within {_options.ProposalTimeout}"));
            }

            expired.Clear();
        }

        foreach (var (id, read) in _reads)
        {
            if (read.Completion.Task.IsCompleted || now >= read.Deadline)
            {
                (expired ??= []).Add(id);
            }
        }

        if (expired is not null)
        {
            foreach (ulong id in expired)
            {
                _reads.Remove(id, out var read);
                read!.Completion.TrySetException(new TimeoutException(
                    $"read of group {read.Group} on node {NodeId} was not confirmed within {_options.ProposalTimeout}"));
                if (_groups.TryGetValue(read.Group, out var g))
                {
                    g.WaitingReads.Remove(read);
                }
            }
        }
    }

    private Exception Refusal(HostedGroup g, ProposalDroppedException e) =>
        e.Reason is DropReason.NoLeader or DropReason.ForwardingDisabled
            ? new NotLeaderException(g.Id, NodeId, e.LeaderHint != 0 ? e.LeaderHint : g.Node.Leader)
            : e;

    private Task<object?> Submit(ProposalRequest request, CancellationToken cancellationToken)
    {
        ThrowIfFailed();
        RegisterCancellation(request.Completion, cancellationToken);
        request.Deadline = Environment.TickCount64 + _timeoutMs;
        Enqueue(_proposalQueue, request);
        return request.Completion.Task;
    }

    private Task RunOnLoop(ulong group, Action<HostedGroup> action)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Enqueue(_commands, () =>
        {
            if (!_groups.TryGetValue(group, out var g))
            {
                throw new GroupNotFoundException(NodeId, group);
            }

            action(g);
            MarkDirty(g);
            done.SetResult();
        }, done);
        return done.Task;
    }

    private void Enqueue(ConcurrentQueue<Action> queue, Action action, TaskCompletionSource done)
    {
        ThrowIfFailed();
        Enqueue(queue, () =>
        {
            try
            {
                action();
            }
            catch (Exception e)
            {
                // A refused command (unknown group, bad configuration) fails its caller, not the host.
                done.TrySetException(e);
            }
        });
    }

    private void Enqueue<T>(ConcurrentQueue<T> queue, T item)
    {
        queue.Enqueue(item);
        if (Interlocked.Exchange(ref _wakePending, 1) == 0)
        {
            _wake.Set();
        }
    }

    private void Receive(IReadOnlyList<Message> batch)
    {
        if (_stopping || Interlocked.Increment(ref _inboundCount) > _options.MaxInboundBatches)
        {
            if (!_stopping)
            {
                Interlocked.Decrement(ref _inboundCount);
            }

            return;
        }

        Enqueue(_inbound, batch);
    }

    private static void RegisterCancellation<T>(TaskCompletionSource<T> completion, CancellationToken cancellationToken)
    {
        if (!cancellationToken.CanBeCanceled)
        {
            return;
        }

        var registration = cancellationToken.Register(() => completion.TrySetCanceled(cancellationToken));
        completion.Task.ContinueWith(_ => registration.Dispose(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private void MarkDirty(HostedGroup g)
    {
        if (!g.Dirty)
        {
            g.Dirty = true;
            _dirty.Add(g);
        }
    }

    private void Publish(HostedGroup g)
    {
        var node = g.Node;
        _status[g.Id] = new RaftGroupStatus(g.Id, node.Role, node.Leader, node.Term, node.CommitIndex, g.Applied, node.LastIndex);
    }

    private void FailGroupRequests(ulong group, Exception error)
    {
        foreach (var (sequence, pending) in _proposals.Where(p => p.Value.Group == group).ToList())
        {
            _proposals.Remove(sequence);
            pending.Completion.TrySetException(error);
        }

        foreach (var (id, read) in _reads.Where(r => r.Value.Group == group).ToList())
        {
            _reads.Remove(id);
            read.Completion.TrySetException(error);
        }
    }

    private void FailEverything(Exception error)
    {
        foreach (var pending in _proposals.Values)
        {
            pending.Completion.TrySetException(error);
        }

        foreach (var read in _reads.Values)
        {
            read.Completion.TrySetException(error);
        }

        while (_proposalQueue.TryDequeue(out var request))
        {
            request.Completion.TrySetException(error);
        }

        while (_readQueue.TryDequeue(out var read))
        {
            read.Completion.TrySetException(error);
        }

        _proposals.Clear();
        _reads.Clear();
    }

    private void ThrowIfFailed()
    {
        if (_failure is { } failure)
        {
            throw failure;
        }

        ObjectDisposedException.ThrowIf(_stopping, this);
    }

    private sealed class ProposalRequest(ulong group, ulong sequence, byte[]? data, ConfChange? confChange)
    {
        public ulong Group { get; } = group;

        public ulong Sequence { get; } = sequence;

        public byte[]? Data { get; } = data;

        public ConfChange? ConfChange { get; } = confChange;

        public TaskCompletionSource<object?> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public long Deadline { get; set; }
    }
}
