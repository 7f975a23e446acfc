using FASTER.core;

namespace KvStore.Storage.Log;

/// <summary>
/// The node's Raft log on Microsoft.FASTER.Core's <see cref="FasterLog"/>: the same record stream as
/// <see cref="SegmentedLogStore"/> (<see cref="LogRecordCodec"/>: one CRC-32C-protected record per
/// mutation), each record one FasterLog entry; <see cref="Sync"/> is one FasterLog commit.
/// </summary>
/// <remarks>
/// This store does not go through the <see cref="IO.IFileSystem"/> seam: FasterLog does its own I/O
/// on the real disk (<see cref="Devices.CreateLogDevice"/>), so it cannot be crash-tested on
/// <see cref="IO.FaultInjectingFileSystem"/>; its crash tests reopen real files instead.
///
/// On-disk layout. In the store's directory: <c>raftlog.log.{n}</c>, FasterLog's segment files (a
/// FasterLog entry is its 4-byte length header then our record, at logical address
/// n × 2^SegmentSizeBits + file offset), and <c>commit</c>, FasterLog's commit metadata in the
/// two-slot format of <see cref="FasterLogCommitFile"/>.
/// The first record at the log's begin address is always a Checkpoint; further checkpoints are written
/// every <see cref="FasterLogStoreOptions.CheckpointIntervalBytes"/>, and prefix compaction
/// truncates the log (<see cref="FasterLog.TruncateUntil"/>) at the newest checkpoint that is older
/// than every live entry, as the segmented store deletes segments.
///
/// Facts about FasterLog this store handles:
/// <list type="bullet">
/// <item>FasterLog has no CRC (only an optional XOR checksum), so each record carries our CRC-32C,
/// checked when the log is scanned on open (a damaged record raises <see cref="StorageCorruptionException"/>
/// naming the segment file and offset), and each entry payload's CRC is checked on every read.</item>
/// <item>On Linux FasterLog makes pages durable with O_SYNC writes and never fsyncs a directory, so a
/// new segment file or commit file could vanish in a power loss after the commit reported success.
/// Its default commit manager creates a new commit file per commit; this store replaces it with
/// <see cref="FasterLogCommitFile"/> (one preallocated file, overwritten in place, fdatasync), and Sync
/// fsyncs the log directory whenever the tail moved into a new segment file. A commit therefore costs
/// FasterLog's O_SYNC page write plus one fdatasync of the commit file.</item>
/// <item>FasterLog recovers to its last commit; anything enqueued after it is gone, so a torn tail is
/// never replayed. Reads of committed records go through <see cref="FasterLog.ReadAsync(long, int, CancellationToken)"/>,
/// which does not serve uncommitted ones, so records enqueued since the last commit are also kept in memory until it.</item>
/// </list>
/// </remarks>
public sealed class FasterLogStore : IndexedRaftLogStore
{
    private const string LogFileName = "raftlog.log";

    private readonly FasterLogStoreOptions _options;
    private readonly LogRecordBuilder _checkpoints = new();
    private readonly Dictionary<long, byte[]> _uncommittedEntryRecords = [];
    private readonly List<long> _checkpointAddresses = [];
    private readonly IDevice _device;
    private readonly FasterLogCommitFile _commits;
    private readonly FasterLog _log;
    private int[] _payloadOffsets = new int[64];
    private LogEntryRef[] _refs = new LogEntryRef[64];
    private long _enqueuedSinceCommit;
    private long _syncedSegment = -1;

    private FasterLogStore(string directory, FasterLogStoreOptions options)
        : base(directory)
    {
        _options = options;
        IO.PhysicalFileSystem.Instance.CreateDirectory(directory);
        _device = Devices.CreateLogDevice($"{directory}/{LogFileName}", preallocateFile: false, deleteOnClose: false, recoverDevice: true);
        _commits = new FasterLogCommitFile(directory);
        try
        {
            _log = new FasterLog(new FasterLogSettings
            {
                LogDevice = _device,
                LogCommitManager = _commits,
                PageSizeBits = options.PageSizeBits,
                MemorySizeBits = options.MemorySizeBits,
                SegmentSizeBits = options.SegmentSizeBits,
                LogChecksum = LogChecksumType.None,
                TryRecoverLatest = true,
                RemoveOutdatedCommits = false,
                AutoRefreshSafeTailAddress = false,
            });
        }
        catch
        {
            _commits.Dispose();
            _device.Dispose();
            throw;
        }
    }

