namespace KvStore.Storage.Log;

/// <summary>
/// What both <see cref="IRaftLogStore"/> implementations share: every mutation is one record of
/// <see cref="LogRecordCodec"/> written through <see cref="WriteRecord"/>, and an in-memory
/// <see cref="RaftLogIndex"/> answers every read of terms and bounds. The subclasses differ only in
/// where records go (segment files on the seam, or a FasterLog) and how they are made durable.
/// </summary>
/// <remarks>
/// One lock guards the index and the record builder; the single writer and any number of readers
/// take it. A store that failed a write or fsync refuses further mutations until it is reopened
/// (<see cref="ThrowIfUnusable"/>).
/// </remarks>
public abstract class IndexedRaftLogStore : IRaftLogStore
{
    private protected readonly object _lock = new();
    private protected readonly string _directory;
    private protected readonly RaftLogIndex _index = new();
    private protected readonly LogRecordBuilder _records = new();
    private protected long _syncCount;
    private protected Exception? _failure;
    private protected bool _disposed;

    private protected IndexedRaftLogStore(string directory)
    {
        _directory = directory;
    }

    public IReadOnlyCollection<ulong> Groups
    {
        get { lock (_lock) { return _index.Groups(); } }
    }

    public long SyncCount
    {
        get { lock (_lock) { return _syncCount; } }
    }

    public void SaveHardState(ulong group, LogHardState state)
    {
        lock (_lock)
        {
            ThrowIfUnusable();
            WriteRecord(_records.HardState(group, state));
            _index.ApplyHardState(group, state);
        }
    }

    public LogHardState GetHardState(ulong group)
    {
        lock (_lock)
        {
            return _index.GetHardState(group);
        }
    }

    public void TruncateSuffix(ulong group, long fromIndex)
    {
        lock (_lock)
        {
            ThrowIfUnusable();
            if (!_index.CheckTruncateSuffix(group, fromIndex))
            {
                return;
            }

            WriteRecord(_records.TruncateSuffix(group, fromIndex));
            _index.ApplyTruncateSuffix(group, fromIndex);
        }
    }

    public void CompactPrefix(ulong group, long throughIndex, long term)
    {
        lock (_lock)
        {
            ThrowIfUnusable();
            if (!_index.CheckCompactPrefix(group, throughIndex))
            {
                return;
            }

            WriteRecord(_records.CompactPrefix(group, throughIndex, term));
            _index.ApplyCompactPrefix(group, throughIndex, term);
        }
    }

    public void RemoveGroup(ulong group)
    {
        lock (_lock)
        {
            ThrowIfUnusable();
            if (!_index.Contains(group))
            {
                return;
            }

            WriteRecord(_records.RemoveGroup(group));
            _index.ApplyRemoveGroup(group);
        }
    }

    public long GetTerm(ulong group, long index)
    {
        lock (_lock)
        {
            return _index.GetTerm(group, index);
        }
    }

    public long FirstIndex(ulong group)
    {
        lock (_lock)
        {
            return _index.FirstIndex(group);
        }
    }

    public long LastIndex(ulong group)
    {
        lock (_lock)
        {
            return _index.LastIndex(group);
        }
    }

    private protected void ThrowIfUnusable()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_failure is not null)
        {
            throw new StorageException($"the Raft log store in {_directory} failed earlier and must be reopened: {_failure.Message}", _failure);
        }
    }

    public abstract void Append(ulong group, ReadOnlySpan<LogEntry> entries);

    public abstract void Sync();

    public abstract IReadOnlyList<LogEntry> GetEntries(ulong group, long low, long high, long maxBytes = long.MaxValue);

    public abstract void Dispose();

    /// <summary>Writes one encoded record where this store keeps them; returns its position.</summary>
    private protected abstract long WriteRecord(ReadOnlySpan<byte> record);
}
