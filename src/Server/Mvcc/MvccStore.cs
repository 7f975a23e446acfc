using KvStore.Client.Protocol.Messages;
using KvStore.Storage.IO;
using KvStore.Storage.Lsm;
using KvStore.Storage.Lsm.Table;

namespace KvStore.Server.Mvcc;

/// <summary>
/// etcd's MVCC key-value model on an <see cref="LsmDatabase"/> (layout in <see cref="MvccKeys"/>).
/// Reads (<see cref="Range"/>, <see cref="Get"/>, <see cref="Scan"/>) are thread-safe and may run
/// while one writer applies commands. Writes go through <see cref="BeginWrite"/> and
/// <see cref="Commit"/>: all mutations of one command land in ONE LSM write batch, so a crash
/// never leaves half a command.
/// </summary>
/// <remarks>
/// Concurrent reads stay exact without locks because every version carries its revision: a reader
/// takes the published revision first and then opens its LSM view, which holds at least every
/// version up to that revision and filters out newer ones. A compaction publishes its compacted
/// revision before it deletes anything, and readers check the compacted revision after opening
/// their view, so a reader never misses versions that compaction removed under it.
/// </remarks>
public sealed class MvccStore : IDisposable
{
    private readonly LsmDatabase _db;
    private readonly bool _ownsDatabase;
    private readonly object _publishLock = new();
    private readonly LatestIndex _latest = new();
    private MvccState _state;

    // Even while no restore runs; a reader that sees it odd, or changed across its read, retries.
    private int _restoreEpoch;

    /// <summary>Wraps an open database (its tables should use <see cref="RevisionSuffixExtractor"/>, see <see cref="LsmOptionsFor"/>).</summary>
    public MvccStore(LsmDatabase database, bool ownsDatabase)
    {
        ArgumentNullException.ThrowIfNull(database);
        _db = database;
        _ownsDatabase = ownsDatabase;
        _state = LoadState();
        _latest.Rebuild(RawRange([MvccKeys.VersionTag], MvccKeys.VersionsEnd));
        if (_latest.Count != _state.KeyCount)
        {
            throw new InvalidDataException($"the store counts {_state.KeyCount} live keys but its versions hold {_latest.Count}");
        }
    }

    /// <summary>The published counters (revision, compacted revision, live keys, applied index).</summary>
    public MvccState State => Volatile.Read(ref _state);

    public long CurrentRevision => State.Revision;

    public long CompactedRevision => State.CompactedRevision;

    public LsmDatabase Database => _db;

    /// <summary>
    /// The LSM options a store needs: Bloom filters on version prefixes and, under Raft, no WAL
    /// (the Raft log is the WAL; each flush records the applied index it covers). The block cache
    /// is 32 MiB, not the LSM's 8 MiB: every put reads its key's newest version first, and on a
    /// 10,000-key working set a cache that holds the hot data blocks tripled point-read speed.
    /// </summary>
    public static LsmOptions LsmOptionsFor(IFileSystem fileSystem, bool useWal = false) => new()
    {
        FileSystem = fileSystem,
        UseWal = useWal,
        BlockCacheBytes = 32L << 20,
        Table = new TableOptions { PrefixExtractor = RevisionSuffixExtractor.Instance },
    };

    /// <summary>Opens (creating if needed) a store in <paramref name="directory"/>; the store owns the database.</summary>
    public static MvccStore Open(string directory, LsmOptions? options = null)
    {
        options ??= LsmOptionsFor(PhysicalFileSystem.Instance);
        if (options.Table.PrefixExtractor is not RevisionSuffixExtractor)
        {
            options = options with { Table = options.Table with { PrefixExtractor = RevisionSuffixExtractor.Instance } };
        }

        LsmDatabase db = LsmDatabase.Open(directory, options);
        try
        {
            return new MvccStore(db, ownsDatabase: true);
        }
        catch
        {
            db.Dispose();
            throw;
        }
    }

