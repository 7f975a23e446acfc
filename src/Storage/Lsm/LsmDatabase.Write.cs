using KvStore.Storage.IO;
using KvStore.Storage.Lsm.Records;
using KvStore.Storage.Lsm.Versions;
using Version = KvStore.Storage.Lsm.Versions.Version;

namespace KvStore.Storage.Lsm;

/// <summary>
/// The write path. Writers queue up; the one at the head (the leader) takes the batches of
/// those behind it, writes them to the WAL in one write with at most one sync (group commit),
/// inserts them into the memtable, publishes the new last sequence and wakes them.
/// </summary>
public sealed partial class LsmDatabase
{
    /// <summary>Most bytes one write group carries, so one large group does not delay a small synced write for long.</summary>
    private const int MaxGroupBytes = 1 << 20;

    private readonly LinkedList<PendingWrite> _writers = new();

    // The managed thread id holding the writer queue through a write scope, or 0 (see BeginWriteScope).
    private int _scopeOwner;

    // The current leader's group; reused because only the leader touches it, and the next leader
    // starts only after this one has finished with it under _mutex.
    private readonly List<PendingWrite> _group = [];

    // Put and Delete encode their one record into this thread's batch instead of a new one: the
    // batch is only read while its writer waits in Submit, so it is free again when Submit returns.
    [ThreadStatic]
    private static WriteBatch? t_singleRecordBatch;
    private RecordWriter? _wal;
    private bool _walBroken;
    private long _bloomChecks;
    private long _bloomUseful;
    private long _bloomUseless;
    private long _prefixFilterSkips;
    private long _userBytesWritten;
    private long _walBytesWritten;
    private long _walSyncs;
    private long _bytesFlushed;
    private long _bytesCompactedRead;
    private long _bytesCompactedWritten;
    private long _flushes;
    private long _compactions;
    private long _slowdowns;
    private long _stops;
    private int _maxLevel0Tables;

    // Seconds of delay owed by writes made past the slowdown trigger (guarded by _mutex).
    private double _delayDebtSeconds;

    public void Put(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, WriteOptions? options = null)
    {
        WriteBatch batch = t_singleRecordBatch ??= new WriteBatch();
        batch.Clear();
        batch.Put(key, value);
        Write(batch, options);
    }

    public void Delete(ReadOnlySpan<byte> key, WriteOptions? options = null)
    {
        WriteBatch batch = t_singleRecordBatch ??= new WriteBatch();
        batch.Clear();
        batch.Delete(key);
        Write(batch, options);
    }

    /// <summary>
    /// Applies every operation of <paramref name="batch"/> atomically. With
    /// <see cref="WriteOptions.Sync"/> (or <see cref="LsmOptions.SyncWal"/>) it is durable when
    /// this returns. A failed write (for example <see cref="OutOfSpaceException"/>) applied nothing.
    /// </summary>
    public void Write(WriteBatch batch, WriteOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.Count == 0 && options?.AppliedIndex is null)
        {
            return;
        }

        if (Volatile.Read(ref _scopeOwner) == Environment.CurrentManagedThreadId)
        {
            WriteInScope(batch, options?.AppliedIndex ?? 0);
            return;
        }

