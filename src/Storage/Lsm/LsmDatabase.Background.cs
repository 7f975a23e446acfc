using KvStore.Storage.IO;
using KvStore.Storage.Lsm.Iterators;
using KvStore.Storage.Lsm.Records;
using KvStore.Storage.Lsm.Table;
using KvStore.Storage.Lsm.Versions;
using Version = KvStore.Storage.Lsm.Versions.Version;

namespace KvStore.Storage.Lsm;

/// <summary>
/// Recovery, flushes and compactions. A flush thread turns sealed memtables, oldest first, into
/// L0 tables; a compaction thread merges levels downward. Every new table is synced before the
/// manifest edit that adds it, and a table is deleted only once no durable manifest and no
/// live version or iterator needs it. A failed flush or compaction (a full disk) changes
/// nothing durable; it is retried after a pause.
/// </summary>
public sealed partial class LsmDatabase
{
    private static readonly TimeSpan RetryPause = TimeSpan.FromMilliseconds(50);

    // Each background thread sleeps on its own signal, never on _mutex, so the writers' wake-ups
    // of one another do not wake it (LevelDB gives background work its own condition variable).
    // The flush thread's is set when a memtable is sealed or a version is installed (L0 may have
    // dropped below the stop trigger); the compaction thread's when a version is installed. Both
    // are auto-reset: a Set while the thread is busy is kept, so no wake-up is lost between its
    // check of the state and its wait.
    private readonly AutoResetEvent _flushSignal = new(false);
    private readonly AutoResetEvent _compactionSignal = new(false);
    private long _backgroundWakeups;

    /// <summary>Waits until no memtable awaits flush and no level needs compaction.</summary>
    public void WaitForCompactions()
    {
        RunInlineBackgroundWork();
        lock (_mutex)
        {
            long flushAttempts = _flushAttempts;
            long compactionAttempts = _compactionAttempts;
            while (_immutables.Count > 0 || _compacting || Compaction.BestScore(_versions.Current, _options).Score >= 1)
            {
                ThrowIfDisposed();
                if (_flushError != null && _flushAttempts > flushAttempts)
                {
                    throw WrapBackgroundError(_flushError);
                }

                if (_compactionError != null && _compactionAttempts > compactionAttempts)
                {
                    throw WrapBackgroundError(_compactionError);
                }

                ThrowIfInlineWorkIsStuck();
                SignalBackgroundWork();
                Monitor.Wait(_mutex, 100);
            }
        }
    }

    /// <summary>Wakes both background threads to re-examine the state (a version was installed, or a waiter needs progress).</summary>
    private void SignalBackgroundWork()
    {
        _flushSignal.Set();
        _compactionSignal.Set();
    }

    /// <summary>A background thread's idle wait: on its own signal, with a poll as a safety net. Caller does not hold <c>_mutex</c>.</summary>
    private void WaitForSignal(AutoResetEvent signal)
    {
        if (signal.WaitOne(100))
        {
            Interlocked.Increment(ref _backgroundWakeups);
        }
    }

    /// <summary>With <see cref="LsmOptions.InlineBackgroundWork"/>: runs pending flushes and compactions now, recording failures as the threads would.</summary>
    private void RunInlineBackgroundWork()
    {
        if (!_options.InlineBackgroundWork)
        {
            return;
        }

        lock (_inlineLock)
        {
            while (true)
            {
                Memtable? imm = null;
                bool compact;
                lock (_mutex)
                {
                    if (_disposed)
                    {
                        return;
                    }

                    if (_immutables.Count > 0 && _versions.Current.Files[0].Count < _options.Level0StopTrigger)
                    {
                        imm = _immutables[0];
                    }

                    compact = Compaction.BestScore(_versions.Current, _options).Score >= 1;
                }

                try
                {
                    if (imm != null)
                    {
                        FlushImmutable(imm);
                        DeleteObsoleteFiles(includeTemporaries: false);
                    }
                    else if (compact)
                    {
                        lock (_compactionLock)
                        {
                            Compaction? compaction;
                            lock (_mutex)
                            {
                                compaction = Compaction.Pick(_versions.Current, _versions.CompactPointers, _options);
                            }

                            if (compaction != null)
                            {
                                RunCompaction(compaction, allowTrivialMove: true);
                            }
                        }
                    }
                    else
                    {
                        return;
                    }

                    lock (_mutex)
                    {
                        if (imm != null)
                        {
                            _flushError = null;
                            _flushAttempts++;
                        }
                        else
                        {
                            _compactionError = null;
                            _compactionAttempts++;
                        }
                    }
                }
                catch (Exception e)
                {
                    lock (_mutex)
                    {
                        if (imm != null)
                        {
                            _flushError = e;
                            _flushAttempts++;
                        }
                        else
                        {
                            _compactionError = e;
                            _compactionAttempts++;
                        }
                    }

                    return;
                }
            }
        }
    }