    public MvccStatus GetStatus()
    {
        MvccState s = State;
        // Tables plus what is still only in memtables: a fresh store with data in it never reports 0 B.
        LsmStatistics statistics = _db.GetStatistics();
        long bytes = statistics.Levels.Sum(l => l.Bytes) + statistics.MemtableBytes;
        return new MvccStatus(s.Revision, s.CompactedRevision, s.KeyCount, bytes, s.AppliedIndex);
    }

    /// <summary>etcd's Range: validates the request and reads at its revision (0 = newest).</summary>
    /// <exception cref="MvccException">Bad request, compacted or future revision, or (UNAVAILABLE) a snapshot being installed.</exception>
    public RangeResponse Range(RangeRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        RangeQuery.Validate(request);
        KeyRange range = KeyRange.From(request.Key, request.RangeEnd, "range");
        int epoch = EnterRead();
        bool withValues = !request.KeysOnly || request.SortTarget == RangeRequest.Types.SortTarget.Value;
        while (true)
        {
            long current = State.Revision;
            long revision = request.Revision > 0 ? request.Revision : current;
            if (revision > current)
            {
                throw FutureRevision(revision, current);
            }

            // Open the view before checking compaction: see the class remarks.
            using LsmIterator iterator = OpenIterator(range);
            if (request.Revision <= 0 && State.CompactedRevision > revision)
            {
                // Commands and a compaction overtook this newest-state read between its two looks
                // at the state: read the newest state again rather than fail.
                continue;
            }

            CheckNotCompacted(revision);
            RangeResponse response = RangeQuery.Execute(request, ScanWith(iterator, range, revision, withValues && !request.CountOnly), current);
            ExitRead(epoch);
            return response;
        }
    }

    /// <summary>
    /// The events of revisions [<paramref name="fromRevision"/>, <paramref name="toRevision"/>] in
    /// order — what a watch replays from history. With <paramref name="withPrevKv"/>, each event
    /// carries the key's previous version (null if it had none or it was compacted away).
    /// </summary>
    /// <exception cref="MvccException">COMPACTED if <paramref name="fromRevision"/> is below the compacted revision.</exception>
    public IReadOnlyList<MvccEvent> ReadEvents(long fromRevision, long toRevision, bool withPrevKv = false)
    {
        int epoch = EnterRead();
        var events = new List<MvccEvent>();

        // Only revisions published before the view opens: never an event of a command still being applied.
        long current = State.Revision;
        using (LsmSnapshot snapshot = _db.GetSnapshot())
        {
            CheckNotCompacted(fromRevision);
            using LsmIterator iterator = _db.NewIterator(new ReadOptions
            {
                Snapshot = snapshot,
                LowerBound = MvccKeys.EventRevisionStart(Math.Max(0, fromRevision)),
                UpperBound = MvccKeys.EventRevisionStart(Math.Min(toRevision, current) + 1),
            });
            for (iterator.SeekToFirst(); iterator.Valid; iterator.Next())
            {
                long revision = MvccKeys.EventRevision(iterator.Key);
                int sub = MvccKeys.EventSub(iterator.Key);
                var type = (MvccEventType)iterator.Value[0];
                byte[] key = iterator.Value[1..].ToArray();
                if (!_db.TryGet(MvccKeys.VersionKey(key, revision), out byte[] stored, snapshot))
                {
                    throw new InvalidDataException($"event ({revision}, {sub}) names a version that is not stored");
                }

                KeyValue kv = type == MvccEventType.Put
                    ? VersionRecord.Decode(stored).ToKeyValue(key, revision)
                    : new KeyValue { Key = Google.Protobuf.ByteString.CopyFrom(key), ModRevision = revision };
                KeyValue? previous = withPrevKv ? GetAt(key, revision - 1, snapshot) : null;
                events.Add(new MvccEvent(revision, sub, type, kv, previous));
            }
        }

        ExitRead(epoch);
        return events;
    }