    /// <summary>Opens (creating if needed) the store in <paramref name="directory"/> on the real disk and recovers its state.</summary>
    public static FasterLogStore Open(string directory, FasterLogStoreOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        options ??= new FasterLogStoreOptions();
        var store = new FasterLogStore(System.IO.Path.GetFullPath(directory).TrimEnd('/'), options);
        try
        {
            store.Recover();
        }
        catch
        {
            store.Dispose();
            throw;
        }

        return store;
    }



    /// <summary>FasterLog's begin address: everything before it has been truncated away (tests).</summary>
    internal long BeginAddress => _log.BeginAddress;

    /// <summary>The FasterLog segment file that holds <paramref name="address"/>.</summary>
    public string SegmentPath(long address) => $"{_directory}/{LogFileName}.{address >> _options.SegmentSizeBits}";

    /// <summary>The offset inside <see cref="SegmentPath"/> of <paramref name="address"/>.</summary>
    public long SegmentOffset(long address) => address & ((1L << _options.SegmentSizeBits) - 1);

    public override void Append(ulong group, ReadOnlySpan<LogEntry> entries)
    {
        lock (_lock)
        {
            ThrowIfUnusable();
            if (!_index.CheckAppend(group, entries))
            {
                return;
            }

            if (_payloadOffsets.Length < entries.Length)
            {
                _payloadOffsets = new int[Math.Max(entries.Length, _payloadOffsets.Length * 2)];
                _refs = new LogEntryRef[_payloadOffsets.Length];
            }

            ReadOnlySpan<byte> record = _records.Entries(group, entries, _payloadOffsets);
            long address = WriteRecord(record);
            _uncommittedEntryRecords[address] = record.ToArray();
            for (int i = 0; i < entries.Length; i++)
            {
                LogEntry e = entries[i];
                _refs[i] = new LogEntryRef(e.Term, address, _payloadOffsets[i], e.Data.Length, e.Type, Crc32C.Compute(e.Data.Span));
            }

            _index.ApplyAppend(group, entries[0].Index, _refs.AsSpan(0, entries.Length));
        }
    }






    public override void Sync()
    {
        long enqueued;
        lock (_lock)
        {
            ThrowIfUnusable();
            enqueued = _enqueuedSinceCommit;
        }

        if (enqueued == 0)
        {
            return;
        }

        // The commit runs outside the lock so readers are not held up; the caller is the single writer.
        long tailSegment;
        try
        {
            _log.Commit(spinWait: true);
            tailSegment = _log.TailAddress >> _options.SegmentSizeBits;
            if (tailSegment != _syncedSegment)
            {
                IO.PhysicalFileSystem.Instance.SyncDirectory(_directory);
            }
        }
        catch (Exception e) when (e is IOException or FasterException)
        {
            lock (_lock)
            {
                _failure ??= e;
            }

            throw;
        }

        lock (_lock)
        {
            _syncedSegment = tailSegment;
            _syncCount++;
            _enqueuedSinceCommit -= enqueued;
            long committed = _log.CommittedUntilAddress;
            foreach (long address in _uncommittedEntryRecords.Keys.Where(a => a < committed).ToList())
            {
                _uncommittedEntryRecords.Remove(address);
            }

            TruncateObsoletePrefix(committed);
        }
    }

    public override IReadOnlyList<LogEntry> GetEntries(ulong group, long low, long high, long maxBytes = long.MaxValue)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            List<(long Index, LogEntryRef Ref)> refs = _index.GetEntries(group, low, high, maxBytes);
            var entries = new LogEntry[refs.Count];
            byte[]? record = null;
            long recordAddress = -1;
            for (int i = 0; i < refs.Count; i++)
            {
                var (index, entry) = refs[i];
                if (entry.Record != recordAddress)
                {
                    record = ReadRecord(entry.Record);
                    recordAddress = entry.Record;
                }

                entries[i] = new LogEntry(index, entry.Term, entry.Type, Payload(record!, entry));
            }

