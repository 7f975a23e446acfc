namespace KvStore.Raft.Core;

/// <summary>
/// The node's log: stable storage (read-only here) followed by the unstable tail the host has not
/// persisted yet. Invariants: applied &lt;= committed &lt;= lastIndex; committed never decreases; no
/// committed entry is ever overwritten (Log Matching and Leader Completeness rest on it).
/// </summary>
internal sealed class RaftLog
{
    private readonly IRaftStorage _storage;
    private long _committed;
    private long _applied;

    public RaftLog(IRaftStorage storage)
    {
        _storage = storage;
        long first = storage.FirstIndex();
        Unstable = new UnstableLog(storage.LastIndex() + 1);
        _committed = first - 1;
        _applied = first - 1;
    }

    public UnstableLog Unstable { get; }

    /// <summary>Highest index known committed. Invariant: never decreases and never exceeds LastIndex.</summary>
    public long Committed => _committed;

    /// <summary>Highest index handed to the host for applying (and acknowledged by Advance). Invariant: Applied &lt;= Committed.</summary>
    public long Applied => _applied;

    public long FirstIndex() => Unstable.MaybeFirstIndex() ?? _storage.FirstIndex();

    public long LastIndex() => Unstable.MaybeLastIndex() ?? _storage.LastIndex();

    public long LastTerm() => TryTerm(LastIndex(), out long t) ? t : throw new InvalidOperationException($"term of the last index {LastIndex()} is unavailable");

    /// <summary>Term of <paramref name="index"/>; false when the index is compacted or beyond the log.</summary>
    public bool TryTerm(long index, out long term)
    {
        // The entry just before FirstIndex is still known by term (from the snapshot), like etcd's dummy entry.
        long dummy = FirstIndex() - 1;
        if (index < dummy || index > LastIndex())
        {
            term = 0;
            return false;
        }
        if (Unstable.MaybeTerm(index) is { } t)
        {
            term = t;
            return true;
        }
        if (index < _storage.FirstIndex() - 1)
        {
            term = 0;
            return false;
        }
        term = _storage.Term(index);
        return true;
    }

    public long TermOrZero(long index) => TryTerm(index, out long t) ? t : 0;

    public bool MatchTerm(long index, long term) => TryTerm(index, out long t) && t == term;

    /// <summary>§5.4.1: a voter grants only to a candidate whose log is at least as up to date as its own.</summary>
    public bool IsUpToDate(long lastIndex, long term)
    {
        long ourTerm = LastTerm();
        return term > ourTerm || (term == ourTerm && lastIndex >= LastIndex());
    }

    /// <summary>Entries in [low, high) capped by <paramref name="maxBytes"/>; null when low is compacted.</summary>
    public IReadOnlyList<Entry>? TryEntries(long low, long high, long maxBytes)
    {
        long last = LastIndex();
        if (low > last)
        {
            return [];
        }
        high = Math.Min(high, last + 1);
        if (low < FirstIndex())
        {
            return null;
        }
        var result = new List<Entry>();
        long bytes = 0;
        long unstableOffset = Unstable.Offset;
        if (low < unstableOffset)
        {
            var stored = _storage.Entries(low, Math.Min(high, unstableOffset), maxBytes);
            foreach (var e in stored)
            {
                bytes += e.Size;
                result.Add(e);
            }
            if (result.Count < Math.Min(high, unstableOffset) - low)
            {
                return result;
            }
        }
        if (high > unstableOffset)
        {
            foreach (var e in Unstable.Slice(Math.Max(low, unstableOffset), high))
            {
                if (result.Count > 0 && bytes + e.Size > maxBytes)
                {
                    break;
                }
                bytes += e.Size;
                result.Add(e);
            }
        }
        return result;
    }

    public IReadOnlyList<Entry> AllEntries() => TryEntries(FirstIndex(), LastIndex() + 1, long.MaxValue) ?? [];

    /// <summary>Appends entries (their first index may be below LastIndex + 1, replacing a conflicting suffix).</summary>
    public long Append(IReadOnlyList<Entry> entries)
    {
        if (entries.Count == 0)
        {
            return LastIndex();
        }
        long after = entries[0].Index - 1;
        if (after < _committed)
        {
            throw new InvalidOperationException($"committed entries are never truncated: append after {after} would overwrite committed index {_committed}");
        }
        for (int i = 1; i < entries.Count; i++)
        {
            if (entries[i].Index != entries[i - 1].Index + 1)
            {
                throw new InvalidOperationException($"appended entries are not contiguous at index {entries[i].Index}");
            }
        }
        Unstable.TruncateAndAppend(entries);
        return LastIndex();
    }

