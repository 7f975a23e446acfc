using KvStore.Raft.Core;
using KvStore.Storage.Log;

namespace KvStore.Raft.Host;

/// <summary>
/// One group's view of the node-wide <see cref="IRaftLogStore"/>, shaped as the
/// <see cref="IRaftStorage"/> a <see cref="RaftNode"/> reads, plus the writes the host makes
/// when it persists a <see cref="Ready"/>.
/// </summary>
/// <remarks>
/// Where a group's durable state lives:
/// <list type="bullet">
/// <item>entries after the latest snapshot and the hard state (term, vote, commit): the log store,
/// made durable by the host's one <see cref="IRaftLogStore.Sync"/> per batch;</item>
/// <item>the latest snapshot (state machine bytes, index, term and the ConfState as of that index):
/// the <see cref="ISnapshotStore"/>, durable as soon as it is saved. A new group starts from an
/// empty snapshot at index 0 carrying the initial voters (see <see cref="Bootstrap"/>).</item>
/// </list>
/// The ConfState at restart is the snapshot's; configuration changes committed after it are
/// applied again as the log is replayed (the state machine restarts from the snapshot too).
/// A snapshot is saved before the log prefix it covers is compacted, so after a crash the
/// snapshot may be ahead of the log's compaction point; opening the storage repairs that.
/// </remarks>
public sealed class LogStoreRaftStorage : IRaftStorage
{
    private readonly IRaftLogStore _log;
    private readonly ISnapshotStore _snapshots;
    private Snapshot _snapshot;

    /// <summary>Opens the stored state of <paramref name="group"/>; the group must have a snapshot (bootstrap it first).</summary>
    public LogStoreRaftStorage(ulong group, IRaftLogStore log, ISnapshotStore snapshots)
    {
        Group = group;
        _log = log;
        _snapshots = snapshots;
        _snapshot = snapshots.Load(group)
            ?? throw new InvalidOperationException($"group {group} has no snapshot; bootstrap it with its initial voters first");
        RepairCompaction();
    }

    public ulong Group { get; }

    /// <summary>
    /// Creates the durable state of a brand-new group: an empty snapshot at index 0 whose ConfState
    /// lists the initial voters. Does nothing if the group already exists (a restart).
    /// </summary>
    public static void Bootstrap(ulong group, ISnapshotStore snapshots, ConfState initial)
    {
        if (snapshots.Load(group) is null)
        {
            snapshots.Save(group, new Snapshot(new SnapshotMetadata(0, 0, initial), ReadOnlyMemory<byte>.Empty));
        }
    }

    public (HardState HardState, ConfState ConfState) InitialState()
    {
        var hs = _log.GetHardState(Group);
        // A snapshot covers committed entries only, and it is durable on its own while a commit-only hard
        // state change is not synced (losing it is allowed), so the commit index is at least the snapshot's.
        long commit = Math.Max(hs.Commit, _snapshot.Metadata.Index);
        return (new HardState(hs.Term, hs.Vote, commit), _snapshot.Metadata.ConfState);
    }

    public IReadOnlyList<Entry> Entries(long low, long high, long maxBytes)
    {
        var stored = _log.GetEntries(Group, low, high, maxBytes);
        var entries = new Entry[stored.Count];
        for (int i = 0; i < entries.Length; i++)
        {
            var e = stored[i];
            entries[i] = new Entry(e.Index, e.Term, (EntryType)e.Type, e.Data);
        }

        return entries;
    }

    public long Term(long index) => _log.GetTerm(Group, index);

    public long FirstIndex() => _log.FirstIndex(Group);

    public long LastIndex() => _log.LastIndex(Group);

    public Snapshot Snapshot() => _snapshot;

    /// <summary>Appends entries from a Ready, replacing any conflicting suffix (Raft §5.3). Durable after the next Sync.</summary>
    public void Append(IReadOnlyList<Entry> entries)
    {
        if (entries.Count == 0)
        {
            return;
        }

        var stored = new LogEntry[entries.Count];
        for (int i = 0; i < stored.Length; i++)
        {
            var e = entries[i];
            stored[i] = new LogEntry(e.Index, e.Term, (byte)e.Type, e.Data);
        }

        long last = _log.LastIndex(Group);
        _log.Append(Group, stored);
        // Append replaces the suffix from entries[0]; entries of an older leader beyond the new last must go too.
        long newLast = entries[^1].Index;
        if (last > newLast)
        {
            _log.TruncateSuffix(Group, newLast + 1);
        }
    }

    public void SetHardState(HardState state) => _log.SaveHardState(Group, new LogHardState(state.Term, state.Vote, state.Commit));

    /// <summary>
    /// Installs a snapshot received from the leader: saves it (durably), then discards the whole
    /// log it replaces. Raft only hands the host a snapshot when the local log does not contain
    /// the snapshot's last entry, so no local entry survives it.
    /// </summary>
    public void ApplySnapshot(Snapshot snapshot)
    {
        if (snapshot.Metadata.Index <= _snapshot.Metadata.Index)
        {
            return;
        }

        _snapshots.Save(Group, snapshot);
        _snapshot = snapshot;
        if (_log.LastIndex(Group) > snapshot.Metadata.Index)
        {
            _log.TruncateSuffix(Group, Math.Max(_log.FirstIndex(Group), snapshot.Metadata.Index + 1));
        }

        _log.CompactPrefix(Group, snapshot.Metadata.Index, snapshot.Metadata.Term);
    }

    /// <summary>
    /// Records a snapshot the local state machine took at <paramref name="index"/> (which it has applied),
    /// then drops log entries through <paramref name="compactThrough"/> (at most <paramref name="index"/>;
    /// lower keeps a tail for followers that lag a little).
    /// </summary>
    public void SaveLocalSnapshot(long index, ConfState confState, ReadOnlyMemory<byte> data, long compactThrough)
    {
        if (index <= _snapshot.Metadata.Index)
        {
            return;
        }

        if (compactThrough > index)
        {
            throw new ArgumentOutOfRangeException(nameof(compactThrough), $"group {Group}: cannot compact through {compactThrough}, past the snapshot at {index}");
        }

        long term = _log.GetTerm(Group, index);
        var snapshot = new Snapshot(new SnapshotMetadata(index, term, confState), data);
        _snapshots.Save(Group, snapshot);
        _snapshot = snapshot;
        if (compactThrough > _log.FirstIndex(Group) - 1)
        {
            _log.CompactPrefix(Group, compactThrough, _log.GetTerm(Group, compactThrough));
        }
    }

    private void RepairCompaction()
    {
        var meta = _snapshot.Metadata;
        if (meta.Index == 0 || _log.FirstIndex(Group) > meta.Index)
        {
            return;
        }

        // The snapshot was saved but the crash came before the compaction it implies was synced.
        bool logMatches = _log.LastIndex(Group) >= meta.Index && _log.GetTerm(Group, meta.Index) == meta.Term;
        if (!logMatches && _log.LastIndex(Group) > meta.Index)
        {
            _log.TruncateSuffix(Group, Math.Max(_log.FirstIndex(Group), meta.Index + 1));
        }

        _log.CompactPrefix(Group, meta.Index, meta.Term);
    }
}