        var write = new PendingWrite(batch, options?.Sync == true || _options.SyncWal, options?.AppliedIndex ?? 0, ForceSwitch: false);
        Submit(write);
    }

    /// <summary>
    /// Holds the head of the writer queue for a run of writes made by the calling thread (the Raft apply loop
    /// applying one batch of committed entries), so that each <see cref="Write"/> in it costs a memtable insert
    /// instead of a trip through the queue. Each write is visible to readers when it returns, as usual. The
    /// memtable is not switched while the scope is open, so a flush, and therefore what survives a crash of a
    /// database without a WAL, holds every write of a scope or none of them: the applied index recovered is the
    /// last one of a whole scope. Other threads' writes wait until the scope is disposed. With a WAL the scope
    /// changes nothing (each write goes through the queue and the WAL as usual).
    /// </summary>
    public LsmWriteScope BeginWriteScope()
    {
        if (_options.UseWal)
        {
            return new LsmWriteScope(null);
        }

        RunInlineBackgroundWork();
        var marker = new PendingWrite(new WriteBatch(), Sync: false, AppliedIndex: 0, ForceSwitch: false);
        lock (_mutex)
        {
            ThrowIfDisposed();
            if (_scopeOwner == Environment.CurrentManagedThreadId)
            {
                throw new InvalidOperationException("a write scope is already open on this thread");
            }

            _writers.AddLast(marker);
            while (!ReferenceEquals(_writers.First!.Value, marker))
            {
                Monitor.Wait(_mutex);
            }

            try
            {
                ThrowIfDisposed();
                MakeRoomForWrite(marker);
            }
            catch (Exception e)
            {
                _writers.RemoveFirst();
                Monitor.PulseAll(_mutex);
                if (e is StorageException or ObjectDisposedException)
                {
                    throw;
                }

                throw new StorageException("write failed", e);
            }

            Volatile.Write(ref _scopeOwner, Environment.CurrentManagedThreadId);
        }

        return new LsmWriteScope(this);
    }

    internal void EndWriteScope()
    {
        lock (_mutex)
        {
            Volatile.Write(ref _scopeOwner, 0);
            _writers.RemoveFirst();
            if (_writers.Count > 0)
            {
                Monitor.PulseAll(_mutex);
            }
        }

        RunInlineBackgroundWork();
    }

    /// <summary>A write inside the scope: this thread holds the writer queue, so it alone inserts into the memtable and publishes sequences.</summary>
    private void WriteInScope(WriteBatch batch, long appliedIndex)
    {
        Memtable mem;
        ulong firstSequence;
        lock (_mutex)
        {
            ThrowIfDisposed();
            mem = _mem;
            firstSequence = _lastSequence + 1;
        }

        ulong sequence = firstSequence;
        try
        {
            var reader = new WriteBatchReader(batch.Operations);
            while (reader.TryNext(out ValueKind kind, out ReadOnlySpan<byte> key, out ReadOnlySpan<byte> value))
            {
                mem.Add(sequence++, kind, key, value);
            }

            mem.NoteAppliedIndex(appliedIndex);
            Interlocked.Add(ref _userBytesWritten, batch.UserBytes);
        }
        catch (Exception e)
        {
            // As in a failed group write: the batch's sequence numbers are never reused.
            Volatile.Write(ref _lastSequence, firstSequence + (ulong)batch.Count - 1);
            throw Rethrowable(e);
        }

        Volatile.Write(ref _lastSequence, sequence - 1);
    }

    /// <summary>Writes the memtable to a level-0 table now and waits until that is durable.</summary>
    public void Flush()
    {
        if (Volatile.Read(ref _scopeOwner) == Environment.CurrentManagedThreadId)
        {
            throw new InvalidOperationException("Flush inside a write scope: the scope holds the writer queue the flush must wait for");
        }

        var write = new PendingWrite(new WriteBatch(), Sync: false, AppliedIndex: 0, ForceSwitch: true);
        Submit(write);
        RunInlineBackgroundWork();
        lock (_mutex)
        {
            // Everything sealed so far, including memtables an earlier failed flush left behind.
            List<Memtable> targets = _immutables;
            long attempts = _flushAttempts;
            long compactionAttempts = _compactionAttempts;
            while (targets.Any(_immutables.Contains))
            {
                ThrowIfDisposed();
                if (_flushError != null && _flushAttempts > attempts)
                {
                    throw WrapBackgroundError(_flushError);
                }

                // Flushes wait while L0 is at the stop trigger; if compaction cannot bring it down, say why.
                if (_compactionError != null && _compactionAttempts > compactionAttempts
                    && _versions.Current.Files[0].Count >= _options.Level0StopTrigger)
                {
                    throw WrapBackgroundError(_compactionError);
                }

                ThrowIfInlineWorkIsStuck();
                SignalBackgroundWork();
                Monitor.Wait(_mutex, 100);
            }
        }
    }

    private void Submit(PendingWrite write)
    {
        RunInlineBackgroundWork();
        try
        {
            SubmitToGroup(write);
        }
        finally
        {
            RunInlineBackgroundWork();
        }
    }

    private void SubmitToGroup(PendingWrite write)
    {
        List<PendingWrite> group;
        ulong firstSequence;
        bool sync;
        Memtable mem;
        RecordWriter? wal;
        lock (_mutex)
        {
            ThrowIfDisposed();
            _writers.AddLast(write);
            while (!write.Done && !ReferenceEquals(_writers.First!.Value, write))
            {
                Monitor.Wait(_mutex);
            }

            if (write.Done)
            {
                if (write.Error != null)
                {
                    throw Rethrowable(write.Error);
                }

                return;
            }

            try
            {
                ThrowIfDisposed();
                MakeRoomForWrite(write);
            }
            catch (Exception e)
            {
                _writers.RemoveFirst();
                Monitor.PulseAll(_mutex);
                if (e is StorageException or ObjectDisposedException)
                {
                    throw;
                }

                throw new StorageException("write failed", e);
            }

            group = BuildGroup(write);
            firstSequence = _lastSequence + 1;
            sync = false;
            foreach (PendingWrite w in group)
            {
                sync |= w.Sync;
            }

            mem = _mem;
            wal = _wal;
        }

        // Only the leader reaches here, so the memtable has a single writer; readers never block.
        Exception? error = null;
        ulong sequence = firstSequence;
        long walLengthBefore = wal?.Length ?? 0;
        try
        {
            if (wal != null && !write.ForceSwitch)
            {
                var payloads = new List<byte[]>(group.Count);
                ulong s = firstSequence;
                foreach (PendingWrite w in group)
                {
                    payloads.Add(WalRecord.Encode(s, w.AppliedIndex, w.Batch));
                    s += (ulong)w.Batch.Count;
                }

                wal.Append(payloads);
                Interlocked.Add(ref _walBytesWritten, payloads.Sum(p => p.Length + RecordFormat.HeaderSize));
                if (sync)
                {
                    try
                    {
                        wal.Sync();
                    }
                    catch (IOException)
                    {
                        // Not durable and not applied: take the records back out of the WAL.
                        wal.TruncateTo(walLengthBefore);
                        throw;
                    }

                    Interlocked.Increment(ref _walSyncs);
                }
            }

            foreach (PendingWrite w in group)
            {
                var reader = new WriteBatchReader(w.Batch.Operations);
                while (reader.TryNext(out ValueKind kind, out ReadOnlySpan<byte> key, out ReadOnlySpan<byte> value))
                {
                    mem.Add(sequence++, kind, key, value);
                }

                mem.NoteAppliedIndex(w.AppliedIndex);
                Interlocked.Add(ref _userBytesWritten, w.Batch.UserBytes);
            }
        }
        catch (Exception e)
        {
            error = e;
        }

        lock (_mutex)
        {
            if (error != null)
            {
                // The WAL was cut back to before this group; still, never reuse these sequence
                // numbers, and move to a fresh WAL if the cut did not take.
                _walBroken = wal?.Broken ?? false;
                sequence = firstSequence;
                foreach (PendingWrite w in group)
                {
                    sequence += (ulong)w.Batch.Count;
                }
            }

            Volatile.Write(ref _lastSequence, sequence - 1);
            foreach (PendingWrite w in group)
            {
                _writers.RemoveFirst();
                if (!ReferenceEquals(w, write))
                {
                    w.Error = error;
                    w.Done = true;
                }
            }

            // Only queued writers wait on _mutex for the writer queue (background threads wait on
            // their own signals): with nobody queued and nobody completed here, a write wakes nobody.
            if (group.Count > 1 || _writers.Count > 0)
            {
                Monitor.PulseAll(_mutex);
            }

            group.Clear();
        }

        if (error != null)
        {
            throw Rethrowable(error);
        }
    }

    private static Exception Rethrowable(Exception e) => e switch
    {
        OutOfSpaceException oos => new OutOfSpaceException(oos.File, oos),
        StorageException s => new StorageException(s.Message, s),
        ObjectDisposedException => new ObjectDisposedException(nameof(LsmDatabase), e),
        _ => new StorageException($"write failed: {e.Message}", e),
    };

    private static Exception WrapBackgroundError(Exception e) => e switch
    {
        OutOfSpaceException oos => new OutOfSpaceException(oos.File, oos),
        _ => new StorageException($"background work failed: {e.Message}", e),
    };

    /// <summary>The leader plus the writers queued behind it, within <see cref="MaxGroupBytes"/>. Caller holds <c>_mutex</c>.</summary>
    private List<PendingWrite> BuildGroup(PendingWrite leader)
    {
        List<PendingWrite> group = _group;
        group.Clear();
        group.Add(leader);
        if (leader.ForceSwitch)
        {
            return group;
        }

        long bytes = leader.Batch.ApproximateSize;
        for (LinkedListNode<PendingWrite>? node = _writers.First!.Next; node != null; node = node.Next)
        {
            PendingWrite w = node.Value;
            if (w.ForceSwitch || bytes + w.Batch.ApproximateSize > MaxGroupBytes)
            {
                break;
            }

            bytes += w.Batch.ApproximateSize;
            group.Add(w);
        }

        return group;
    }

    /// <summary>
    /// Backpressure and memtable switching, LevelDB's MakeRoomForWrite. Caller holds <c>_mutex</c>;
    /// waits release it. Past the slowdown trigger, or when all but one memtable slot are taken
    /// (with three or more slots, as RocksDB), writes are held to <see cref="LsmOptions.DelayedWriteRate"/>; a write waits
    /// outright while the memtable queue is full or L0 is at the stop trigger. If background work
    /// is failing (a full disk), a write that would wait fails with that error instead.
    /// </summary>
    private void MakeRoomForWrite(PendingWrite write)
    {
        bool allowDelay = !write.ForceSwitch;
        bool force = write.ForceSwitch;
        long flushAttempts = _flushAttempts;
        long compactionAttempts = _compactionAttempts;
        while (true)
        {
            ThrowIfDisposed();
            int level0 = _versions.Current.Files[0].Count;
            bool memtablesBackingUp = _options.MaxImmutableMemtables >= 3 && _immutables.Count >= _options.MaxImmutableMemtables - 1;
            if (allowDelay && (level0 >= _options.Level0SlowdownTrigger || memtablesBackingUp))
            {
                // Charge this write at the delayed write rate; sleep off the charge once it reaches a millisecond.
                allowDelay = false;
                _delayDebtSeconds += (double)Math.Max(write.Batch.ApproximateSize, 1) / _options.DelayedWriteRate;
                if (_delayDebtSeconds >= 0.001)
                {
                    _slowdowns++;
                    long started = Environment.TickCount64;
                    Monitor.Wait(_mutex, (int)Math.Ceiling(_delayDebtSeconds * 1000));

                    // A pulse can end the wait early: only the time actually waited pays the debt.
                    _delayDebtSeconds = Math.Max(0, _delayDebtSeconds - ((Environment.TickCount64 - started) / 1000.0));
                    continue;
                }
            }
            else if (allowDelay)
            {
                _delayDebtSeconds = 0;
            }

            if (!force && !_walBroken && _mem.ApproximateBytes < _options.MemtableSizeBytes)
            {
                return;
            }

            if (force && _mem.IsEmpty && _mem.MaxAppliedIndex == 0 && !_walBroken)
            {
                return;
            }

            if (_immutables.Count >= _options.MaxImmutableMemtables)
            {
                if (_flushError != null && _flushAttempts > flushAttempts)
                {
                    throw WrapBackgroundError(_flushError);
                }

                ThrowIfInlineWorkIsStuck();
                _stops++;
                SignalBackgroundWork();
                Monitor.Wait(_mutex, 100);
                continue;
            }

            if (level0 >= _options.Level0StopTrigger)
            {
                if (_compactionError != null && _compactionAttempts > compactionAttempts)
                {
                    throw WrapBackgroundError(_compactionError);
                }

                ThrowIfInlineWorkIsStuck();
                _stops++;
                SignalBackgroundWork();
                Monitor.Wait(_mutex, 100);
                continue;
            }

            write.Sealed = SwitchMemtable();
            return;
        }
    }

    /// <summary>Seals the memtable (returned, unless it was empty) and starts a new one with a new WAL. Caller holds <c>_mutex</c>.</summary>
    private Memtable? SwitchMemtable()
    {
        ulong logNumber = 0;
        RecordWriter? newWal = null;
        if (_options.UseWal)
        {
            // The sealed memtable's WAL is synced first: unsynced writes then exist only in the
            // newest WAL, so a crash loses a suffix of the writes, never a middle part.
            if (_wal != null && !_walBroken)
            {
                _wal.Sync();
                _walSyncs++;
            }

            logNumber = _versions.NewFileNumber();
            string path = FileNames.Join(_directory, FileNames.Log(logNumber));
            try
            {
                newWal = new RecordWriter(_fs.Open(path, OpenMode.CreateTruncate));
                _fs.SyncDirectory(_directory);
            }
            catch
            {
                newWal?.Dispose();
                _fs.DeleteFile(path);
                throw;
            }
        }

        _wal?.Dispose();
        _wal = newWal;
        _walBroken = false;
        Memtable? sealedTable = null;
        if (!_mem.IsEmpty || _mem.MaxAppliedIndex > 0)
        {
            sealedTable = _mem;
            _immutables = [.. _immutables, _mem];
        }

        _mem = new Memtable(logNumber);
        if (sealedTable != null)
        {
            _flushSignal.Set();
        }

        return sealedTable;
    }

    private sealed record PendingWrite(WriteBatch Batch, bool Sync, long AppliedIndex, bool ForceSwitch)
    {
        public bool Done { get; set; }

        public Exception? Error { get; set; }

        public Memtable? Sealed { get; set; }
    }
}
