using System.Buffers.Binary;

namespace KvStore.Storage.Log;

/// <summary>
/// The in-memory state of every Raft group in a log store: compaction point, hard state and, per
/// live entry, its term and where its payload is stored. Both stores keep this index and rebuild
/// it by replaying their records; the rules here are the one definition of what a record means.
/// Not thread-safe: the owning store serialises access.
/// </summary>
/// <remarks>
/// Invariant per group: entries are contiguous, FirstIndex = CompactedIndex + 1 and
/// LastIndex = CompactedIndex + Entries.Count. Mutations are positional only (no term checks),
/// so replaying the same records from the same checkpoint always yields the same state.
/// Replay that starts at a checkpoint whose earlier records were deleted knows that entries
/// (CompactedIndex, LastIndex] existed but not where: they become <see cref="LogEntryRef.Missing"/>
/// placeholders, which the records that allowed the deletion must compact or truncate away
/// (<see cref="FindMissingEntries"/> checks that).
/// </remarks>
internal sealed class RaftLogIndex
{
    private readonly Dictionary<ulong, GroupLog> _groups = [];

    public ulong[] Groups() => [.. _groups.Keys];

    public int GroupCount => _groups.Count;

    public LogHardState GetHardState(ulong group) => _groups.TryGetValue(group, out GroupLog? g) ? g.HardState : default;

    public long FirstIndex(ulong group) => _groups.TryGetValue(group, out GroupLog? g) ? g.CompactedIndex + 1 : 1;

    public long LastIndex(ulong group) => _groups.TryGetValue(group, out GroupLog? g) ? g.LastIndex : 0;

