using KvStore.Storage.Log;

namespace KvStore.Storage.Tests.Log;

/// <summary>
/// A reference model of <see cref="IRaftLogStore"/>: plain lists, written from the contract alone,
/// so that the stores can be compared with it after random mutations and crashes.
/// </summary>
internal sealed class RaftLogModel
{
    private readonly SortedDictionary<ulong, Group> _groups = [];

    public IEnumerable<ulong> Groups => _groups.Keys;

    public long Compacted(ulong group) => _groups.TryGetValue(group, out Group? g) ? g.Compacted : 0;

    public long LastIndex(ulong group) => _groups.TryGetValue(group, out Group? g) ? g.Compacted + g.Entries.Count : 0;

    public void Append(ulong group, IReadOnlyList<LogEntry> entries)
    {
        Group g = GetOrCreate(group);
        int keep = (int)(entries[0].Index - g.Compacted - 1);
        g.Entries.RemoveRange(keep, g.Entries.Count - keep);
        g.Entries.AddRange(entries.Select(e => (e.Term, e.Type, e.Data.ToArray())));
    }

    public void SaveHardState(ulong group, LogHardState state) => GetOrCreate(group).HardState = state;

    public void TruncateSuffix(ulong group, long from)
    {
        if (_groups.TryGetValue(group, out Group? g) && from <= g.Compacted + g.Entries.Count)
        {
            int keep = (int)(from - g.Compacted - 1);
            g.Entries.RemoveRange(keep, g.Entries.Count - keep);
        }
    }

    public void CompactPrefix(ulong group, long through, long term)
    {
        Group g = GetOrCreate(group);
        if (through <= g.Compacted)
        {
            return;
        }

        int drop = (int)Math.Min(through - g.Compacted, g.Entries.Count);
        g.Entries.RemoveRange(0, drop);
        if (through > g.Compacted + drop)
        {
            g.Entries.Clear();
        }

        g.Compacted = through;
        g.CompactedTerm = term;
    }

    public void RemoveGroup(ulong group) => _groups.Remove(group);

    public RaftLogModel Clone()
    {
        var copy = new RaftLogModel();
        foreach (var (id, g) in _groups)
        {
            copy._groups[id] = new Group { Compacted = g.Compacted, CompactedTerm = g.CompactedTerm, HardState = g.HardState, Entries = [.. g.Entries] };
        }

        return copy;
    }

    /// <summary>Reads everything the store holds into a model.</summary>
    public static RaftLogModel ReadFrom(IRaftLogStore store)
    {
        var model = new RaftLogModel();
        foreach (ulong id in store.Groups)
        {
            long first = store.FirstIndex(id);
            long last = store.LastIndex(id);
            var g = new Group
            {
                Compacted = first - 1,
                CompactedTerm = store.GetTerm(id, first - 1),
                HardState = store.GetHardState(id),
            };
            foreach (LogEntry e in store.GetEntries(id, first, last + 1))
            {
                g.Entries.Add((e.Term, e.Type, e.Data.ToArray()));
            }

            model._groups[id] = g;
        }

        return model;
    }

    /// <summary>Null when equal, else the first difference.</summary>
    public string? Difference(RaftLogModel other)
    {
        if (!_groups.Keys.SequenceEqual(other._groups.Keys))
        {
            return $"groups [{string.Join(",", _groups.Keys)}] vs [{string.Join(",", other._groups.Keys)}]";
        }

        foreach (var (id, a) in _groups)
        {
            Group b = other._groups[id];
            if (a.Compacted != b.Compacted || a.CompactedTerm != b.CompactedTerm || a.HardState != b.HardState || a.Entries.Count != b.Entries.Count)
            {
                return $"group {id}: compacted {a.Compacted}/{a.CompactedTerm} vs {b.Compacted}/{b.CompactedTerm}, "
                    + $"hard state {a.HardState} vs {b.HardState}, {a.Entries.Count} vs {b.Entries.Count} entries";
            }

            for (int i = 0; i < a.Entries.Count; i++)
            {
                var (ta, ka, da) = a.Entries[i];
                var (tb, kb, db) = b.Entries[i];
                if (ta != tb || ka != kb || !da.AsSpan().SequenceEqual(db))
                {
                    return $"group {id} entry {a.Compacted + 1 + i} differs";
                }
            }
        }

        return null;
    }

    private Group GetOrCreate(ulong group)
    {
        if (!_groups.TryGetValue(group, out Group? g))
        {
            g = new Group();
            _groups[group] = g;
        }

        return g;
    }

    private sealed class Group
    {
        public long Compacted { get; set; }

        public long CompactedTerm { get; set; }

        public LogHardState HardState { get; set; }

        public List<(long Term, byte Type, byte[] Data)> Entries { get; init; } = [];
    }
}
