using System.Globalization;

namespace KvStore.Storage.Log;

/// <summary>
/// The node's Raft log as a directory of append-only segment files on the <see cref="IO.IFileSystem"/> seam:
/// every mutation of every group is one CRC-protected record appended to the active segment, and
/// <see cref="Sync"/> is one fsync of that segment, shared by all groups (group commit).
/// </summary>
/// <remarks>
/// On-disk format. A store is a directory of segment files named <c>{number:D20}.raftlog</c>, numbers
/// from 1 upward; other files are ignored. A segment is a sequence of records in the format of
/// <see cref="LogRecordCodec"/>:
/// <code>
/// record := crc:u32 | length:u32 | type:u8 | body[length]      (crc = masked CRC-32C of length|type|body)
/// </code>
/// The first record of every non-empty segment is a Checkpoint (every group's hard state, compaction
/// point and last index at the moment the segment was started), so the segments before any segment
/// can be deleted once every entry they hold has been compacted or truncated away by every group:
/// replay then starts at the first remaining segment's checkpoint.
///
/// Durability. Records are written in place after the active segment's last record. Sync fsyncs the
/// active segment; when a roll happened since the previous Sync it first fsyncs the segments rolled away
/// from and last fsyncs the directory, so a new segment can only become visible after crash once every
/// record before it is durable. Obsolete segments are deleted after a successful Sync (the records that
/// made them obsolete are durable by then), without a directory fsync: a deletion a crash undoes only
/// brings back a segment that replays to the same state.
///
/// Recovery. Segments are replayed in order and every record's CRC is checked. A damaged or short
/// record in the last segment after which no intact chain of records runs to the end of the file is
/// a torn write: the file is cut there (and the cut fsynced). Any other damaged record, a record that
/// does not make sense, or a segment that does not start with a checkpoint is corruption and raises
/// <see cref="StorageCorruptionException"/> with the file and offset. The rule errs on the side of
/// safety: if a disk persisted the sectors of an unsynced tail out of order (a later record whole, an
/// earlier one not), recovery reports corruption and refuses to open instead of cutting, because the
/// same bytes could be bit rot inside records that were synced and acknowledged.
///
/// Memory. The index holds per live entry its term, location, length and payload CRC (32 bytes);
/// payloads are not cached but read back from the segment (the operating system's page cache keeps
/// recent ones), each checked against its CRC.
///
/// Failures. "No space left" fails the mutation, removes any partial record, and leaves the store
/// consistent and usable once space is back. Any other write or fsync failure leaves the store failed:
/// further mutations and syncs throw until it is reopened (after a failed fsync the kernel may have
/// dropped dirty pages, so retrying could report durability that is not there).
/// </remarks>
public sealed class SegmentedLogStore : IndexedRaftLogStore
{
    private const string SegmentSuffix = ".raftlog";
    private const int OffsetBits = 40;
    private const long OffsetMask = (1L << OffsetBits) - 1;

    private readonly IO.IFileSystem _fileSystem;
    private readonly SegmentedLogStoreOptions _options;
    private readonly LogRecordBuilder _checkpoints = new();
    private readonly SortedDictionary<long, IO.IStorageFile> _segments = [];
    private readonly List<IO.IStorageFile> _rolledUnsynced = [];
    private int[] _payloadOffsets = new int[64];
    private LogEntryRef[] _refs = new LogEntryRef[64];

    private long _activeNumber;
    private IO.IStorageFile _active = null!;
    private long _activeLength;
    private long _activeCheckpointEnd;
    private long _writeCount;
    private long _syncedWriteCount;
    private bool _directoryDirty;

    private SegmentedLogStore(IO.IFileSystem fileSystem, string directory, SegmentedLogStoreOptions options)
        : base(directory)
    {
        _fileSystem = fileSystem;
        _options = options;
    }

    /// <summary>Opens (creating if needed) the store in <paramref name="directory"/> and recovers its state.</summary>
    public static SegmentedLogStore Open(IO.IFileSystem fileSystem, string directory, SegmentedLogStoreOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(fileSystem);
        options ??= new SegmentedLogStoreOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.SegmentBytes, 4096L, nameof(options));
        var store = new SegmentedLogStore(fileSystem, directory, options);
        try
        {
            store.Recover();
        }
        catch
        {
            store.CloseFiles();
            throw;
        }