    /// <summary>With inline background work nothing else will make progress: a waiter reports the failure that stopped it. Caller holds <c>_mutex</c>.</summary>
    private void ThrowIfInlineWorkIsStuck()
    {
        if (_options.InlineBackgroundWork)
        {
            throw WrapBackgroundError(_flushError ?? _compactionError ?? new StorageException("background work could not proceed"));
        }
    }

    /// <summary>
    /// Flushes the memtable, then compacts every table overlapping the user-key range
    /// [<paramref name="begin"/>, <paramref name="end"/>] (null = unbounded) level by level, the
    /// deepest level holding part of it into the one below, dropping overwritten versions and
    /// tombstones no snapshot needs.
    /// </summary>
    public void CompactRange(byte[]? begin = null, byte[]? end = null)
    {
        Flush();
        byte[] low = begin ?? [];
        int deepest;
        lock (_mutex)
        {
            Version current = _versions.Current;
            deepest = Enumerable.Range(0, Version.NumLevels)
                .Where(l => current.Files[l].Any(f => f.Overlaps(low, true, end ?? [], end != null)))
                .DefaultIfEmpty(-1)
                .Max();
        }

        // Push the range down level by level, including the deepest level holding part of it, so
        // even there overwritten versions and tombstones nobody needs are dropped.
        for (int level = 0; level <= Math.Min(deepest, Version.NumLevels - 2); level++)
        {
            lock (_compactionLock)
            {
                Version version;
                lock (_mutex)
                {
                    ThrowIfDisposed();
                    version = _versions.Current;
                }

                List<FileMetadata> inputs = version.Files[level].Where(f => f.Overlaps(low, true, end ?? [], end != null)).ToList();
                if (level == 0 && inputs.Count > 0)
                {
                    // All of L0, for the same reason as in Compaction.Pick.
                    inputs = [.. version.Files[0]];
                }

                if (inputs.Count > 0)
                {
                    RunCompaction(Compaction.ForInputs(version, level, inputs), allowTrivialMove: false);
                }
            }
        }
    }

