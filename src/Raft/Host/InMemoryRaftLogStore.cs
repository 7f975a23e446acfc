using KvStore.Storage.Log;

namespace KvStore.Raft.Host;

/// <summary>
/// An <see cref="IRaftLogStore"/> kept in memory, for tests, the simulator and the in-memory
/// benchmark. <see cref="Sync"/> only counts. With <c>trackDurability</c> it also keeps the
/// durable image (what the last Sync covered) so that <see cref="Crash"/> can throw away
/// unsynced mutations exactly as the interface allows a real store to.
/// </summary>
public sealed class InMemoryRaftLogStore : IRaftLogStore
{
    private readonly object _lock = new();
    private readonly bool _trackDurability;
    private Dictionary<ulong, GroupLog> _groups = [];
    private Dictionary<ulong, GroupLog> _durable = [];
    // Mutations since the last Sync, replayed onto the durable image at Sync (when tracking durability).
    private readonly List<Action<Dictionary<ulong, GroupLog>>> _unsynced = [];
    private long _syncCount;

    public InMemoryRaftLogStore(bool trackDurability = false)
    {
        _trackDurability = trackDurability;
    }

    public IReadOnlyCollection<ulong> Groups
    {
        get
        {
            lock (_lock)
            {
                return _groups.Keys.ToArray();
            }
        }
    }

    public long SyncCount => Interlocked.Read(ref _syncCount);

    /// <summary>Mutations not yet covered by a Sync (tracked stores only).</summary>
    public int UnsyncedMutations
    {
        get
        {
            lock (_lock)
            {
                return _unsynced.Count;
            }
        }
    }

    public void Append(ulong group, ReadOnlySpan<LogEntry> entries)
    {
        if (entries.IsEmpty)
        {
            return;
        }

        var copy = entries.ToArray();
        for (int i = 1; i < copy.Length; i++)
        {
            if (copy[i].Index != copy[i - 1].Index + 1)
            {
                throw new ArgumentException($"group {group}: entries are not consecutive at index {copy[i].Index}", nameof(entries));
            }
        }

        Mutate(groups => AppendTo(Get(groups, group), group, copy));
    }

    public void SaveHardState(ulong group, LogHardState state) => Mutate(groups => Get(groups, group).HardState = state);

    public LogHardState GetHardState(ulong group)
    {
        lock (_lock)
        {
            return _groups.TryGetValue(group, out var log) ? log.HardState : default;
        }
    }

    public void Sync()
    {
        lock (_lock)
        {
            if (_trackDurability)
            {
                foreach (var mutation in _unsynced)
                {
                    mutation(_durable);
                }

                _unsynced.Clear();
            }
        }

        Interlocked.Increment(ref _syncCount);
    }

    public IReadOnlyList<LogEntry> GetEntries(ulong group, long low, long high, long maxBytes = long.MaxValue)
    {
        lock (_lock)
        {
            var log = Find(group);
            long first = log?.FirstIndex ?? 1;
            long last = log?.LastIndex ?? 0;
            if (low < first || high > last + 1 || low > high)
            {
                throw new ArgumentOutOfRangeException(nameof(low), $"group {group}: range [{low}, {high}) is outside [{first}, {last + 1}]");
            }

            var result = new List<LogEntry>((int)Math.Min(high - low, 1024));
            long bytes = 0;
            for (long i = low; i < high; i++)
            {
                var e = log!.Entries[(int)(i - first)];
                bytes += e.Data.Length;
                if (result.Count > 0 && bytes > maxBytes)
                {
                    break;
                }

                result.Add(e);
            }

            return result;
        }
    }

    public long GetTerm(ulong group, long index)
    {
        lock (_lock)
        {
            var log = Find(group);
            long compacted = log?.CompactedIndex ?? 0;
            long last = log?.LastIndex ?? 0;
            if (index < compacted || index > last)
            {
                throw new ArgumentOutOfRangeException(nameof(index), $"group {group}: index {index} is outside [{compacted}, {last}]");
            }

            if (log is null)
            {
                return 0;
            }

            return index == compacted ? log.CompactedTerm : log.Entries[(int)(index - compacted - 1)].Term;
        }
    }

    public long FirstIndex(ulong group)
    {
        lock (_lock)
        {
            return Find(group)?.FirstIndex ?? 1;
        }
    }

