using KvStore.Storage.IO;
using KvStore.Storage.Lsm.Cache;
using KvStore.Storage.Lsm.Iterators;
using KvStore.Storage.Lsm.Records;
using KvStore.Storage.Lsm.Table;
using KvStore.Storage.Lsm.Versions;
using Version = KvStore.Storage.Lsm.Versions.Version;

namespace KvStore.Storage.Lsm;

/// <summary>
/// A LevelDB-style log-structured merge tree: writes go to an optional WAL and a memtable;
/// full memtables are flushed by a background thread into level-0 tables; a second background
/// thread compacts levels downward. Reads merge the memtables and the current table
/// <see cref="Version"/> at a sequence number. Thread-safe.
/// </summary>
/// <remarks>
/// Directory contents and formats: WAL and manifest files are described in
/// <see cref="RecordFormat"/>, <see cref="WalRecord"/> and <see cref="VersionEdit"/>; tables in
/// <see cref="TableBuilder"/>; names in <see cref="FileNames"/>. Locking: <c>_mutex</c> guards
/// the memtable list, the version reference counts, snapshots and the writer queue; file I/O
/// happens outside it except the rare WAL switch. Lock order: manifest lock, then <c>_mutex</c>.
/// </remarks>
public sealed partial class LsmDatabase : IDisposable
{
    private readonly LsmOptions _options;
    private readonly IFileSystem _fs;
    private readonly string _directory;
    private readonly object _mutex = new();
    private readonly VersionSet _versions;
    private readonly BlockCache? _blockCache;
    private readonly TableCache _tableCache;
    private readonly Dictionary<Version, int> _versionReferences = new(ReferenceEqualityComparer.Instance);
    private readonly SortedDictionary<ulong, int> _snapshots = [];
    private readonly HashSet<ulong> _pendingOutputs = [];
    private readonly object _compactionLock = new();
    private readonly object _inlineLock = new();
    private Memtable _mem;
    private List<Memtable> _immutables = [];
    private ulong _lastSequence;
    private bool _disposed;
    private Thread? _flushThread;
    private Thread? _compactionThread;
    private Exception? _flushError;
    private Exception? _compactionError;

    // Finished flush and compaction attempts: a waiter reports a background error only if an
    // attempt made after it started waiting failed, never a stale one from before space came back.
    private long _flushAttempts;
    private long _compactionAttempts;
    private bool _compacting;

    private LsmDatabase(string directory, LsmOptions options)
    {
        _options = options;
        _fs = options.FileSystem;
        _directory = directory.TrimEnd('/') is { Length: > 0 } trimmed ? trimmed : "/";
        _versions = new VersionSet(_fs, _directory);
        _blockCache = options.BlockCacheBytes > 0 ? new BlockCache(options.BlockCacheBytes) : null;
        _tableCache = new TableCache(_fs, _directory, options.Table, _blockCache, options.MaxOpenTables);
        _mem = new Memtable(0);
    }

    /// <summary>
    /// Under Raft: the highest Raft index whose writes are durable in tables (recorded by the
    /// last flush, including the flush of replayed WAL data at open). Raft replays its log
    /// from the entry after it.
    /// </summary>
    public long AppliedIndex
    {
        get
        {
            lock (_mutex)
            {
                return _versions.AppliedIndex;
            }
        }
    }

    /// <summary>Sequence number of the newest write.</summary>
    public ulong LastSequence => Volatile.Read(ref _lastSequence);

    /// <summary>Opens (creating if needed) the database in <paramref name="directory"/>, recovering from the manifest and WAL.</summary>
    public static LsmDatabase Open(string directory, LsmOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        options.FileSystem.CreateDirectory(directory);
        var db = new LsmDatabase(directory, options);
        try
        {
            db.Recover();
        }
        catch
        {
            db.DisposeResources();
            throw;
        }

        if (!options.InlineBackgroundWork)
        {
            db.StartBackgroundThreads();
        }

        return db;
    }