    private void Recover()
    {
        bool existed = _versions.Recover();
        IReadOnlyList<string> names = _fs.ListFiles(_directory);
        var logs = new List<ulong>();
        var tables = new HashSet<ulong>();
        foreach (string name in names)
        {
            var (kind, number) = FileNames.Parse(name);
            if (kind is FileNames.Kind.Log or FileNames.Kind.Table or FileNames.Kind.Manifest or FileNames.Kind.Temp)
            {
                _versions.MarkFileNumberUsed(number);
            }

            if (kind == FileNames.Kind.Log && (!existed || number >= _versions.LogNumber))
            {
                logs.Add(number);
            }

            if (kind == FileNames.Kind.Table)
            {
                tables.Add(number);
            }
        }

        if (existed)
        {
            foreach (FileMetadata f in _versions.Current.AllFiles())
            {
                if (!tables.Contains(f.Number))
                {
                    throw new StorageCorruptionException(
                        FileNames.Join(_directory, FileNames.Manifest(_versions.ManifestNumber)), 0, $"table {FileNames.Table(f.Number)} is missing");
                }
            }
        }

        // Replay the WALs, oldest first, into memtables written to L0. Every WAL
        // is read whole (a torn tail cut) and its writes land in tables before the new manifest
        // says the WAL is no longer needed.
        var edit = new VersionEdit();
        ulong lastSequence = _versions.LastSequence;
        long appliedIndex = _versions.AppliedIndex;
        logs.Sort();
        var mem = new Memtable(0);
        foreach (ulong log in logs)
        {
            string path = FileNames.Join(_directory, FileNames.Log(log));
            RecordReader reader = RecordReader.Open(_fs, path);
            foreach (var (offset, payload) in reader.ReadAll())
            {
                lastSequence = Math.Max(lastSequence, WalRecord.Replay(payload, mem, path, offset));

                // The WALs hold at most a few memtables' worth; gathering them into few tables keeps
                // a recovery from pushing L0 past its stop trigger.
                if (mem.ApproximateBytes >= 4L * _options.MemtableSizeBytes)
                {
                    appliedIndex = Math.Max(appliedIndex, mem.MaxAppliedIndex);
                    AddRecoveredTable(mem, edit);
                    mem = new Memtable(0);
                }
            }
        }

        appliedIndex = Math.Max(appliedIndex, mem.MaxAppliedIndex);
        AddRecoveredTable(mem, edit);

        ulong walNumber = _versions.NewFileNumber();
        if (_options.UseWal)
        {
            // Created before the manifest switch, whose directory sync makes its entry durable too.
            _wal = new RecordWriter(_fs.Open(FileNames.Join(_directory, FileNames.Log(walNumber)), OpenMode.CreateTruncate));
        }

        edit.LogNumber = walNumber;
        edit.LastSequence = lastSequence;
        edit.AppliedIndex = appliedIndex;
        _versions.StartNewManifest(edit, _mutex);
        _pendingOutputs.Clear();
        _lastSequence = lastSequence;
        _mem = new Memtable(_options.UseWal ? walNumber : 0);
        _maxLevel0Tables = _versions.Current.Files[0].Count;
        DeleteObsoleteFiles(includeTemporaries: true);
    }

    private void AddRecoveredTable(Memtable mem, VersionEdit edit)
    {
        if (mem.IsEmpty)
        {
            return;
        }

        FileMetadata? file = WriteLevel0Table(mem);
        if (file != null)
        {
            edit.NewFiles.Add((0, file));
        }
    }

    private void StartBackgroundThreads()
    {
        _flushThread = new Thread(FlushLoop) { IsBackground = true, Name = "lsm-flush" };
        _compactionThread = new Thread(CompactionLoop) { IsBackground = true, Name = "lsm-compaction" };
        _flushThread.Start();
        _compactionThread.Start();
    }

    private void FlushLoop()
    {
        while (true)
        {
            Memtable? imm = null;
            lock (_mutex)
            {
                if (_disposed)
                {
                    return;
                }

                // Flushes wait while L0 is at the stop trigger: L0 never grows past it.
                if (_immutables.Count > 0 && _versions.Current.Files[0].Count < _options.Level0StopTrigger)
                {
                    imm = _immutables[0];
                }
            }

            if (imm == null)
            {
                WaitForSignal(_flushSignal);
                continue;
            }

            try
            {
                FlushImmutable(imm);
                lock (_mutex)
                {
                    _flushError = null;
                    _flushAttempts++;
                    Monitor.PulseAll(_mutex);
                }

                DeleteObsoleteFiles(includeTemporaries: false);
            }
            catch (Exception e)
            {
                lock (_mutex)
                {
                    _flushError = e;
                    _flushAttempts++;
                    Monitor.PulseAll(_mutex);
                    if (!_disposed)
                    {
                        Monitor.Wait(_mutex, RetryPause);
                    }
                }
            }
        }
    }