        return store;
    }



    /// <summary>Numbers of the segment files the store currently uses, oldest first (tests and operators).</summary>
    public IReadOnlyList<long> SegmentNumbers
    {
        get { lock (_lock) { return [.. _segments.Keys]; } }
    }

    /// <summary>The path of a segment file.</summary>
    public string SegmentPath(long number) => $"{_directory}/{number.ToString("D20", CultureInfo.InvariantCulture)}{SegmentSuffix}";

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
            long position = WriteRecord(record);
            for (int i = 0; i < entries.Length; i++)
            {
                LogEntry e = entries[i];
                _refs[i] = new LogEntryRef(e.Term, position, _payloadOffsets[i], e.Data.Length, e.Type, Crc32C.Compute(e.Data.Span));
            }

            _index.ApplyAppend(group, entries[0].Index, _refs.AsSpan(0, entries.Length));
        }
    }






    public override void Sync()
    {
        IO.IStorageFile[] files;
        bool syncDirectory;
        long writesCovered;
        lock (_lock)
        {
            ThrowIfUnusable();
            writesCovered = _writeCount;
            bool activeDirty = _writeCount != _syncedWriteCount;
            files = [.. _rolledUnsynced, .. activeDirty ? [_active] : Array.Empty<IO.IStorageFile>()];
            syncDirectory = _directoryDirty;
        }

        if (files.Length == 0 && !syncDirectory)
        {
            return;
        }

        // The fsyncs run outside the lock so readers are not held up by the disk; the single writer
        // is the caller, so nothing else changes the set of unsynced files meanwhile.
        try
        {
            foreach (IO.IStorageFile file in files)
            {
                file.Sync();
            }

            if (syncDirectory)
            {
                _fileSystem.SyncDirectory(_directory);
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            lock (_lock)
            {
                _failure ??= e;
            }

            throw;
        }

        lock (_lock)
        {
            _syncCount += files.Length;
            _syncedWriteCount = writesCovered;
            _rolledUnsynced.Clear();
            _directoryDirty = false;
            DeleteObsoleteSegments();
        }
    }

    public override IReadOnlyList<LogEntry> GetEntries(ulong group, long low, long high, long maxBytes = long.MaxValue)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            List<(long Index, LogEntryRef Ref)> refs = _index.GetEntries(group, low, high, maxBytes);
            var entries = new LogEntry[refs.Count];
            for (int i = 0; i < refs.Count; i++)
            {
                var (index, entry) = refs[i];
                entries[i] = new LogEntry(index, entry.Term, entry.Type, ReadPayload(entry));
            }

            return entries;
        }
    }




    /// <summary>Closes the files. Does not sync: mutations after the last <see cref="Sync"/> may be lost, as in a crash.</summary>
    public override void Dispose()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            CloseFiles();
        }
    }

    private static long Pack(long segment, long offset) => (segment << OffsetBits) | offset;

    private byte[] ReadPayload(LogEntryRef entry)
    {
        long segment = entry.Record >> OffsetBits;
        long offset = (entry.Record & OffsetMask) + entry.Offset;
        IO.IStorageFile file = _segments[segment];
        var data = new byte[entry.Length];
        int read = file.Read(offset, data);
        if (read != data.Length)
        {
            throw new StorageCorruptionException(file.Path, offset, $"entry payload of {entry.Length} bytes ends after {read} bytes");
        }

        if (Crc32C.Compute(data) != entry.Crc)
        {
            throw new StorageCorruptionException(file.Path, offset, "entry payload no longer matches its CRC-32C");
        }

        return data;
    }

    /// <summary>Appends one record to the active segment (rolling first if it is full); returns its packed position.</summary>
    private protected override long WriteRecord(ReadOnlySpan<byte> record)
    {
        if (_activeLength + record.Length > _options.SegmentBytes && _activeLength > _activeCheckpointEnd)
        {
            Roll();
        }

        long offset = _activeLength;
        try
        {
            _active.Write(offset, record);
        }
        catch (OutOfSpaceException)
        {
            // A real device may have taken part of the record; cut it so the next record follows the last whole one.
            try
            {
                _active.SetLength(offset);
            }
            catch (IOException e)
            {
                _failure ??= e;
            }

            throw;
        }
        catch (IOException e)
        {
            _failure ??= e;
            throw;
        }

        _activeLength = offset + record.Length;
        _writeCount++;
        return Pack(_activeNumber, offset);
    }

    /// <summary>Starts the next segment with a checkpoint of every group; on failure the current segment stays active.</summary>
    private void Roll()
    {
        long number = _activeNumber + 1;
        string path = SegmentPath(number);
        IO.IStorageFile file = _fileSystem.Open(path, IO.OpenMode.CreateTruncate);
        ReadOnlySpan<byte> checkpoint = _checkpoints.Checkpoint(_index.Checkpoint());
        try
        {
            file.Write(0, checkpoint);
        }
        catch (IOException)
        {
            file.Dispose();
            _fileSystem.DeleteFile(path);
            throw;
        }

        if (_writeCount != _syncedWriteCount)
        {
            _rolledUnsynced.Add(_active);
        }

        _segments[number] = file;
        _active = file;
        _activeNumber = number;
        _activeLength = checkpoint.Length;
        _activeCheckpointEnd = checkpoint.Length;
        _directoryDirty = true;
        _writeCount++;
    }

    private void DeleteObsoleteSegments()
    {
        long oldestLive = _index.OldestLiveRecord();
        long keepFrom = oldestLive == long.MaxValue ? _activeNumber : Math.Min(oldestLive >> OffsetBits, _activeNumber);
        while (_segments.Count > 0)
        {
            long oldest = _segments.Keys.First();
            if (oldest >= keepFrom)
            {
                break;
            }

            _segments[oldest].Dispose();
            _segments.Remove(oldest);
            _fileSystem.DeleteFile(SegmentPath(oldest));
        }
    }


    private void CloseFiles()
    {
        foreach (IO.IStorageFile file in _segments.Values)
        {
            file.Dispose();
        }

        _segments.Clear();
    }

    private void Recover()
    {
        _fileSystem.CreateDirectory(_directory);
        var numbers = new List<long>();
        foreach (string name in _fileSystem.ListFiles(_directory))
        {
            if (name.EndsWith(SegmentSuffix, StringComparison.Ordinal)
                && long.TryParse(name.AsSpan(0, name.Length - SegmentSuffix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out long number)
                && number > 0 && SegmentPath(number).EndsWith(name, StringComparison.Ordinal))
            {
                numbers.Add(number);
            }
        }

        numbers.Sort();
        if (numbers.Count == 0)
        {
            StartFirstSegment();
            return;
        }

        bool sawCheckpoint = false;
        byte[] buffer = [];
        for (int i = 0; i < numbers.Count; i++)
        {
            long number = numbers[i];
            bool last = i == numbers.Count - 1;
            string path = SegmentPath(number);
            IO.IStorageFile file = _fileSystem.Open(path, IO.OpenMode.ReadWrite);
            _segments[number] = file;
            long length = file.Length;
            if (length > Array.MaxLength)
            {
                throw new StorageCorruptionException(path, 0, $"segment of {length} bytes is larger than any segment this store writes");
            }

            if (buffer.Length < length)
            {
                buffer = new byte[length];
            }

            int read = file.Read(0, buffer.AsSpan(0, (int)length));
            long validEnd = ReplaySegment(path, buffer.AsSpan(0, read), number, last, ref sawCheckpoint);
            if (validEnd < length)
            {
                // Torn tail: cut it durably before anything is appended after it, or it would reappear
                // after the next crash in the middle of the log.
                file.SetLength(validEnd);
                file.Sync();
            }

            if (last)
            {
                _active = file;
                _activeNumber = number;
                _activeLength = validEnd;
            }
        }

        string? missing = _index.FindMissingEntries();
        if (missing is not null)
        {
            throw new StorageCorruptionException(SegmentPath(numbers[0]), 0, missing);
        }

        if (_activeLength == 0)
        {
            // The last segment was created but its checkpoint never became durable.
            ReadOnlySpan<byte> checkpoint = _checkpoints.Checkpoint(_index.Checkpoint());
            _active.Write(0, checkpoint);
            _active.Sync();
            _activeLength = checkpoint.Length;
        }

        _activeCheckpointEnd = _activeLength;
    }

    private void StartFirstSegment()
    {
        long number = 1;
        IO.IStorageFile file = _fileSystem.Open(SegmentPath(number), IO.OpenMode.CreateTruncate);
        _segments[number] = file;
        ReadOnlySpan<byte> checkpoint = _checkpoints.Checkpoint(_index.Checkpoint());
        file.Write(0, checkpoint);
        file.Sync();
        _fileSystem.SyncDirectory(_directory);
        _active = file;
        _activeNumber = number;
        _activeLength = checkpoint.Length;
        _activeCheckpointEnd = checkpoint.Length;
    }

    /// <summary>Replays one segment; returns the end of its last whole record (less than its length only for a torn last segment).</summary>
    private long ReplaySegment(string path, ReadOnlySpan<byte> data, long number, bool last, ref bool sawCheckpoint)
    {
        int position = 0;
        while (position < data.Length)
        {
            LogRecordCodec.FrameStatus status = LogRecordCodec.TryReadFrame(data[position..], out LogRecordType type, out ReadOnlySpan<byte> body, out int recordLength);
            if (status != LogRecordCodec.FrameStatus.Valid)
            {
                if (last && !IntactRecordsFollow(data, position))
                {
                    return position;
                }

                string what = status == LogRecordCodec.FrameStatus.Short
                    ? "record runs past the end of the segment"
                    : "record fails its CRC-32C check";
                throw new StorageCorruptionException(path, position, what);
            }

            if (position == 0 && type != LogRecordType.Checkpoint)
            {
                throw new StorageCorruptionException(path, 0, $"segment starts with a {type} record instead of a checkpoint");
            }

            try
            {
                _index.Replay(type, body, Pack(number, position), ref sawCheckpoint);
            }
            catch (InvalidDataException e)
            {
                throw new StorageCorruptionException(path, position, e.Message);
            }

            position += recordLength;
        }

        return position;
    }

    /// <summary>
    /// Whether a chain of intact records, starting anywhere after the damaged record at
    /// <paramref name="damaged"/>, runs exactly to the end of the segment. A torn write leaves no such
    /// chain (the tail ends inside a record or in garbage); a flipped bit in an older record does.
    /// </summary>
    private static bool IntactRecordsFollow(ReadOnlySpan<byte> data, int damaged)
    {
        for (int start = damaged + 1; start < data.Length; start++)
        {
            int position = start;
            while (position < data.Length
                && LogRecordCodec.TryReadFrame(data[position..], out _, out _, out int length) == LogRecordCodec.FrameStatus.Valid)
            {
                position += length;
            }

            if (position == data.Length && position != start)
            {
                return true;
            }
        }

        return false;
    }
}