    /// <summary>Whether the newest value of <paramref name="key"/> (as of <paramref name="snapshot"/>, if given) exists.</summary>
    public bool TryGet(ReadOnlySpan<byte> key, out byte[] value, LsmSnapshot? snapshot = null)
    {
        Memtable mem;
        List<Memtable> immutables;
        Version version;
        ulong sequence;
        lock (_mutex)
        {
            ThrowIfDisposed();
            mem = _mem;
            immutables = _immutables;
            version = ReferenceVersion();
            sequence = SequenceFor(snapshot);
        }

        try
        {
            if (mem.TryGet(key, sequence, out ValueKind kind, out value))
            {
                return kind == ValueKind.Value;
            }

            for (int i = immutables.Count - 1; i >= 0; i--)
            {
                if (immutables[i].TryGet(key, sequence, out kind, out value))
                {
                    return kind == ValueKind.Value;
                }
            }

            IReadOnlyList<FileMetadata> level0 = version.Files[0];
            for (int i = level0.Count - 1; i >= 0; i--)
            {
                if (level0[i].ContainsUserKey(key) && TableGet(level0[i], key, sequence, out kind, out value))
                {
                    return kind == ValueKind.Value;
                }
            }

            for (int level = 1; level < Version.NumLevels; level++)
            {
                IReadOnlyList<FileMetadata> files = version.Files[level];
                int lo = 0, hi = files.Count;
                while (lo < hi)
                {
                    int mid = (lo + hi) >>> 1;
                    if (files[mid].LargestUserKey.SequenceCompareTo(key) < 0)
                    {
                        lo = mid + 1;
                    }
                    else
                    {
                        hi = mid;
                    }
                }

                if (lo < files.Count && files[lo].ContainsUserKey(key) && TableGet(files[lo], key, sequence, out kind, out value))
                {
                    return kind == ValueKind.Value;
                }
            }

            value = [];
            return false;
        }
        finally
        {
            ReleaseVersion(version);
        }
    }

    /// <summary>A read view of the current state; dispose it to let compaction drop what it pins.</summary>
    public LsmSnapshot GetSnapshot()
    {
        lock (_mutex)
        {
            ThrowIfDisposed();
            ulong sequence = _lastSequence;
            _snapshots[sequence] = _snapshots.GetValueOrDefault(sequence) + 1;
            return new LsmSnapshot(sequence, ReleaseSnapshot);
        }
    }

    /// <summary>A cursor over user keys; it sees one consistent state, unaffected by later writes and compactions.</summary>
    public LsmIterator NewIterator(ReadOptions? options = null)
    {
        options ??= new ReadOptions();
        byte[]? lower = options.LowerBound;
        byte[]? upper = options.UpperBound;
        byte[]? prefix = options.Prefix;
        if (prefix != null)
        {
            if (lower == null || lower.AsSpan().SequenceCompareTo(prefix) < 0)
            {
                lower = prefix;
            }

            byte[]? end = PrefixSuccessor(prefix);
            if (end != null && (upper == null || upper.AsSpan().SequenceCompareTo(end) > 0))
            {
                upper = end;
            }
        }

        // Prefix filters apply only if every key starting with the prefix maps to exactly that prefix.
        IKeyPrefixExtractor? extractor = _options.Table.PrefixExtractor;
        byte[]? filterPrefix = prefix != null && extractor != null && extractor.InDomain(prefix) && extractor.Prefix(prefix).SequenceEqual(prefix)
            ? prefix
            : null;

        Memtable mem;
        List<Memtable> immutables;
        Version version;
        ulong sequence;
        lock (_mutex)
        {
            ThrowIfDisposed();
            mem = _mem;
            immutables = _immutables;
            version = ReferenceVersion();
            sequence = SequenceFor(options.Snapshot);
        }

        var children = new List<IInternalIterator>();
        try
        {
            children.Add(mem.NewIterator());
            foreach (Memtable imm in immutables)
            {
                children.Add(imm.NewIterator());
            }

            foreach (FileMetadata f in version.Files[0])
            {
                if (OverlapsBounds(f, lower, upper) && OpenTableIterator(f, filterPrefix) is { } iterator)
                {
                    children.Add(iterator);
                }
            }

            for (int level = 1; level < Version.NumLevels; level++)
            {
                List<FileMetadata> files = version.Files[level].Where(f => OverlapsBounds(f, lower, upper)).ToList();
                if (files.Count > 0)
                {
                    children.Add(new LevelIterator(files, f => OpenTableIterator(f, filterPrefix)));
                }
            }
        }
        catch
        {
            foreach (IInternalIterator child in children)
            {
                child.Dispose();
            }

            ReleaseVersion(version);
            throw;
        }

        return new LsmIterator(new MergingIterator(children), sequence, lower, upper, () => ReleaseVersion(version));
    }