    private void FlushImmutable(Memtable imm)
    {
        FileMetadata? file = imm.IsEmpty ? null : WriteLevel0Table(imm);
        try
        {
            var edit = new VersionEdit();
            lock (_mutex)
            {
                // WALs older than the next memtable's hold nothing that is not in a table now.
                int index = _immutables.IndexOf(imm);
                Memtable next = index + 1 < _immutables.Count ? _immutables[index + 1] : _mem;
                if (_options.UseWal)
                {
                    edit.LogNumber = next.LogNumber;
                }

                edit.LastSequence = Math.Max(_versions.LastSequence, imm.LastSequence);
                edit.AppliedIndex = Math.Max(_versions.AppliedIndex, imm.MaxAppliedIndex);
            }

            if (file != null)
            {
                edit.NewFiles.Add((0, file));
            }

            _versions.LogAndApply(edit, _mutex, version =>
            {
                _immutables = _immutables.Where(m => !ReferenceEquals(m, imm)).ToList();
                _maxLevel0Tables = Math.Max(_maxLevel0Tables, version.Files[0].Count);
                _flushes++;
                _bytesFlushed += file?.Size ?? 0;
                SignalBackgroundWork();
            });
        }
        finally
        {
            if (file != null)
            {
                lock (_mutex)
                {
                    // Applied or not, the file is now either live in a version or garbage for the collector.
                    _pendingOutputs.Remove(file.Number);
                }
            }
        }
    }

    /// <summary>Writes a memtable to a new synced table; null if it held nothing. The number stays pending until the caller's edit is applied.</summary>
    private FileMetadata? WriteLevel0Table(Memtable mem)
    {
        using IInternalIterator iterator = mem.NewIterator();
        iterator.SeekToFirst();
        if (!iterator.Valid)
        {
            return null;
        }

        ulong number = NewPendingFileNumber();
        try
        {
            return BuildTable(number, builder =>
            {
                for (; iterator.Valid; iterator.Next())
                {
                    builder.Add(iterator.Key, iterator.Value);
                }
            });
        }
        catch
        {
            lock (_mutex)
            {
                _pendingOutputs.Remove(number);
            }

            throw;
        }
    }

    private ulong NewPendingFileNumber()
    {
        lock (_mutex)
        {
            ulong number = _versions.NewFileNumber();
            _pendingOutputs.Add(number);
            return number;
        }
    }

    /// <summary>Creates table <paramref name="number"/>, lets <paramref name="fill"/> add entries, finishes (syncs) it. Deletes the file on failure.</summary>
    private FileMetadata BuildTable(ulong number, Action<TableBuilder> fill)
    {
        string path = FileNames.Join(_directory, FileNames.Table(number));
        try
        {
            using IStorageFile file = _fs.Open(path, OpenMode.CreateTruncate);
            using var builder = new TableBuilder(file, _options.Table);
            fill(builder);
            TableProperties properties = builder.Finish();
            return new FileMetadata(number, properties.FileSize, properties.SmallestKey, properties.LargestKey, properties.EntryCount);
        }
        catch
        {
            _fs.DeleteFile(path);
            throw;
        }
    }

    private void CompactionLoop()
    {
        while (true)
        {
            bool idle;
            lock (_mutex)
            {
                if (_disposed)
                {
                    return;
                }

                idle = Compaction.BestScore(_versions.Current, _options).Score < 1;
                _compacting = !idle;
            }

            if (idle)
            {
                WaitForSignal(_compactionSignal);
                continue;
            }

            try
            {
                _options.BeforeCompaction?.Invoke();
                lock (_compactionLock)
                {
                    Compaction? compaction;
                    lock (_mutex)
                    {
                        compaction = Compaction.Pick(_versions.Current, _versions.CompactPointers, _options);
                    }

                    if (compaction != null)
                    {
                        RunCompaction(compaction, allowTrivialMove: true);
                    }
                }

                lock (_mutex)
                {
                    _compactionError = null;
                    _compactionAttempts++;
                    _compacting = false;
                    Monitor.PulseAll(_mutex);
                }
            }
            catch (Exception e)
            {
                lock (_mutex)
                {
                    _compactionError = e;
                    _compactionAttempts++;
                    _compacting = false;
                    Monitor.PulseAll(_mutex);
                    if (!_disposed)
                    {
                        Monitor.Wait(_mutex, RetryPause);
                    }
                }
            }
        }
    }