    public long GetTerm(ulong group, long index)
    {
        if (!_groups.TryGetValue(group, out GroupLog? g))
        {
            return index == 0 ? 0 : throw new ArgumentOutOfRangeException(nameof(index), index, $"group {group} has no entry {index}: its log is empty (0..0)");
        }

        if (index == g.CompactedIndex)
        {
            return g.CompactedTerm;
        }

        if (index < g.CompactedIndex || index > g.LastIndex)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, $"group {group} has terms for {g.CompactedIndex}..{g.LastIndex} only");
        }

        return g.Entries[(int)(index - g.CompactedIndex - 1)].Term;
    }

    /// <summary>The references of entries [low, high) under the size cap; validates the range.</summary>
    public List<(long Index, LogEntryRef Ref)> GetEntries(ulong group, long low, long high, long maxBytes)
    {
        long first = FirstIndex(group);
        long last = LastIndex(group);
        if (low < first || high > last + 1 || low > high)
        {
            throw new ArgumentOutOfRangeException(nameof(low), $"entries [{low}, {high}) of group {group} are outside [{first}, {last + 1})");
        }

        var result = new List<(long, LogEntryRef)>((int)Math.Min(high - low, 1024));
        if (low == high)
        {
            return result;
        }

        GroupLog g = _groups[group];
        long bytes = 0;
        for (long index = low; index < high; index++)
        {
            LogEntryRef entry = g.Entries[(int)(index - g.CompactedIndex - 1)];
            bytes += entry.Length;
            if (result.Count > 0 && bytes > maxBytes)
            {
                break;
            }

            result.Add((index, entry));
        }

        return result;
    }

    /// <summary>Checks an append against the contract; false when there is nothing to write.</summary>
    public bool CheckAppend(ulong group, ReadOnlySpan<LogEntry> entries)
    {
        if (entries.IsEmpty)
        {
            return false;
        }

        for (int i = 1; i < entries.Length; i++)
        {
            if (entries[i].Index != entries[i - 1].Index + 1)
            {
                throw new ArgumentException($"group {group}: entry indexes must be consecutive, got {entries[i - 1].Index} then {entries[i].Index}", nameof(entries));
            }
        }

        long first = entries[0].Index;
        long compacted = FirstIndex(group) - 1;
        long last = LastIndex(group);
        if (first <= compacted)
        {
            throw new ArgumentOutOfRangeException(nameof(entries), first, $"group {group}: cannot append at {first}, entries through {compacted} are compacted");
        }

        if (first > last + 1)
        {
            throw new ArgumentOutOfRangeException(nameof(entries), first, $"group {group}: cannot append at {first}, the log ends at {last} (a gap)");
        }

        return true;
    }

    /// <summary>False when the truncation removes nothing.</summary>
    public bool CheckTruncateSuffix(ulong group, long fromIndex)
    {
        long compacted = FirstIndex(group) - 1;
        if (fromIndex <= compacted)
        {
            throw new ArgumentOutOfRangeException(nameof(fromIndex), fromIndex, $"group {group}: entries through {compacted} are compacted and cannot be truncated");
        }

        return fromIndex <= LastIndex(group);
    }

    /// <summary>False when the compaction point is not beyond the current one (an older snapshot).</summary>
    public bool CheckCompactPrefix(ulong group, long throughIndex) => throughIndex > FirstIndex(group) - 1;

    public bool Contains(ulong group) => _groups.ContainsKey(group);

    public void ApplyAppend(ulong group, long firstIndex, ReadOnlySpan<LogEntryRef> entries)
    {
        GroupLog g = GetOrCreate(group);
        if (firstIndex <= g.CompactedIndex || firstIndex > g.LastIndex + 1)
        {
            throw new InvalidDataException($"append at {firstIndex} to group {group} whose log is {g.CompactedIndex + 1}..{g.LastIndex}");
        }

        int keep = (int)(firstIndex - g.CompactedIndex - 1);
        g.Entries.RemoveRange(keep, g.Entries.Count - keep);
        foreach (LogEntryRef entry in entries)
        {
            g.Entries.Add(entry);
        }
    }

    public void ApplyHardState(ulong group, LogHardState state) => GetOrCreate(group).HardState = state;

    public void ApplyTruncateSuffix(ulong group, long fromIndex)
    {
        if (!_groups.TryGetValue(group, out GroupLog? g) || fromIndex > g.LastIndex)
        {
            return;
        }

        if (fromIndex <= g.CompactedIndex)
        {
            throw new InvalidDataException($"truncation from {fromIndex} in group {group} whose entries through {g.CompactedIndex} are compacted");
        }

        int keep = (int)(fromIndex - g.CompactedIndex - 1);
        g.Entries.RemoveRange(keep, g.Entries.Count - keep);
    }

    public void ApplyCompactPrefix(ulong group, long throughIndex, long term)
    {
        GroupLog g = GetOrCreate(group);
        if (throughIndex <= g.CompactedIndex)
        {
            return;
        }

        if (throughIndex <= g.LastIndex)
        {
            g.Entries.RemoveRange(0, (int)(throughIndex - g.CompactedIndex));
        }
        else
        {
            g.Entries.Clear();
        }

        g.CompactedIndex = throughIndex;
        g.CompactedTerm = term;
    }

    public void ApplyRemoveGroup(ulong group) => _groups.Remove(group);

    /// <summary>Every group's state for a Checkpoint record, in group order (deterministic bytes).</summary>
    public List<CheckpointGroupState> Checkpoint()
    {
        var states = new List<CheckpointGroupState>(_groups.Count);
        foreach (var (group, g) in _groups.OrderBy(p => p.Key))
        {
            states.Add(new CheckpointGroupState(group, g.HardState, g.CompactedIndex, g.CompactedTerm, g.LastIndex));
        }

        return states;
    }

    /// <summary>The smallest <see cref="LogEntryRef.Record"/> of any live entry, or <see cref="long.MaxValue"/> if no entry is live.</summary>
    /// <remarks>Within a group records only grow with the index (appends go to the tail of the store), so the first entry of each group is its oldest.</remarks>
    public long OldestLiveRecord()
    {
        long oldest = long.MaxValue;
        foreach (GroupLog g in _groups.Values)
        {
            if (g.Entries.Count > 0)
            {
                oldest = Math.Min(oldest, g.Entries[0].Record);
            }
        }

        return oldest;
    }

    /// <summary>After replay: a description of a group whose entries are known to exist but whose records are gone, or null.</summary>
    public string? FindMissingEntries()
    {
        foreach (var (group, g) in _groups)
        {
            for (int i = 0; i < g.Entries.Count; i++)
            {
                if (g.Entries[i].IsMissing)
                {
                    return $"group {group} entry {g.CompactedIndex + 1 + i} is live but the record that held it is gone";
                }
            }
        }

        return null;
    }

    /// <summary>
    /// Applies one record read back from storage. The first checkpoint of a replay sets the base
    /// state; later ones are cross-checked against the replayed state.
    /// Throws <see cref="InvalidDataException"/> when the body does not make sense; the caller names file and offset.
    /// </summary>
    public void Replay(LogRecordType type, ReadOnlySpan<byte> body, long record, ref bool sawCheckpoint)
    {
        var reader = new BodyReader(body);
        switch (type)
        {
            case LogRecordType.Checkpoint:
                ReplayCheckpoint(ref reader, sawCheckpoint);
                sawCheckpoint = true;
                break;
            case LogRecordType.Entries:
            {
                RequireBase(sawCheckpoint, type);
                ulong group = reader.U64();
                long first = reader.I64();
                uint count = reader.U32();
                if (count == 0 || count > body.Length / LogRecordCodec.EntryHeaderSize)
                {
                    throw new InvalidDataException($"entries record claims {count} entries");
                }

                var refs = new LogEntryRef[count];
                for (int i = 0; i < count; i++)
                {
                    long term = reader.I64();
                    byte kind = reader.U8();
                    int length = checked((int)reader.U32());
                    int offset = LogRecordCodec.HeaderSize + reader.Position;
                    uint crc = Crc32C.Compute(reader.Take(length));
                    refs[i] = new LogEntryRef(term, record, offset, length, kind, crc);
                }

                reader.End();
                ApplyAppend(group, first, refs);
                break;
            }

            case LogRecordType.HardState:
            {
                RequireBase(sawCheckpoint, type);
                ulong group = reader.U64();
                var state = new LogHardState(reader.I64(), reader.U64(), reader.I64());
                reader.End();
                ApplyHardState(group, state);
                break;
            }

            case LogRecordType.TruncateSuffix:
            {
                RequireBase(sawCheckpoint, type);
                ulong group = reader.U64();
                long from = reader.I64();
                reader.End();
                ApplyTruncateSuffix(group, from);
                break;
            }

            case LogRecordType.CompactPrefix:
            {
                RequireBase(sawCheckpoint, type);
                ulong group = reader.U64();
                long through = reader.I64();
                long term = reader.I64();
                reader.End();
                ApplyCompactPrefix(group, through, term);
                break;
            }

            case LogRecordType.RemoveGroup:
            {
                RequireBase(sawCheckpoint, type);
                ulong group = reader.U64();
                reader.End();
                ApplyRemoveGroup(group);
                break;
            }

            default:
                throw new InvalidDataException($"unknown record type {(byte)type}");
        }
    }

    private static void RequireBase(bool sawCheckpoint, LogRecordType type)
    {
        if (!sawCheckpoint)
        {
            throw new InvalidDataException($"a {type} record precedes the first checkpoint");
        }
    }

    private void ReplayCheckpoint(ref BodyReader reader, bool sawCheckpoint)
    {
        uint count = reader.U32();
        if (count > reader.Remaining / LogRecordCodec.CheckpointGroupSize)
        {
            throw new InvalidDataException($"checkpoint claims {count} groups");
        }

        var states = new List<CheckpointGroupState>((int)count);
        for (int i = 0; i < count; i++)
        {
            ulong group = reader.U64();
            var hardState = new LogHardState(reader.I64(), reader.U64(), reader.I64());
            long compacted = reader.I64();
            long compactedTerm = reader.I64();
            long last = reader.I64();
            if (compacted < 0 || last < compacted)
            {
                throw new InvalidDataException($"checkpoint of group {group} has compacted index {compacted} and last index {last}");
            }

            states.Add(new CheckpointGroupState(group, hardState, compacted, compactedTerm, last));
        }

        reader.End();
        if (!sawCheckpoint)
        {
            _groups.Clear();
            foreach (CheckpointGroupState s in states)
            {
                var g = new GroupLog { HardState = s.HardState, CompactedIndex = s.CompactedIndex, CompactedTerm = s.CompactedTerm };
                for (long index = s.CompactedIndex + 1; index <= s.LastIndex; index++)
                {
                    g.Entries.Add(LogEntryRef.Placeholder);
                }

                _groups[s.Group] = g;
            }

            return;
        }

        // A later checkpoint restates what replay already knows; a difference means records were lost or misapplied.
        List<CheckpointGroupState> replayed = Checkpoint();
        if (!replayed.SequenceEqual(states))
        {
            throw new InvalidDataException("checkpoint disagrees with the state replayed from the records before it");
        }
    }

    private GroupLog GetOrCreate(ulong group)
    {
        if (!_groups.TryGetValue(group, out GroupLog? g))
        {
            g = new GroupLog();
            _groups[group] = g;
        }

        return g;
    }

    private sealed class GroupLog
    {
        public long CompactedIndex { get; set; }

        public long CompactedTerm { get; set; }

        public LogHardState HardState { get; set; }

        public List<LogEntryRef> Entries { get; } = [];

        public long LastIndex => CompactedIndex + Entries.Count;
    }

    private ref struct BodyReader(ReadOnlySpan<byte> body)
    {
        private readonly ReadOnlySpan<byte> _body = body;

        public int Position { get; private set; }

        public readonly int Remaining => _body.Length - Position;

        public byte U8() => Take(1)[0];

        public uint U32() => BinaryPrimitives.ReadUInt32LittleEndian(Take(4));

        public ulong U64() => BinaryPrimitives.ReadUInt64LittleEndian(Take(8));

        public long I64() => BinaryPrimitives.ReadInt64LittleEndian(Take(8));

        public readonly void End()
        {
            if (Position != _body.Length)
            {
                throw new InvalidDataException($"record body has {_body.Length - Position} unexpected trailing bytes");
            }
        }

        public ReadOnlySpan<byte> Take(int count)
        {
            if (count < 0 || count > _body.Length - Position)
            {
                throw new InvalidDataException($"record body ends early (needs {count} bytes at {Position} of {_body.Length})");
            }

            ReadOnlySpan<byte> slice = _body.Slice(Position, count);
            Position += count;
            return slice;
        }
    }
}