    /// <summary>The version of <paramref name="key"/> visible at <paramref name="revision"/>, or null (absent or deleted). No compaction check.</summary>
    public KeyValue? Get(byte[] key, long revision, bool withValue = true)
    {
        int epoch = EnterRead();
        KeyValue? kv = GetAt(key, revision, snapshot: null, withValue);
        ExitRead(epoch);
        return kv;
    }

    /// <summary>
    /// Visible key-values in <paramref name="range"/> as of <paramref name="revision"/>, in key
    /// order, streaming (dispose the enumerator to release the LSM view). No compaction check and
    /// no guard against a concurrent restore: for the applying thread (<see cref="MvccWrite"/>).
    /// </summary>
    public IEnumerable<KeyValue> Scan(KeyRange range, long revision, bool withValues = true)
    {
        using LsmIterator iterator = OpenIterator(range);
        foreach (KeyValue kv in ScanWith(iterator, range, revision, withValues))
        {
            yield return kv;
        }
    }

    /// <summary>Starts the mutations of one command on top of the current state.</summary>
    public MvccWrite BeginWrite() => new(this, State);

    /// <summary>
    /// Writes the command's batch atomically, tagged with the Raft <paramref name="appliedIndex"/>
    /// (null in standalone use), then publishes the new counters.
    /// </summary>
    public void Commit(MvccWrite write, long? appliedIndex)
    {
        ArgumentNullException.ThrowIfNull(write);
        MvccState before = State;
        if (!ReferenceEquals(write.Store, this) || write.Base != before)
        {
            throw new InvalidOperationException("an MVCC write must be committed on the state it began from, one at a time");
        }

        MvccState after = write.Finish(appliedIndex ?? before.AppliedIndex);
        if (after.CompactedRevision > before.CompactedRevision)
        {
            Publish(before with { CompactedRevision = after.CompactedRevision });
        }

        _db.Write(write.Batch, new WriteOptions { AppliedIndex = appliedIndex });
        _latest.Apply(write.Changes);
        Publish(after);
    }

    /// <summary>Every LSM entry (all namespaces) in key order, as of one consistent view: the snapshot contents.</summary>
    public IEnumerable<(byte[] Key, byte[] Value)> ExportEntries()
    {
        using LsmSnapshot snapshot = _db.GetSnapshot();
        foreach (var entry in ExportEntries(snapshot))
        {
            yield return entry;
        }
    }

    /// <summary>Pins the current contents for <see cref="ExportEntries(LsmSnapshot)"/>, which may then run on another thread while writes go on.</summary>
    public LsmSnapshot PinContents() => _db.GetSnapshot();

    /// <summary>Every stored key and value as of <paramref name="pinned"/> (from <see cref="PinContents"/>; the caller disposes it).</summary>
    public IEnumerable<(byte[] Key, byte[] Value)> ExportEntries(LsmSnapshot pinned)
    {
        using LsmIterator iterator = _db.NewIterator(new ReadOptions { Snapshot = pinned });
        for (iterator.SeekToFirst(); iterator.Valid; iterator.Next())
        {
            yield return (iterator.Key.ToArray(), iterator.Value.ToArray());
        }
    }

    /// <summary>
    /// Replaces the whole contents with <paramref name="entries"/> (a snapshot's), in batches.
    /// A marker written first and removed by the last batch tells <see cref="LoadState"/> after a
    /// crash in between that the contents are half-replaced; the store then opens empty.
    /// </summary>
    public void ReplaceContents(IReadOnlyList<(byte[] Key, byte[] Value)> entries, long appliedIndex)
    {
        const int batchBytes = 1 << 20;
        Interlocked.Increment(ref _restoreEpoch);
        try
        {
            ReplaceContentsCore(entries, appliedIndex, batchBytes);
        }
        finally
        {
            Interlocked.Increment(ref _restoreEpoch);
        }
    }

