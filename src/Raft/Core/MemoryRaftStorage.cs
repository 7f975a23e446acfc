namespace KvStore.Raft.Core;

/// <summary>
/// <see cref="IRaftStorage"/> in memory, for tests, the simulator and benchmarks. The host persists a
/// Ready into it (<see cref="Append"/>, <see cref="SetHardState"/>, <see cref="ApplySnapshot"/>) and compacts
/// it after snapshots (<see cref="CreateSnapshot"/>, <see cref="Compact"/>).
/// Layout: <c>_entries[0]</c> is a placeholder for the last compacted entry (its index and term only), so
/// FirstIndex = _entries[0].Index + 1 and the term of FirstIndex - 1 stays known for the §5.3 consistency check.
/// Thread-safe (one lock) so a host may read from another thread than the one persisting.
/// </summary>
public sealed class MemoryRaftStorage : IRaftStorage
{
    private readonly Lock _lock = new();
    private List<Entry> _entries;
    private HardState _hardState;
    private Snapshot _snapshot;

    /// <summary>A brand-new group's storage: no entries, and <paramref name="initial"/> as if a snapshot at index 0 carried it.</summary>
    public MemoryRaftStorage(ConfState initial)
    {
        ArgumentNullException.ThrowIfNull(initial);
        _snapshot = new Snapshot(new SnapshotMetadata(0, 0, initial), ReadOnlyMemory<byte>.Empty);
        _entries = [new Entry(0, 0, EntryType.Normal, ReadOnlyMemory<byte>.Empty)];
    }

    public (HardState HardState, ConfState ConfState) InitialState()
    {
        lock (_lock)
        {
            return (_hardState, _snapshot.Metadata.ConfState);
        }
    }

    public HardState HardState
    {
        get
        {
            lock (_lock)
            {
                return _hardState;
            }
        }
    }

    public IReadOnlyList<Entry> Entries(long low, long high, long maxBytes)
    {
        lock (_lock)
        {
            long offset = _entries[0].Index;
            if (low <= offset)
            {
                throw new ArgumentOutOfRangeException(nameof(low), low, $"entries before {offset + 1} are compacted");
            }
            if (high > LastIndexLocked() + 1 || high < low)
            {
                throw new ArgumentOutOfRangeException(nameof(high), high, $"range [{low}, {high}) is outside the log ending at {LastIndexLocked()}");
            }
            var result = new List<Entry>();
            long bytes = 0;
            for (long i = low; i < high; i++)
            {
                var e = _entries[(int)(i - offset)];
                if (result.Count > 0 && bytes + e.Size > maxBytes)
                {
                    break;
                }
                bytes += e.Size;
                result.Add(e);
            }
            return result;
        }
    }

    public long Term(long index)
    {
        lock (_lock)
        {
            long offset = _entries[0].Index;
            if (index < offset || index > LastIndexLocked())
            {
                throw new ArgumentOutOfRangeException(nameof(index), index, $"term is known for [{offset}, {LastIndexLocked()}] only");
            }
            return _entries[(int)(index - offset)].Term;
        }
    }

    public long FirstIndex()
    {
        lock (_lock)
        {
            return _entries[0].Index + 1;
        }
    }

    public long LastIndex()
    {
        lock (_lock)
        {
            return LastIndexLocked();
        }
    }

    private long LastIndexLocked() => _entries[0].Index + _entries.Count - 1;

    public Snapshot Snapshot()
    {
        lock (_lock)
        {
            return _snapshot;
        }
    }

    /// <summary>Appends entries, replacing any conflicting suffix from the first new index on (§5.3). Compacted indexes are skipped.</summary>
    public void Append(IReadOnlyList<Entry> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        if (entries.Count == 0)
        {
            return;
        }
        lock (_lock)
        {
            long first = _entries[0].Index + 1;
            if (entries[^1].Index < first)
            {
                return;
            }
            int skip = first > entries[0].Index ? (int)(first - entries[0].Index) : 0;
            long start = entries[skip].Index;
            long position = start - _entries[0].Index;
            if (position > _entries.Count)
            {
                throw new InvalidOperationException($"append at index {start} leaves a gap after the last index {LastIndexLocked()}");
            }
            _entries.RemoveRange((int)position, _entries.Count - (int)position);
            for (int i = skip; i < entries.Count; i++)
            {
                _entries.Add(entries[i]);
            }
        }
    }

    public void SetHardState(HardState hardState)
    {
        lock (_lock)
        {
            _hardState = hardState;
        }
    }

    /// <summary>Installs a snapshot received from the leader: the log restarts after it.</summary>
    public void ApplySnapshot(Snapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        lock (_lock)
        {
            if (snapshot.Metadata.Index <= _snapshot.Metadata.Index)
            {
                throw new InvalidOperationException($"snapshot at {snapshot.Metadata.Index} is not newer than the stored one at {_snapshot.Metadata.Index}");
            }
            _snapshot = snapshot;
            _entries = [new Entry(snapshot.Metadata.Index, snapshot.Metadata.Term, EntryType.Normal, ReadOnlyMemory<byte>.Empty)];
        }
    }

    /// <summary>Records a snapshot of the state machine as of <paramref name="index"/> (applied, hence in the log).</summary>
    public Snapshot CreateSnapshot(long index, ConfState confState, ReadOnlyMemory<byte> data)
    {
        ArgumentNullException.ThrowIfNull(confState);
        lock (_lock)
        {
            if (index <= _snapshot.Metadata.Index)
            {
                throw new InvalidOperationException($"snapshot at {index} is not newer than the stored one at {_snapshot.Metadata.Index}");
            }
            if (index > LastIndexLocked())
            {
                throw new InvalidOperationException($"snapshot index {index} is beyond the last index {LastIndexLocked()}");
            }
            long offset = _entries[0].Index;
            _snapshot = new Snapshot(new SnapshotMetadata(index, _entries[(int)(index - offset)].Term, confState), data);
            return _snapshot;
        }
    }

    /// <summary>Discards entries up to and including <paramref name="index"/>; FirstIndex becomes index + 1.</summary>
    public void Compact(long index)
    {
        lock (_lock)
        {
            long offset = _entries[0].Index;
            if (index <= offset)
            {
                return;
            }
            if (index > LastIndexLocked())
            {
                throw new InvalidOperationException($"compact index {index} is beyond the last index {LastIndexLocked()}");
            }
            if (index > _snapshot.Metadata.Index)
            {
                throw new InvalidOperationException($"compacting to {index} past the snapshot at {_snapshot.Metadata.Index} would lose entries a lagging follower needs");
            }
            var placeholder = _entries[(int)(index - offset)];
            var kept = new List<Entry>(_entries.Count - (int)(index - offset)) { placeholder with { Data = ReadOnlyMemory<byte>.Empty } };
            kept.AddRange(_entries.Skip((int)(index - offset) + 1));
            _entries = kept;
        }
    }
}