    public long LastIndex(ulong group)
    {
        lock (_lock)
        {
            return Find(group)?.LastIndex ?? 0;
        }
    }

    public void TruncateSuffix(ulong group, long fromIndex) => Mutate(groups =>
    {
        var log = Get(groups, group);
        if (fromIndex <= log.CompactedIndex)
        {
            throw new ArgumentOutOfRangeException(nameof(fromIndex), $"group {group}: cannot truncate from {fromIndex}, entries through {log.CompactedIndex} are compacted");
        }

        int keep = (int)Math.Min(log.Entries.Count, fromIndex - log.CompactedIndex - 1);
        log.Entries.RemoveRange(keep, log.Entries.Count - keep);
    });

    public void CompactPrefix(ulong group, long throughIndex, long term) => Mutate(groups =>
    {
        var log = Get(groups, group);
        if (throughIndex <= log.CompactedIndex)
        {
            return;
        }

        bool beyondLog = throughIndex > log.LastIndex;
        int drop = (int)Math.Min(log.Entries.Count, throughIndex - log.CompactedIndex);
        log.Entries.RemoveRange(0, drop);
        if (beyondLog)
        {
            log.Entries.Clear();
        }

        log.CompactedIndex = throughIndex;
        log.CompactedTerm = term;
    });

    public void RemoveGroup(ulong group) => Mutate(groups => groups.Remove(group));

    /// <summary>
    /// Simulates a power failure: keeps what the last Sync covered plus the first
    /// <paramref name="survivingUnsynced"/> later mutations (a real store recovers a prefix of its
    /// mutation sequence), and forgets the rest. Requires <c>trackDurability</c>.
    /// </summary>
    public void Crash(int survivingUnsynced = 0)
    {
        lock (_lock)
        {
            if (!_trackDurability)
            {
                throw new InvalidOperationException("this store was created without durability tracking, so it cannot crash");
            }

            for (int i = 0; i < Math.Min(survivingUnsynced, _unsynced.Count); i++)
            {
                _unsynced[i](_durable);
            }

            _unsynced.Clear();
            _groups = Clone(_durable);
        }
    }

    public void Dispose()
    {
    }

    private void Mutate(Action<Dictionary<ulong, GroupLog>> mutation)
    {
        lock (_lock)
        {
            mutation(_groups);
            if (_trackDurability)
            {
                _unsynced.Add(mutation);
            }
        }
    }

    private GroupLog? Find(ulong group) => _groups.GetValueOrDefault(group);

    private static GroupLog Get(Dictionary<ulong, GroupLog> groups, ulong group)
    {
        if (!groups.TryGetValue(group, out var log))
        {
            log = new GroupLog();
            groups[group] = log;
        }

        return log;
    }

    private static void AppendTo(GroupLog log, ulong group, LogEntry[] entries)
    {
        long first = entries[0].Index;
        if (first > log.LastIndex + 1)
        {
            throw new ArgumentException($"group {group}: append at {first} leaves a gap after {log.LastIndex}");
        }

        if (first <= log.CompactedIndex)
        {
            throw new ArgumentException($"group {group}: append at {first} overwrites compacted entries through {log.CompactedIndex}");
        }

        int keep = (int)(first - log.CompactedIndex - 1);
        if (keep < log.Entries.Count)
        {
            log.Entries.RemoveRange(keep, log.Entries.Count - keep);
        }

        log.Entries.AddRange(entries);
    }

    private static Dictionary<ulong, GroupLog> Clone(Dictionary<ulong, GroupLog> groups) =>
        groups.ToDictionary(kv => kv.Key, kv => kv.Value.Clone());

    private sealed class GroupLog
    {
        public List<LogEntry> Entries { get; private init; } = [];
        public long CompactedIndex { get; set; }
        public long CompactedTerm { get; set; }
        public LogHardState HardState { get; set; }
        public long FirstIndex => CompactedIndex + 1;
        public long LastIndex => CompactedIndex + Entries.Count;

        public GroupLog Clone() => new()
        {
            Entries = [.. Entries],
            CompactedIndex = CompactedIndex,
            CompactedTerm = CompactedTerm,
            HardState = HardState,
        };
    }
}