            return entries;
        }
    }




    /// <summary>Closes the log. Does not commit: mutations after the last <see cref="Sync"/> are lost, as in a crash.</summary>
    public override void Dispose()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _log?.Dispose();
            _device.Dispose();
            _commits.Dispose();
        }
    }

    private byte[] Payload(byte[] record, LogEntryRef entry)
    {
        if (entry.Offset + entry.Length > record.Length)
        {
            throw Corruption(entry.Record, 0, $"record of {record.Length} bytes is too short for an entry at {entry.Offset} of {entry.Length} bytes");
        }

        byte[] data = record.AsSpan(entry.Offset, entry.Length).ToArray();
        if (Crc32C.Compute(data) != entry.Crc)
        {
            throw Corruption(entry.Record, entry.Offset, "entry payload no longer matches its CRC-32C");
        }

        return data;
    }

    private byte[] ReadRecord(long address)
    {
        if (_uncommittedEntryRecords.TryGetValue(address, out byte[]? pending))
        {
            return pending;
        }

        ValueTask<(byte[], int)> read = _log.ReadAsync(address);

        // IRaftLogStore reads are synchronous by contract; FasterLog completes its I/O on its own
        // threads and there is no synchronization context here, so blocking cannot deadlock.
        var (bytes, length) = read.IsCompletedSuccessfully ? read.Result : read.AsTask().GetAwaiter().GetResult();
        if (bytes is null || length > bytes.Length)
        {
            throw Corruption(address, 0, "FasterLog returned no record at an address the index points to");
        }

        return length == bytes.Length ? bytes : bytes.AsSpan(0, length).ToArray();
    }

    private protected override long WriteRecord(ReadOnlySpan<byte> record)
    {
        long maxRecord = (1L << _options.PageSizeBits) - 64;
        if (record.Length > maxRecord)
        {
            throw new ArgumentException($"a record of {record.Length} bytes does not fit in a FasterLog page of {1L << _options.PageSizeBits} bytes; append fewer entries at once");
        }

        if (_log.TailAddress - _checkpointAddresses[^1] >= _options.CheckpointIntervalBytes)
        {
            WriteCheckpoint();
        }

        long address = Enqueue(record);
        return address;
    }

    private void WriteCheckpoint() => _checkpointAddresses.Add(Enqueue(_checkpoints.Checkpoint(_index.Checkpoint())));

    private long Enqueue(ReadOnlySpan<byte> record)
    {
        try
        {
            long address = _log.Enqueue(record);
            _enqueuedSinceCommit++;
            return address;
        }
        catch (Exception e) when (e is IOException or FasterException)
        {
            _failure ??= e;
            throw;
        }
    }

    /// <summary>Truncates the log at the newest committed checkpoint older than every live entry (persisted by the next commit).</summary>
    private void TruncateObsoletePrefix(long committed)
    {
        long oldestLive = _index.OldestLiveRecord();
        int keep = -1;
        for (int i = _checkpointAddresses.Count - 1; i >= 0; i--)
        {
            long checkpoint = _checkpointAddresses[i];
            if (checkpoint <= oldestLive && checkpoint < committed)
            {
                keep = i;
                break;
            }
        }

        if (keep <= 0)
        {
            return;
        }

        _log.TruncateUntil(_checkpointAddresses[keep]);
        _checkpointAddresses.RemoveRange(0, keep);
    }

    private void Recover()
    {
        bool sawCheckpoint = false;
        bool first = true;
        using (FasterLogScanIterator iterator = _log.Scan(_log.BeginAddress, _log.TailAddress))
        {
            while (iterator.GetNext(out byte[] entry, out int length, out long address, out _))
            {
                ReadOnlySpan<byte> data = entry.AsSpan(0, length);
                LogRecordCodec.FrameStatus status = LogRecordCodec.TryReadFrame(data, out LogRecordType type, out ReadOnlySpan<byte> body, out int recordLength);
                if (status != LogRecordCodec.FrameStatus.Valid || recordLength != length)
                {
                    throw Corruption(address, 0, status == LogRecordCodec.FrameStatus.Valid
                        ? $"record of {recordLength} bytes in a FasterLog entry of {length} bytes"
                        : "record fails its CRC-32C check");
                }

                if (first && type != LogRecordType.Checkpoint)
                {
                    throw Corruption(address, 0, $"log starts with a {type} record instead of a checkpoint");
                }

                first = false;
                if (type == LogRecordType.Checkpoint)
                {
                    _checkpointAddresses.Add(address);
                }

                try
                {
                    _index.Replay(type, body, address, ref sawCheckpoint);
                }
                catch (InvalidDataException e)
                {
                    throw Corruption(address, 0, e.Message);
                }
            }
        }

        string? missing = _index.FindMissingEntries();
        if (missing is not null)
        {
            throw Corruption(_log.BeginAddress, 0, missing);
        }

        if (_checkpointAddresses.Count == 0)
        {
            // A new log: its first record is the (empty) checkpoint replay starts from.
            WriteCheckpoint();
            Sync();
        }
    }

    private StorageCorruptionException Corruption(long address, int offsetInRecord, string what)
    {
        // A FasterLog entry is a 4-byte length header then our record.
        long offset = SegmentOffset(address) + _log.HeaderSize + offsetInRecord;
        return new StorageCorruptionException(SegmentPath(address), offset, what);
    }


}
