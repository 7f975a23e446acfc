using System.Buffers.Binary;
using KvStore.Raft.Core;
using KvStore.Raft.Host;
using KvStore.Storage.IO;
using KvStore.Storage.Log;

namespace KvStore.Raft.Tests.Simulation;

/// <summary>
/// One simulated node of one group: a <see cref="RaftNode"/> over the same durable storage the host
/// uses (<see cref="LogStoreRaftStorage"/> on a log store that forgets unsynced writes on a crash, and a
/// snapshot store), a <see cref="RegisterMachine"/>, and the host loop's persist-send-apply semantics.
/// </summary>
internal sealed class SimulatedNode
{
    public const ulong Group = 1;

    private readonly RaftConfig _config;
    private readonly List<(ulong Id, long Index)> _waitingReads = [];
    private readonly bool _answerBeforePersistingVote;
    private readonly int _snapshotEvery;
    private readonly int _retainEntries;

    /// <param name="disk">
    /// When set, the node keeps its log in the real <see cref="SegmentedLogStore"/> and its snapshots in a
    /// <see cref="FileSnapshotStore"/>, both on this fault-injecting file system; otherwise in memory.
    /// </param>
    public SimulatedNode(ulong id, RaftConfig config, ConfState initial, long tickPeriod, int snapshotEvery, int retainEntries, FaultInjectingFileSystem? disk)
    {
        Id = id;
        _config = config;
        _answerBeforePersistingVote = (config.PlantedBugs & PlantedBugs.AnswerBeforePersistingVote) != 0;
        _snapshotEvery = snapshotEvery;
        _retainEntries = retainEntries;
        TickPeriod = tickPeriod;
        Disk = disk;
        if (disk is null)
        {
            Log = new InMemoryRaftLogStore(trackDurability: true);
            Snapshots = new InMemorySnapshotStore();
        }
        else
        {
            Log = SegmentedLogStore.Open(disk, "/log");
            Snapshots = new FileSnapshotStore(disk, "/snapshots");
        }

        LogStoreRaftStorage.Bootstrap(Group, Snapshots, initial);
    }

    public FaultInjectingFileSystem? Disk { get; }

    /// <summary>Whether writes were made since the last Sync (what a crash can take away).</summary>
    public bool HasUnsyncedWrites { get; private set; }

    public ulong Id { get; }

    public bool Up { get; private set; }

    /// <summary>Bumped at every crash, so events addressed to an earlier life of the node are ignored.</summary>
    public int Incarnation { get; private set; }

    public long TickPeriod { get; set; }

    public IRaftLogStore Log { get; private set; }

    public ISnapshotStore Snapshots { get; }

    public LogStoreRaftStorage Storage { get; private set; } = null!;

    public RaftNode Raft { get; private set; } = null!;

    public RegisterMachine Machine { get; private set; } = null!;

    /// <summary>Membership as of the applied index (what a local snapshot records).</summary>
    public ConfState ConfState { get; private set; } = ConfState.Empty;

    /// <summary>Set once a change removing this node was proposed: the simulator never adds it back (ids are not reused).</summary>
    public bool Removed { get; set; }

    /// <summary>Highest commit index whose entries the checker has compared (reset never: commits only grow).</summary>
    public long CheckedCommit { get; set; }

    /// <summary>Starts (or restarts) from what is durable: snapshot, then the log after it.</summary>
    public void Start()
    {
        Storage = new LogStoreRaftStorage(Group, Log, Snapshots);
        var snapshot = Storage.Snapshot();
        Machine = new RegisterMachine();
        if (snapshot.Metadata.Index > 0)
        {
            Machine.Restore(snapshot);
        }

        Raft = new RaftNode(_config with
        {
            Applied = snapshot.Metadata.Index,
            RandomSeed = _config.RandomSeed!.Value + (ulong)Incarnation * 0x9E3779B97F4A7C15UL,
        }, Storage);
        ConfState = Raft.ConfState;
        Up = true;
    }