    private void ReplaceContentsCore(IReadOnlyList<(byte[] Key, byte[] Value)> entries, long appliedIndex, int batchBytes)
    {
        var marker = new WriteBatch();
        marker.Put(MvccKeys.RestoringKey, MvccKeys.Int64Value(appliedIndex));
        _db.Write(marker);
        WipeExcept(MvccKeys.RestoringKey, batchBytes);

        var batch = new WriteBatch();
        foreach ((byte[] key, byte[] value) in entries)
        {
            batch.Put(key, value);
            if (batch.ApproximateSize >= batchBytes)
            {
                _db.Write(batch);
                batch = new WriteBatch();
            }
        }

        batch.Put(MvccKeys.AppliedIndexKey, MvccKeys.Int64Value(appliedIndex));
        batch.Delete(MvccKeys.RestoringKey);
        _db.Write(batch, new WriteOptions { AppliedIndex = appliedIndex });
        _latest.Rebuild(RawRange([MvccKeys.VersionTag], MvccKeys.VersionsEnd));
        Publish(LoadState());
    }

    public void Dispose()
    {
        if (_ownsDatabase)
        {
            _db.Dispose();
        }
    }

    internal static MvccException FutureRevision(long revision, long current) =>
        new(ErrorCode.FutureRevision, $"revision {revision} is newer than the current revision {current}");

    internal void CheckNotCompacted(long revision)
    {
        long compacted = State.CompactedRevision;
        if (revision < compacted)
        {
            throw new MvccException(ErrorCode.Compacted, $"revision {revision} has been compacted; the compacted revision is {compacted}");
        }
    }

    internal LsmIterator OpenIterator(KeyRange range)
    {
        byte[] lower = MvccKeys.VersionPrefix(range.Begin);
        if (range.IsSingleKey)
        {
            return _db.NewIterator(new ReadOptions { Prefix = lower });
        }

        byte[] upper = range.End == null ? MvccKeys.VersionsEnd : MvccKeys.VersionPrefix(range.End);
        return _db.NewIterator(new ReadOptions { LowerBound = lower, UpperBound = upper });
    }

    /// <summary>Walks version keys; per user key, yields the newest version ≤ <paramref name="revision"/> unless it is a tombstone.</summary>
    internal static IEnumerable<KeyValue> ScanWith(LsmIterator iterator, KeyRange range, long revision, bool withValues)
    {
        // Stepping over a few older versions is cheaper than a seek through every level; a key
        // with a long history is skipped with one seek.
        const int stepsBeforeSeek = 8;
        if (range.IsEmpty)
        {
            yield break;
        }

        iterator.Seek(MvccKeys.VersionPrefix(range.Begin));
        while (iterator.Valid)
        {
            int prefixLength = MvccKeys.VersionPrefixLength(iterator.Key);
            if (prefixLength < 0 || iterator.Key.Length != prefixLength + MvccKeys.RevisionSuffixSize)
            {
                throw new InvalidDataException("malformed MVCC version key in the LSM");
            }

            byte[] prefix = iterator.Key[..prefixLength].ToArray();
            long versionRevision = MvccKeys.Revision(iterator.Key);
            if (versionRevision > revision)
            {
                iterator.Seek(MvccKeys.VersionKeyFromPrefix(prefix, revision));
                if (!iterator.Valid || !iterator.Key.StartsWith(prefix))
                {
                    continue;
                }

                versionRevision = MvccKeys.Revision(iterator.Key);
            }

            VersionRecord record = VersionRecord.Decode(iterator.Value, withValues);
            if (!record.IsTombstone)
            {
                yield return record.ToKeyValue(MvccKeys.UserKey(prefix), versionRevision);
            }

            int steps = 0;
            iterator.Next();
            while (iterator.Valid && iterator.Key.StartsWith(prefix))
            {
                if (++steps == stepsBeforeSeek)
                {
                    // Revision 0 never exists: its key sorts after every version of this user key.
                    iterator.Seek(MvccKeys.VersionKeyFromPrefix(prefix, 0));
                    break;
                }

                iterator.Next();
            }
        }
    }