    /// <summary>Runs one compaction; caller holds <c>_compactionLock</c>, so inputs cannot vanish underneath it.</summary>
    private void RunCompaction(Compaction c, bool allowTrivialMove)
    {
        var edit = new VersionEdit();
        FileMetadata lastInput = c.Inputs.MaxBy(f => f.Largest, InternalKeyComparer.Instance)!;
        edit.CompactPointers.Add((c.Level, lastInput.Largest));
        foreach (FileMetadata f in c.Inputs)
        {
            edit.DeletedFiles.Add((c.Level, f.Number));
        }

        foreach (FileMetadata f in c.NextInputs)
        {
            edit.DeletedFiles.Add((c.OutputLevel, f.Number));
        }

        if (allowTrivialMove && c.IsTrivialMove)
        {
            edit.NewFiles.Add((c.OutputLevel, c.Inputs[0]));
            _versions.LogAndApply(edit, _mutex, _ =>
            {
                _compactions++;
                SignalBackgroundWork();
            });
            return;
        }

        Version version;
        ulong smallestSnapshot;
        lock (_mutex)
        {
            version = ReferenceVersion();
            smallestSnapshot = _snapshots.Count > 0 ? _snapshots.Keys.First() : _lastSequence;
        }

        var outputs = new List<FileMetadata>();
        var children = new List<IInternalIterator>();
        try
        {
            // Read once: keep compaction's blocks out of the cache point reads use. The tables of
            // a level ≥ 1 do not overlap, so each such level is one concatenating child (LevelDB's
            // choice): the merge then compares across a few children instead of every input table.
            if (c.Level == 0)
            {
                foreach (FileMetadata f in c.Inputs)
                {
                    children.Add(OpenTableIterator(f, null, fillCache: false)!);
                }
            }
            else if (c.Inputs.Count > 0)
            {
                children.Add(new LevelIterator(SortedBySmallest(c.Inputs), f => OpenTableIterator(f, null, fillCache: false)));
            }

            if (c.NextInputs.Count > 0)
            {
                children.Add(new LevelIterator(SortedBySmallest(c.NextInputs), f => OpenTableIterator(f, null, fillCache: false)));
            }

            using var merged = new MergingIterator(children);
            children = [];
            merged.SeekToFirst();
            while (merged.Valid)
            {
                ulong number = NewPendingFileNumber();
                outputs.Add(BuildTable(number, builder => FillCompactionOutput(builder, merged, c, version, smallestSnapshot)));
                if (outputs[^1].Entries == 0)
                {
                    // Everything left was dropped: an empty table is not kept.
                    _fs.DeleteFile(FileNames.Join(_directory, FileNames.Table(number)));
                    outputs.RemoveAt(outputs.Count - 1);
                    lock (_mutex)
                    {
                        _pendingOutputs.Remove(number);
                    }
                }
            }

            foreach (FileMetadata f in outputs)
            {
                edit.NewFiles.Add((c.OutputLevel, f));
            }

            long written = outputs.Sum(f => f.Size);
            _versions.LogAndApply(edit, _mutex, _ =>
            {
                _compactions++;
                _bytesCompactedRead += c.InputBytes;
                _bytesCompactedWritten += written;
                SignalBackgroundWork();
            });
        }
        catch
        {
            foreach (IInternalIterator child in children)
            {
                child.Dispose();
            }

            throw;
        }
        finally
        {
            lock (_mutex)
            {
                foreach (FileMetadata f in outputs)
                {
                    _pendingOutputs.Remove(f.Number);
                }
            }

            ReleaseVersion(version);
            DeleteObsoleteFiles(includeTemporaries: false);
        }
    }

