namespace KvStore.Raft.Core;

/// <summary>
/// Entries (and possibly an incoming snapshot) the node holds but the host has not yet persisted.
/// Invariant: the entries are contiguous from <see cref="Offset"/>; a snapshot, when present, ends at Offset - 1.
/// </summary>
internal sealed class UnstableLog
{
    private List<Entry> _entries = [];

    public UnstableLog(long offset) => Offset = offset;

    /// <summary>Index of the first unstable entry.</summary>
    public long Offset { get; private set; }

    public IReadOnlyList<Entry> Entries => _entries;

    public Snapshot? Snapshot { get; private set; }

    public long? MaybeFirstIndex() => Snapshot is { } s ? s.Metadata.Index + 1 : null;

    public long? MaybeLastIndex()
    {
        if (_entries.Count > 0)
        {
            return Offset + _entries.Count - 1;
        }
        return Snapshot is { } s ? s.Metadata.Index : null;
    }

    public long? MaybeTerm(long index)
    {
        if (index < Offset)
        {
            return Snapshot is { } s && s.Metadata.Index == index ? s.Metadata.Term : null;
        }
        long last = Offset + _entries.Count - 1;
        return index > last ? null : _entries[(int)(index - Offset)].Term;
    }

    /// <summary>The host persisted entries up to (index, term): drop them from here unless they were replaced since.</summary>
    public void StableTo(long index, long term)
    {
        if (MaybeTerm(index) is not { } t || t != term || index < Offset)
        {
            return;
        }
        _entries = _entries.GetRange((int)(index + 1 - Offset), _entries.Count - (int)(index + 1 - Offset));
        Offset = index + 1;
    }

    public void StableSnapshotTo(long index)
    {
        if (Snapshot is { } s && s.Metadata.Index == index)
        {
            Snapshot = null;
        }
    }

    public void Restore(Snapshot snapshot)
    {
        Offset = snapshot.Metadata.Index + 1;
        _entries = [];
        Snapshot = snapshot;
    }

    public void TruncateAndAppend(IReadOnlyList<Entry> entries)
    {
        long after = entries[0].Index;
        if (after == Offset + _entries.Count)
        {
            _entries.AddRange(entries);
        }
        else if (after <= Offset)
        {
            // Replaces everything unstable, and (once persisted) the stable suffix from `after` on.
            Offset = after;
            _entries = [.. entries];
        }
        else
        {
            _entries = _entries.GetRange(0, (int)(after - Offset));
            _entries.AddRange(entries);
        }
    }

    /// <summary>Entries in [low, high); the caller ensures the range lies within the unstable part.</summary>
    public IReadOnlyList<Entry> Slice(long low, long high) =>
        _entries.GetRange((int)(low - Offset), (int)(high - low));
}