    private KeyValue? GetAt(byte[] key, long revision, LsmSnapshot? snapshot, bool withValue = true)
    {
        KeyRange range = KeyRange.Single(key);
        byte[] prefix = MvccKeys.VersionPrefix(key);
        using LsmIterator iterator = _db.NewIterator(new ReadOptions { Prefix = prefix, Snapshot = snapshot });
        return ScanWith(iterator, range, revision, withValue).FirstOrDefault();
    }

    /// <summary>Starts a read that must not overlap a restore (a seqlock: see <see cref="ExitRead"/>).</summary>
    private int EnterRead()
    {
        int epoch = Volatile.Read(ref _restoreEpoch);
        if ((epoch & 1) != 0)
        {
            throw Restoring();
        }

        return epoch;
    }

    /// <summary>A read that overlapped a restore may have seen half-replaced contents: it is refused.</summary>
    private void ExitRead(int epoch)
    {
        // The reads above must not move past the second look at the epoch.
        Interlocked.MemoryBarrier();
        if (Volatile.Read(ref _restoreEpoch) != epoch)
        {
            throw Restoring();
        }
    }

    private static MvccException Restoring() =>
        new(ErrorCode.Unavailable, "the store is being replaced by a snapshot; retry");

    /// <summary>Newest metadata of a live key without an LSM read; for the applying thread (see <see cref="LatestIndex"/>).</summary>
    internal bool TryGetLatestMetadata(byte[] key, out KeyValue kv) => _latest.TryGet(key, out kv);

    internal bool TryGetRaw(byte[] key, out byte[] value) => _db.TryGet(key, out value);

    internal IEnumerable<(byte[] Key, byte[] Value)> RawRange(byte[] lower, byte[] upper)
    {
        using LsmIterator iterator = _db.NewIterator(new ReadOptions { LowerBound = lower, UpperBound = upper });
        for (iterator.SeekToFirst(); iterator.Valid; iterator.Next())
        {
            yield return (iterator.Key.ToArray(), iterator.Value.ToArray());
        }
    }

    private void Publish(MvccState state)
    {
        lock (_publishLock)
        {
            Volatile.Write(ref _state, state);
        }
    }

    private long ReadMeta(byte[] key) => _db.TryGet(key, out byte[] value) ? MvccKeys.ReadInt64Value(value) : 0;

    /// <summary>Reads the counters; finishes (by wiping) a restore that a crash interrupted.</summary>
    private MvccState LoadState()
    {
        if (_db.TryGet(MvccKeys.RestoringKey, out _))
        {
            // Half-replaced contents are no state at all: open empty at applied index 0, so the host
            // installs a snapshot (or replays its log) again.
            WipeExcept(null, 1 << 20);
            var reset = new WriteBatch();
            reset.Put(MvccKeys.AppliedIndexKey, MvccKeys.Int64Value(0));
            _db.Write(reset);
        }

        return new MvccState(
            ReadMeta(MvccKeys.CurrentRevisionKey),
            ReadMeta(MvccKeys.CompactedRevisionKey),
            ReadMeta(MvccKeys.KeyCountKey),
            ReadMeta(MvccKeys.AppliedIndexKey));
    }

    private void WipeExcept(byte[]? keep, int batchBytes)
    {
        var batch = new WriteBatch();
        foreach ((byte[] key, _) in ExportEntries())
        {
            if (keep != null && key.AsSpan().SequenceEqual(keep))
            {
                continue;
            }

            batch.Delete(key);
            if (batch.ApproximateSize >= batchBytes)
            {
                _db.Write(batch);
                batch = new WriteBatch();
            }
        }

        _db.Write(batch);
    }
}

/// <summary>The published counters of an <see cref="MvccStore"/>.</summary>
public sealed record MvccState(long Revision, long CompactedRevision, long KeyCount, long AppliedIndex);