    /// <summary>Power failure: everything not synced is lost, except a prefix of the unsynced mutations the store recovers.</summary>
    public void Crash(Random random)
    {
        Up = false;
        Incarnation++;
        _waitingReads.Clear();
        if (Log is InMemoryRaftLogStore memory)
        {
            memory.Crash(random.Next(memory.UnsyncedMutations + 1));
        }
        else
        {
            // Power loss on the simulated disk, torn tails included; the store recovers from what is left.
            Log.Dispose();
            Disk!.Crash((CrashMode)random.Next(3), random);
            Log = SegmentedLogStore.Open(Disk, "/log");
        }

        HasUnsyncedWrites = false;
        Raft = null!;
        Machine = null!;
    }

    /// <summary>Runs the host loop for as long as the node has a Ready.</summary>
    public void ProcessReadies(ISimulationObserver observer)
    {
        while (Up && Raft.HasReady())
        {
            HandleReady(observer, Raft.GetReady());
        }
    }

    private void Sync()
    {
        Log.Sync();
        HasUnsyncedWrites = false;
    }

    private void HandleReady(ISimulationObserver observer, Ready ready)
    {
        // 1. A snapshot from the leader replaces the log and the state machine.
        if (ready.Snapshot is { IsEmpty: false } snapshot)
        {
            Storage.ApplySnapshot(snapshot);
        }

        // 2. The leader's Appends leave before its own entries are durable (dissertation §10.2.1), as the host sends them.
        foreach (var m in ready.EarlyMessages)
        {
            observer.Send(this, m);
        }

        // 3-4. Persist, fsync, then send. The planted bug answers before the hard state is durable:
        // the vote is written after the messages leave and only synced by a later Ready.
        Storage.Append(ready.Entries);
        HasUnsyncedWrites |= ready.Entries.Count > 0 || ready.HardState is not null;
        if (observer.CrashBeforeSync(this, ready))
        {
            return;
        }

        if (_answerBeforePersistingVote)
        {
            if (ready.Entries.Count > 0)
            {
                Sync();
            }

            foreach (var m in ready.Messages)
            {
                observer.Send(this, m);
            }

            if (ready.HardState is { } late)
            {
                Storage.SetHardState(late);
            }
        }
        else
        {
            if (ready.HardState is { } hs)
            {
                Storage.SetHardState(hs);
            }

            if (ready.MustSync)
            {
                Sync();
            }

            foreach (var m in ready.Messages)
            {
                observer.Send(this, m);
            }
        }

        // 5. Apply.
        if (ready.Snapshot is { IsEmpty: false } installed && installed.Metadata.Index > Machine.AppliedIndex)
        {
            Machine.Restore(installed);
            ConfState = installed.Metadata.ConfState;
        }

        bool addedMember = false;
        foreach (var e in ready.CommittedEntries)
        {
            if (e.Index <= Machine.AppliedIndex)
            {
                continue;
            }

            if (e.Type == EntryType.ConfChange && !e.Data.IsEmpty)
            {
                var change = ConfChangeCodec.Decode(e.Data.Span);
                ConfState = Raft.ApplyConfChange(change);
                addedMember |= change.Changes.Any(c => c.Type != ConfChangeType.RemoveNode);
            }

            Machine.Apply([e]);
            observer.Applied(this, e);
        }

        // 6. Serve reads whose index is applied.
        foreach (var rs in ready.ReadStates)
        {
            if (rs.RequestContext.Length == 8)
            {
                _waitingReads.Add((BinaryPrimitives.ReadUInt64LittleEndian(rs.RequestContext.Span), rs.Index));
            }
        }

        _waitingReads.RemoveAll(read =>
        {
            if (read.Index > Machine.AppliedIndex)
            {
                return false;
            }

            observer.ReadServed(this, read.Id, read.Index);
            return true;
        });

        // 7. Advance, then compact like the host does.
        Raft.Advance();
        long snapshotIndex = Storage.Snapshot().Metadata.Index;
        // After a member is added, snapshot at once: a snapshot taken before the change does not list the
        // new member, and Raft refuses to install a snapshot of a configuration it is not part of.
        if (_snapshotEvery > 0 && (Machine.AppliedIndex - snapshotIndex >= _snapshotEvery || (addedMember && Machine.AppliedIndex > snapshotIndex)))
        {
            long through = Math.Max(0, Machine.AppliedIndex - _retainEntries);
            Storage.SaveLocalSnapshot(Machine.AppliedIndex, ConfState, Machine.TakeSnapshot(), through);
        }

        observer.ReadyHandled(this, ready);
    }
}