    private static List<FileMetadata> SortedBySmallest(IReadOnlyList<FileMetadata> files)
    {
        var sorted = files.ToList();
        sorted.Sort((a, b) => InternalKeyComparer.Compare(a.Smallest, b.Smallest));
        return sorted;
    }

    /// <summary>
    /// Adds merged entries to one output table until it reaches the target size at a user-key
    /// boundary. Drops (LevelDB's rule) an entry shadowed by a newer entry of its key that every
    /// snapshot sees, and a tombstone every snapshot sees when no deeper level can hold its key.
    /// </summary>
    private void FillCompactionOutput(TableBuilder builder, MergingIterator merged, Compaction c, Version version, ulong smallestSnapshot)
    {
        // The current user key, copied into a buffer reused across keys (no allocation per entry).
        byte[] currentUserKey = new byte[64];
        int currentUserKeyLength = 0;
        bool hasCurrent = false;
        ulong lastSequenceForKey = ulong.MaxValue;
        for (; merged.Valid; merged.Next())
        {
            ReadOnlySpan<byte> key = merged.Key;
            ReadOnlySpan<byte> userKey = InternalKey.UserKey(key);
            if (!hasCurrent || !userKey.SequenceEqual(currentUserKey.AsSpan(0, currentUserKeyLength)))
            {
                if (builder.EntryCount > 0 && builder.EstimatedSize >= _options.TargetFileSize)
                {
                    return;
                }

                if (currentUserKey.Length < userKey.Length)
                {
                    currentUserKey = new byte[Math.Max(userKey.Length, currentUserKey.Length * 2)];
                }

                userKey.CopyTo(currentUserKey);
                currentUserKeyLength = userKey.Length;
                hasCurrent = true;
                lastSequenceForKey = ulong.MaxValue;
            }

            ulong sequence = InternalKey.Sequence(key);
            bool drop = lastSequenceForKey <= smallestSnapshot
                || (InternalKey.Kind(key) == ValueKind.Deletion && sequence <= smallestSnapshot && version.IsBaseLevelForKey(c.OutputLevel, userKey));
            lastSequenceForKey = sequence;
            if (!drop)
            {
                builder.Add(key, merged.Value);
            }
        }
    }

    /// <summary>
    /// Deletes files nothing needs: tables in no live version and not being written, WALs older
    /// than the manifest's log number, manifests older than the live one.
    /// </summary>
    private void DeleteObsoleteFiles(bool includeTemporaries)
    {
        HashSet<ulong> live;
        ulong logNumber;
        ulong manifestNumber;
        ulong currentWal;
        IReadOnlyList<string> names;

        // Listed under the lock that guards file-number allocation: a table numbered and created
        // after the live set was taken must not be mistaken for garbage.
        lock (_mutex)
        {
            live = [.. _pendingOutputs];
            foreach (FileMetadata f in _versions.Current.AllFiles())
            {
                live.Add(f.Number);
            }

            foreach (Version v in _versionReferences.Keys)
            {
                foreach (FileMetadata f in v.AllFiles())
                {
                    live.Add(f.Number);
                }
            }

            logNumber = _versions.LogNumber;
            manifestNumber = _versions.ManifestNumber;
            currentWal = _mem.LogNumber;
            try
            {
                names = _fs.ListFiles(_directory);
            }
            catch (IOException)
            {
                return;
            }
        }

        foreach (string name in names)
        {
            var (kind, number) = FileNames.Parse(name);
            bool obsolete = kind switch
            {
                FileNames.Kind.Table => !live.Contains(number),
                FileNames.Kind.Log => number < logNumber && number != currentWal,
                FileNames.Kind.Manifest => number < manifestNumber,
                FileNames.Kind.Temp => includeTemporaries,
                _ => false,
            };
            if (!obsolete)
            {
                continue;
            }

            if (kind == FileNames.Kind.Table)
            {
                _tableCache.Evict(number);
            }

            _fs.DeleteFile(FileNames.Join(_directory, name));
        }
    }
}