    /// <summary>Shape and work counters.</summary>
    public LsmStatistics GetStatistics()
    {
        lock (_mutex)
        {
            Version v = _versions.Current;
            return new LsmStatistics
            {
                Levels = Enumerable.Range(0, Version.NumLevels).Select(l => new LevelStatistics(l, v.Files[l].Count, v.LevelBytes(l), v.Files[l].Sum(f => f.Entries))).ToList(),
                MemtableBytes = _mem.ApproximateBytes + _immutables.Sum(m => m.ApproximateBytes),
                BloomChecks = Interlocked.Read(ref _bloomChecks),
                BloomUseful = Interlocked.Read(ref _bloomUseful),
                BloomUseless = Interlocked.Read(ref _bloomUseless),
                PrefixFilterSkips = Interlocked.Read(ref _prefixFilterSkips),
                UserBytesWritten = _userBytesWritten,
                WalBytesWritten = _walBytesWritten,
                WalSyncs = _walSyncs,
                BytesFlushed = _bytesFlushed,
                BytesCompactedRead = _bytesCompactedRead,
                BytesCompactedWritten = _bytesCompactedWritten,
                Flushes = _flushes,
                Compactions = _compactions,
                SlowdownCount = _slowdowns,
                StopCount = _stops,
                MaxLevel0Tables = _maxLevel0Tables,
                BackgroundWakeups = Interlocked.Read(ref _backgroundWakeups),
            };
        }
    }

    /// <summary>Stops the background threads and closes files. Unflushed memtable data stays in the WAL (synced here if possible).</summary>
    public void Dispose()
    {
        lock (_mutex)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            Monitor.PulseAll(_mutex);
            SignalBackgroundWork();
        }

        _flushThread?.Join();
        _compactionThread?.Join();
        lock (_mutex)
        {
            try
            {
                if (_wal is { Broken: false } wal)
                {
                    wal.Sync();
                }
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException)
            {
                // Closing after a crash or with a full disk: what was synced before is what survives.
            }
        }

        DisposeResources();
    }

    private static bool OverlapsBounds(FileMetadata f, byte[]? lower, byte[]? upper) =>
        (lower == null || f.LargestUserKey.SequenceCompareTo(lower) >= 0) &&
        (upper == null || f.SmallestUserKey.SequenceCompareTo(upper) < 0);

    private static byte[]? PrefixSuccessor(byte[] prefix)
    {
        for (int i = prefix.Length - 1; i >= 0; i--)
        {
            if (prefix[i] != 0xFF)
            {
                byte[] end = prefix[..(i + 1)];
                end[i]++;
                return end;
            }
        }

        return null;
    }

    private void DisposeResources()
    {
        lock (_mutex)
        {
            _wal?.Dispose();
            _wal = null;
        }

        _tableCache.Dispose();
        _versions.Dispose();
        _flushSignal.Dispose();
        _compactionSignal.Dispose();
    }

    private ulong SequenceFor(LsmSnapshot? snapshot)
    {
        if (snapshot == null)
        {
            return _lastSequence;
        }

        ObjectDisposedException.ThrowIf(snapshot.IsDisposed, snapshot);
        return snapshot.Sequence;
    }

    private void ReleaseSnapshot(LsmSnapshot snapshot)
    {
        lock (_mutex)
        {
            int count = _snapshots.GetValueOrDefault(snapshot.Sequence);
            if (count <= 1)
            {
                _snapshots.Remove(snapshot.Sequence);
            }
            else
            {
                _snapshots[snapshot.Sequence] = count - 1;
            }
        }
    }

    /// <summary>Caller holds <c>_mutex</c>.</summary>
    private Version ReferenceVersion()
    {
        Version v = _versions.Current;
        _versionReferences[v] = _versionReferences.GetValueOrDefault(v) + 1;
        return v;
    }

    private void ReleaseVersion(Version version)
    {
        lock (_mutex)
        {
            int count = _versionReferences[version];
            if (count == 1)
            {
                _versionReferences.Remove(version);
            }
            else
            {
                _versionReferences[version] = count - 1;
            }
        }
    }

    private bool TableGet(FileMetadata file, ReadOnlySpan<byte> key, ulong sequence, out ValueKind kind, out byte[] value)
    {
        TableHandle handle = _tableCache.Acquire(file);
        try
        {
            // One probe of the filter: TryGet reports whether the filter alone answered.
            Interlocked.Increment(ref _bloomChecks);
            if (handle.Reader.TryGet(key, sequence, out kind, out value, out bool filteredOut))
            {
                return true;
            }

            Interlocked.Increment(ref filteredOut ? ref _bloomUseful : ref _bloomUseless);
            return false;
        }
        finally
        {
            handle.Release();
        }
    }

    /// <summary>An iterator over one table that releases the table when disposed; null if the prefix filter rules the table out.</summary>
    private IInternalIterator? OpenTableIterator(FileMetadata file, byte[]? filterPrefix, bool fillCache = true)
    {
        TableHandle handle = _tableCache.Acquire(file);
        try
        {
            if (filterPrefix != null && !handle.Reader.MayContainPrefix(filterPrefix))
            {
                Interlocked.Increment(ref _prefixFilterSkips);
                handle.Release();
                return null;
            }

            return new OwningIterator(handle.Reader.NewIterator(fillCache), handle.Release);
        }
        catch
        {
            handle.Release();
            throw;
        }
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);
}