    /// <summary>
    /// The follower side of AppendEntries (§5.3): if our log has (prevIndex, prevTerm), drop entries we
    /// already have, truncate at the first conflict, append the rest, and advance the commit index.
    /// Returns the index of the last new entry, or null when the consistency check fails.
    /// </summary>
    public long? MaybeAppend(long prevIndex, long prevTerm, long commit, IReadOnlyList<Entry> entries)
    {
        if (!MatchTerm(prevIndex, prevTerm))
        {
            return null;
        }
        long lastNew = prevIndex + entries.Count;
        long conflict = FindConflict(entries);
        if (conflict != 0)
        {
            if (conflict <= _committed)
            {
                throw new InvalidOperationException($"committed entries are never truncated: entry {conflict} conflicts with committed index {_committed}");
            }
            int skip = (int)(conflict - (prevIndex + 1));
            Append(entries.Skip(skip).ToList());
        }
        CommitTo(Math.Min(commit, lastNew));
        return lastNew;
    }

    private long FindConflict(IReadOnlyList<Entry> entries)
    {
        foreach (var e in entries)
        {
            if (!MatchTerm(e.Index, e.Term))
            {
                return e.Index;
            }
        }
        return 0;
    }

    /// <summary>
    /// Fast backtracking: the largest index &lt;= <paramref name="index"/> whose term is &lt;= <paramref name="term"/>,
    /// with that term. Everything above it cannot match a log whose entry at <paramref name="index"/> has <paramref name="term"/>.
    /// </summary>
    public (long Index, long Term) FindConflictByTerm(long index, long term)
    {
        for (; index > 0; index--)
        {
            if (!TryTerm(index, out long ourTerm))
            {
                return (index, 0);
            }
            if (ourTerm <= term)
            {
                return (index, ourTerm);
            }
        }
        return (0, 0);
    }

    public void CommitTo(long index)
    {
        if (index <= _committed)
        {
            return;
        }
        if (index > LastIndex())
        {
            throw new InvalidOperationException($"commit index {index} is beyond the last index {LastIndex()}; the log is corrupt or truncated");
        }
        _committed = index;
    }

    /// <summary>Leader commit rule (§5.4.2): commit <paramref name="index"/> only if its entry is of <paramref name="term"/> (the current term).</summary>
    public bool MaybeCommit(long index, long term, bool plantedCommitPreviousTerm)
    {
        if (index > _committed && (plantedCommitPreviousTerm || TermOrZero(index) == term))
        {
            CommitTo(index);
            return true;
        }
        return false;
    }

    public void AppliedTo(long index)
    {
        if (index == 0)
        {
            return;
        }
        if (index > _committed || index < _applied)
        {
            throw new InvalidOperationException($"applied index {index} out of range [{_applied}, {_committed}]");
        }
        _applied = index;
    }

    /// <summary>
    /// Restart: the hard state's commit must not lie beyond the persisted log (that would mean committed entries
    /// were lost). A commit below the snapshot is harmless: the snapshot itself is committed.
    /// </summary>
    public void LoadCommit(long commit)
    {
        if (commit > LastIndex())
        {
            throw new InvalidOperationException($"persisted commit {commit} is beyond the persisted log ending at {LastIndex()}: committed entries were lost");
        }
        _committed = Math.Max(_committed, commit);
    }

    public bool HasPendingSnapshot => Unstable.Snapshot is not null;

    public IReadOnlyList<Entry> NextCommittedEntries()
    {
        if (HasPendingSnapshot)
        {
            return [];
        }
        long low = Math.Max(_applied + 1, FirstIndex());
        long high = _committed + 1;
        return low >= high ? [] : TryEntries(low, high, long.MaxValue) ?? throw new InvalidOperationException($"committed entries from {low} are compacted before being applied");
    }

    public bool HasNextCommittedEntries() => !HasPendingSnapshot && _committed > Math.Max(_applied, FirstIndex() - 1);

    /// <summary>Installs a snapshot: the log now starts after it and everything in it is committed.</summary>
    public void Restore(Snapshot snapshot)
    {
        _committed = snapshot.Metadata.Index;
        Unstable.Restore(snapshot);
    }

    public void AfterSnapshotApplied(long index)
    {
        if (_applied < index)
        {
            _applied = index;
        }
    }
}
